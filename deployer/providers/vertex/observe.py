"""From Vertex JSON to the observed resources the diff compares (pure: no I/O).

Vertex has no resource that is "version v1 of model m": it has registry versions labelled
`deployer-version: ALIAS`, one of which holds the alias, and deployed models pointing at
version ids. This module turns one model's registry versions and its endpoints into keyed
resources (VERTEX-PROVIDER.md, "Keys" and "Field paths"), so the reader and the writer agree on
which instance is current and which are superseded leftovers of a create-before-destroy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deployer.core import ownership
from deployer.core.resources import ObservedResource, ResourceKey
from deployer.core.sensitive import Sensitive
from deployer.providers.vertex import catalog as catalog_vertex

Json = dict[str, Any]

LABEL_ARTIFACT = ownership.LABEL_ARTIFACT
MODEL_LABELS = frozenset(
    {
        ownership.LABEL_MANAGED_BY,
        ownership.LABEL_STACK,
        catalog_vertex.LABEL_MODEL,
        ownership.LABEL_PROTECT,
    }
)
"""The only model-level labels the model resource shows: a read merges the default version's
labels over the model's, so any other key would really describe that version."""
CONTAINER_KEYS = ("imageUri", "predictRoute", "healthRoute", "env", "ports", "command", "args")
ENDPOINT = "endpoint"
DEPLOYED = "deployed"
DEPLOYMENT = "deployment"
"""The kind of a deployed model, addressed as `REGION/MODEL/VERSION:deployed`."""
POOL = "pool"
"""A deployment resource pool, addressed as `REGION/NAME:pool`."""


def last_segment(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def model_id(name: str) -> str:
    """`projects/P/locations/L/models/M@3` -> `M`."""
    return last_segment(name).split("@", 1)[0]


def _int(value: Any, default: int = 0) -> int:
    """int64 fields arrive as JSON strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _vid_order(vid: str) -> tuple[int, str]:
    return (_int(vid, -1), vid)


# ---- field normalization ------------------------------------------------------------------------


def container_spec(spec: Mapping[str, Any] | None) -> Json:
    out: Json = {}
    for key in CONTAINER_KEYS:
        value = (spec or {}).get(key)
        if not value:
            continue
        if key == "env":  # read values are sensitive: plans never show them
            value = [
                {"name": e.get("name", ""), "value": Sensitive(e.get("value", ""))} for e in value
            ]
        elif key == "ports":
            value = [{"containerPort": _int(p.get("containerPort"))} for p in value]
        elif key == "args":  # read args may hold secrets as well (deployer.core.sensitive)
            value = [Sensitive(a) for a in value]
        elif key == "command":
            value = list(value)
        out[key] = value
    return out


def machine_spec(spec: Mapping[str, Any] | None) -> Json:
    spec = spec or {}
    out: Json = {}
    if spec.get("machineType"):
        out["machineType"] = spec["machineType"]
    accelerator = spec.get("acceleratorType")
    if accelerator and accelerator != "ACCELERATOR_TYPE_UNSPECIFIED":
        out["acceleratorType"] = accelerator
    if _int(spec.get("acceleratorCount")):
        out["acceleratorCount"] = _int(spec.get("acceleratorCount"))
    return out


def metric_specs(specs: Iterable[Mapping[str, Any]] | None) -> list[Json]:
    return sorted(
        (
            {"metricName": s.get("metricName", ""), "target": _int(s.get("target"))}
            for s in specs or ()
        ),
        key=lambda s: s["metricName"],
    )


def logging_config(config: Mapping[str, Any] | None) -> Json | None:
    if not config:
        return None
    out: Json = {}
    if "enabled" in config:
        out["enabled"] = bool(config["enabled"])
    if "samplingRate" in config:
        out["samplingRate"] = float(config["samplingRate"])
    uri = (config.get("bigqueryDestination") or {}).get("outputUri")
    if uri:
        out["bigqueryDestination"] = {"outputUri": uri}
    return out or None


def seconds(value: Any) -> int | None:
    """A proto3 JSON Duration (`"600s"`, `"1.5s"`) in whole seconds."""
    try:
        return int(float(str(value).rstrip("s")))
    except ValueError:
        return None


def scale_to_zero_spec(spec: Mapping[str, Any] | None) -> Json | None:
    out = {
        key: f"{seconds(value)}s"
        for key, value in (spec or {}).items()
        if key in ("idleScaledownPeriod", "minScaleupPeriod") and seconds(value) is not None
    }
    return out or None


def pool_of(name: str, stack: str | None) -> str:
    """A deployment's pool as the manifest names it: this stack's pool by its declared name,
    any other by its resource name."""
    declared = catalog_vertex.pool_name(stack, last_segment(name)) if stack else None
    return declared or name


def deployment_fields(dm: Mapping[str, Any], stack: str | None = None) -> Json:
    common: Json = {
        "serviceAccount": dm.get("serviceAccount") or None,
        "enableAccessLogging": bool(dm.get("enableAccessLogging", False)),
        "disableContainerLogging": bool(dm.get("disableContainerLogging", False)),
    }
    shared = dm.get("sharedResources")
    if shared and not dm.get("dedicatedResources"):
        return {
            **common,
            "machineSpec": None,
            "minReplicaCount": None,
            "maxReplicaCount": None,
            "autoscalingMetricSpecs": [],
            "spot": None,
            "sharedResources": pool_of(str(shared), stack),
            "scaleToZeroSpec": None,
            "initialReplicaCount": None,
        }
    resources = dm.get("dedicatedResources") or {}
    low = _int(resources.get("minReplicaCount"))
    zero = low == 0
    return {
        **common,
        "machineSpec": machine_spec(resources.get("machineSpec")),
        "minReplicaCount": low,
        "maxReplicaCount": _int(resources.get("maxReplicaCount"), low) or low,
        "autoscalingMetricSpecs": metric_specs(resources.get("autoscalingMetricSpecs")),
        "spot": True if resources.get("spot") else None,
        "sharedResources": None,
        "scaleToZeroSpec": scale_to_zero_spec(resources.get("scaleToZeroSpec")) if zero else None,
        "initialReplicaCount": _int(resources.get("initialReplicaCount")) or None if zero else None,
    }


def endpoint_fields(body: Mapping[str, Any]) -> Json:
    """The endpoint's settings (`state.endpoint_fields` declares the same paths)."""
    psc = body.get("privateServiceConnectConfig") or {}
    enabled = bool(psc.get("enablePrivateServiceConnect"))
    timeout = seconds((body.get("clientConnectionConfig") or {}).get("inferenceTimeout"))
    return {
        "displayName": body.get("displayName", ""),
        "description": body.get("description", ""),
        "predictRequestResponseLoggingConfig": logging_config(
            body.get("predictRequestResponseLoggingConfig")
        ),
        "dedicatedEndpointEnabled": True if body.get("dedicatedEndpointEnabled") else None,
        "clientConnectionConfig": {"inferenceTimeout": f"{timeout}s"} if timeout else None,
        "privateServiceConnect": True if enabled else None,
        "privateServiceConnectConfig.projectAllowlist": (
            sorted(psc.get("projectAllowlist") or []) if enabled else None
        ),
        "network": body.get("network") or None,
    }


def observe_pool(region: str, body: Mapping[str, Any], stack: str) -> ObservedResource | None:
    """One of `stack`'s deployment resource pools (None: someone else's). Pools have no labels
    ([DD] DeploymentResourcePool): the id says whose it is (`catalog.pool_id`)."""
    name = catalog_vertex.pool_name(stack, last_segment(str(body.get("name", ""))))
    if name is None:
        return None
    resources = body.get("dedicatedResources") or {}
    low = _int(resources.get("minReplicaCount"))
    return ObservedResource(
        key=ResourceKey(region, name, part=POOL, kind=POOL),
        fields={
            "machineSpec": machine_spec(resources.get("machineSpec")),
            "minReplicaCount": low,
            "maxReplicaCount": _int(resources.get("maxReplicaCount"), low) or low,
            "autoscalingMetricSpecs": metric_specs(resources.get("autoscalingMetricSpecs")),
        },
        labels={
            ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE,
            ownership.LABEL_STACK: stack,
        },
        ident=last_segment(str(body.get("name", ""))),
        private=dict(body),
    )


# ---- registry ------------------------------------------------------------------------------------


def observe_model(region: str, body: Mapping[str, Any]) -> ObservedResource:
    """The registry model from its plain `models.get(M)` / `models.list` view."""
    labels = body.get("labels") or {}
    return ObservedResource(
        key=ResourceKey(region, model_id(str(body.get("name", "")))),
        fields={
            "displayName": body.get("displayName", ""),
            "description": body.get("description", ""),
        },
        labels={k: v for k, v in labels.items() if k in MODEL_LABELS},
        private=dict(body),
    )


@dataclass(frozen=True)
class Identity:
    """Where a registry version or deployed model sits: key version, and instance when it is a
    superseded (or duplicate) one."""

    version: str
    instance: str = ""
    managed: bool = True

    @property
    def suffix(self) -> str:
        """The traffic address: `v1`, `v2#123` or `@456`."""
        return f"{self.version}#{self.instance}" if self.instance else self.version


def version_of(body: Mapping[str, Any]) -> str | None:
    """The manifest version (its alias) a registry version is: its `deployer-version` label,
    unless the label contradicts the one alias it holds. A read merges model and version labels
    and which level wins is undocumented: a model-level `deployer-version` left by an older
    deployer (or a first upload that failed halfway) would name every version alike when the
    model level wins (issue 19); the aliases are the registry's own."""
    label = (body.get("labels") or {}).get(catalog_vertex.LABEL_VERSION)
    held = [a for a in body.get("versionAliases") or () if a != catalog_vertex.DEFAULT_ALIAS]
    if label is None or label in held or len(held) != 1:
        return label
    return held[0]


def version_identities(versions: Sequence[Mapping[str, Any]]) -> dict[str, Identity]:
    """versionId -> identity: per ALIAS the alias holder (else the highest id) is current."""
    by_alias: dict[str, list[Mapping[str, Any]]] = {}
    out: dict[str, Identity] = {}
    for body in versions:
        vid = str(body.get("versionId", ""))
        alias = version_of(body)
        if alias:
            by_alias.setdefault(alias, []).append(body)
        else:
            out[vid] = Identity(f"@{vid}", managed=False)
    for alias, bodies in by_alias.items():
        holders = [b for b in bodies if alias in (b.get("versionAliases") or ())]
        pool = holders or bodies
        current = str(max(pool, key=lambda b: _vid_order(str(b.get("versionId", ""))))["versionId"])
        for body in bodies:
            vid = str(body["versionId"])
            out[vid] = Identity(alias, "" if vid == current else vid)
    return out


def newest_labelled(versions: Sequence[Mapping[str, Any]], alias: str) -> Mapping[str, Any] | None:
    """The registry version labelled `alias` with the highest id (the latest upload)."""
    labelled = [b for b in versions if version_of(b) == alias]
    return max(labelled, key=lambda b: _vid_order(str(b.get("versionId", ""))), default=None)


def observe_version(
    region: str, model: str, body: Mapping[str, Any], who: Identity
) -> ObservedResource:
    labels = dict(body.get("labels") or {})
    return ObservedResource(
        key=ResourceKey(region, model, who.version, instance=who.instance),
        fields={
            "artifactUri": body.get("artifactUri") or None,
            "artifactDigest": labels.get(LABEL_ARTIFACT),
            "containerSpec": container_spec(body.get("containerSpec")),
            "versionDescription": body.get("versionDescription", ""),
            "alias": who.version if who.version in (body.get("versionAliases") or ()) else None,
        },
        labels={k: v for k, v in labels.items() if k != LABEL_ARTIFACT},
        is_default=catalog_vertex.DEFAULT_ALIAS in (body.get("versionAliases") or ()),
        ident=str(body.get("versionId", "")),
        private=dict(body),
    )


# ---- endpoints and deployed models -------------------------------------------------------------


def endpoint_model(body: Mapping[str, Any]) -> str | None:
    return (body.get("labels") or {}).get(catalog_vertex.LABEL_MODEL)


LABEL_REPLACES = "deployer-replaces"
"""On an endpoint created to replace another (create-then-delete): the id of the one it
replaces. Internal: never compared, kept by every label patch."""


def rank_endpoints(
    bodies: Iterable[Mapping[str, Any]], stack: str | None
) -> list[Mapping[str, Any]]:
    """One model's endpoints, the current one first: this stack's; among them the successor of
    another one still there (an endpoint replaced create-then-delete: writes go to the new one
    while the old one is drained and goes, `deployer.plan.planner`), then the oldest (a
    duplicate left by an interrupted create, or made by hand, goes; the original's URL stays)."""
    bodies = list(bodies)
    live = {last_segment(str(b.get("name", ""))) for b in bodies}

    def order(body: Mapping[str, Any]) -> tuple[bool, bool, str, tuple[int, str]]:
        labels = body.get("labels") or {}
        theirs = stack is not None and labels.get(ownership.LABEL_STACK) != stack
        successor = labels.get(LABEL_REPLACES, "") in live
        return (
            theirs,
            not successor,
            str(body.get("createTime", "")),
            _vid_order(last_segment(str(body["name"]))),
        )

    return sorted(bodies, key=order)


def deployment_identities(
    model: str, dms: Sequence[Mapping[str, Any]], versions: Mapping[str, Identity]
) -> dict[str, Identity]:
    """deployedModelId -> identity: per ALIAS the newest deployed model of the current registry
    instance is current; every other one (older duplicate, superseded instance) has an instance."""
    out: dict[str, Identity] = {}
    by_alias: dict[str, list[Mapping[str, Any]]] = {}
    for dm in dms:
        dm_id = str(dm.get("id", ""))
        who = versions.get(str(dm.get("modelVersionId", "")))
        if model_id(str(dm.get("model", ""))) != model or who is None or not who.managed:
            out[dm_id] = Identity(f"@{dm_id}", managed=False)
        else:
            by_alias.setdefault(who.version, []).append(dm)
    for alias, group in by_alias.items():
        on_current = [d for d in group if not versions[str(d["modelVersionId"])].instance]
        current = max(
            on_current,
            key=lambda d: (str(d.get("createTime", "")), _vid_order(str(d.get("id", "")))),
            default=None,
        )
        for dm in group:
            dm_id = str(dm["id"])
            out[dm_id] = Identity(alias, "" if dm is current else dm_id)
    return out


def observe_endpoint(
    region: str,
    model: str,
    body: Mapping[str, Any],
    deployments: Mapping[str, Identity],
    instance: str = "",
) -> ObservedResource:
    split = body.get("trafficSplit") or {}
    traffic = {
        (deployments[dm].suffix if dm in deployments else f"@{dm}"): _int(pct)
        for dm, pct in split.items()
    }
    return ObservedResource(
        key=ResourceKey(region, model, part=ENDPOINT, instance=instance),
        fields={**endpoint_fields(body), "traffic": traffic},
        labels={k: v for k, v in (body.get("labels") or {}).items() if k != LABEL_REPLACES},
        etag=str(body.get("etag", "")),
        ident=last_segment(str(body.get("name", ""))),
        private=dict(body),
    )


def deployment_labels(
    endpoint_labels: Mapping[str, str], dm_id: str, who: Identity
) -> dict[str, str]:
    """A deployed model has no labels: it carries its endpoint's ownership labels (not the
    user's, so an endpoint's own label change leaves its record valid), and as its
    `deployer-spec` the record deployer wrote for it on the endpoint. Only the current one's:
    an old deployment of an earlier upload may hold the same fields, and must never pass for
    the replacement an interrupted apply left (the planner's resume)."""
    if not who.managed:
        return {}
    own = {
        k: v
        for k, v in endpoint_labels.items()
        if ownership.own_label(k) and not ownership.computed(k) and k != LABEL_REPLACES
    }
    record = endpoint_labels.get(ownership.child_record(dm_id))
    return {**own, ownership.LABEL_SPEC: record} if record and not who.instance else own


def with_deployment_record(
    labels: Mapping[str, Any], on_endpoint: Iterable[str], dm_id: str, spec: str
) -> dict[str, str]:
    """An endpoint's labels with `dm_id`'s record set to `spec`, and the records of deployed
    models no longer on it dropped (labels are limited to 64)."""
    there = {ownership.child_record(i) for i in on_endpoint}
    kept = {
        str(k): str(v)
        for k, v in labels.items()
        if not ownership.is_child_record(str(k)) or str(k) in there
    }
    return {**kept, ownership.child_record(dm_id): spec}


def observe_deployment(
    region: str,
    model: str,
    dm: Mapping[str, Any],
    who: Identity,
    endpoint_labels: Mapping[str, str],
    within: str = "",
    stack: str | None = None,
) -> ObservedResource:
    fields = {**deployment_fields(dm, stack), "displayName": dm.get("displayName") or ""}
    if not who.managed:  # someone else's: which registry model it serves names it for people
        fields["model"] = model_id(str(dm.get("model", "")))
    return ObservedResource(
        key=ResourceKey(
            region, model, who.version, part=DEPLOYED, instance=who.instance, kind=DEPLOYMENT
        ),
        fields=fields,
        labels=deployment_labels(endpoint_labels, str(dm.get("id", "")), who),
        ident=str(dm.get("id", "")),
        ref=str(dm.get("modelVersionId", "")),
        within=within,
        private=dict(dm),
    )


# ---- one model, assembled ------------------------------------------------------------------------


def assemble_model(
    region: str,
    model: str,
    versions: Sequence[Mapping[str, Any]],
    endpoints: Sequence[Mapping[str, Any]],
    stack: str | None,
) -> list[ObservedResource]:
    """The registry versions, endpoint(s) and deployments of one model (not the model itself).

    Endpoints beyond the current one (an interrupted create, or another stack's) carry their
    endpoint id as instance, and so do all their deployed models.
    """
    identities = version_identities(versions)
    out = [
        observe_version(region, model, body, identities[str(body.get("versionId", ""))])
        for body in versions
    ]
    for rank, body in enumerate(rank_endpoints(endpoints, stack)):
        labels = dict(body.get("labels") or {})
        dms = body.get("deployedModels") or []
        who = deployment_identities(model, dms, identities)
        endpoint_instance = "" if rank == 0 else last_segment(str(body["name"]))
        if endpoint_instance:
            who = {
                dm: Identity(i.version, dm, i.managed) if i.managed else i for dm, i in who.items()
            }
        out.append(observe_endpoint(region, model, body, who, endpoint_instance))
        out.extend(
            observe_deployment(
                region, model, dm, who[str(dm.get("id", ""))], labels, endpoint_instance, stack
            )
            for dm in dms
        )
    return out
