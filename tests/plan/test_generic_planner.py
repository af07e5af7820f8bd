"""The planner knows no backend: a made-up provider of three kinds, whose names and fields belong
to neither real backend, gets plans that follow its resource model alone.

The model: a `library` (the model-level root) holds `edition`s (one per version, replaced
create-then-delete), and a `shelf` per edition (part `shelved`, a child of the library that
refers to its edition). The library's `featured` field routes readers to shelves by weight
(a split naming instances, like a traffic split), and its `catalogue` flag marks exactly one
edition (single, required: the service refuses to delete the catalogued edition while others
exist). A tiny in-memory service below refuses what such a service would; plans run on it in
random orders, and the next plan is empty.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from deployer.core import ownership
from deployer.core.model import (
    Behavior,
    FieldSpec,
    Reference,
    ResourceKind,
    ResourceModel,
    Routing,
    Strategy,
    Vocabulary,
)
from deployer.core.plan import Action, ActionKind, Plan
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.plan.planner import PlanOptions, plan

P, R = Behavior.PATCH, Behavior.REPLACE
LIBRARY = ResourceKind("library", (FieldSpec("title", P, "title"), FieldSpec("labels", P)))
EDITION = ResourceKind(
    "edition",
    (FieldSpec("isbn", R), FieldSpec("notes", P, "notes"), FieldSpec("labels", P)),
    replace=Strategy.CREATE_THEN_DELETE,
    parent="library",
)
SHELF = ResourceKind(
    "shelf",
    (FieldSpec("floor", R), FieldSpec("copies", P, "copies")),
    replace=Strategy.CREATE_THEN_DELETE,
    part="shelved",
    parent="library",
    references=(Reference("edition", "edition", "(reprint)"),),
)
FEATURED = Routing(
    "featured", "featured shelves", "library", "shelf", split=True, by_instance=True, gated=True
)
CATALOGUE = Routing(
    "catalogue",
    "catalogue entry",
    "library",
    "edition",
    flagged=True,
    required=True,
    automatic=True,
    serves=False,
)
MODEL = ResourceModel(
    kinds=(LIBRARY, EDITION, SHELF),
    routings=(FEATURED, CATALOGUE),
    vocabulary=Vocabulary({}),
)
STACK = "books"
OURS = {ownership.LABEL_MANAGED_BY: ownership.LABEL_MANAGED_BY_VALUE, ownership.LABEL_STACK: STACK}


def library(name: str, featured: dict[str, int], **editions: dict[str, Any]) -> list[Any]:
    """A declared library: editions by name -> their fields (`floor`, `copies` go on the
    shelf), every edition shelved, `featured` weights by edition, the first one catalogued."""
    out: list[Any] = [
        DesiredResource(
            ResourceKey("city", name, kind="library"),
            {"title": name.title(), "featured": featured},
            OURS,
        )
    ]
    for i, (edition, spec) in enumerate(editions.items()):
        out.append(
            DesiredResource(
                ResourceKey("city", name, edition, kind="edition"),
                {"isbn": spec.get("isbn", "1"), "notes": spec.get("notes", "")},
                OURS,
                is_default=i == 0,
            )
        )
        out.append(
            DesiredResource(
                ResourceKey("city", name, edition, part="shelved", kind="shelf"),
                {"floor": spec.get("floor", 1), "copies": spec.get("copies", 1)},
                OURS,
            )
        )
    return out


@dataclass
class Thing:
    fields: dict[str, Any]
    labels: dict[str, str]
    ident: str
    ref: str = ""
    catalogued: bool = False


@dataclass
class Service:
    """Libraries with the service's refusals; instances named by a counter."""

    things: dict[ResourceKey, list[Thing]] = field(default_factory=dict)
    featured: dict[str, dict[str, int]] = field(default_factory=dict)
    """library -> shelf ident -> weight."""
    counter: int = 0

    def observed(self) -> list[ObservedResource]:
        out = []
        for key, instances in self.things.items():
            for i, t in enumerate(sorted(instances, key=lambda t: -int(t.ident))):
                instance = "" if i == 0 else t.ident
                k = key.with_instance(instance)
                fields = dict(t.fields)
                if key.kind == "library":
                    live = self.featured.get(key.model, {})
                    fields["featured"] = {self.name_of(key.model, s): w for s, w in live.items()}
                out.append(
                    ObservedResource(
                        k, fields, dict(t.labels), is_default=t.catalogued, ident=t.ident, ref=t.ref
                    )
                )
        return out

    def name_of(self, lib: str, ident: str) -> str:
        for key, instances in self.things.items():
            if key.model == lib and key.kind == "shelf":
                ordered = sorted(instances, key=lambda t: -int(t.ident))
                for i, t in enumerate(ordered):
                    if t.ident == ident:
                        return key.version or "" if i == 0 else f"{key.version}#{ident}"
        raise AssertionError(f"featured shelf {ident} does not exist")

    def current(self, key: ResourceKey) -> Thing | None:
        instances = self.things.get(key.current, [])
        if key.instance:
            return next((t for t in instances if t.ident == key.instance), None)
        return max(instances, key=lambda t: int(t.ident), default=None)

    def run(self, planned: Plan, rng: random.Random) -> None:
        done: set[str] = set()
        pending = list(planned.actions)
        while pending:
            ready = [a for a in pending if {*a.depends_on, *a.ordered_after} <= done]
            assert ready, "cycle"
            action = rng.choice(ready)
            self.perform(action)
            self.check()
            done.add(action.id)
            pending.remove(action)

    def check(self) -> None:
        """Readers are only ever sent to shelves that exist, all of them together."""
        for lib, split in self.featured.items():
            if split:
                assert sum(split.values()) == 100, split
                for ident in split:
                    self.name_of(lib, ident)

    def perform(self, a: Action) -> None:
        key = a.key
        if a.kind in (ActionKind.CREATE, ActionKind.CREATE_THEN_DELETE):
            if key.kind != "library":
                library_key = ResourceKey(key.endpoint, key.model, kind="library")
                assert self.current(library_key), "no library yet"
            ref = ""
            if key.kind == "shelf":
                edition_key = ResourceKey(key.endpoint, key.model, key.version, kind="edition")
                edition = self.current(edition_key)
                assert edition is not None, f"{key.address}: its edition does not exist"
                ref = edition.ident
            self.counter += 1
            fields = {k: v for k, v in (a.desired or {}).items() if k != "featured"}
            spec = ownership.spec_hash(DesiredResource(key, a.desired or {}, a.labels or {}))
            labels = {**(a.labels or {}), ownership.LABEL_SPEC: spec}
            first = key.kind == "edition" and not any(
                k.kind == "edition" and k.model == key.model for k in self.things
            )
            thing = Thing(fields, labels, str(self.counter), ref, catalogued=first)
            self.things.setdefault(key.current, []).append(thing)
        elif a.kind is ActionKind.UPDATE:
            thing = self.current(key)
            assert thing is not None
            for c in a.changes:
                thing.fields[c.path] = c.after
            spec = ownership.spec_hash(DesiredResource(key, a.desired or {}, a.labels or {}))
            thing.labels[ownership.LABEL_SPEC] = spec
        elif a.kind is ActionKind.DELETE:
            thing = self.current(key)
            assert thing is not None, f"{key.address} is gone already"
            if key.kind == "edition":
                shelves = [
                    t
                    for k, ts in self.things.items()
                    if k.kind == "shelf" and k.model == key.model
                    for t in ts
                    if t.ref == thing.ident
                ]
                assert not shelves, f"{key.address}: a shelf still holds it"
                newer = [t for t in self.things[key.current] if t is not thing]
                if thing.catalogued and newer:  # the catalogue names the edition, not the copy:
                    newer[-1].catalogued, thing.catalogued = True, False  # it moves over
                others = [
                    t
                    for k, ts in self.things.items()
                    if k.kind == "edition" and k.model == key.model
                    for t in ts
                    if t is not thing
                ]
                assert not (thing.catalogued and others), "the catalogued edition cannot go"
            if key.kind == "shelf":
                assert thing.ident not in self.featured.get(key.model, {}), "still featured"
            self.things[key.current].remove(thing)
            if not self.things[key.current]:
                del self.things[key.current]
        elif a.kind is ActionKind.REROUTE:
            assert a.route is not None and a.desired is not None
            if a.route.path == "featured":
                value = a.desired["featured"]
                split = {}
                for name, weight in value.items():
                    shelf = self.current(
                        ResourceKey(key.endpoint, key.model, name, "shelved", kind="shelf")
                    )
                    assert shelf is not None, f"featured {name} is not shelved"
                    split[shelf.ident] = weight
                self.featured[key.model] = split
            else:
                for k, ts in self.things.items():
                    if k.kind == "edition" and k.model == key.model:
                        for t in ts:
                            t.catalogued = k.version == key.version and t is self.current(k)
        else:  # pragma: no cover
            raise AssertionError(a.kind)


def planned(desired: list[Any], service: Service, **kw: Any) -> Plan:
    return plan(desired, service.observed(), MODEL, PlanOptions(STACK, "p", **kw))


def converge(desired: list[Any], service: Service, seeds: int = 6) -> Plan:
    first = planned(desired, service)
    assert first.errors == ()
    snapshot = repr(service)
    for seed in range(seeds):
        copy = Service()
        copy.things = {
            k: [Thing(dict(t.fields), dict(t.labels), t.ident, t.ref, t.catalogued) for t in ts]
            for k, ts in service.things.items()
        }
        copy.featured = {k: dict(v) for k, v in service.featured.items()}
        copy.counter = service.counter
        copy.run(first, random.Random(seed))
        again = planned(desired, copy)
        assert again.actions == (), [a.id for a in again.actions]
    assert repr(service) == snapshot
    service.run(first, random.Random(0))
    return first


def ids(p: Plan) -> list[str]:
    return [a.id for a in p.actions]


def test_first_apply_orders_parent_reference_and_routing() -> None:
    service = Service()
    p = converge(library("main", {"e1": 100}, e1={}), service)
    assert ids(p) == [
        "create:city/main",
        "create:city/main/e1",
        "create:city/main/e1:shelved",
        "reroute:city/main",
    ]
    by = {a.id: a for a in p.actions}
    assert by["create:city/main/e1"].depends_on == ("create:city/main",)
    assert by["create:city/main/e1:shelved"].depends_on == ("create:city/main/e1",)
    assert by["reroute:city/main"].depends_on == ("create:city/main/e1:shelved",)
    assert "featured" not in {c.path for c in by["create:city/main"].changes}


def test_a_replaced_edition_is_reshelved_and_featured_before_the_old_goes() -> None:
    """Zero downtime: the new edition and its new shelf exist before readers move, and the old
    shelf and edition go only after."""
    service = Service()
    converge(library("main", {"e1": 100}, e1={}), service)
    p = converge(library("main", {"e1": 100}, e1={"isbn": "2"}), service)
    kinds = [(a.kind, a.key.kind) for a in p.actions]
    assert kinds == [
        (ActionKind.CREATE_THEN_DELETE, "edition"),
        (ActionKind.CREATE_THEN_DELETE, "shelf"),
        (ActionKind.REROUTE, "library"),
        (ActionKind.DELETE, "shelf"),
        (ActionKind.DELETE, "edition"),
    ]
    shelf = p.actions[1]
    assert shelf.changes[0].path == "edition" and shelf.changes[0].after == "(reprint)"
    old_shelf, old_edition = p.actions[3], p.actions[4]
    assert old_shelf.key.instance and old_edition.key.instance  # the old instances, by identity
    assert old_shelf.depends_on == ("reroute:city/main",)
    assert old_edition.depends_on == (old_shelf.id,)


def test_a_patch_stays_in_place_and_a_split_move_waits_for_it() -> None:
    service = Service()
    converge(library("main", {"e1": 100}, e1={}, e2={}), service)
    p = converge(library("main", {"e1": 50, "e2": 50}, e1={}, e2={"copies": 3}), service)
    assert [(a.kind, a.address) for a in p.actions] == [
        (ActionKind.UPDATE, "city/main/e2:shelved"),
        (ActionKind.REROUTE, "city/main"),
    ]
    assert p.actions[1].depends_on == ("update:city/main/e2:shelved",)  # gated: scaled first


def test_the_catalogued_edition_cannot_go_while_one_it_does_not_manage_stays() -> None:
    service = Service()
    converge(library("main", {"e1": 100}, e1={}, e2={}), service)
    stranger = ResourceKey("city", "main", "x9", kind="edition")
    service.things[stranger] = [Thing({"isbn": "9", "notes": ""}, {}, "99")]
    p = planned(library("main", {}), service)
    assert [e for e in p.errors if "catalogue entry" in e], p.errors
    assert "refuses to delete a catalogue entry while others exist" in p.errors[0]
    assert ("city/main/x9", "not managed by deployer") in [(i.address, i.reason) for i in p.ignored]
    deleted = {a.key.current.address for a in p.actions if a.kind is ActionKind.DELETE}
    assert "city/main/e1" not in deleted and "city/main/e2" in deleted  # the rest still goes


def test_target_keeps_one_library_and_what_it_depends_on() -> None:
    service = Service()
    both = [*library("main", {"e1": 100}, e1={}), *library("annex", {"a1": 100}, a1={})]
    p = planned(both, service, targets=(("annex", "a1"),))
    assert ids(p) == ["create:city/annex", "create:city/annex/a1", "create:city/annex/a1:shelved"]
    whole = planned(both, service, targets=(("annex", None),))
    assert ids(whole)[-1] == "reroute:city/annex" and len(whole.actions) == 4


@pytest.mark.parametrize("seed", range(4))
def test_random_changes_converge_in_any_order(seed: int) -> None:
    rng = random.Random(seed)
    service = Service()
    for _ in range(4):
        editions = {
            f"e{i}": {"isbn": str(rng.randint(1, 2)), "copies": rng.randint(1, 3)}
            for i in rng.sample(range(1, 5), rng.randint(1, 3))
        }
        names = sorted(editions)
        weights = {names[0]: 100} if len(names) == 1 else {names[0]: 60, names[-1]: 40}
        converge(library("main", weights, **editions), service)
