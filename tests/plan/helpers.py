"""Builders for diff tests and a tiny in-memory model of the `ml` v1 service rules.

Desired resources come from real manifests (load_stack + state.desired_resources); observed
ones from API-shaped bodies (state.observe_model / observe_version), starting from what an
apply would have written. `Service` executes plans with the service's refusals.
"""

from __future__ import annotations

import copy
import hashlib
import random
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deployer.core import ownership
from deployer.core.ownership import spec_hash
from deployer.core.plan import Action, ActionKind, Plan
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey, State
from deployer.plan.planner import PlanOptions, plan
from deployer.providers.mlengine import catalog, state
from deployer.providers.mlengine.schemas import RESOURCES
from deployer.stacks import load_stack

STACK = "vision"
PROJECT = "demo-project"
REGION = "us-central1"
OURS = {ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE, ownership.LABEL_STACK: STACK}
THEIRS = {
    ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE,
    ownership.LABEL_STACK: "other",
}


def digest_of(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()[:12]


def version(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, "artifact": f"gs://acme/{name}", "runtime_version": "2.11", **spec}


def model(name: str = "m", *versions: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"name": name, "versions": list(versions), **spec}


def declare(*models: dict[str, Any], digests: Mapping[str, str] = {}) -> list[DesiredResource]:
    """The desired resources of a stack whose manifests declare `models`."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / STACK
        root.mkdir()
        settings = {"project": PROJECT, "artifacts": "gs://acme-artifacts", "region": REGION}
        (root / "deployer.yaml").write_text(yaml.safe_dump(settings))
        (root / "models.yaml").write_text(yaml.safe_dump({"models": list(models)}))
        stack = load_stack(root)
    sources = {
        v["artifact"].rstrip("/"): digests.get(v["artifact"], digest_of(v["artifact"]))
        for m in models
        for v in m["versions"]
    }
    return state.desired_resources(stack, sources)


def options(**kw: Any) -> PlanOptions:
    return PlanOptions(stack=STACK, project=PROJECT, **kw)


def plan_for(
    desired: Iterable[DesiredResource], observed: Iterable[ObservedResource], **kw: Any
) -> Plan:
    return plan(desired, observed, RESOURCES, options(**kw))


@dataclass
class Live:
    """API-shaped bodies of the live resources, keyed by address."""

    bodies: dict[str, tuple[ResourceKey, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def applied(cls, desired: Iterable[DesiredResource], stack: str = STACK) -> Live:
        """What a successful apply of `desired` leaves live (labels of `stack`)."""
        live = cls()
        for d in desired:
            labels = {
                **d.labels,
                ownership.LABEL_STACK: stack,
                ownership.LABEL_SPEC: spec_hash(d),
            }
            if d.key.version is None:
                body = state.model_body(d.key, d.fields, labels)
            else:
                body = state.version_body(d.key, d.fields, labels)
                body.update(state="READY", isDefault=d.is_default)
            live.bodies[d.key.address] = (d.key, body)
        return live

    def set(self, address: str, **fields: Any) -> Live:
        body = self.bodies[_addr(address)][1]
        for k, v in fields.items():
            if v is None:
                body.pop(k, None)
            else:
                body[k] = v
        return self

    def label(self, address: str, **labels: str | None) -> Live:
        body = self.bodies[_addr(address)][1]
        for k, v in labels.items():
            k = k.replace("_", "-")
            if v is None:
                body["labels"].pop(k, None)
            else:
                body["labels"][k] = v
        return self

    def default(self, address: str) -> Live:
        key = self.bodies[_addr(address)][0]
        for k, body in self.bodies.values():
            if k.version is not None and k.model_key == key.model_key:
                body["isDefault"] = k == key
        return self

    def drop(self, address: str) -> Live:
        del self.bodies[_addr(address)]
        return self

    def add(self, address: str, labels: Mapping[str, str], **body: Any) -> Live:
        endpoint, rest = _addr(address).split("/", 1)
        model_name, _, version_name = rest.partition("/")
        key = ResourceKey(endpoint, model_name, version_name or None)
        full = {"name": version_name or model_name, "labels": dict(labels)}
        if key.version is not None:
            full.update(
                deploymentUri=f"gs://x/{version_name}",
                runtimeVersion="2.11",
                pythonVersion="3.7",
                framework="TENSORFLOW",
                machineType="n1-standard-2",
                autoScaling={"minNodes": 1},
                state="READY",
                isDefault=False,
            )
        full.update(body)
        self.bodies[key.address] = (key, full)
        return self

    def observed(self) -> list[ObservedResource]:
        out = []
        for key, body in self.bodies.values():
            body = copy.deepcopy(body)
            if key.version is None:
                out.append(state.observe_model(key.endpoint, body))
            else:
                out.append(state.observe_version(key.endpoint, key.model, body))
        return out


def _addr(address: str) -> str:
    """Addresses in tests omit the default region."""
    return address if address.split("/", 1)[0] in catalog.ENDPOINTS else f"{REGION}/{address}"


def _short(text: str) -> str:
    return text.replace(f"{REGION}/", "")


def summarize(plan: Plan) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(kind, address, depends_on, changed paths) per action; the default region left out.

    depends_on is followed by the ordering-only dependencies, each as "after ID".
    Changed paths are omitted for creates (every declared field), see the creation tests.
    """
    return [
        (
            a.kind.verb,
            _short(a.address),
            tuple(_short(d) for d in a.depends_on)
            + tuple(f"after {_short(d)}" for d in a.ordered_after),
            () if a.kind is ActionKind.CREATE else tuple(c.path for c in a.changes),
        )
        for a in plan.actions
    ]


# ---------------------------------------------------------------------------------------------
# The service, reduced to the rules the plan must respect.


class Refused(AssertionError):
    """The service would answer this call with an error."""


@dataclass
class _Res:
    key: ResourceKey
    fields: dict[str, Any]
    labels: dict[str, str]
    state: State = State.READY
    is_default: bool = False


class Service:
    """Models and versions with the `ml` v1 rules (MLENGINE-API.md, Rules)."""

    def __init__(self, observed: Iterable[ObservedResource] = ()) -> None:
        self.res: dict[ResourceKey, _Res] = {}
        for o in observed:
            self.res[o.key] = _Res(o.key, dict(o.fields), dict(o.labels), o.state, o.is_default)

    def versions(self, model_key: ResourceKey) -> list[_Res]:
        return [
            r for k, r in self.res.items() if k.version is not None and k.model_key == model_key
        ]

    def observed(self) -> list[ObservedResource]:
        return [
            ObservedResource(r.key, dict(r.fields), dict(r.labels), r.state, r.is_default)
            for r in self.res.values()
        ]

    def snapshot(self, keys: Iterable[ResourceKey]) -> dict[ResourceKey, tuple]:
        return {k: (self.res[k].fields, self.res[k].labels, self.res[k].state) for k in keys}

    # -- calls ------------------------------------------------------------------------------

    def _get(self, key: ResourceKey) -> _Res:
        if key not in self.res:
            raise Refused(f"404 {key.address}")
        return self.res[key]

    def _create(self, action: Action) -> None:
        key = action.key
        if key in self.res:
            raise Refused(f"409 {key.address} already exists")
        assert action.desired is not None and action.labels is not None
        labels = dict(action.labels)
        labels[ownership.LABEL_SPEC] = spec_hash(DesiredResource(key, action.desired, labels))
        fields = dict(action.desired)
        if key.version is None:  # as state.observe_model reports it
            fields["endpointKind"] = "global" if key.endpoint == catalog.GLOBAL else "regional"
        res = _Res(key, fields, labels)
        if key.version is not None:
            if key.model_key not in self.res:
                raise Refused(f"404 model of {key.address}")
            res.is_default = not self.versions(key.model_key)
        self.res[key] = res

    def _delete(self, key: ResourceKey) -> None:
        res = self._get(key)
        if key.version is None:
            if self.versions(key):
                raise Refused(f"A model with versions cannot be deleted: {key.address}")
        else:
            if res.state.transitional:
                raise Refused(f"{key.address} is {res.state}")
            if res.is_default and len(self.versions(key.model_key)) > 1:
                raise Refused(f"Cannot delete the default version {key.address}")
        del self.res[key]

    def call(self, action: Action) -> None:
        key, kind = action.key, action.kind
        if kind is ActionKind.CREATE:
            self._create(action)
        elif kind is ActionKind.DELETE:
            self._delete(key)
        elif kind is ActionKind.DELETE_THEN_CREATE:
            self._delete(key)
            self._create(action)
        elif kind is ActionKind.UPDATE:
            res = self._get(key)
            if res.state is not State.READY:
                raise Refused(f"update of {key.address} while {res.state}")
            for change in action.changes:
                if change.mask is None:
                    raise Refused(f"{change.path} of {key.address} cannot be patched")
                _check_patch(res, change.mask)
                if change.path == "labels":
                    res.labels = dict(change.after)
                else:
                    res.fields[change.path] = change.after
            assert action.desired is not None and action.labels is not None
            res.labels[ownership.LABEL_SPEC] = spec_hash(
                DesiredResource(key, action.desired, action.labels)
            )
        elif kind is ActionKind.REROUTE:
            res = self._get(key)
            if res.state is not State.READY:
                raise Refused(f"setDefault {key.address} while {res.state}")
            for other in self.versions(key.model_key):
                other.is_default = other.key == key
        elif kind is ActionKind.WAIT:
            res = self._get(key)
            if res.state is State.DELETING:
                del self.res[key]
            else:
                res.state = State.READY
        else:  # pragma: no cover
            raise AssertionError(kind)

    def run(self, plan: Plan, rng: random.Random | None = None) -> list[str]:
        """Execute the plan in a random order that respects depends_on; returns the order."""
        rng = rng or random.Random(0)
        by_id = {a.id: a for a in plan.actions}
        assert len(by_id) == len(plan.actions), "duplicate action ids"
        for a in plan.actions:
            missing = [d for d in (*a.depends_on, *a.ordered_after) if d not in by_id]
            assert not missing, f"{a.id} depends on actions not in the plan: {missing}"
        done: list[str] = []
        pending = dict(by_id)
        while pending:
            runnable = sorted(
                i for i, a in pending.items() if {*a.depends_on, *a.ordered_after} <= set(done)
            )
            assert runnable, f"dependency cycle among {sorted(pending)}"
            chosen = rng.choice(runnable)
            self.call(pending.pop(chosen))
            done.append(chosen)
        return done


def _check_patch(res: _Res, mask: str) -> None:
    """Per-machine-type patch rules (discovery document, versions.patch; the twin's
    emulator/rules.py `patched_version`): the manual node count is patchable on n1-* machine
    types only, and a patch cannot switch between manual and auto scaling."""
    head = mask.split(".", 1)[0]
    machine_type = str(res.fields.get("machineType") or "")
    if head == "manualScaling" and not catalog.is_n1(machine_type):
        raise Refused(
            f"{res.key.address}: manual_scaling.nodes can only be updated on n1-* machine types "
            f"(machineType {machine_type or 'unset'})"
        )
    mode = res.fields.get("scalingMode")
    if head in ("manualScaling", "autoScaling") and mode != head.removesuffix("Scaling"):
        raise Refused(f"{res.key.address}: {mask} patched on a version with {mode} scaling")


def assert_topologically_listed(plan: Plan) -> None:
    seen: set[str] = set()
    for a in plan.actions:
        assert {*a.depends_on, *a.ordered_after} <= seen, (
            f"{a.id} is listed before its dependencies"
        )
        seen.add(a.id)


def assert_matches(service: Service, desired: list[DesiredResource]) -> None:
    """The service holds exactly the desired resources of this stack, as declared."""
    ours = {
        k
        for k, r in service.res.items()
        if r.labels.get(ownership.LABEL_STACK) == STACK
        and r.labels.get(ownership.LABEL_MANAGED_BY) == ownership.LABEL_MANAGED_BY_VALUE
    }
    assert ours == {d.key for d in desired}
    for d in desired:
        live = service.res[d.key]
        assert live.state is State.READY
        for path, value in d.fields.items():
            assert live.fields.get(path) == value, (d.key.address, path)
        assert {k: v for k, v in live.labels.items() if k != ownership.LABEL_SPEC} == dict(d.labels)
        if d.key.version is not None:
            assert live.is_default == d.is_default, f"default of {d.key.model_key.address}"
