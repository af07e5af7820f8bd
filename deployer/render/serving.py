"""What happens to serving, per model, in plain words: downtime or not, said once.

Read from the plan's data alone (action kinds, the `serving` flag the planner sets on what it
deletes or replaces while a routing that serves requests routes to it, the reroutes with their
routes and before/after, typed reasons), never from a backend's name:

- downtime: a serving target deleted before its replacement exists (delete-then-create, only
  with --allow-downtime) while nothing else serves meanwhile; a model that stops serving for
  good (removed, or its traffic goes to nothing);
- no downtime: a serving target replaced create-then-delete (the new one serves first), a
  delete-then-create while an interim target serves, a default or traffic switch;
- a version that gains traffic while its capacity drops, and a serving switch that undoes a
  change made outside deployer (drift), are called out.

A routing that serves nothing (a registry alias) is not a serving switch. One line per model
and event, `Level` saying how loud.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from deployer.core.plan import Action, ActionKind, FieldChange, Plan, Why, followed


class Level(IntEnum):
    QUIET = 0
    SWITCH = 1
    """What serves changes, without downtime."""
    WARN = 2
    """A reviewer should look: capacity drops under more traffic, drift undone, FAILED."""
    DOWN = 3
    """Downtime: the model serves nothing for a while, or from now on."""


DOWNTIME = "DOWNTIME"
STOPS = "STOPS SERVING"


@dataclass(frozen=True)
class Event:
    """One thing that happens to a model's serving: `model` then `text` reads as a sentence
    (`global/iris serves nothing from …`) after `tag` when set, else as `model: text`."""

    model: str
    level: Level
    text: str
    tag: str = ""

    @property
    def downtime(self) -> bool:
        return self.level is Level.DOWN

    @property
    def line(self) -> str:
        return f"{self.tag}: {self.model} {self.text}" if self.tag else f"{self.model}: {self.text}"


def by_model(actions: Iterable[Action]) -> list[tuple[str, list[Action]]]:
    """Actions grouped by model address, groups in order of first appearance, actions in order."""
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.key.model_key.address, []).append(action)
    return list(groups.items())


def group_kind(plan: Plan, actions: Sequence[Action]) -> str:
    """The kind heading a group of actions of its own (a resource pool), from the provider's
    data; "" for a model's group."""
    kinds = {a.key.kind for a in actions}
    kind = next(iter(kinds)) if len(kinds) == 1 else ""
    return kind if kind in plan.groups else ""


def group_heading(plan: Plan, address: str, actions: Sequence[Action]) -> str:
    """`Model us-central1/iris`, `Resource pool small-cpu (us-central1)`."""
    kind = group_kind(plan, actions)
    if not kind:
        return f"Model {address}"
    key = actions[0].key
    return f"{plan.groups[kind]} {key.model} ({key.endpoint})"


_MEMO: dict[tuple[str, int], tuple[tuple[Action, ...], Any]] = {}
"""Per plan (by the identity of its actions), what renderers ask again and again."""


def _memo(name: str, actions: tuple[Action, ...], compute: Callable[[], Any]) -> Any:
    key = (name, id(actions))
    found = _MEMO.get(key)
    if found is not None and found[0] is actions:
        return found[1]
    if len(_MEMO) > 64:
        _MEMO.clear()
    value = compute()
    _MEMO[key] = (actions, value)
    return value


def model_actions(plan: Plan, action: Action) -> list[Action]:
    """The plan's actions on `action`'s model, in plan order."""
    index = _memo("models", plan.actions, lambda: dict(by_model(plan.actions)))
    found: list[Action] = index.get(action.key.model_key.address, [])
    return found


def serves(action: Action) -> bool:
    """A reroute of a routing that serves requests (a plan of format 1.0 has no route: it did)."""
    return action.reroutes and (action.route is None or action.route.serves)


def events(plan: Plan) -> list[Event]:
    """Every model's serving events, the loudest first, models in plan order within a level."""
    found: list[Event] = _memo("events", plan.actions, lambda: _events(plan))
    return found


def _events(plan: Plan) -> list[Event]:
    out: list[Event] = []
    for model, actions in by_model(plan.actions):
        found = _model_events(model, actions, plan.warnings)
        out += sorted(found, key=lambda e: -e.level)
    return sorted(out, key=lambda e: -e.level)  # stable: models in plan order per level


def grouped(found: Sequence[Event]) -> list[tuple[Event, list[str]]]:
    """Events that read the same for several models, once, with every model they concern (a
    fleet's 34 identical canaries are one line); downtime is said model by model."""
    groups: dict[tuple[Level, str, str, str], tuple[Event, list[str]]] = {}
    for event in found:
        own = event.model if event.tag else ""
        key = (event.level, event.tag, event.text, own)
        groups.setdefault(key, (event, []))[1].append(event.model)
    return list(groups.values())


def downtime(plan: Plan) -> list[Event]:
    return [e for e in events(plan) if e.downtime]


def touches_serving(plan: Plan) -> bool:
    """Whether anything that serves requests is switched, replaced or deleted."""
    return any(serves(a) or a.serving for a in plan.actions) or bool(followed(plan.actions))


# --- values as words ----------------------------------------------------------------------


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as the manifest writes it
    return value if isinstance(value, str) else str(value)


def percent_text(split: Any) -> str:
    """`v1 90%, v2 10%`, or `nothing` for an empty split."""
    if not isinstance(split, Mapping) or not split:
        return "nothing"
    return ", ".join(f"{name} {pct}%" for name, pct in sorted(split.items()))


def switch_text(action: Action) -> str:
    """`traffic v1 100% -> v2 100%`, `default version v1 -> v2`."""
    change = _visible_route(action)
    name = _route_name(action)
    if change is None:
        return name
    if action.split:
        return f"{name} {percent_text(change.before)} -> {percent_text(change.after)}"
    return f"{name} {change.before or '(none)'} -> {change.after or '(none)'}"


def _route_name(action: Action) -> str:
    return action.route.name if action.route is not None else "default version"


def _visible_route(action: Action) -> FieldChange | None:
    path = action.route.path if action.route is not None else None
    shown = [c for c in action.changes if not c.hidden and (path is None or c.path == path)]
    return shown[0] if shown else (action.changes[0] if action.changes else None)


def _split(action: Action, side: str) -> dict[str, int]:
    change = action.changes[0] if action.changes else None  # as computed: names, not titles
    value = getattr(change, side) if change is not None else None
    if action.split:
        return {str(k): int(v) for k, v in dict(value or {}).items() if v}
    return {str(value): 100} if value else {}


def _forcing(actions: Sequence[Action], action: Action) -> str:
    """`machine_type n1-standard-4`: what the replacement changes, in the manifest's words;
    for a part replaced because its version is (a deployment of a new upload), the version's."""
    same = [
        x
        for x in actions
        if x is not action and x.key.version == action.key.version and x.kind.replaces
    ]
    sentence = removed = ""
    for a in (action, *same):
        for c in a.changes:
            if not c.forces_replacement or c.hidden:
                continue
            if c.before is None and c.after is None and c.shown:
                sentence = sentence or c.shown
                continue
            if c.after is None and not c.shown:  # a key no longer set: said only if alone
                removed = removed or f"no {c.name}"
                continue
            value = c.shown.split(" -> ")[-1] if c.shown else _plain(c.after)
            return f"{c.name} {value}"
    return sentence or removed or "a new instance"


def shown_names(action: Action) -> dict[str, str]:
    """The names in a split as computed -> as people read them (the annotation renames ids
    in a visible copy of the change, keys in the same order)."""
    if not action.changes:
        return {}
    raw = action.changes[0]
    shown = _visible_route(action) or raw
    out: dict[str, str] = {}
    for side in ("before", "after"):
        a, b = getattr(raw, side), getattr(shown, side)
        if isinstance(a, Mapping) and isinstance(b, Mapping) and len(a) == len(b):
            out.update({str(k): str(n) for k, n in zip(a, b, strict=True)})
    return out


def fates(actions: Sequence[Action], names: Iterable[str], shown: Mapping[str, str] = {}) -> str:
    """`v1: deployment deleted, version deleted; v3 stays, serving nothing`: what the plan's
    other actions do to the versions (`names`, instances too) a switch leaves; `shown` names
    them for people."""
    words = {
        ActionKind.DELETE: "deleted",
        ActionKind.DELETE_THEN_CREATE: "replaced",
        ActionKind.CREATE_THEN_DELETE: "replaced",
        ActionKind.UPDATE: "updated",
        ActionKind.CREATE: "created",
        ActionKind.WAIT: "waited for",
    }
    out = []
    for raw in dict.fromkeys(names):
        name = raw.split("#", 1)[0]
        done = [a for a in actions if a.key.version == name and not a.reroutes]
        if not done:
            out.append(f"{shown.get(raw, name)} stays, serving nothing")
            continue
        what = ", ".join(dict.fromkeys(f"{a.key.kind} {words[a.kind]}" for a in done))
        out.append(f"{name}: {what}")
    return "; ".join(out)


def left_by(action: Action) -> list[str]:
    """The names a switch routes away from (instances of a name kept count as kept)."""
    before, after = _split(action, "before"), _split(action, "after")
    return [n for n in before if n.split("#", 1)[0] not in after]


# --- one model ------------------------------------------------------------------------------


def _renewed_roots(actions: Sequence[Action]) -> dict[Any, Action]:
    """The create-first replacements of a group's roots (an endpoint), by key."""
    return {a.key: a for a in actions if a.key.version is None and a.create_first}


def _model_events(
    model: str, actions: Sequence[Action], warnings: Sequence[str] = ()
) -> list[Event]:
    out: list[Event] = []
    roots = _renewed_roots(actions)
    moved = {a.key.kind for a in roots.values()}
    switches = [a for a in actions if serves(a) and a.key.current not in roots]
    for root in roots.values():
        split = next((s for s in actions if serves(s) and s.key == root.key), None)
        takes = f" ({percent_text(_split(split, 'after'))})" if split is not None else ""
        kind = root.key.kind
        warned = any(w.startswith(f"{root.key.address} ") for w in warnings)
        out.append(
            Event(
                model,
                Level.WARN if warned else Level.SWITCH,
                f"a new {kind} replaces the current one ({_forcing(actions, root)}): every "
                f"version is set up on the new {kind} and takes the traffic there{takes} "
                f"before the old {kind} stops serving and goes, no downtime"
                + (
                    f"; its clients must move to the new {kind} (see the warnings)"
                    if warned
                    else ""
                ),
            )
        )
    interim = {a.reason.subject: a for a in switches if a.reason.why is Why.INTERIM}

    def add(level: Level, text: str, tag: str = "") -> None:
        out.append(Event(model, level, text, tag))

    down = False
    for a in actions:
        if a.kind is not ActionKind.DELETE_THEN_CREATE:
            continue
        name = a.key.version
        if name is None:
            if any(x.serving for x in actions if x.kind is ActionKind.DELETE):
                add(
                    Level.DOWN,
                    "serves nothing from the delete of its versions until the new model and its "
                    "versions are READY (planned with --allow-downtime)",
                    DOWNTIME,
                )
                down = True
        elif a.reason.why is Why.FAILED and a.serving:
            add(Level.WARN, f"{name} is FAILED and serves nothing: recreated (delete, then create)")
        elif a.serving and name in interim:
            stand_in = next(iter(_split(interim[name], "after")), "another version")
            add(
                Level.SWITCH,
                f"{name} is recreated (delete, then create) while {stand_in} serves: the "
                f"{_route_name(interim[name])} moves to {stand_in} and back, no downtime",
            )
        elif a.serving:
            add(
                Level.DOWN,
                f"serves nothing from the delete of {name} until the new {name} is READY "
                "(planned with --allow-downtime)",
                DOWNTIME,
            )
            down = True
    last = next((a for a in reversed(switches) if a.reason.why is not Why.RESTORED), None)
    removed = [a for a in actions if a.kind is ActionKind.DELETE and not a.superseded]
    served = [a for a in removed if a.serving]
    gone = any(a.key.version is None for a in removed)
    ends_empty = last is not None and not _split(last, "after")
    if ends_empty or (not switches and served):
        kinds = _and(list(dict.fromkeys(a.key.kind for a in removed)))
        if gone:
            add(
                Level.DOWN,
                f"is no longer declared: requests to it fail once its {kinds} are deleted",
                STOPS,
            )
        elif last is not None:
            add(Level.DOWN, f"serves nothing after {switch_text(last)}", STOPS)
        down = True
    rolling = {
        a.key.version: a
        for a in actions
        if a.kind is ActionKind.CREATE_THEN_DELETE and a.serving and a.key.version
    }
    for name, a in rolling.items():
        forced = {c.path for c in a.changes if c.forces_replacement}
        if forced and forced <= moved:
            continue  # set up again on its new root: said with the root
        share = next((_split(s, "before").get(name) for s in switches if s.split), None)
        keeps = f"keeps {share}% throughout" if share else "keeps serving throughout"
        add(
            Level.SWITCH,
            f"blue-green {name} to {_forcing(actions, a)}, no downtime: {name} {keeps}",
        )
    for update, replacement in followed(actions):
        name = update.key.version
        add(
            Level.SWITCH,
            f"rolling {name} in place to {_forcing(actions, replacement)}, no downtime: its "
            f"{update.key.kind} is updated onto the new one, no second copy",
        )
    for s in switches:
        if s.reason.why in (Why.INTERIM, Why.RESTORED) or (s is last and ends_empty):
            continue
        before, after = _split(s, "before"), _split(s, "after")
        bare = {k.split("#", 1)[0]: v for k, v in before.items()}
        if bare == after and set(after) <= set(rolling):
            continue  # the traffic of a rolling replacement moving to its new instance
        then = fates(actions, left_by(s), shown_names(s))
        text = switch_text(s) + (", no downtime" if not down else "") + _drifted(s)
        add(Level.WARN if _drift(s) else Level.SWITCH, text + (f"; then {then}" if then else ""))
        for name, gain in _gains(before, after).items():
            drop = _capacity_drop(actions, name)
            if drop:
                add(
                    Level.WARN,
                    f"{name} gains traffic ({gain}) while its capacity drops ({drop})",
                )
    return out


def _and(words: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else "".join(words)


def _drift(action: Action) -> bool:
    return any(c.drift for c in action.changes)


def _drifted(action: Action) -> str:
    return " (undoes a change made outside deployer)" if _drift(action) else ""


def _gains(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, str]:
    """Versions whose share grows: name -> `50% -> 100%`."""
    shares: dict[str, int] = {}
    for name, pct in before.items():
        bare = name.split("#", 1)[0]
        shares[bare] = shares.get(bare, 0) + pct
    return {
        name: f"{shares.get(name, 0)}% -> {pct}%"
        for name, pct in sorted(after.items())
        if pct > shares.get(name, 0)
    }


def _capacity_drop(actions: Sequence[Action], version: str) -> str:
    """`scaling.min_nodes 4 -> 1` when an update of `version` lowers a replica count."""
    for a in actions:
        if a.key.version != version or a.kind is not ActionKind.UPDATE:
            continue
        for c in a.changes:
            lower = (
                not c.hidden
                and c.name.startswith("scaling.")
                and isinstance(c.before, int)
                and isinstance(c.after, int)
                and c.after < c.before
            )
            if lower:
                live = " (set outside deployer)" if c.drift else ""
                return f"{c.name} {c.before}{live} -> {c.after}"
    return ""
