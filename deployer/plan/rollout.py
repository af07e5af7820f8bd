"""The diff for backends that serve through endpoints with a traffic split (pure, no I/O).

Selected by data: a provider whose version kind is replaced create-before-destroy declares four
kinds, keyed per (region, model): the registry `model`, its `version`s (one per alias), the
model's `endpoint` (part "endpoint", carrying the desired and observed split as the `traffic`
field) and a `deployment` (part "deployed") per served version. A live resource with an
`instance` is a superseded copy of its identity, left by a replacement in flight.

Order, as `depends_on` (the executor runs everything else in parallel, and serializes writes to
one endpoint):
- new and replacing versions are uploaded, then deployed; the model is patched into shape after
  its uploads (its first upload creates it);
- the traffic moves in one endpoint patch, after every deployment it routes to is deployed (and
  scaled), and before any deployment is undeployed;
- a version is retired only after its deployments are undeployed; the registry `default` alias
  moves before the version holding it is retired;
- a dropped model: traffic to nothing, undeploy everything, delete the endpoint, then the model
  (its versions go with it).
Nothing serving is ever undeployed while it has traffic, so a rollout costs no downtime and
`--allow-downtime` is never needed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer import catalog
from deployer.plan.model import Action, ActionKind, FieldChange
from deployer.providers.schema import DesiredResource, ObservedResource, ResourceKey

ENDPOINT, DEPLOYED = "endpoint", "deployed"

Resource = DesiredResource | ObservedResource


@dataclass
class Group:
    """Everything of one (region, model): desired and observed, current and superseded."""

    key: ResourceKey
    model: tuple[DesiredResource | None, ObservedResource | None] = (None, None)
    endpoint: tuple[DesiredResource | None, ObservedResource | None] = (None, None)
    versions: dict[str, list[Any]] = field(default_factory=dict)
    deployments: dict[str, list[Any]] = field(default_factory=dict)
    old_versions: list[ObservedResource] = field(default_factory=list)
    old_deployments: list[ObservedResource] = field(default_factory=list)


def group(
    desired: Iterable[DesiredResource], observed: Iterable[ObservedResource]
) -> dict[ResourceKey, Group]:
    groups: dict[ResourceKey, Group] = {}
    for side, resources in ((0, desired), (1, observed)):
        for r in resources:
            g = groups.setdefault(r.key.model_key, Group(r.key.model_key))
            key = r.key
            if key.instance:
                assert isinstance(r, ObservedResource)
                (g.old_deployments if key.part == DEPLOYED else g.old_versions).append(r)
            elif key.part == ENDPOINT:
                g.endpoint = _put(g.endpoint, side, r)
            elif key.version is None:
                g.model = _put(g.model, side, r)
            else:
                table = g.deployments if key.part == DEPLOYED else g.versions
                pair = table.setdefault(key.version, [None, None])
                pair[side] = r
    return groups


def _put(pair: tuple[Any, Any], side: int, r: Resource) -> tuple[Any, Any]:
    return (r, pair[1]) if side == 0 else (pair[0], r)


def _id(kind: ActionKind, key: ResourceKey) -> str:
    return f"{kind.value}:{key.address}"


def _creation(desired: DesiredResource, hidden: Iterable[str] = ()) -> tuple[FieldChange, ...]:
    skip = set(hidden)
    changes = [
        FieldChange(path, None, value)
        for path, value in sorted(desired.fields.items())
        if path not in skip
    ]
    return tuple(c for c in changes if c.after not in (None, "", {}, []))


def _traffic_text(split: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(split.items())) or "(none)"


def _live_traffic(endpoint: ObservedResource | None) -> dict[str, int]:
    if endpoint is None:
        return {}
    split = endpoint.fields.get("traffic") or {}
    return {str(k): int(v) for k, v in split.items() if v}


class Rollout:
    """Plans one group; `b` is the diff's builder (ownership, field changes, problems)."""

    def __init__(self, b: Any, g: Group) -> None:
        self.b = b
        self.g = g
        self.key = g.key

    def add(self, action: Action) -> str:
        return str(self.b.add(action))

    def ours(self, r: ObservedResource | None) -> bool:
        return r is not None and self.b.owner(r) == "ours"

    # ---- whole group --------------------------------------------------------------------

    def plan(self) -> None:
        d_model, o_model = self.g.model
        d_endpoint, o_endpoint = self.g.endpoint
        if self.b.held_elsewhere(o_model, declared=d_model is not None):
            return
        if self.b.held_elsewhere(o_endpoint, declared=d_model is not None):
            return
        if d_model is None:
            self.prune(o_model, o_endpoint)
            return
        assert d_endpoint is not None
        self.declared(d_model, o_model, d_endpoint, o_endpoint)

    def foreign(self) -> list[ObservedResource]:
        live = [o for _, o in self.g.versions.values() if o is not None]
        live += [o for _, o in self.g.deployments.values() if o is not None]
        live += [*self.g.old_versions, *self.g.old_deployments]
        return [o for o in live if not self.ours(o)]

    def prune(self, o_model: ObservedResource | None, o_endpoint: ObservedResource | None) -> None:
        key = self.key
        protected = any(
            r is not None and r.labels.get("deployer-protect") == "true"
            for r in (o_model, o_endpoint)
        )
        if protected:
            self.b.error(
                key,
                f"{key.address} is protected (protect: true) but no longer declared: set "
                "protect: false and apply before removing it from the manifests",
            )
            return
        foreign = self.foreign()
        for o in foreign:
            self.b.ignore(o)
        if foreign:
            names = ", ".join(sorted(o.key.address for o in foreign))
            self.b.error(
                key,
                f"cannot delete {key.address}: it holds resources this stack does not manage "
                f"({names}); delete or adopt them first",
            )
            return
        deps = list(self.undeploy_all(o_endpoint, reason="its model is being deleted"))
        if o_endpoint is not None:
            deps = [
                self.add(
                    Action(
                        _id(ActionKind.DELETE, o_endpoint.key),
                        ActionKind.DELETE,
                        o_endpoint.key,
                        reason="its model is no longer declared (after every undeploy)",
                        depends_on=tuple(deps),
                    )
                )
            ]
        if o_model is not None:
            count = sum(1 for _, o in self.g.versions.values() if o is not None)
            count += len(self.g.old_versions)
            self.add(
                Action(
                    _id(ActionKind.DELETE, key),
                    ActionKind.DELETE,
                    key,
                    reason=(
                        "managed live model is no longer declared "
                        f"(its {count} registry version(s) go with it)"
                    ),
                    depends_on=tuple(deps),
                )
            )

    def undeploy_all(self, o_endpoint: ObservedResource | None, reason: str) -> list[str]:
        deps: list[str] = []
        if o_endpoint is not None and _live_traffic(o_endpoint):
            deps.append(self.set_traffic(o_endpoint.key, {}, o_endpoint, ()))
        ids = []
        live = [o for _, o in self.g.deployments.values() if o is not None]
        for o in sorted([*live, *self.g.old_deployments], key=lambda r: r.key):
            ids.append(self.delete(o.key, reason, deps))
        return ids or deps

    # ---- declared model -----------------------------------------------------------------

    def declared(
        self,
        d_model: DesiredResource,
        o_model: ObservedResource | None,
        d_endpoint: DesiredResource,
        o_endpoint: ObservedResource | None,
    ) -> None:
        endpoint_dep: tuple[str, ...] = ()
        if o_endpoint is None:
            endpoint_dep = (self.create(d_endpoint, (), hidden=("traffic",)),)
        else:
            self.update(d_endpoint, o_endpoint)

        ready: dict[str, str] = {}  # alias -> action after which its new instance exists
        first_upload: tuple[str, ...] = ()  # a new model exists once its first upload is done
        replaced: set[str] = set()
        retire: dict[str, tuple[ObservedResource, str]] = {}  # alias -> (instance, reason)
        for name in sorted(self.g.versions):
            d, o = self.g.versions[name]
            if self.b.held_elsewhere(o, declared=d is not None):
                continue
            if d is None:
                retire[name] = (o, "managed live version is no longer declared")
                continue
            if o is None:
                ready[name] = self.create(d, first_upload)
                if o_model is None and not first_upload:
                    first_upload = (ready[name],)
                continue
            changes = self.b.field_changes(d, o)
            if any(c.forces_replacement for c in changes):
                ready[name] = self.replace(d, o, changes, ())
                replaced.add(name)
                retire[name] = (o, "superseded by its replacement")
            elif changes:
                self.update(d, o, changes)

        resumed = self.resumed_replacements()
        uploads = tuple(sorted(ready.values()))
        if o_model is None:
            self.create(d_model, uploads, reason="its first upload creates it; then its fields")
        else:
            self.update(d_model, o_model)

        serving: dict[str, str] = {}  # alias -> action after which its deployment is ready
        fresh: set[str] = set()  # aliases whose traffic must go to a new deployment
        undeploy: list[tuple[ObservedResource, str]] = []
        for name in sorted(self.g.deployments):
            d, o = self.g.deployments[name]
            if self.b.held_elsewhere(o, declared=d is not None):
                continue
            if d is None:
                why = (
                    "its version is no longer declared"
                    if name not in self.g.versions or self.g.versions[name][0] is None
                    else "its version is declared with deployed: false"
                )
                undeploy.append((o, why))
                continue
            deps = tuple(sorted({*endpoint_dep, *((ready[name],) if name in ready else ())}))
            if o is None:
                serving[name] = self.create(d, deps)
                fresh.add(name)
                continue
            changes = self.b.field_changes(d, o)
            if name in replaced:
                old = self.g.versions[name][1]
                upload = FieldChange(
                    "registryVersion",
                    str(old.raw.get("versionId", "")) if old is not None else None,
                    "(new upload)",
                    forces_replacement=True,
                )
                changes = [upload, *changes]
            if any(c.forces_replacement for c in changes):
                serving[name] = self.replace(d, o, changes, deps)
                fresh.add(name)
                undeploy.append((o, "superseded by its replacement"))
            elif changes:
                serving[name] = self.update(d, o, changes) or ""
        for o in self.g.old_deployments:
            if not self.in_flight(o, resumed, replaced):
                undeploy.append((o, "superseded copy left by an earlier replacement"))

        want = dict(d_endpoint.fields.get("traffic") or {})
        live = _live_traffic(o_endpoint)
        moved = any(name in fresh for name in want)
        traffic_dep: tuple[str, ...] = ()
        if want != live or moved:
            endpoint_key = d_endpoint.key
            deps = tuple(sorted({*endpoint_dep, *(serving[n] for n in want if serving.get(n))}))
            traffic_dep = (self.set_traffic(endpoint_key, want, o_endpoint, deps),)

        # The registry's default follows the traffic: a version whose traffic move fails (say,
        # its smoke test) does not become the default either.
        set_default = self.registry_default(ready, traffic_dep)

        undeployed: dict[str, list[str]] = {}
        for o, why in undeploy:
            action_id = self.delete(o.key, why, traffic_dep)
            undeployed.setdefault(o.key.version or "", []).append(action_id)

        old = [
            (o, "superseded copy left by an earlier replacement")
            for o in self.g.old_versions
            if not (o.key.version in replaced and resumed.get(o.key.version or "") is o)
        ]
        for o, why in [*(retire[n] for n in sorted(retire)), *old]:
            name = o.key.version or ""
            after = [*undeployed.get(name, []), *traffic_dep]
            if o.is_default and set_default and not (name in replaced and not o.key.instance):
                after.append(set_default)
            if name in ready:
                after.append(ready[name])
            self.delete(o.key, why, after)

    def resumed_replacements(self) -> dict[str, ObservedResource]:
        """Superseded instances that already match the manifest: an interrupted replacement.

        The writer adopts them instead of uploading (or deploying) again, so the plan must not
        retire them; it finishes the replacement around them.
        """
        from deployer.plan.diff import spec_hash

        found: dict[str, ObservedResource] = {}
        for o in sorted(self.g.old_versions, key=lambda r: int(r.key.instance or 0)):
            d = self.g.versions.get(o.key.version or "", [None, None])[0]
            if d is not None and o.labels.get(catalog.LABEL_SPEC) == spec_hash(d):
                found[o.key.version or ""] = o
        return found

    def in_flight(
        self, o: ObservedResource, resumed: Mapping[str, ObservedResource], replaced: set[str]
    ) -> bool:
        """A superseded deployment of a resumed replacement that already matches the manifest."""
        name = o.key.version or ""
        instance = resumed.get(name)
        d = self.g.deployments.get(name, [None, None])[0]
        if name not in replaced or instance is None or d is None:
            return False
        same_version = str(o.raw.get("modelVersionId")) == str(instance.raw.get("versionId"))
        return same_version and not self.b.field_changes(d, o)

    def registry_default(self, ready: Mapping[str, str], after: tuple[str, ...]) -> str | None:
        """Move the registry's `default` alias to the declared default version if needed.

        A replaced default needs no move: retiring the old instance hands its aliases over.
        """
        want = next((n for n, (d, _) in self.g.versions.items() if d and d.is_default), None)
        if want is None:
            return None
        live = [o for _, o in self.g.versions.values() if o is not None] + self.g.old_versions
        holders = sorted(o.key.version or "" for o in live if o.is_default)
        if not live:
            declared = [d for d, _ in self.g.versions.values() if d is not None]
            if len(declared) <= 1:
                return None  # a new model: its only upload holds `default`
        elif holders == [want]:
            return None
        d, _ = self.g.versions[want]
        before = ", ".join(holders) or None
        return self.add(
            Action(
                _id(ActionKind.SET_DEFAULT, d.key),
                ActionKind.SET_DEFAULT,
                d.key,
                reason=f"registry default alias: {before or '(none)'} -> {want}",
                changes=(FieldChange("defaultVersion", before, want),),
                depends_on=tuple(sorted({*(x for x in (ready.get(want),) if x), *after})),
            )
        )

    # ---- single actions -----------------------------------------------------------------

    def create(
        self,
        d: DesiredResource,
        deps: tuple[str, ...],
        *,
        hidden: Iterable[str] = (),
        reason: str = "declared in manifests, not found live",
    ) -> str:
        return self.add(
            Action(
                _id(ActionKind.CREATE, d.key),
                ActionKind.CREATE,
                d.key,
                reason=reason,
                changes=(*_creation(d, hidden), *self._label_creation(d)),
                depends_on=deps,
                desired=d.fields,
                labels=d.labels,
                artifact_source=d.artifact_source,
            )
        )

    def _label_creation(self, d: DesiredResource) -> tuple[FieldChange, ...]:
        schema = self.b.schemas[d.key.kind]
        if schema.spec("labels") is None:
            return ()
        labels = {k: v for k, v in sorted(d.labels.items()) if k != "deployer-spec"}
        return (FieldChange("labels", None, labels),) if labels else ()

    def update(
        self,
        d: DesiredResource,
        o: ObservedResource,
        changes: list[FieldChange] | None = None,
    ) -> str | None:
        changes = self.b.field_changes(d, o) if changes is None else changes
        if not changes:
            return None
        from deployer.plan.diff import _is_drift

        return self.add(
            Action(
                _id(ActionKind.UPDATE, d.key),
                ActionKind.UPDATE,
                d.key,
                reason="changed: " + ", ".join(c.path for c in changes),
                changes=tuple(changes),
                desired=d.fields,
                labels=d.labels,
                drift=_is_drift(o, d),
            )
        )

    def replace(
        self,
        d: DesiredResource,
        o: ObservedResource,
        changes: list[FieldChange],
        deps: tuple[str, ...],
    ) -> str:
        from deployer.plan.diff import _is_drift

        forcing = ", ".join(c.path for c in changes if c.forces_replacement)
        return self.add(
            Action(
                _id(ActionKind.REPLACE, d.key),
                ActionKind.REPLACE,
                d.key,
                reason=f"replacement forced by: {forcing} (the new one serves before the old goes)",
                changes=tuple(changes),
                depends_on=deps,
                desired=d.fields,
                labels=d.labels,
                artifact_source=d.artifact_source,
                drift=_is_drift(o, d),
                create_first=True,
            )
        )

    def instance_key(self, o: ObservedResource) -> ResourceKey:
        """The live instance a delete targets, named so it stays right after a replacement."""
        if o.key.instance:
            return o.key
        ident = str(o.raw.get("versionId" if o.key.kind == "version" else "id", "") or "")
        return ResourceKey(o.key.endpoint, o.key.model, o.key.version, o.key.part, ident)

    def delete(self, key: ResourceKey, reason: str, deps: Iterable[str]) -> str:
        target = key
        observed = self._observed(key)
        if observed is not None:
            target = self.instance_key(observed)
        return self.add(
            Action(
                _id(ActionKind.DELETE, target),
                ActionKind.DELETE,
                target,
                reason=reason,
                depends_on=tuple(sorted(set(deps))),
            )
        )

    def _observed(self, key: ResourceKey) -> ObservedResource | None:
        if key.instance or key.version is None:
            return None
        table = self.g.deployments if key.part == DEPLOYED else self.g.versions
        pair = table.get(key.version)
        return None if pair is None else pair[1]

    def set_traffic(
        self,
        key: ResourceKey,
        want: Mapping[str, int],
        observed: ObservedResource | None,
        deps: tuple[str, ...],
    ) -> str:
        live = _live_traffic(observed)
        return self.add(
            Action(
                _id(ActionKind.SET_TRAFFIC, key),
                ActionKind.SET_TRAFFIC,
                key,
                reason=f"traffic: {_traffic_text(live)} -> {_traffic_text(want)}",
                changes=(FieldChange("traffic", live or None, dict(want) or None),),
                depends_on=deps,
                desired={"traffic": dict(want)},
            )
        )


def plan_groups(
    b: Any, desired: Iterable[DesiredResource], observed: Iterable[ObservedResource]
) -> None:
    for _, g in sorted(group(desired, observed).items()):
        Rollout(b, g).plan()
