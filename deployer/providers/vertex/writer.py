"""The Vertex writes the executor makes (VERTEX-PROVIDER.md, "Writes"), each returning once done.

Every write starts from a fresh look at the one model it touches (`ModelView`: its registry
versions and endpoints, keyed as the reader keys them), so a re-run after an interruption finds
what the first run left: an upload whose version is already there is not repeated, a retired
instance already gone is success, an existing endpoint is reused, a deployment already serving
the desired settings is returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from deployer.core import ownership
from deployer.core.resources import ObservedResource, ResourceKey
from deployer.providers.errors import OperationFailed, ProviderError
from deployer.providers.retry import Backoff
from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex import observe, reader
from deployer.providers.vertex.client import OPERATION_TIMEOUT, VertexClient

Json = dict[str, Any]
OnStage = Callable[[ResourceKey, str], None]

SETTLE_TIMEOUT = 10 * 60.0
"""How long deleteVersion's FAILED_PRECONDITION is retried after an undeploy."""
CANARY_SHARE = 5
CANARY_TIMEOUT = 120.0
ETAG_RETRIES = 5
LABEL_VALUE_MAX = 63
DEFAULT = catalog_vertex.DEFAULT_ALIAS


def label_values(labels: Mapping[str, str]) -> dict[str, str]:
    """Label values as the service takes them: at most 63 characters."""
    return {k: str(v)[:LABEL_VALUE_MAX] for k, v in labels.items()}


def nested(paths: Iterable[str], value_of: Callable[[str], Any]) -> Json:
    """A body holding each dotted update-mask path: `a.b` -> {"a": {"b": value_of("a.b")}}."""
    body: Json = {}
    for path in paths:
        *heads, leaf = path.split(".")
        node = body
        for head in heads:
            node = node.setdefault(head, {})
        node[leaf] = value_of(path)
    return body


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _masks(mask: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(p for p in mask if p))


def _vid(body: Mapping[str, Any]) -> str:
    return str(body.get("versionId", ""))


def _recorded(endpoint: Mapping[str, Any], route: str | None) -> dict[str, str]:
    """The endpoint's labels with `deployer-route` set to `route` (dropped when None)."""
    labels = {str(k): str(v) for k, v in (endpoint.get("labels") or {}).items()}
    labels.pop(ownership.LABEL_ROUTE, None)
    return {**labels, ownership.LABEL_ROUTE: route} if route else labels


def _with_share(split: Mapping[str, int], target: str, share: int) -> dict[str, int]:
    """`split` scaled to 100 - share (largest remainders), with `share` for `target`."""
    rest = {k: v for k, v in split.items() if k != target and v}
    total = sum(rest.values())
    if not total:
        return {target: 100}
    room = 100 - share
    exact = {k: v * room / total for k, v in rest.items()}
    out = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - out[k], reverse=True)[
        : room - sum(out.values())
    ]:
        out[k] += 1
    out[target] = share
    return {k: v for k, v in out.items() if v}


@dataclass
class ModelView:
    """One model in one region as the writes need it."""

    region: str
    model: str
    versions: list[Json]
    endpoints: list[Json]
    resources: list[ObservedResource]

    def find(self, key: ResourceKey) -> ObservedResource | None:
        """The resource `key` names. A key with an instance names that live instance by its id
        (a registry version's versionId, a deployed model's id), current or superseded: plans
        target deletes that way so they stay right after a replacement moved the current one."""
        exact = next((r for r in self.resources if r.key == key), None)
        if exact is not None or not key.instance:
            return exact
        return next(
            (r for r in self.resources if r.key.current == key.current and r.ident == key.instance),
            None,
        )

    def deploys_this_model(self, deployment: ObservedResource) -> bool:
        """A deployed model of this model, not another one deployed on the same endpoint, whose
        version numbers are the same ("1", "2", ...)."""
        return observe.model_id(str(deployment.private.get("model", ""))) == self.model

    @property
    def endpoint(self) -> Json | None:
        """The model's current endpoint (this stack's, newest first)."""
        found = self.find(ResourceKey(self.region, self.model, part=observe.ENDPOINT))
        return None if found is None else dict(found.private)

    def labelled(self, alias: str) -> list[Json]:
        return [b for b in self.versions if observe.version_of(b) == alias]

    def version(self, vid: str) -> Json | None:
        return next((b for b in self.versions if _vid(b) == vid), None)

    def holder(self, alias: str) -> Json | None:
        return next((b for b in self.versions if alias in (b.get("versionAliases") or ())), None)


class VertexWriter:
    """Writes to one project's Vertex resources through a `VertexClient`."""

    def __init__(
        self,
        client: VertexClient,
        *,
        stack: Callable[[], str | None] = lambda: None,
        operation_timeout: float = OPERATION_TIMEOUT,
        settle_timeout: float = SETTLE_TIMEOUT,
        on_stage: Callable[[], OnStage | None] = lambda: None,
        beta: Callable[[], VertexClient] | None = None,
    ) -> None:
        self.client = client
        self._stack = stack
        self._on_stage = on_stage
        self._beta = beta
        self.operation_timeout = operation_timeout
        self.settle_timeout = settle_timeout

    def beta(self, what: str) -> VertexClient:
        """The v1beta1 client, for a preview feature the manifests opted into."""
        if self._beta is None:
            raise ProviderError(f"{what}: needs the Vertex AI v1beta1 API (preview: true)")
        return self._beta()

    # ---- reads the writes rely on ------------------------------------------------------------

    def view(self, region: str, model: str) -> ModelView:
        stack = self._stack()
        versions = reader.list_versions(self.client, region, model)
        endpoints = [
            e
            for e in reader.list_endpoints(self.client, region, model)
            if stack is None or (e.get("labels") or {}).get(ownership.LABEL_STACK) == stack
        ]
        endpoints = reader.with_preview(self._beta, region, endpoints, stack)
        resources = observe.assemble_model(region, model, versions, endpoints, stack)
        return ModelView(region, model, versions, endpoints, resources)

    def get_model(self, key: ResourceKey) -> ObservedResource | None:
        c = self.client
        try:
            body = c.execute(
                key.endpoint,
                f"get model {key.model_key.address}",
                lambda r: r.projects().locations().models().get(
                    name=c.model_name(key.endpoint, key.model)
                ),
            )  # fmt: skip
        except ProviderError as exc:
            if exc.not_found:
                return None
            raise
        return observe.observe_model(key.endpoint, body)

    def observed(self, key: ResourceKey) -> ObservedResource | None:
        """The live resource at `key` now (None: there is none)."""
        if key.kind == "model":
            return self.get_model(key)
        if key.kind == observe.POOL:
            body = self._get_pool(key)
            return None if body is None else observe.observe_pool(key.endpoint, body, self.stack)
        return self.view(key.endpoint, key.model).find(key)

    @property
    def stack(self) -> str:
        stack = self._stack()
        if stack is None:
            raise ProviderError("deployer writes only for a stack (read it first)")
        return stack

    def _must(self, key: ResourceKey, what: str) -> ObservedResource:
        found = self.observed(key)
        if found is None:
            raise ProviderError(f"{what}: {key.address} is not there after the write")
        return found

    def _op(self, key: ResourceKey, what: str, build: Callable[[Any], Any]) -> Json:
        return self.client.run(key.endpoint, what, build, self.operation_timeout)

    # ---- registry model ------------------------------------------------------------------------

    def patch_model(self, key: ResourceKey, what: str, masks: list[str], values: Json) -> None:
        c = self.client
        name = c.model_name(key.endpoint, key.model)
        body = nested(masks, values.get)
        c.execute(
            key.endpoint,
            what,
            lambda r: r.projects().locations().models().patch(
                name=name, updateMask=",".join(masks), body=body
            ),
        )  # fmt: skip

    @staticmethod
    def model_labels(labels: Mapping[str, str]) -> dict[str, str]:
        """Model-level labels: the ownership keys only, whose values every version of the model
        carries too. A read merges model labels into each version's and which level wins is
        undocumented (UpdateModelRequest.model), so no key may differ between the levels: no
        spec hash here (each version has its own)."""
        return label_values({k: v for k, v in labels.items() if k in observe.MODEL_LABELS})

    def create_model(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        """The model came with its first upload: give it its fields and ownership labels."""
        what = f"create model {key.address}"
        if self.get_model(key) is None:
            raise ProviderError(f"{what}: no registry model yet (its versions upload it first)")
        values = {**fields, "labels": self.model_labels(labels)}
        self.patch_model(key, what, ["displayName", "description", "labels"], values)
        return self._must(key, what)

    def update_model(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        what = f"update model {key.address}"
        masks = _masks(mask)
        if masks:
            values = {**fields, "labels": self.model_labels(labels)}
            self.patch_model(key, what, masks, values)
        return self._must(key, what)

    def delete_model(self, key: ResourceKey) -> None:
        c = self.client
        name = c.model_name(key.endpoint, key.model)

        def refused_for_good() -> bool:
            versions = reader.list_versions(self.client, key.endpoint, key.model)
            return any(self._still_deployed(key.endpoint, body) for body in versions)

        self._delete_settled(
            key,
            f"delete model {key.address}",
            lambda r: r.projects().locations().models().delete(name=name),
            refused_for_good,
        )

    def _delete_settled(
        self,
        key: ResourceKey,
        what: str,
        build: Callable[[Any], Any],
        refused_for_good: Callable[[], bool],
    ) -> None:
        """Run a delete; already gone is success. A FAILED_PRECONDITION that follows an
        undeploy is retried with backoff until `settle_timeout`: the service goes on reporting
        the deployment for a while and refuses every delete meanwhile (python-aiplatform#2807:
        still refused 60 s after the undeploy). A refusal no wait clears (still deployed,
        holds `default`) is raised at once; past the deadline, one line says what to do."""
        backoff = Backoff(self.settle_timeout, initial=1.0, maximum=15.0)
        while True:
            try:
                self._op(key, what, build)
                return
            except ProviderError as exc:
                if exc.not_found:
                    return
                if exc.reason != "FAILED_PRECONDITION" or refused_for_good():
                    raise
                if not backoff.wait():
                    raise ProviderError(
                        f"{what}: still refused {self.settle_timeout:g} s after the undeploy "
                        f"({exc.message}); Vertex AI releases an undeployed model version "
                        "after a while: run apply again later",
                        status=exc.status,
                        reason=exc.reason,
                        message=exc.message,
                    ) from None

    # ---- registry versions ---------------------------------------------------------------------

    def version_labels(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> dict[str, str]:
        out = {
            catalog_vertex.LABEL_MODEL: key.model,
            catalog_vertex.LABEL_VERSION: str(key.version),
            **labels,
            ownership.LABEL_SPEC: spec,
        }
        if fields.get("artifactDigest"):
            out[observe.LABEL_ARTIFACT] = str(fields["artifactDigest"])
        return label_values(out)

    def _check_owner(self, key: ResourceKey, labels: Mapping[str, str], what: str) -> bool:
        """Whether the model exists; refuse to add versions to a model that is not ours."""
        model = self.get_model(key)
        if model is None:
            return False
        wanted = {k: labels.get(k) for k in (ownership.LABEL_MANAGED_BY, ownership.LABEL_STACK)}
        if any(model.labels.get(k) != v for k, v in wanted.items()):
            raise ProviderError(
                f"{what}: registry model {key.model!r} exists in {key.endpoint} but is not this "
                "stack's; import it or pick another name"
            )
        return True

    def create_version(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        """Upload a registry version labelled ALIAS (also the first half of a replacement)."""
        c = self.client
        what = f"upload version {key.address}"
        alias = str(key.version)
        written = self.version_labels(key, fields, labels, spec)
        view = self.view(key.endpoint, key.model)
        latest = observe.newest_labelled(view.versions, alias)
        previous = (latest or {}).get("labels") or {}
        if (
            latest is not None
            and previous.get(ownership.LABEL_SPEC) == written[ownership.LABEL_SPEC]
        ):
            return self._version_resource(view, _vid(latest))  # uploaded by an earlier run
        model: Json = {
            "displayName": key.model,
            "containerSpec": dict(fields.get("containerSpec") or {}),
            "labels": written,
            "versionAliases": [] if view.holder(alias) else [alias],
        }
        if fields.get("artifactUri"):
            model["artifactUri"] = fields["artifactUri"]
        if fields.get("versionDescription"):
            model["versionDescription"] = fields["versionDescription"]
        parent = c.model_name(key.endpoint, key.model)
        if self._check_owner(key, labels, what):
            body: Json = {"parentModel": parent, "model": model}
        else:
            # The first upload gives the model its labels too. Reads merge model and version
            # labels and which wins is undocumented, so the model level only ever carries the
            # ownership labels, whose values every version shares; the version's own labels
            # follow in a version-level patch.
            owned = {k: v for k, v in written.items() if k in observe.MODEL_LABELS}
            first = {
                **model,
                "labels": owned,
                "description": fields.get("modelDescription") or "",
            }
            body = {"modelId": key.model, "model": first}
        location = c.location(key.endpoint)

        def upload(r: Any) -> Any:
            return r.projects().locations().models().upload(parent=location, body=body)

        try:
            done = self._op(key, what, upload)
        except ProviderError as exc:
            if not (exc.already_exists and "modelId" in body):
                raise
            self._check_owner(key, labels, what)  # someone else's model won the race?
            body = {"parentModel": parent, "model": model}
            done = self._op(key, what, upload)
        vid = str((done.get("response") or {}).get("modelVersionId", ""))
        if "modelId" in body:
            self._patch_version_labels(key, vid, written, what)
        self._settle_labels(key, vid, written, what)
        return self._version_resource(self.view(key.endpoint, key.model), vid)

    def _settle_labels(
        self, key: ResourceKey, vid: str, written: Mapping[str, str], what: str
    ) -> None:
        """Reads merge model and version labels, and which level wins is undocumented: when a
        version does not read back as labelled, the model level holds something else (left by
        an older deployer, or a first upload that failed halfway), so it is put back to the
        ownership labels every version shares (issue 19). Then it reads right either way."""
        version = self.view(key.endpoint, key.model).version(vid)
        read = dict((version or {}).get("labels") or {})
        if version is None or read == dict(written):
            return
        labels = self.model_labels(written)
        self.patch_model(
            ResourceKey(key.endpoint, key.model),
            f"{what}: reset the model's labels",
            ["labels"],
            {"labels": labels},
        )

    def _patch_version_labels(
        self, key: ResourceKey, vid: str, labels: Mapping[str, str], what: str
    ) -> None:
        name = self.client.model_name(key.endpoint, key.model, vid)
        body = {"labels": dict(labels)}
        self.client.execute(
            key.endpoint,
            f"{what}: label version {vid}",
            lambda r: r.projects().locations().models().patch(
                name=name, updateMask="labels", body=body
            ),
        )  # fmt: skip

    def _version_resource(self, view: ModelView, vid: str) -> ObservedResource:
        return next(r for r in view.resources if r.key.kind == "version" and _vid(r.private) == vid)

    def _target(self, view: ModelView, key: ResourceKey) -> Json | None:
        """The registry version `key` names: its instance's versionId, or the current one."""
        if key.instance:
            return view.version(key.instance)
        found = view.find(key.current)
        return None if found is None else dict(found.private)

    def update_version(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        c = self.client
        what = f"update version {key.address}"
        view = self.view(key.endpoint, key.model)
        target = self._target(view, key)
        if target is None:
            raise ProviderError(f"{what}: not found: no registry version is labelled {key.version}")
        wanted = _masks(mask)
        if "versionAliases" in wanted and fields.get("alias"):
            # Taken back from wherever it was moved (an alias held elsewhere moves, [DOCS]).
            alias = str(fields["alias"])
            if alias not in (target.get("versionAliases") or ()):
                self.merge_aliases(key, _vid(target), [alias])
        masks = [m for m in _masks([*mask, "labels"]) if m in ("versionDescription", "labels")]
        values = {**fields, "labels": self.version_labels(key, fields, labels, spec)}
        name = c.model_name(key.endpoint, key.model, _vid(target))
        body = nested(masks, values.get)
        c.execute(
            key.endpoint,
            what,
            lambda r: r.projects().locations().models().patch(
                name=name, updateMask=",".join(masks), body=body
            ),
        )  # fmt: skip
        self._settle_labels(key, _vid(target), values["labels"], what)
        return self._version_resource(self.view(key.endpoint, key.model), _vid(target))

    def merge_aliases(self, key: ResourceKey, vid: str, aliases: list[str]) -> Json:
        c = self.client
        name = c.model_name(key.endpoint, key.model, vid)
        return c.execute(
            key.endpoint,
            f"set aliases {', '.join(aliases)} on {key.address} (version {vid})",
            lambda r: r.projects().locations().models().mergeVersionAliases(
                name=name, body={"versionAliases": aliases}
            ),
        )  # fmt: skip

    def delete_version(self, key: ResourceKey) -> None:
        """Retire one instance: hand its alias (and `default`) to the newest other instance
        labelled ALIAS, then delete it, waiting out the refusal that follows an undeploy."""
        alias = str(key.version)
        view = self.view(key.endpoint, key.model)
        target = self._target(view, key)
        if target is None:
            return
        vid = _vid(target)
        others = [b for b in view.labelled(alias) if _vid(b) != vid]
        newest = observe.newest_labelled(others, alias)
        held = target.get("versionAliases") or []
        if newest is not None and alias in held:
            self.merge_aliases(key, vid, [f"-{alias}"])
            self.merge_aliases(key, _vid(newest), [alias])
        if newest is not None and DEFAULT in held:
            self.merge_aliases(key, _vid(newest), [DEFAULT])
        self._delete_version_id(key, vid)

    def _delete_version_id(self, key: ResourceKey, vid: str) -> None:
        c = self.client
        name = c.model_name(key.endpoint, key.model, vid)
        self._delete_settled(
            key,
            f"delete version {key.address} (version {vid})",
            lambda r: r.projects().locations().models().deleteVersion(name=name),
            lambda: self._refused_for_good(key, vid),
        )

    def _refused_for_good(self, key: ResourceKey, vid: str) -> bool:
        """A refusal no wait will clear: the version holds `default`, or an endpoint really
        serves it. Only the refusal that follows an undeploy (the service settling) is worth
        retrying."""
        view = self.view(key.endpoint, key.model)
        body = view.version(vid)
        if body is None:
            return False
        if DEFAULT in (body.get("versionAliases") or ()):
            return True
        return self._still_deployed(key.endpoint, body)

    def _still_deployed(self, region: str, version: Mapping[str, Any]) -> bool:
        """Whether an endpoint really lists a deployment of this registry version.

        The version's own `deployedModels` lags an undeploy (python-aiplatform#2807), so each
        endpoint it names is read: gone, or no longer listing that deployed model, is settling.
        """
        for ref in version.get("deployedModels") or ():
            endpoint = str(ref.get("endpoint", ""))
            parts = endpoint.split("/")
            where = parts[3] if len(parts) > 3 and parts[2] == "locations" else region

            def get(r: Any, name: str = endpoint) -> Any:
                return r.projects().locations().endpoints().get(name=name)

            try:
                body = self.client.execute(where, f"get endpoint {endpoint}", get)
            except ProviderError as exc:
                if exc.not_found:
                    continue
                raise
            wanted = str(ref.get("deployedModelId", ""))
            if any(str(d.get("id")) == wanted for d in body.get("deployedModels") or ()):
                return True
        return False

    def set_default(self, key: ResourceKey) -> ObservedResource:
        what = f"set default version {key.address}"
        view = self.view(key.endpoint, key.model)
        target = view.holder(str(key.version)) or observe.newest_labelled(
            view.versions, str(key.version)
        )
        if target is None:
            raise ProviderError(f"{what}: not found: no registry version is labelled {key.version}")
        if DEFAULT not in (target.get("versionAliases") or ()):
            self.merge_aliases(key, _vid(target), [DEFAULT])
        return self._version_resource(self.view(key.endpoint, key.model), _vid(target))

    # ---- endpoints -----------------------------------------------------------------------------

    def endpoint_labels(
        self, key: ResourceKey, labels: Mapping[str, str], spec: str
    ) -> dict[str, str]:
        return label_values(
            {catalog_vertex.LABEL_MODEL: key.model, **labels, ownership.LABEL_SPEC: spec}
        )

    def create_endpoint(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        """A new endpoint, also the first half of a replacement (its successor beside it). One
        written from this very declaration by an earlier, interrupted run is taken instead."""
        what = f"create endpoint {key.address}"
        view = self.view(key.endpoint, key.model)
        for body in view.endpoints:
            if (body.get("labels") or {}).get(ownership.LABEL_SPEC) == spec:
                return self._must(key.current, what)
        written = self.endpoint_labels(key, labels, spec)
        replaced = view.endpoint
        if replaced is not None:  # a replacement: the new one is current once it exists
            written[observe.LABEL_REPLACES] = observe.last_segment(str(replaced["name"]))
        body = {
            "displayName": fields.get("displayName") or key.model,
            "description": fields.get("description") or "",
            "labels": written,
        }
        for name in (
            "predictRequestResponseLoggingConfig",
            "dedicatedEndpointEnabled",
            "clientConnectionConfig",
            "network",
        ):
            if fields.get(name):
                body[name] = fields[name]
        if fields.get("privateServiceConnect"):
            body["privateServiceConnectConfig"] = self._psc(fields)
        location = self.client.location(key.endpoint)
        self._op(
            key,
            what,
            lambda r: r.projects().locations().endpoints().create(parent=location, body=body),
        )
        return self._must(key.current, what)

    @staticmethod
    def _psc(fields: Mapping[str, Any]) -> Json:
        allowed = fields.get("privateServiceConnectConfig.projectAllowlist") or []
        return {"enablePrivateServiceConnect": True, "projectAllowlist": list(allowed)}

    def _endpoint_or_fail(self, key: ResourceKey, what: str) -> Json:
        """The endpoint `key` names: by its id with an instance (the old one of a
        replacement), else the model's current one."""
        view = self.view(key.endpoint, key.model)
        found = view.find(key) if key.instance else None
        body = dict(found.private) if found is not None else None if key.instance else view.endpoint
        if body is None:
            raise ProviderError(f"{what}: not found: {key.model} has no endpoint in {key.endpoint}")
        return body

    def _patch_endpoint(
        self,
        key: ResourceKey,
        what: str,
        masks: list[str],
        values: Callable[[Json], Json],
        name: str = "",
    ) -> None:
        """`endpoints.patch` (of `name`, else the endpoint `key` names) with the etag of a fresh
        GET; a concurrent change (409) re-reads."""
        c = self.client
        name = name or str(self._endpoint_or_fail(key, what)["name"])
        for attempt in range(ETAG_RETRIES):
            current = c.execute(
                key.endpoint,
                f"{what}: get endpoint",
                lambda r: r.projects().locations().endpoints().get(name=name),
            )
            body: Json = {**nested(masks, values(current).get), "etag": current.get("etag", "")}

            def patch(r: Any, b: Json = body) -> Any:
                return (
                    r.projects()
                    .locations()
                    .endpoints()
                    .patch(name=name, updateMask=",".join(masks), body=b)
                )

            try:
                c.execute(key.endpoint, what, patch)
                return
            except ProviderError as exc:
                if exc.status != 409 or attempt == ETAG_RETRIES - 1:
                    raise

    def update_endpoint(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        what = f"update endpoint {key.address}"
        masks = _masks(mask)
        if "clientConnectionConfig" in masks:
            masks.remove("clientConnectionConfig")
            self._update_connection(key, what, fields.get("clientConnectionConfig") or {})
        if masks:
            values = {
                **fields,
                "labels": self.endpoint_labels(key, labels, spec),
                "privateServiceConnectConfig": self._psc(fields),
            }

            def kept(current: Json) -> Json:
                """The successor mark and the records (route, deployments) stay."""
                live = current.get("labels") or {}
                mark = live.get(observe.LABEL_REPLACES)
                marked = {observe.LABEL_REPLACES: str(mark)} if mark else {}
                records = ownership.kept_records(live)
                return {**values, "labels": {**values["labels"], **marked, **records}}

            self._patch_endpoint(key, what, masks, kept)
        return self._must(key.current, what)

    def _update_connection(self, key: ResourceKey, what: str, config: Json) -> None:
        """The inference timeout: `endpoints.update`, an LRO that changes only
        `clientConnectionConfig` ([DD] UpdateEndpointLongRunningRequest: "Currently we only
        support updating the `client_connection_config` field")."""
        current = self._endpoint_or_fail(key, what)
        name = str(current["name"])
        body = {
            "endpoint": {
                "name": name,
                "displayName": current.get("displayName", key.model),
                "clientConnectionConfig": config,
            }
        }
        self._op(
            key,
            f"{what} (inference timeout)",
            lambda r: r.projects().locations().endpoints().update(name=name, body=body),
        )

    def delete_endpoint(self, key: ResourceKey) -> None:
        view = self.view(key.endpoint, key.model)
        found = view.find(key)
        if found is None:
            return
        name = str(found.private["name"])
        try:
            self._op(
                key,
                f"delete endpoint {key.address}",
                lambda r: r.projects().locations().endpoints().delete(name=name),
            )
        except ProviderError as exc:
            if not exc.not_found:
                raise

    def set_traffic(self, key: ResourceKey, split: Mapping[str, int]) -> None:
        """Route the endpoint's traffic by alias (or `ALIAS#dmId` / `@dmId`) in one patch that
        also records the route set (`deployer-route`), so a split changed by hand later shows
        as drift."""
        what = f"set traffic on {key.address}"

        def values(current: Json) -> Json:
            view = self.view(key.endpoint, key.model)
            return {
                "trafficSplit": {
                    self._dm_for(view, name, what): pct for name, pct in split.items()
                },
                "labels": _recorded(current, ownership.route_hash(split)),
            }

        self._patch_endpoint(key, what, ["trafficSplit", "labels"], values)

    def canary(
        self,
        key: ResourceKey,
        name: str,
        instances: list[Any],
        check: Callable[[list[Any]], None],
        share: int = CANARY_SHARE,
        timeout: float = CANARY_TIMEOUT,
    ) -> None:
        """Give `name`'s newest deployment a small share, call the endpoint until that
        deployment answers, and let `check` judge its predictions. On any failure the split
        goes back to exactly what it was, so a failed version never keeps more than `share`.

        A shared endpoint cannot address one deployment, so the canary share is how a new
        version is reached before it takes the rest of the traffic.
        """
        what = f"smoke test of {key.model}/{name} on {key.address}"
        view = self.view(key.endpoint, key.model)
        target = self._dm_for(view, name, what)
        before = {
            str(k): int(v) for k, v in ((view.endpoint or {}).get("trafficSplit") or {}).items()
        }
        record = ((view.endpoint or {}).get("labels") or {}).get(ownership.LABEL_ROUTE)
        # The canary's split is deployer's own but no declared route: its record is dropped
        # (nothing claimed as drift) until the split is back or set as declared.
        self._patch_endpoint(
            key,
            what,
            ["trafficSplit", "labels"],
            lambda current: {
                "trafficSplit": _with_share(before, target, share),
                "labels": _recorded(current, None),
            },
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                answer = self.predict(key.endpoint, key.model, instances)
                if str(answer.get("deployedModelId")) == target:
                    check(list(answer.get("predictions", [])))
                    return
                if time.monotonic() > deadline:
                    raise ProviderError(
                        f"{what}: no answer from deployment {target} within {timeout:g} s at "
                        f"{share}% of the traffic"
                    )
        except BaseException:
            self._patch_endpoint(
                key,
                what,
                ["trafficSplit", "labels"],
                lambda current: {"trafficSplit": before, "labels": _recorded(current, record)},
            )
            raise

    def _dm_for(self, view: ModelView, name: str, what: str) -> str:
        """The deployed model id serving `name`: the newest one of the newest version labelled
        ALIAS (`ALIAS#id` and `@id` name one directly). Only this model's deployments count:
        another model deployed on the endpoint may have the same version number (issue 19)."""
        if name.startswith("@"):
            return name[1:]
        alias, _, instance = name.partition("#")
        if instance:
            return instance
        version = observe.newest_labelled(view.versions, alias)
        dms = [
            r.private
            for r in view.resources
            if r.key.kind == "deployment"
            and version is not None
            and view.deploys_this_model(r)
            and str(r.private.get("modelVersionId")) == _vid(version)
        ]
        endpoint = view.endpoint or {}
        on_endpoint = {str(d.get("id")) for d in endpoint.get("deployedModels") or []}
        dms = [d for d in dms if str(d.get("id")) in on_endpoint]
        if not dms:
            raise ProviderError(f"{what}: {alias} has no deployed model on the endpoint")
        newest = max(dms, key=lambda d: (str(d.get("createTime", "")), int(str(d.get("id")))))
        return str(newest["id"])

    # ---- deployments ---------------------------------------------------------------------------

    def deployed_model(self, key: ResourceKey, vid: str, fields: Mapping[str, Any]) -> Json:
        """The DeployedModel a deployment's fields describe: on its own dedicated resources
        (with spot and, scaling to zero, v1beta1's scale-to-zero settings), or on a pool."""
        dm: Json = {
            "model": self.client.model_name(key.endpoint, key.model, vid),
            "displayName": fields.get("displayName") or f"{key.model}/{key.version}",
            "enableAccessLogging": bool(fields.get("enableAccessLogging", False)),
            "disableContainerLogging": bool(fields.get("disableContainerLogging", False)),
        }
        if fields.get("sharedResources"):
            pool = catalog_vertex.pool_id(self.stack, str(fields["sharedResources"]))
            dm["sharedResources"] = f"{self.client.location(key.endpoint)}/"
            dm["sharedResources"] += f"deploymentResourcePools/{pool}"
        else:
            resources: Json = {
                "machineSpec": dict(fields.get("machineSpec") or {}),
                "minReplicaCount": fields.get("minReplicaCount"),
                "maxReplicaCount": fields.get("maxReplicaCount"),
                "scaleToZeroSpec": fields.get("scaleToZeroSpec"),
                "initialReplicaCount": fields.get("initialReplicaCount"),
            }
            if fields.get("autoscalingMetricSpecs"):
                resources["autoscalingMetricSpecs"] = list(fields["autoscalingMetricSpecs"])
            if fields.get("spot"):
                resources["spot"] = True
            if fields.get("minReplicaCount") == 0 and resources["scaleToZeroSpec"] is None:
                resources["scaleToZeroSpec"] = {}
            dm["dedicatedResources"] = {k: v for k, v in resources.items() if v is not None}
        if fields.get("serviceAccount"):
            dm["serviceAccount"] = fields["serviceAccount"]
        return dm

    def _surface(self, fields: Mapping[str, Any], what: str) -> VertexClient:
        """v1, or v1beta1 for a deployment that scales to zero (v1 needs a node at least,
        [DD] DedicatedResources.minReplicaCount: "must be greater than or equal to 1")."""
        return self.beta(what) if fields.get("minReplicaCount") == 0 else self.client

    def create_deployment(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        """Deploy the newest registry version labelled ALIAS at 0% traffic on the model's
        current endpoint."""
        what = f"deploy {key.address}"
        view = self.view(key.endpoint, key.model)
        endpoint = view.endpoint
        version = observe.newest_labelled(view.versions, str(key.version))
        if endpoint is None or version is None:
            missing = "an endpoint" if endpoint is None else f"a version labelled {key.version}"
            raise ProviderError(f"{what}: {key.model} has no {missing} in {key.endpoint}")
        vid = _vid(version)
        dm = self.deployed_model(key, vid, fields)
        wanted = observe.deployment_fields(dm, self._stack())
        on_endpoint = {str(d.get("id")) for d in endpoint.get("deployedModels") or ()}
        for live in view.resources:
            if (
                live.key.kind == "deployment"
                and live.ident in on_endpoint
                and view.deploys_this_model(live)
                and str(live.private.get("modelVersionId")) == vid
                and all(live.fields.get(k) == v for k, v in wanted.items())
            ):
                if live.labels.get(ownership.LABEL_SPEC) != spec:
                    self._record(key, str(endpoint["name"]), live.ident, spec)
                return live  # deployed by an earlier run
        stage = self._stage_reporter(key)
        name = str(endpoint["name"])
        try:
            done = self._surface(fields, what).run(
                key.endpoint,
                what,
                lambda r: r.projects().locations().endpoints().deployModel(
                    endpoint=name, body={"deployedModel": dm}
                ),
                self.operation_timeout,
                stage,
            )  # fmt: skip
        except OperationFailed as exc:
            # deployed at 0% with no split: a failed deploy leaves the traffic where it was
            raise OperationFailed(
                f"{str(exc).rstrip('.')}; nothing was deployed and the endpoint serves as before",
                status=exc.status,
                reason=exc.reason,
                message=exc.message,
                retryable=exc.retryable,
            ) from None
        dm_id = str(((done.get("response") or {}).get("deployedModel") or {}).get("id", ""))
        self._record(key, name, dm_id, spec)
        return self._deployment(key, dm_id, what)

    def _record(self, key: ResourceKey, endpoint: str, dm_id: str, spec: str) -> None:
        """Write what a deployment was last applied from on its endpoint (a DeployedModel has
        no labels), so replicas scaled by hand later show as drift. Interrupted before this, the
        deployment has no record and nothing is claimed."""

        def values(current: Json) -> Json:
            on = [str(d.get("id")) for d in current.get("deployedModels") or ()]
            labels = current.get("labels") or {}
            return {"labels": observe.with_deployment_record(labels, on, dm_id, spec)}

        self._patch_endpoint(key, f"record {key.address}", ["labels"], values, name=endpoint)

    def _rolled(self, view: ModelView, key: ResourceKey) -> tuple[str, str] | None:
        """(endpoint name, deployed model id) of a rolling update done already: the current
        endpoint serving the newest upload labelled ALIAS (the old upload still holds the
        alias, so the reads name that deployment by its id)."""
        version = observe.newest_labelled(view.versions, str(key.version))
        endpoint = view.endpoint
        if version is None or endpoint is None:
            return None
        for dm in endpoint.get("deployedModels") or ():
            if str(dm.get("modelVersionId")) == _vid(version):
                return str(endpoint["name"]), str(dm.get("id"))
        return None

    def roll(self, key: ResourceKey, fields: Mapping[str, Any], dm_id: str, endpoint: str) -> str:
        """A rolling update onto the newest upload labelled ALIAS (v1beta1 `deployModel` with
        RolloutOptions): the service replaces the previous deployment's nodes, keeping its
        resources and traffic [DOCS rolling-deployment: "the traffic split and
        dedicatedResources values are the same as for the previous deployment"; the SDK sends
        no dedicatedResources with rollout_options]. The id of the new deployment."""
        what = f"rolling update of {key.address}"
        view = self.view(key.endpoint, key.model)
        version = observe.newest_labelled(view.versions, str(key.version))
        if version is None:
            raise ProviderError(f"{what}: {key.model} has no version labelled {key.version}")
        endpoint_body = next((e for e in view.endpoints if str(e.get("name")) == endpoint), {})
        for dm in endpoint_body.get("deployedModels") or ():
            if str(dm.get("modelVersionId")) == _vid(version):
                return str(dm.get("id"))  # rolled by an earlier run
        options = {**dict(fields.get("rolloutOptions") or {}), "previousDeployedModel": dm_id}
        dm = {
            "model": self.client.model_name(key.endpoint, key.model, _vid(version)),
            "displayName": fields.get("displayName") or f"{key.model}/{key.version}",
            "rolloutOptions": options,
        }
        try:
            done = self.beta(what).run(
                key.endpoint,
                what,
                lambda r: r.projects().locations().endpoints().deployModel(
                    endpoint=endpoint, body={"deployedModel": dm}
                ),
                self.operation_timeout,
                self._stage_reporter(key),
            )  # fmt: skip
        except OperationFailed as exc:
            raise OperationFailed(
                f"{str(exc).rstrip('.')}; the rolling update was reverted and the previous "
                "deployment serves as before",
                status=exc.status,
                reason=exc.reason,
                message=exc.message,
                retryable=exc.retryable,
            ) from None
        return str(((done.get("response") or {}).get("deployedModel") or {}).get("id", ""))

    def _stage_reporter(self, key: ResourceKey) -> Callable[[Json], None] | None:
        on_stage = self._on_stage()
        if on_stage is None:
            return None
        seen: list[str] = []

        def report(metadata: Json) -> None:
            stage = str(metadata.get("deploymentStage", ""))
            if stage and (not seen or seen[-1] != stage):
                seen.append(stage)
                on_stage(key, stage)

        return report

    def _deployment(self, key: ResourceKey, dm_id: str, what: str) -> ObservedResource:
        view = self.view(key.endpoint, key.model)
        found = next(
            (
                r
                for r in view.resources
                if r.key.kind == "deployment" and str(r.private.get("id")) == dm_id
            ),
            None,
        )
        if found is None:
            raise ProviderError(f"{what}: deployed model {dm_id} is not on the endpoint")
        return found

    def _deployment_target(self, view: ModelView, key: ResourceKey) -> tuple[str, str] | None:
        """(endpoint name, deployed model id) that `key` names, or None when there is none."""
        found = view.find(key)
        if found is None:
            return None
        dm_id = str(found.private.get("id"))
        for endpoint in view.endpoints:
            if any(str(d.get("id")) == dm_id for d in endpoint.get("deployedModels") or ()):
                return str(endpoint["name"]), dm_id
        return None

    def update_deployment(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        what = f"update {key.address}"
        view = self.view(key.endpoint, key.model)
        masks = _masks(mask)
        target = self._deployment_target(view, key) or (
            self._rolled(view, key) if "rolloutOptions" in masks else None
        )
        if target is None:
            raise ProviderError(f"{what}: not found: no deployed model for {key.version}")
        endpoint, dm_id = target
        if "rolloutOptions" in masks:
            masks.remove("rolloutOptions")
            dm_id = self.roll(key, fields, dm_id, endpoint)
        if masks:
            body = nested(masks, lambda path: fields.get(path, fields.get(_leaf(path))))
            body = {"deployedModel": {**body, "id": dm_id}, "updateMask": ",".join(masks)}
            preview = fields.get("minReplicaCount") == 0 or any(
                m.endswith(("scaleToZeroSpec", "initialReplicaCount")) for m in masks
            )
            client = self.beta(what) if preview else self.client
            client.run(
                key.endpoint,
                what,
                lambda r: r.projects().locations().endpoints().mutateDeployedModel(
                    endpoint=endpoint, body=body
                ),
                self.operation_timeout,
            )  # fmt: skip
        self._record(key, endpoint, dm_id, spec)
        return self._deployment(key, dm_id, what)

    def delete_deployment(self, key: ResourceKey) -> None:
        """Undeploy (never with a traffic split: the plan moved the traffic first)."""
        target = self._deployment_target(self.view(key.endpoint, key.model), key)
        if target is None:
            return
        endpoint, dm_id = target
        try:
            self._op(
                key,
                f"undeploy {key.address}",
                lambda r: r.projects().locations().endpoints().undeployModel(
                    endpoint=endpoint, body={"deployedModelId": dm_id}
                ),
            )  # fmt: skip
        except ProviderError as exc:
            if not exc.not_found:
                raise

    # ---- deployment resource pools ---------------------------------------------------------------

    def _pool_name(self, key: ResourceKey) -> str:
        pool = catalog_vertex.pool_id(self.stack, key.model)
        return f"{self.client.location(key.endpoint)}/deploymentResourcePools/{pool}"

    def _get_pool(self, key: ResourceKey) -> Json | None:
        name = self._pool_name(key)
        try:
            return self.client.execute(
                key.endpoint,
                f"get resource pool {key.address}",
                lambda r: r.projects().locations().deploymentResourcePools().get(name=name),
            )
        except ProviderError as exc:
            if exc.not_found:
                return None
            raise

    def create_pool(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        """A deployment resource pool named NAME--TAG (`catalog.pool_id`); one there already
        (an earlier, interrupted run) is taken."""
        what = f"create resource pool {key.address}"
        if self._get_pool(key) is None:
            resources: Json = {
                "machineSpec": dict(fields.get("machineSpec") or {}),
                "minReplicaCount": fields.get("minReplicaCount"),
                "maxReplicaCount": fields.get("maxReplicaCount"),
            }
            if fields.get("autoscalingMetricSpecs"):
                resources["autoscalingMetricSpecs"] = list(fields["autoscalingMetricSpecs"])
            body = {
                "deploymentResourcePool": {"dedicatedResources": resources},
                "deploymentResourcePoolId": catalog_vertex.pool_id(self.stack, key.model),
            }
            parent = self.client.location(key.endpoint)
            try:
                self._op(
                    key,
                    what,
                    lambda r: r.projects().locations().deploymentResourcePools().create(
                        parent=parent, body=body
                    ),
                )  # fmt: skip
            except ProviderError as exc:
                if not exc.already_exists:
                    raise
        return self._must(key, what)

    def update_pool(
        self,
        key: ResourceKey,
        mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        raise ProviderError(f"update {key.address}: a resource pool cannot change in place")

    def delete_pool(self, key: ResourceKey) -> None:
        """Delete the pool; gone already is success. The plan runs it after every deployment
        on it is gone."""
        name = self._pool_name(key)
        try:
            self._op(
                key,
                f"delete resource pool {key.address}",
                lambda r: r.projects().locations().deploymentResourcePools().delete(name=name),
            )
        except ProviderError as exc:
            if not exc.not_found:
                raise

    # ---- predict -------------------------------------------------------------------------------

    def predict(
        self, region: str, model: str, instances: list[Any], parameters: Any = None
    ) -> Json:
        key = ResourceKey(region, model, part=observe.ENDPOINT)
        what = f"predict on {key.address}"
        endpoint = self._endpoint_or_fail(key, what)
        name = str(endpoint["name"])
        body: Json = {"instances": instances}
        if parameters is not None:
            body["parameters"] = parameters
        result: Json = self.client.execute(
            region,
            what,
            lambda r: r.projects().locations().endpoints().predict(endpoint=name, body=body),
        )
        answered = str(result.get("deployedModelId", ""))
        for deployed in endpoint.get("deployedModels") or ():
            if str(deployed.get("id")) == answered:
                result["deployedModelDisplayName"] = deployed.get("displayName", "")
        return result
