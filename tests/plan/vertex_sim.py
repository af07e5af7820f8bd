"""A tiny in-memory Vertex AI with the service's refusals, for checking rollout plans.

It executes plan actions the way the vertex provider's writer does (VERTEX-PROVIDER spec:
uploads attach the alias only when free, retiring an instance hands its aliases to the newest
instance of the same alias, traffic resolves each alias to its newest deployment; the newest
endpoint of a model is its current one, where deployments and traffic go; a rolling update
swaps a deployment onto the newest upload and hands it the traffic), refuses what the service
refuses (an endpoint with deployments, a pool in use, an undeploy with traffic), and after every
step checks the serving invariant: while a declared version served before the run, some
endpoint of the model has a split, which sums to 100 and names only models deployed there.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from deployer.core import ownership
from deployer.core.ownership import spec_hash
from deployer.core.plan import Action, ActionKind, Plan
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.providers.vertex import observe, state


class Refused(AssertionError):
    """The service would have refused this call."""


@dataclass
class _Version:
    vid: int
    fields: dict[str, Any]
    labels: dict[str, str]
    aliases: set[str] = field(default_factory=set)


@dataclass
class _Deployed:
    dm: int
    vid: int
    fields: dict[str, Any]
    ep: int = 0


@dataclass
class _Endpoint:
    eid: int
    fields: dict[str, Any]
    labels: dict[str, str]
    traffic: dict[int, int] = field(default_factory=dict)


@dataclass
class _Group:
    model: dict[str, Any] | None = None
    model_labels: dict[str, str] = field(default_factory=dict)
    versions: dict[int, _Version] = field(default_factory=dict)
    next_vid: int = 1
    endpoints: dict[int, _Endpoint] = field(default_factory=dict)
    deployed: dict[int, _Deployed] = field(default_factory=dict)
    pool: dict[str, Any] | None = None

    @property
    def endpoint(self) -> _Endpoint | None:
        """The current endpoint: the newest."""
        return self.endpoints[max(self.endpoints)] if self.endpoints else None

    @property
    def traffic(self) -> dict[int, int]:
        """The current endpoint's split."""
        return self.endpoint.traffic if self.endpoint is not None else {}


class VertexSim:
    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], _Group] = {}
        self._dm_ids = itertools.count(1000)
        self.serving: set[tuple[str, str]] = set()
        self.log: list[str] = []

    # ---- reads, in the reader's shape ---------------------------------------------------

    def observed(self) -> list[ObservedResource]:
        out: list[ObservedResource] = []
        for (region, name), g in sorted(self.groups.items()):
            if g.model is not None:
                out.extend(self._observe_registry(region, name, g))
            if g.endpoints:
                out.extend(self._observe_endpoint(region, name, g))
            if g.pool is not None:
                key = ResourceKey(region, name, part="pool", kind="pool")
                out.append(ObservedResource(key, dict(g.pool), ours(), ident=name))
        return out

    def _merged(self, g: _Group, v: _Version) -> dict[str, str]:
        return {**g.model_labels, **v.labels}

    def _alias_of(self, g: _Group, vid: int) -> str:
        return g.versions[vid].labels.get("deployer-version", f"@{vid}")

    def _current_vid(self, g: _Group, alias: str) -> int | None:
        holders = [v.vid for v in g.versions.values() if alias in v.aliases]
        if holders:
            return holders[0]
        labelled = [v.vid for v in g.versions.values() if v.labels.get("deployer-version") == alias]
        return max(labelled) if labelled else None

    def _observe_registry(self, region: str, name: str, g: _Group) -> list[ObservedResource]:
        assert g.model is not None
        default = next(v for v in g.versions.values() if "default" in v.aliases)
        merged = self._merged(g, default)
        out = [
            ObservedResource(
                ResourceKey(region, name),
                dict(g.model),
                {k: v for k, v in merged.items() if k in state.OWNERSHIP_KEYS},
            )
        ]
        for v in g.versions.values():
            alias = self._alias_of(g, v.vid)
            current = self._current_vid(g, alias)
            instance = "" if current in (v.vid, None) else str(v.vid)
            labels = {k: x for k, x in self._merged(g, v).items() if k != "deployer-artifact"}
            if "deployer-version" not in v.labels:
                labels = dict(v.labels)  # model-level ownership does not make it ours
            fields = {**v.fields, "alias": alias if alias in v.aliases else None}
            out.append(
                ObservedResource(
                    ResourceKey(region, name, alias, instance=instance),
                    fields,
                    labels,
                    is_default="default" in v.aliases,
                    ident=str(v.vid),
                )
            )
        return out

    def _dm_key(self, region: str, name: str, g: _Group, d: _Deployed) -> ResourceKey:
        alias = self._alias_of(g, d.vid)
        current_vid = self._current_vid(g, alias)
        current_ep = max(g.endpoints)
        same = [x for x in g.deployed.values() if x.vid == current_vid and x.ep == current_ep]
        newest = max(same, key=lambda x: x.dm).dm if same else None
        instance = (
            "" if d.ep == current_ep and d.vid == current_vid and d.dm == newest else str(d.dm)
        )
        return ResourceKey(region, name, alias, "deployed", instance, kind="deployment")

    def _observe_endpoint(self, region: str, name: str, g: _Group) -> list[ObservedResource]:
        keys = {d.dm: self._dm_key(region, name, g, d) for d in g.deployed.values()}

        def suffix(k: ResourceKey) -> str:
            return f"{k.version}#{k.instance}" if k.instance else str(k.version)

        out = []
        current = max(g.endpoints)
        for eid, ep in g.endpoints.items():
            traffic = {suffix(keys[dm]): pct for dm, pct in ep.traffic.items() if pct}
            instance = "" if eid == current else str(eid)
            key = ResourceKey(region, name, part="endpoint", instance=instance)
            out.append(
                ObservedResource(
                    key, {**ep.fields, "traffic": traffic}, dict(ep.labels), ident=str(eid)
                )
            )
        for d in g.deployed.values():
            who = observe.Identity(str(keys[d.dm].version), keys[d.dm].instance or "")
            out.append(
                ObservedResource(
                    keys[d.dm],
                    {k: v for k, v in d.fields.items() if k not in _NOT_READ},
                    observe.deployment_labels(g.endpoints[d.ep].labels, str(d.dm), who),
                    ident=str(d.dm),
                    ref=str(d.vid),
                    within="" if d.ep == current else str(d.ep),
                )
            )
        return out

    # ---- writes -------------------------------------------------------------------------

    def group(self, key: ResourceKey) -> _Group:
        return self.groups.setdefault((key.endpoint, key.model), _Group())

    def run(self, plan: Plan, rng: random.Random | None = None) -> None:
        """Execute in a random order that respects depends_on (as the parallel executor may)."""
        self.serving = {
            k
            for k, g in self.groups.items()
            if any(p for e in g.endpoints.values() for p in e.traffic.values())
        } - {
            (a.key.endpoint, a.key.model)
            for a in plan.actions
            if a.kind is ActionKind.DELETE and a.key.version is None and not a.key.part
        }
        rng = rng or random.Random(0)
        done: set[str] = set()
        ids = {a.id for a in plan.actions}
        pending = list(plan.actions)
        while pending:
            ready = [a for a in pending if all(d in done or d not in ids for d in a.depends_on)]
            assert ready, "dependency cycle"
            action = rng.choice(ready)
            self.perform(action)
            self.check_serving()
            done.add(action.id)
            pending.remove(action)

    def check_serving(self) -> None:
        for g in self.groups.values():
            for ep in g.endpoints.values():
                if ep.traffic and sum(ep.traffic.values()) != 100:
                    raise Refused(f"endpoint {ep.eid}: traffic sums to {sum(ep.traffic.values())}")
                for dm in ep.traffic:
                    if dm not in g.deployed or g.deployed[dm].ep != ep.eid:
                        raise Refused(f"endpoint {ep.eid}: traffic to {dm}, not deployed there")
        for key in self.serving:
            g = self.groups[key]
            if not any(ep.traffic for ep in g.endpoints.values()):
                raise Refused(f"{key}: no endpoint serves mid-rollout")

    def perform(self, action: Action) -> None:
        key, kind = action.key, action.kind
        self.log.append(action.id)
        if kind is ActionKind.REROUTE:
            assert a_route(action) in ("traffic", "defaultVersion"), action
            method = self.set_traffic if a_route(action) == "traffic" else self.set_default
        else:
            method = {
                ActionKind.CREATE: self.create,
                ActionKind.CREATE_THEN_DELETE: self.create,
                ActionKind.UPDATE: self.update,
                ActionKind.DELETE: self.delete,
            }[kind]
        method(action)
        _ = key

    def create(self, a: Action) -> None:
        g, key = self.group(a.key), a.key
        fields, labels = dict(a.desired or {}), dict(a.labels or {})
        spec = spec_hash(DesiredResource(key, fields, labels))
        if key.kind == "model":
            if g.model is None:
                raise Refused(f"{key.address}: the model exists only after an upload")
            g.model = {"displayName": fields["displayName"], "description": fields["description"]}
            g.model_labels = labels
        elif key.kind == "version":
            alias = key.version or ""
            vlabels = {**labels, "deployer-spec": spec}
            newest = self._newest_labelled(g, alias)
            if newest is not None and g.versions[newest].labels.get("deployer-spec") == spec:
                return  # the writer adopts an identical upload left by an interrupted run
            aliases = {alias} if self._current_holder(g, alias) is None else set()
            v = _Version(g.next_vid, _version_fields(fields), vlabels, aliases)
            if g.model is None:
                g.model = {"displayName": key.model, "description": ""}
                g.model_labels = dict(vlabels)
                v.aliases.add("default")
            g.versions[v.vid] = v
            g.next_vid += 1
        elif key.kind == "endpoint":
            spec_label = {**labels, "deployer-spec": spec}
            if any(e.labels.get("deployer-spec") == spec for e in g.endpoints.values()):
                return  # the writer adopts an endpoint created from this very declaration
            eid = 1 + max((e for grp in self.groups.values() for e in grp.endpoints), default=900)
            g.endpoints[eid] = _Endpoint(eid, _endpoint_fields(fields), spec_label)
        elif key.kind == "pool":
            if g.pool is None:
                g.pool = {k: fields.get(k) for k in POOL_FIELDS}
        elif key.kind == "deployment":
            ep = g.endpoint
            if ep is None:
                raise Refused(f"{key.address}: no endpoint")
            vid = self._newest_labelled(g, key.version or "")
            if vid is None:
                raise Refused(f"{key.address}: no registry version to deploy")
            wanted = _deployment_fields(fields)
            pool = wanted.get("sharedResources")
            if pool and self.groups.get((key.endpoint, pool), _Group()).pool is None:
                raise Refused(f"{key.address}: resource pool {pool} does not exist")
            same = [
                d.dm
                for d in g.deployed.values()
                if d.vid == vid and d.ep == ep.eid and _same(d.fields, wanted)
            ]
            if same:  # the writer adopts an identical deployment left by an interrupted run
                self._record(g, same[0], spec)
                return
            dm = self._new_dm()
            g.deployed[dm] = _Deployed(dm, vid, wanted, ep.eid)
            self._record(g, dm, spec)

    def _record(self, g: _Group, dm: int, spec: str) -> None:
        """As the writer does: the deployment's spec record on its endpoint's labels."""
        ep = g.endpoints[g.deployed[dm].ep]
        on = [str(d.dm) for d in g.deployed.values() if d.ep == ep.eid]
        ep.labels = observe.with_deployment_record(ep.labels, on, str(dm), spec)

    def _new_dm(self) -> int:
        taken = [d for grp in self.groups.values() for d in grp.deployed]
        return max([next(self._dm_ids), *(x + 1 for x in taken)])

    def _current_holder(self, g: _Group, alias: str) -> int | None:
        return next((v.vid for v in g.versions.values() if alias in v.aliases), None)

    def _newest_labelled(self, g: _Group, alias: str) -> int | None:
        vids = [v.vid for v in g.versions.values() if v.labels.get("deployer-version") == alias]
        return max(vids) if vids else None

    def _current_dm(self, g: _Group, alias: str) -> int | None:
        vid = self._current_vid(g, alias)
        ep = g.endpoint
        dms = [d.dm for d in g.deployed.values() if d.vid == vid and ep and d.ep == ep.eid]
        return max(dms) if dms else None

    def update(self, a: Action) -> None:
        g, key = self.group(a.key), a.key
        fields, labels = dict(a.desired or {}), dict(a.labels or {})
        masks = {c.mask for c in a.changes}
        if None in masks:
            raise Refused(f"{key.address}: a change without an update mask")
        if key.kind == "model":
            assert g.model is not None
            g.model.update({k: fields[k] for k in ("displayName", "description") if k in masks})
            if "labels" in masks:
                g.model_labels = labels
        elif key.kind == "version":
            vid = self._current_vid(g, key.version or "")
            if vid is None:
                raise Refused(f"{key.address}: not found")
            v = g.versions[vid]
            if "versionAliases" in masks:  # an alias held elsewhere moves
                for other in g.versions.values():
                    other.aliases.discard(fields["alias"])
                v.aliases.add(fields["alias"])
            if "versionDescription" in masks:
                v.fields["versionDescription"] = fields["versionDescription"]
            if "labels" in masks:
                spec = spec_hash(DesiredResource(key, fields, labels))
                v.labels = {**labels, "deployer-spec": spec}
        elif key.kind == "endpoint":
            ep = g.endpoint
            assert ep is not None
            allowed = {
                "displayName": ("displayName",),
                "description": ("description",),
                "predictRequestResponseLoggingConfig": ("predictRequestResponseLoggingConfig",),
                "dedicatedEndpointEnabled": ("dedicatedEndpointEnabled",),
                "clientConnectionConfig": ("clientConnectionConfig",),
                "privateServiceConnectConfig": ("privateServiceConnectConfig.projectAllowlist",),
            }
            for mask in masks - {"labels"}:
                if mask not in allowed:
                    raise Refused(f"{key.address}: endpoints.patch cannot change {mask}")
                if mask == "privateServiceConnectConfig" and not ep.fields["privateServiceConnect"]:
                    raise Refused(f"{key.address}: no Private Service Connect to allow projects on")
                for k in allowed[mask]:
                    ep.fields[k] = fields.get(k)
            if "labels" in masks:
                kept = {k: v for k, v in ep.labels.items() if k == ownership.LABEL_ROUTE}
                ep.labels = {**labels, "deployer-spec": ep.labels.get("deployer-spec", ""), **kept}
        elif key.kind == "deployment":
            dm = self._current_dm(g, key.version or "")
            if dm is None:
                raise Refused(f"{key.address}: not deployed")
            allowed = {
                "dedicatedResources.minReplicaCount": "minReplicaCount",
                "dedicatedResources.maxReplicaCount": "maxReplicaCount",
                "dedicatedResources.autoscalingMetricSpecs": "autoscalingMetricSpecs",
                "dedicatedResources.scaleToZeroSpec": "scaleToZeroSpec",
                "dedicatedResources.initialReplicaCount": "initialReplicaCount",
                "disableContainerLogging": "disableContainerLogging",
            }
            if "rolloutOptions" in masks:  # the service rolls it onto the newest upload
                old = g.deployed.pop(dm)
                vid = self._newest_labelled(g, key.version or "")
                assert vid is not None and vid != old.vid, f"{key.address}: nothing to roll onto"
                new = self._new_dm()
                g.deployed[new] = _Deployed(new, vid, dict(old.fields), old.ep)
                ep = g.endpoints[old.ep]
                if dm in ep.traffic:
                    ep.traffic[new] = ep.traffic.pop(dm)
                dm = new
            for mask in masks - {"rolloutOptions"}:
                if mask not in allowed:
                    raise Refused(f"{key.address}: mutateDeployedModel cannot change {mask}")
                g.deployed[dm].fields[allowed[mask]] = fields[allowed[mask]]
            self._record(g, dm, spec_hash(DesiredResource(key, fields, labels)))

    def delete(self, a: Action) -> None:
        g, key = self.group(a.key), a.key
        if key.kind == "model":
            if g.deployed:
                raise Refused(f"{key.address}: a model with deployed versions")
            g.model, g.versions, g.model_labels = None, {}, {}
            if g.endpoint is None:
                del self.groups[(key.endpoint, key.model)]
        elif key.kind == "endpoint":
            ep = g.endpoints.get(int(key.instance)) if key.instance else g.endpoint
            if ep is None:
                return
            if any(d.ep == ep.eid for d in g.deployed.values()):
                raise Refused(f"{key.address}: endpoint with deployed models")
            del g.endpoints[ep.eid]
            if g.model is None and not g.endpoints:
                del self.groups[(key.endpoint, key.model)]
        elif key.kind == "pool":
            users = [
                d
                for (region, _), grp in self.groups.items()
                for d in grp.deployed.values()
                if region == key.endpoint and d.fields.get("sharedResources") == key.model
            ]
            if users:
                raise Refused(f"{key.address}: a pool with deployments on it")
            g.pool = None
            if not g.endpoints and g.model is None:
                del self.groups[(key.endpoint, key.model)]
        elif key.kind == "deployment":
            dm = int(key.instance) if key.instance else self._current_dm(g, key.version or "")
            if dm is None or dm not in g.deployed:
                return
            ep = g.endpoints[g.deployed[dm].ep]
            if ep.traffic.get(dm):
                raise Refused(f"{key.address}: undeploy of a model with traffic")
            del g.deployed[dm]
            ep.traffic.pop(dm, None)
        elif key.kind == "version":
            alias = key.version or ""
            vid = int(key.instance) if key.instance else self._current_vid(g, alias)
            if vid is None or vid not in g.versions:
                return
            target = g.versions[vid]
            others = [
                v.vid
                for v in g.versions.values()
                if v.vid != vid and v.labels.get("deployer-version") == alias
            ]
            if others:
                newest = g.versions[max(others)]
                for moved in target.aliases & {alias, "default"}:
                    target.aliases.discard(moved)
                    newest.aliases.add(moved)
            if any(d.vid == vid for d in g.deployed.values()):
                raise Refused(f"{key.address}: deleteVersion of a deployed version")
            if "default" in target.aliases:
                raise Refused(f"{key.address}: deleteVersion of the default version")
            if len(g.versions) == 1:
                raise Refused(f"{key.address}: deleteVersion of the only version")
            del g.versions[vid]

    def set_default(self, a: Action) -> None:
        g, alias = self.group(a.key), a.key.version or ""
        vid = self._current_vid(g, alias)
        newest = self._newest_labelled(g, alias)
        target = newest if newest is not None else vid
        if target is None:
            raise Refused(f"{a.key.address}: no such version")
        for v in g.versions.values():
            v.aliases.discard("default")
        g.versions[target].aliases.add("default")

    def set_traffic(self, a: Action) -> None:
        g = self.group(a.key)
        ep = g.endpoints.get(int(a.key.instance)) if a.key.instance else g.endpoint
        if ep is None:
            raise Refused(f"{a.key.address}: no such endpoint")
        want = dict((a.desired or {}).get("traffic") or {})
        split: dict[int, int] = {}
        for alias, pct in want.items():
            vid = self._newest_labelled(g, alias)
            dms = [d.dm for d in g.deployed.values() if d.vid == vid and d.ep == ep.eid]
            if not dms:
                raise Refused(f"{a.key.address}: traffic to {alias}, which is not deployed")
            split[max(dms)] = pct
        if split and sum(split.values()) != 100:
            raise Refused(f"{a.key.address}: split sums to {sum(split.values())}")
        ep.traffic = split
        ep.labels[ownership.LABEL_ROUTE] = ownership.route_hash(want)  # as the writer records it

    def snapshot(self) -> dict[tuple[str, str], _Group]:
        return copy.deepcopy(self.groups)


def a_route(action: Action) -> str:
    return action.route.path if action.route is not None else ""


def _version_fields(fields: dict[str, Any]) -> dict[str, Any]:
    keys = ("artifactUri", "artifactDigest", "containerSpec", "versionDescription")
    return {k: fields.get(k) for k in keys}


_NOT_READ = ("rolloutStrategy", "rolloutOptions")
"""How a deployment is rolled out: declared, never read back."""
POOL_FIELDS = ("machineSpec", "minReplicaCount", "maxReplicaCount", "autoscalingMetricSpecs")
ENDPOINT_FIELDS = (
    "displayName",
    "description",
    "predictRequestResponseLoggingConfig",
    "dedicatedEndpointEnabled",
    "clientConnectionConfig",
    "privateServiceConnect",
    "privateServiceConnectConfig.projectAllowlist",
    "network",
)


def _endpoint_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields.get(k) for k in ENDPOINT_FIELDS}


def _deployment_fields(fields: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "machineSpec",
        "minReplicaCount",
        "maxReplicaCount",
        "autoscalingMetricSpecs",
        "serviceAccount",
        "enableAccessLogging",
        "disableContainerLogging",
        "spot",
        "sharedResources",
        "scaleToZeroSpec",
        "initialReplicaCount",
        *_NOT_READ,
    )
    return {k: fields.get(k) for k in keys}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k not in _NOT_READ} == {
        k: v for k, v in b.items() if k not in _NOT_READ
    }


def ours() -> dict[str, str]:
    return {
        ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE,
        ownership.LABEL_STACK: "vision",
    }


def keys(resources: Iterable[ObservedResource]) -> list[str]:
    return sorted(r.key.address for r in resources)
