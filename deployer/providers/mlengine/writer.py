"""The write calls the executor makes, each returning once the service has finished.

Every call retries 429/5xx answers (the client's retry policy) and waits for its long-running
operation (polled as `PollSchedule` says) within a per-operation time limit.
They are safe to repeat after an interruption: deleting something already gone succeeds, and
creating something that already exists succeeds when it is ours, with the same spec, and ends
READY (a re-run, or a retry whose first attempt did reach the service).

Labels written on create and patch carry `deployer-spec` (the spec hash of the desired resource)
and, for versions, `deployer-artifact` (the artifact digest), next to the stack's labels.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from deployer.core import ownership
from deployer.core.resources import ObservedResource, ResourceKey, State
from deployer.providers import operations
from deployer.providers.errors import OperationFailed, OperationTimeout, ProviderError
from deployer.providers.mlengine import catalog, state
from deployer.providers.mlengine.client import MLClient
from deployer.providers.polling import PollSchedule
from deployer.providers.retry import Backoff

Json = dict[str, Any]

OPERATION_TIMEOUT = 30 * 60.0
"""Real version creation takes minutes; a stuck one is given up on after half an hour."""
POLL_INITIAL = 0.2
POLL_MAX = 5.0


def written_labels(labels: Mapping[str, str], spec: str) -> dict[str, str]:
    """The labels a create or patch writes: the declared ones plus `deployer-spec`."""
    return {**labels, ownership.LABEL_SPEC: spec}


def patch_body(paths: Iterable[str], fields: Mapping[str, Any]) -> Json:
    """The PATCH body for update-mask `paths` from flattened fields: `autoScaling.minNodes` ->
    {"autoScaling": {"minNodes": N}}; a None value is left out, which clears it."""
    body: Json = {}
    for path in paths:
        value = fields.get(path)
        if value is None:
            continue
        head, _, leaf = path.partition(".")
        if leaf:
            body.setdefault(head, {})[leaf] = value
        else:
            body[head] = value
    return body


def _unique(paths: Iterable[str | None], *always: str) -> list[str]:
    return list(dict.fromkeys([*(p for p in paths if p), *always]))


def _is_ours(labels: Mapping[str, str], wanted: Mapping[str, str], spec: str) -> bool:
    return (
        labels.get(ownership.LABEL_MANAGED_BY) == ownership.LABEL_MANAGED_BY_VALUE
        and labels.get(ownership.LABEL_STACK) == wanted.get(ownership.LABEL_STACK)
        and labels.get(ownership.LABEL_SPEC) == spec
    )


class MLEngineWriter:
    """Writes to one project's models and versions through an `MLClient`."""

    def __init__(
        self,
        client: MLClient,
        *,
        operation_timeout: float = OPERATION_TIMEOUT,
        poll_initial: float = POLL_INITIAL,
        poll_max: float = POLL_MAX,
        polls: PollSchedule | None = None,
    ) -> None:
        self.client = client
        self.operation_timeout = operation_timeout
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        self.polls = polls or PollSchedule()

    # ---- reads the writes rely on ------------------------------------------------------------

    def _get_or_none(self, endpoint: str, what: str, build: Any) -> dict | None:
        """One resource body, or None when it does not exist (a 404 is an answer here)."""
        try:
            return self.client.execute(endpoint, what, build)
        except ProviderError as exc:
            if exc.not_found:
                return None
            raise

    def get_model(self, key: ResourceKey) -> ObservedResource | None:
        """The live model, or None when there is none."""
        c = self.client
        body = self._get_or_none(
            key.endpoint,
            f"get model {key.model_key.address}",
            lambda r: r.projects().models().get(name=c.model_name(key)),
        )
        return None if body is None else state.observe_model(key.endpoint, body)

    def get_version(self, key: ResourceKey) -> ObservedResource | None:
        """The live version, or None when it (or its model) does not exist."""
        c = self.client
        body = self._get_or_none(
            key.endpoint,
            f"get version {key.address}",
            lambda r: r.projects().models().versions().get(name=c.version_name(key)),
        )
        return None if body is None else state.observe_version(key.endpoint, key.model, body)

    def wait_operation(
        self, endpoint: str, operation: Json, what: str, timeout: float | None = None
    ) -> Json:
        """Poll `operation` until done (see `PollSchedule`); raise if it ends in error."""
        timeout = self.operation_timeout if timeout is None else timeout
        name = str(operation.get("name", ""))
        kind = str(operation.get("metadata", {}).get("operationType") or what.split(" ")[0])
        started = time.monotonic()

        def refresh(current: Json, left: float) -> Json:
            time.sleep(min(left, self.polls.delay(kind, time.monotonic() - started)))
            newer = self.client.execute(
                endpoint,
                f"{what}: poll operation {name}",
                lambda r: r.projects().operations().get(name=name),
            )
            if newer.get("done"):
                self.polls.finished(kind, time.monotonic() - started)
            return newer

        return operations.wait_done(operation, what, timeout, refresh)

    def wait_settled(
        self, key: ResourceKey, timeout: float | None = None
    ) -> ObservedResource | None:
        """Poll a version until it is not CREATING/UPDATING/DELETING; None once it is gone.

        A model has no transitional states: its current value (or None) is returned at once.
        """
        if key.version is None:
            return self.get_model(key)
        timeout = self.operation_timeout if timeout is None else timeout
        backoff = Backoff(timeout, self.poll_initial, self.poll_max)
        while True:
            current = self.get_version(key)
            if current is None or not current.state.transitional:
                return current
            if not backoff.wait():
                raise OperationTimeout(
                    f"version {key.address} is still {current.state.value} after {timeout:g} s"
                )

    # ---- models --------------------------------------------------------------------------------

    def create_model(
        self, key: ResourceKey, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> ObservedResource:
        c = self.client
        what = f"create model {key.address}"
        body = state.model_body(key, fields, written_labels(labels, spec))
        try:
            created = c.execute(
                key.endpoint,
                what,
                lambda r: r.projects().models().create(parent=c.parent(), body=body),
            )
        except ProviderError as exc:
            if not exc.already_exists:
                raise
            existing = self.get_model(key)
            if existing is not None and _is_ours(existing.labels, labels, spec):
                return existing  # created by an earlier, interrupted run (or attempt)
            raise ProviderError(
                f"{what}: a model with this name already exists and was not created with this "
                "spec; run plan again",
                status=exc.status,
                reason=exc.reason,
                message=exc.message,
            ) from exc
        return state.observe_model(key.endpoint, created)

    def patch_model(
        self,
        key: ResourceKey,
        changes_mask: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
    ) -> ObservedResource:
        """Patch `description` / `labels` (labels are written, for `deployer-spec`, except on
        the global endpoint, where the service fixes them at creation)."""
        c = self.client
        what = f"update model {key.address}"
        written = written_labels(labels, spec)
        if key.endpoint == catalog.GLOBAL:
            paths = [p for p in _unique(changes_mask) if p != "labels"]
        else:
            paths = _unique(changes_mask, "labels")
            live = self.get_model(key)  # the record of the default deployer set stays
            written.update(ownership.kept_records(live.labels) if live is not None else {})
        body = patch_body(paths, {**fields, "labels": written})
        operation = c.execute(
            key.endpoint,
            what,
            lambda r: (
                r.projects()
                .models()
                .patch(name=c.model_name(key), updateMask=",".join(paths), body=body)
            ),
        )
        self.wait_operation(key.endpoint, operation, what)
        current = self.get_model(key)
        if current is None:
            raise ProviderError(f"{what}: the model disappeared during the update")
        return current

    def delete_model(self, key: ResourceKey) -> None:
        """Delete a model (it must have no versions) and wait; already gone is success."""
        c = self.client
        what = f"delete model {key.address}"
        try:
            operation = c.execute(
                key.endpoint, what, lambda r: r.projects().models().delete(name=c.model_name(key))
            )
        except ProviderError as exc:
            if exc.not_found:
                return
            raise
        self.wait_operation(key.endpoint, operation, what)

    # ---- versions ------------------------------------------------------------------------------

    def _version_labels(
        self, fields: Mapping[str, Any], labels: Mapping[str, str], spec: str
    ) -> dict[str, str]:
        out = written_labels(labels, spec)
        if fields.get("artifactDigest"):
            out[state.LABEL_ARTIFACT] = fields["artifactDigest"]
        return out

    def create_version(
        self,
        key: ResourceKey,
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
        timeout: float | None = None,
    ) -> ObservedResource:
        """Create a version and wait until it is READY; FAILED raises with the service's reason.

        The service refuses `requestLoggingConfig` on create, so it is patched in afterwards."""
        c = self.client
        what = f"create version {key.address}"
        body = state.version_body(key, fields, written_labels(labels, spec))
        try:
            operation = c.execute(
                key.endpoint,
                what,
                lambda r: (
                    r.projects().models().versions().create(parent=c.model_name(key), body=body)
                ),
            )
        except ProviderError as exc:
            if not exc.already_exists:
                raise
            existing = self.wait_settled(key, timeout)
            if existing is None or not _is_ours(existing.labels, labels, spec):
                raise ProviderError(
                    f"{what}: a version with this name already exists and was not created with "
                    "this spec; run plan again",
                    status=exc.status,
                    reason=exc.reason,
                    message=exc.message,
                ) from exc
            ready = self._ready(key, existing, what)
            if fields.get("requestLoggingConfig") != ready.fields.get("requestLoggingConfig"):
                return self.patch_version(
                    key, ["requestLoggingConfig"], fields, labels, spec, timeout
                )
            return ready
        try:
            self.wait_operation(key.endpoint, operation, what, timeout)
        except OperationFailed as exc:
            current = self.get_version(key)
            if current is not None and current.error_message:
                raise OperationFailed(
                    f"{what} failed: version is FAILED: {current.error_message}",
                    message=current.error_message,
                ) from exc
            raise
        ready = self._ready(key, self.wait_settled(key, timeout), what)
        if fields.get("requestLoggingConfig") != ready.fields.get("requestLoggingConfig"):
            # the service takes request logging only by patching an existing version
            return self.patch_version(key, ["requestLoggingConfig"], fields, labels, spec, timeout)
        return ready

    def _ready(
        self, key: ResourceKey, current: ObservedResource | None, what: str
    ) -> ObservedResource:
        if current is None:
            raise ProviderError(f"{what}: the version disappeared while it was being created")
        if current.state is State.FAILED:
            reason = current.error_message or "no reason given"
            raise OperationFailed(f"{what} failed: version is FAILED: {reason}", message=reason)
        if current.state is not State.READY:
            raise ProviderError(f"{what}: version ended {current.state.value}, not READY")
        return current

    def patch_version(
        self,
        key: ResourceKey,
        mask_paths: Iterable[str | None],
        fields: Mapping[str, Any],
        labels: Mapping[str, str],
        spec: str,
        timeout: float | None = None,
    ) -> ObservedResource:
        """Patch in place (description, labels, autoScaling.minNodes/maxNodes,
        manualScaling.nodes, requestLoggingConfig); labels are written too, except on mls1-*
        machines, where the service fixes them at creation."""
        c = self.client
        what = f"update version {key.address}"
        if catalog.is_n1(str(fields.get("machineType") or "")):
            paths = _unique(mask_paths, "labels")
        else:
            paths = [p for p in _unique(mask_paths) if p != "labels"]
        body = patch_body(paths, {**fields, "labels": self._version_labels(fields, labels, spec)})
        operation = c.execute(
            key.endpoint,
            what,
            lambda r: (
                r.projects()
                .models()
                .versions()
                .patch(name=c.version_name(key), updateMask=",".join(paths), body=body)
            ),
        )
        self.wait_operation(key.endpoint, operation, what, timeout)
        current = self.wait_settled(key, timeout)
        if current is None:
            raise ProviderError(f"{what}: the version disappeared during the update")
        return current

    def delete_version(self, key: ResourceKey, timeout: float | None = None) -> None:
        """Delete a version and wait until it is gone; already gone is success. A version that
        is busy (CREATING/UPDATING) is waited for first."""
        c = self.client
        what = f"delete version {key.address}"

        def request(r: Any) -> Any:
            return r.projects().models().versions().delete(name=c.version_name(key))

        try:
            operation = c.execute(key.endpoint, what, request)
        except ProviderError as exc:
            if exc.not_found:
                return
            if exc.status != 400:
                raise
            current = self.get_version(key)
            if current is None:
                return
            if not current.state.transitional:
                raise
            if self.wait_settled(key, timeout) is None:
                return
            try:
                operation = c.execute(key.endpoint, what, request)
            except ProviderError as again:
                if again.not_found:
                    return
                raise
        self.wait_operation(key.endpoint, operation, what, timeout)

    def set_default(self, key: ResourceKey) -> ObservedResource:
        """Make a READY version its model's default (synchronous), then record it on the model
        (`deployer-route`), so a default moved by hand later shows as drift. Not on the global
        endpoint, whose labels are fixed at creation: there nothing is claimed."""
        c = self.client
        what = f"set default version {key.address}"
        body = c.execute(
            key.endpoint,
            what,
            lambda r: (
                r.projects().models().versions().setDefault(name=c.version_name(key), body={})
            ),
        )
        if key.endpoint != catalog.GLOBAL:
            self._record_default(key, what)
        return state.observe_version(key.endpoint, key.model, body)

    def _record_default(self, key: ResourceKey, what: str) -> None:
        c = self.client
        live = self.get_model(key)
        if live is None:
            raise ProviderError(f"{what}: the model disappeared")
        route = ownership.route_hash({str(key.version): 100})
        if live.labels.get(ownership.LABEL_ROUTE) == route:
            return
        body = {"labels": {**live.labels, ownership.LABEL_ROUTE: route}}
        operation = c.execute(
            key.endpoint,
            f"{what} (record)",
            lambda r: (
                r.projects().models().patch(name=c.model_name(key), updateMask="labels", body=body)
            ),
        )
        self.wait_operation(key.endpoint, operation, what)
