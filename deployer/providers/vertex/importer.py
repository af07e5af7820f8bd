"""Live Vertex AI resources as manifest entries, for `deployer import`.

A registry model's versions become manifest versions, named after a version alias when one is a
valid name (else `v<versionId>`); the endpoint that deploys them gives machine, scaling and
traffic. Each version keeps its serving image as `container:` (exactly what it runs). Besides
the entry (pure), `adopted` says how the live resources will read once `VertexProvider.adopt`
labelled them (pure: the check made before anything is written) and `restore` undoes `adopt`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from deployer.core import manifest, ownership
from deployer.core.errors import AdoptionError
from deployer.core.provider import Imported
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex import observe

INTERNAL = ownership.RESERVED_LABELS | {
    catalog_vertex.LABEL_MODEL,
    catalog_vertex.LABEL_VERSION,
    "deployer-artifact",
}
METRIC_NAMES = {v: k for k, v in catalog_vertex.METRICS.items()}


def _user(labels: Any) -> dict[str, str]:
    return {
        k: v
        for k, v in dict(labels or {}).items()
        if k not in INTERNAL and not ownership.own_label(k)
    }


def version_name(body: dict[str, Any]) -> str:
    for alias in body.get("versionAliases") or ():
        if (
            alias != catalog_vertex.DEFAULT_ALIAS
            and manifest.NAME_RE.match(alias)
            and catalog_vertex.alias(alias) == alias
        ):
            return alias
    return f"v{body.get('versionId', '')}"


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"image_uri": spec.get("imageUri", "")}
    if spec.get("predictRoute"):
        out["predict_route"] = spec["predictRoute"]
    if spec.get("healthRoute"):
        out["health_route"] = spec["healthRoute"]
    if spec.get("env"):
        out["env"] = {str(e["name"]): str(e["value"]) for e in spec["env"]}  # plain, for YAML
    if spec.get("ports"):
        out["ports"] = [p["containerPort"] for p in spec["ports"]]
    if spec.get("command"):
        out["command"] = list(spec["command"])
    if spec.get("args"):
        out["args"] = [str(a) for a in spec["args"]]
    return out


def _scaling(fields: dict[str, Any]) -> dict[str, Any]:
    low, high = fields.get("minReplicaCount") or 1, fields.get("maxReplicaCount") or 0
    metrics = fields.get("autoscalingMetricSpecs") or []
    if low == high and not metrics:
        return {"mode": "manual", "nodes": low}
    out: dict[str, Any] = {"mode": "auto", "min_nodes": low, "max_nodes": max(low, high)}
    if metrics:
        out["metrics"] = [
            {"name": METRIC_NAMES.get(m["metricName"], m["metricName"]), "target": m["target"]}
            for m in metrics
        ]
    return out


def manifest_entry(
    model: ObservedResource,
    children: Sequence[ObservedResource],
    default_region: str,
    only: str | None = None,
) -> Imported:
    notes: list[str] = []
    versions = [r for r in children if r.key.version is not None and not r.key.part]
    endpoints = [r for r in children if r.key.part == "endpoint"]
    deployments = [r for r in children if r.key.part == "deployed"]
    if len(endpoints) > 1:
        raise AdoptionError(
            f"{model.key.address} is deployed on {len(endpoints)} endpoints; deployer manages "
            "one endpoint per model: undeploy it from all but one first"
        )
    names = {str(v.private.get("versionId")): version_name(dict(v.private)) for v in versions}
    if len(set(names.values())) != len(names):
        raise AdoptionError(f"{model.key.address}: two versions map to the same name")
    by_vid: dict[str, ObservedResource] = {}
    for dm in deployments:
        vid = str(dm.private.get("modelVersionId", ""))
        if vid in by_vid:
            raise AdoptionError(
                f"{model.key.address}: version {names.get(vid, vid)} is deployed twice on its "
                "endpoint; undeploy one first"
            )
        by_vid[vid] = dm
    if only is not None:
        versions = [v for v in versions if names[str(v.private.get("versionId"))] == only]
        if not versions:
            raise AdoptionError(f"version {only!r} of {model.key.address} not found")
    if not any(str(v.private.get("versionId")) in by_vid for v in versions):
        raise AdoptionError(
            f"{model.key.address} has no deployed version, and deployer manages models that "
            "serve (a manifest whose versions all have deployed: false does not validate): "
            "deploy one of its versions to an endpoint first, then import it"
        )
    endpoint = endpoints[0] if endpoints else None
    split: dict[str, int] = {}
    if endpoint is not None:
        for dm_id, pct in (endpoint.private.get("trafficSplit") or {}).items():
            served = next((d for d in deployments if str(d.private.get("id")) == dm_id), None)
            vid = str(served.private.get("modelVersionId")) if served else ""
            if vid in names and int(pct):
                split[names[vid]] = int(pct)

    entry: dict[str, Any] = {"name": model.key.model}
    description = model.fields.get("description") or ""
    if description:
        entry["description"] = description
    if model.key.endpoint != default_region:
        entry["regions"] = [model.key.endpoint]
    user = _user(endpoint.labels) if endpoint is not None else {}
    if user:
        entry["labels"] = user
    first = next(iter(by_vid.values()), None)
    if first is not None:
        entry["online_prediction_logging"] = bool(first.fields.get("enableAccessLogging"))
        if not first.fields.get("disableContainerLogging"):
            entry["console_logging"] = True
    holders = [v for v in versions if v.is_default]
    default = (
        names[str(holders[0].private.get("versionId"))]
        if holders
        else (max(split, key=lambda n: split[n]) if split else None)
    )
    if len(versions) > 1 and default:
        entry["default_version"] = default
    if split and split != {default: 100}:
        entry["traffic"] = split
    out_versions = []
    origin: dict[str, str] = {}
    for v in sorted(versions, key=lambda v: int(v.private.get("versionId") or 0)):
        vid = str(v.private.get("versionId"))
        name = names[vid]
        origin[catalog_vertex.alias(name)] = vid
        item: dict[str, Any] = {"name": name}
        if v.fields.get("artifactUri"):
            item["artifact"] = v.fields["artifactUri"]
        item["container"] = _container(dict(v.fields.get("containerSpec") or {}))
        if v.fields.get("versionDescription"):
            item["description"] = v.fields["versionDescription"]
        if _user(v.labels):
            item["labels"] = {k: x for k, x in _user(v.labels).items() if user.get(k) != x}
            if not item["labels"]:
                del item["labels"]
        deployed_model = by_vid.get(vid)
        if deployed_model is None:
            item["deployed"] = False
        elif deployed_model.private.get("sharedResources"):
            raise AdoptionError(
                f"{model.key.address}: version {name} serves from the shared resource pool "
                f"{observe.last_segment(str(deployed_model.private['sharedResources']))}, which "
                "deployer cannot adopt (it names pools itself): deploy the version on its own "
                "resources first, or declare a pool under resource_pools and redeploy there"
            )
        else:
            spec = deployed_model.fields.get("machineSpec") or {}
            item["machine_type"] = spec.get("machineType")
            if spec.get("acceleratorType"):
                item["accelerator"] = {
                    "type": spec["acceleratorType"],
                    "count": spec.get("acceleratorCount", 1),
                }
            item["scaling"] = _scaling(dict(deployed_model.fields))
            if deployed_model.fields.get("spot"):
                item["spot"] = True
            if deployed_model.fields.get("serviceAccount"):
                item["service_account"] = deployed_model.fields["serviceAccount"]
        out_versions.append(item)
    logging = endpoint.fields.get("predictRequestResponseLoggingConfig") if endpoint else None
    if logging and logging.get("enabled") and out_versions:
        table = (logging.get("bigqueryDestination") or {}).get("outputUri", "")
        out_versions[0]["request_logging"] = {
            "bigquery_table": table.removeprefix("bq://"),
            "sampling_percentage": logging.get("samplingRate", 0.0),
        }
    settings = _endpoint_settings(endpoint.fields if endpoint is not None else {}, model)
    if settings:
        entry["endpoint"] = settings
    entry["versions"] = out_versions
    return Imported(entry, notes, origin)


def _endpoint_settings(fields: Mapping[str, Any], model: ObservedResource) -> dict[str, Any]:
    """The `endpoint:` block of what the live endpoint is (shared public endpoints need none).
    A VPC-peered one is refused: deployer serves no model there (one model per endpoint, no
    split, so no zero-downtime rollout)."""
    if fields.get("network"):
        raise AdoptionError(
            f"{model.key.address} is served by a VPC-peered endpoint ({fields['network']}), "
            "which deployer does not manage: use Private Service Connect instead"
        )
    out: dict[str, Any] = {}
    if fields.get("dedicatedEndpointEnabled"):
        out["dedicated"] = True
    timeout = (fields.get("clientConnectionConfig") or {}).get("inferenceTimeout")
    if timeout:
        out["inference_timeout"] = str(timeout)
    if fields.get("privateServiceConnect"):
        allowed = list(fields.get("privateServiceConnectConfig.projectAllowlist") or [])
        out["private_service_connect"] = {"project_allowlist": allowed} if allowed else {}
    name = fields.get("displayName")
    if name and name != model.key.model:
        out["display_name"] = name
    return out


# ---- adopting: what it leaves, and undoing it -------------------------------------------------


def _version_level(d: DesiredResource, spec: str) -> dict[str, str]:
    """The labels `adopt` writes on a registry version (VertexWriter.version_labels)."""
    from deployer.providers.vertex.writer import label_values

    labels = {
        catalog_vertex.LABEL_MODEL: d.key.model,
        catalog_vertex.LABEL_VERSION: str(d.key.version),
        **d.labels,
        ownership.LABEL_SPEC: spec,
    }
    if d.fields.get("artifactDigest"):
        labels[observe.LABEL_ARTIFACT] = str(d.fields["artifactDigest"])
    return label_values(labels)


def adopted(
    model: ObservedResource,
    children: Sequence[ObservedResource],
    desired: Sequence[DesiredResource],
    origin: Mapping[str, str],
    specs: Mapping[ResourceKey, str],
    stack: str,
) -> list[ObservedResource]:
    """The model, its versions, endpoint and deployments as a read will show them once `adopt`
    has written its labels, aliases and the endpoint's name (model and version labels merge
    on read, the version's winning)."""
    from deployer.providers.vertex.writer import VertexWriter, label_values

    region = model.key.endpoint
    head = next(d for d in desired if d.key.version is None and not d.key.part)
    model_level = VertexWriter.model_labels(head.labels)
    bodies = {
        str(r.private.get("versionId")): copy.deepcopy(dict(r.private))
        for r in children
        if r.key.version is not None and not r.key.part
    }
    for body in bodies.values():
        body["labels"] = {**dict(body.get("labels") or {}), **model_level}
    default_labels: dict[str, str] = {}
    for d in desired:
        if d.key.part or d.key.version is None:
            continue
        body = bodies[origin[str(d.key.version)]]
        level = _version_level(d, specs[d.key])
        body["labels"] = {**model_level, **level}
        wanted = [str(d.key.version)] + ([catalog_vertex.DEFAULT_ALIAS] if d.is_default else [])
        for alias in wanted:
            for other in bodies.values():  # an alias held elsewhere moves
                held = list(other.get("versionAliases") or ())
                other["versionAliases"] = [a for a in held if a != alias]
            body["versionAliases"] = [*body.get("versionAliases", []), alias]
        if d.is_default:
            default_labels = level
    endpoints = []
    wanted_ep = next((d for d in desired if d.key.part == "endpoint"), None)
    for r in children:
        if r.key.part != "endpoint":
            continue
        body = copy.deepcopy(dict(r.private))
        if wanted_ep is not None and not r.key.instance:
            body["displayName"] = wanted_ep.fields.get("displayName")
            body["description"] = wanted_ep.fields.get("description") or ""
            body["labels"] = label_values(
                {
                    catalog_vertex.LABEL_MODEL: wanted_ep.key.model,
                    **wanted_ep.labels,
                    ownership.LABEL_SPEC: specs[wanted_ep.key],
                }
            )
        endpoints.append(body)
    head_body = copy.deepcopy(dict(model.private))
    head_body.update(
        displayName=head.fields.get("displayName"),
        description=head.fields.get("description") or "",
        labels={**model_level, **default_labels},
    )
    return [
        observe.observe_model(region, head_body),
        *observe.assemble_model(region, model.key.model, list(bodies.values()), endpoints, stack),
    ]


def restore(
    provider: Any, model: ObservedResource, children: Sequence[ObservedResource]
) -> list[str]:
    """Undo `adopt`: the model's name, description and labels first (they decide ownership),
    the endpoint's, each version's labels, then the aliases as they were (a moved alias back to
    its holder, an added one removed). Best effort: returns what could not be undone."""
    from deployer.providers.errors import ProviderError
    from deployer.providers.vertex.reader import list_versions

    client = provider.client
    region, name = model.key.endpoint, model.key.model
    left: list[str] = []

    def attempt(what: str, build: Any) -> Any:
        try:
            return client.execute(region, what, build)
        except ProviderError as exc:
            if not exc.not_found:
                left.append(f"{what}: {exc}")
            return None

    head = {k: model.private.get(k) or ("" if k != "labels" else {}) for k in _MODEL_FIELDS}
    attempt(
        f"restore {model.key.address}",
        lambda r: r.projects().locations().models().patch(
            name=client.model_name(region, name), updateMask=",".join(_MODEL_FIELDS), body=head
        ),
    )  # fmt: skip
    for endpoint in children:
        if endpoint.key.part == "endpoint" and not endpoint.key.instance:
            _restore_endpoint(client, endpoint, attempt)
    original: dict[str, list[str]] = {}
    for version in children:
        if version.key.version is None or version.key.part:
            continue
        vid = str(version.private.get("versionId"))
        original[vid] = list(version.private.get("versionAliases") or ())
        body = {"labels": dict(version.private.get("labels") or {})}
        attempt(
            f"restore the labels of {model.key.address} version {vid}",
            lambda r, v=vid, b=body: r.projects().locations().models().patch(
                name=client.model_name(region, name, v), updateMask="labels", body=b
            ),
        )  # fmt: skip
    try:
        now = {
            str(b.get("versionId")): list(b.get("versionAliases") or ())
            for b in list_versions(client, region, name)
        }
    except ProviderError as exc:
        return [*left, f"aliases of {model.key.address}: {exc}"]
    every = {a for aliases in original.values() for a in aliases}
    changes = {
        vid: [a for a in aliases if a not in now.get(vid, [])] for vid, aliases in original.items()
    }
    for vid, aliases in now.items():
        changes.setdefault(vid, []).extend(f"-{a}" for a in aliases if a not in every)
    for vid, merge in changes.items():
        if merge:
            attempt(
                f"restore the aliases of {model.key.address} version {vid}",
                lambda r, v=vid, m=merge: r.projects().locations().models().mergeVersionAliases(
                    name=client.model_name(region, name, v), body={"versionAliases": m}
                ),
            )  # fmt: skip
    return left


_MODEL_FIELDS = ("displayName", "description", "labels")


def _restore_endpoint(client: Any, endpoint: ObservedResource, attempt: Any) -> None:
    name = str(endpoint.private.get("name", ""))
    current = attempt(
        f"read {endpoint.key.address}",
        lambda r: r.projects().locations().endpoints().get(name=name),
    )
    if current is None:
        return
    body = {k: endpoint.private.get(k) or ("" if k != "labels" else {}) for k in _MODEL_FIELDS}
    body["etag"] = current.get("etag", "")
    attempt(
        f"restore {endpoint.key.address}",
        lambda r: r.projects().locations().endpoints().patch(
            name=name, updateMask=",".join(_MODEL_FIELDS), body=body
        ),
    )  # fmt: skip
