"""The plan as a stable, versioned JSON document, and back (`deployer apply PLANFILE`).

`plan_from_json(plan_to_json(plan)) == plan` for every plan whose field values are JSON data
(str, int, float, bool, None, lists and string-keyed dicts), which is what providers produce,
and whose local artifact paths are relative: absolute ones are written relative to the working
directory (`portable`), so the document does not depend on where the repository was checked out.
Documents with an unknown `format_version` major are refused; newer minors are read, ignoring
keys this version does not know. Format 1.0 documents (one `replace` kind with a
`create_before_destroy` flag, `set-default` and `set-traffic`, reasons as text, no resource
kinds) are still read: `legacy` says so, and the caller names the kinds of parts from the
backend's resource model (`with_kinds`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from deployer.core.errors import DeployerError
from deployer.core.plan import (
    FORMAT_VERSION,
    Action,
    ActionKind,
    FieldChange,
    Ignored,
    Plan,
    Reason,
    Route,
    Why,
    note,
)
from deployer.core.resources import ResourceKey
from deployer.core.sensitive import from_document, scrub, to_document
from deployer.render.resources import cost_from_json, cost_json, usage_from_json, usage_json

Json = dict[str, Any]


def plan_to_json(plan: Plan) -> Json:
    """The document as plain data; keys are sorted when serialized, action order is kept.

    The header fields (`environment`, `emulator`, `commit`) are written when set.
    """
    doc = _plan_core(plan)
    doc["backend"] = plan.backend
    for key in ("environment", "emulator", "commit", "manifests"):
        if getattr(plan, key):
            doc[key] = getattr(plan, key)
    if plan.targets:
        doc["targets"] = list(plan.targets)
    groups = {k: t for k, t in plan.groups.items() if any(a.key.kind == k for a in plan.actions)}
    if groups:
        doc["groups"] = dict(sorted(groups.items()))
    if plan.smoke_tests:
        doc["smoke_tests"] = {k: dict(v) for k, v in sorted(plan.smoke_tests.items())}
    if plan.resources is not None:
        doc.update(usage_json(plan.resources))
    if plan.cost is not None:
        doc["cost"] = cost_json(plan.cost)
    return doc


def _plan_core(plan: Plan) -> Json:
    summary = plan.summary
    return {
        "format_version": FORMAT_VERSION,
        "stack": plan.stack,
        "project": plan.project,
        "fingerprint": plan.fingerprint,
        "summary": {
            "add": summary.add,
            "change": summary.change,
            "replace": summary.replace,
            "destroy": summary.destroy,
            "reroute": summary.reroute,
        },
        "actions": [_action_to_json(a, plan.fingerprint) for a in plan.actions],
        "drift": [a.id for a in plan.drift],
        "ignored": [_ignored_to_json(i) for i in plan.ignored],
        "warnings": [scrub(w) for w in plan.warnings],
        "errors": [scrub(e) for e in plan.errors],
        "artifacts": dict(sorted((portable(k), v) for k, v in plan.artifacts.items())),
        "artifacts_uri": plan.artifacts_uri,
    }


def _ignored_to_json(ignored: Ignored) -> Json:
    doc: Json = {"address": ignored.address, "reason": ignored.reason}
    if ignored.title:
        doc["title"] = ignored.title
    return doc


def dumps_plan(plan: Plan) -> str:
    """The document as text: indented, keys sorted; equal plans give identical text."""
    return json.dumps(plan_to_json(plan), indent=2, sort_keys=True, ensure_ascii=False)


CHECKSUM_KEY = "checksum"
"""A saved plan file carries a digest of its own document (without this key): `apply FILE`
refuses a file whose content is not what `plan --out` wrote."""


def _digest(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != CHECKSUM_KEY}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dumps_saved_plan(plan: Plan) -> str:
    """The text `plan --out` writes: the JSON document plus its `checksum`."""
    doc = plan_to_json(plan)
    doc[CHECKSUM_KEY] = _digest(doc)
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)


def verify_checksum(doc: Mapping[str, Any]) -> None:
    """DeployerError unless `doc` carries the checksum `dumps_saved_plan` wrote for it."""
    written = doc.get(CHECKSUM_KEY)
    if not isinstance(written, str) or not written:
        raise DeployerError("it has no checksum, so it was not written by `deployer plan --out`")
    if written != _digest(doc):
        raise DeployerError(
            "its content does not match its checksum: it was modified after "
            "`deployer plan --out` wrote it"
        )


def loads_plan(text: str) -> Plan:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeployerError(f"plan file is not JSON: {exc}") from exc
    return plan_from_json(doc)


LEGACY_MAJOR = "1"
"""Format 1.0: still read (see the module docstring)."""


def legacy(doc: Mapping[str, Any]) -> bool:
    return str(doc.get("format_version", "")).split(".", 1)[0] == LEGACY_MAJOR


def plan_from_json(doc: Mapping[str, Any]) -> Plan:
    """Restore the Plan a document was written from; DeployerError if it cannot be read."""
    if not isinstance(doc, Mapping):
        raise DeployerError("plan document must be a JSON object")
    _check_version(doc.get("format_version"))
    old = legacy(doc)
    try:
        return Plan(
            stack=_str(doc["stack"]),
            project=_str(doc["project"]),
            actions=tuple(
                _legacy_action(a) if old else _action_from_json(a) for a in doc["actions"]
            ),
            ignored=tuple(
                Ignored(_str(i["address"]), _str(i["reason"]), _str(i.get("title", "")))
                for i in doc.get("ignored", [])
            ),
            errors=tuple(_str(e) for e in doc.get("errors", [])),
            warnings=tuple(_str(w) for w in doc.get("warnings", [])),
            fingerprint=_str(doc.get("fingerprint", "")),
            artifacts={_str(k): _str(v) for k, v in dict(doc.get("artifacts", {})).items()},
            artifacts_uri=_str(doc.get("artifacts_uri", "")),
            backend=_str(doc.get("backend", "")),
            environment=_str(doc.get("environment", "")),
            emulator=_str(doc.get("emulator", "")),
            commit=_str(doc.get("commit", "")),
            manifests=_str(doc.get("manifests", "")),
            smoke_tests={
                _str(k): _smoke_from_json(v) for k, v in dict(doc.get("smoke_tests", {})).items()
            },
            resources=usage_from_json(doc),
            cost=cost_from_json(doc),
            targets=tuple(_str(t) for t in doc.get("targets", ())),
            groups={_str(k): _str(v) for k, v in _object(doc.get("groups", {})).items()},
        )
    except KeyError as exc:
        raise DeployerError(f"plan document is missing {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise DeployerError(f"plan document is malformed: {exc}") from exc


def _smoke_from_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    tolerance = doc["tolerance"]
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        raise TypeError(f"expected a number, got {tolerance!r}")
    return {
        "instances": _str(doc["instances"]),
        "expect": _opt_str(doc.get("expect")),
        "tolerance": float(tolerance),
        "digest": _str(doc["digest"]),
    }


def _check_version(version: Any) -> None:
    if not isinstance(version, str) or not version:
        raise DeployerError("plan document has no format_version: it was not written by deployer")
    major = version.split(".", 1)[0]
    if major not in (FORMAT_VERSION.split(".", 1)[0], LEGACY_MAJOR):
        raise DeployerError(
            f"plan format_version {version} is not supported (this deployer reads "
            f"{FORMAT_VERSION.split('.', 1)[0]}.x and {LEGACY_MAJOR}.x): run `deployer plan` "
            "again with this version"
        )


def _action_to_json(action: Action, salt: str = "") -> Json:
    """Sensitive values (deployer.core.sensitive) are written `{"sensitive": DIGEST}`, salted with
    the plan's fingerprint."""
    doc = _core_to_json(action, salt)
    if action.key.part:
        doc["part"] = action.key.part
    if action.key.instance:
        doc["instance"] = action.key.instance
    if action.route is not None:
        doc["route"] = {
            "path": action.route.path,
            "name": action.route.name,
            "split": action.route.split,
            "serves": action.route.serves,
        }
        if action.route.target:
            doc["route"]["target"] = action.route.target
    for key in ("source", "title", "serving"):
        if getattr(action, key):
            doc[key] = getattr(action, key)
    if action.before is not None:
        doc["before"] = to_document(dict(action.before), salt)
    return doc


def _core_to_json(action: Action, salt: str = "") -> Json:
    return {
        "id": action.id,
        "kind": action.kind.value,
        "address": action.address,
        "endpoint": action.key.endpoint,
        "model": action.key.model,
        "version": action.key.version,
        "resource": action.key.kind,
        "reason": action.reason.text(),
        "why": _reason_to_json(action.reason),
        "drift": action.drift,
        "depends_on": list(action.depends_on),
        "ordered_after": list(action.ordered_after),
        "changes": [_change_to_json(c, salt) for c in action.changes],
        "desired": None if action.desired is None else to_document(dict(action.desired), salt),
        "labels": None if action.labels is None else dict(action.labels),
        "artifact_source": None
        if action.artifact_source is None
        else portable(action.artifact_source),
    }


def _reason_to_json(reason: Reason) -> Json:
    doc: Json = {"code": reason.why.value}
    for key in ("paths", "subject", "noun", "count", "state", "note", "last", "before", "after"):
        value = getattr(reason, key)
        if value not in ((), "", 0, False, None):
            doc[key] = list(value) if key == "paths" else value
    return doc


def _reason_from_json(doc: Any) -> Reason:
    if not isinstance(doc, Mapping):
        raise TypeError(f"expected a reason object, got {doc!r}")
    return Reason(
        Why(doc["code"]),
        paths=tuple(_str(p) for p in doc.get("paths", ())),
        subject=_str(doc.get("subject", "")),
        noun=_str(doc.get("noun", "")),
        count=int(doc.get("count", 0)),
        state=_str(doc.get("state", "")),
        note=_str(doc.get("note", "")),
        last=bool(doc.get("last", False)),
        before=doc.get("before"),
        after=doc.get("after"),
    )


def _change_to_json(change: FieldChange, salt: str = "") -> Json:
    """A field change; its presentation keys (`label`, `hidden`, `shown`, `source`, `drift`)
    only when set, so documents of plans without them are unchanged."""
    doc: Json = {
        "path": change.path,
        "before": to_document(change.before, salt),
        "after": to_document(change.after, salt),
        "forces_replacement": change.forces_replacement,
        "mask": change.mask,
    }
    for key in ("label", "hidden", "shown", "source", "drift"):
        if getattr(change, key):
            doc[key] = getattr(change, key)
    return doc


def _key_from_json(doc: Mapping[str, Any], kind: str = "") -> ResourceKey:
    key = ResourceKey(
        _str(doc["endpoint"]),
        _str(doc["model"]),
        _opt_str(doc.get("version")),
        _str(doc.get("part", "")),
        _str(doc.get("instance", "")),
        kind,
    )
    if "address" in doc and doc["address"] != key.address:
        raise ValueError(f"action {doc['id']!r}: address {doc['address']!r} != {key.address!r}")
    return key


def _route_from_json(doc: Any) -> Route | None:
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        raise TypeError(f"expected a route object, got {doc!r}")
    return Route(
        _str(doc["path"]),
        _str(doc["name"]),
        split=bool(doc.get("split", False)),
        serves=bool(doc.get("serves", True)),
        target=_str(doc.get("target", "")),
    )


def _action_from_json(doc: Mapping[str, Any]) -> Action:
    key = _key_from_json(doc, _str(doc.get("resource", "")))
    why = doc.get("why")
    reason = note(_str(doc["reason"])) if why is None else _reason_from_json(why)
    return _action(doc, key, ActionKind(doc["kind"]), reason)


def _legacy_action(doc: Mapping[str, Any]) -> Action:
    """A format 1.0 action: its kind, route and reason in today's terms."""
    old = _str(doc["kind"])
    kind = {"set-default": ActionKind.REROUTE, "set-traffic": ActionKind.REROUTE}.get(old)
    if old == "replace":
        first = bool(doc.get("create_before_destroy", False))
        kind = ActionKind.CREATE_THEN_DELETE if first else ActionKind.DELETE_THEN_CREATE
    text = _str(doc["reason"])
    reason = Reason(Why.SUPERSEDED) if text == Reason(Why.SUPERSEDED).text() else note(text)
    action = _action(doc, _key_from_json(doc), kind or ActionKind(old), reason)
    if action.kind is not ActionKind.REROUTE or not action.changes:
        return action
    change = action.changes[0]
    split = old == "set-traffic"
    value = (action.desired or {}).get(change.path) if split else action.key.version
    return dataclasses.replace(
        action,
        route=Route(change.path, change.path, split=split),
        desired={change.path: value},
    )


def _action(doc: Mapping[str, Any], key: ResourceKey, kind: ActionKind, reason: Reason) -> Action:
    desired = doc.get("desired")
    labels = doc.get("labels")
    before = doc.get("before")
    return Action(
        id=_str(doc["id"]),
        kind=kind,
        key=key,
        reason=reason,
        changes=tuple(
            FieldChange(
                path=_str(c["path"]),
                before=from_document(c.get("before")),
                after=from_document(c.get("after")),
                forces_replacement=bool(c.get("forces_replacement", False)),
                mask=_opt_str(c.get("mask")),
                label=_str(c.get("label", "")),
                hidden=bool(c.get("hidden", False)),
                shown=_str(c.get("shown", "")),
                source=_str(c.get("source", "")),
                drift=bool(c.get("drift", False)),
            )
            for c in doc.get("changes", [])
        ),
        depends_on=tuple(_str(d) for d in doc.get("depends_on", [])),
        ordered_after=tuple(_str(d) for d in doc.get("ordered_after", [])),
        desired=None if desired is None else from_document(dict(desired)),
        labels=None if labels is None else {_str(k): _str(v) for k, v in dict(labels).items()},
        artifact_source=_opt_str(doc.get("artifact_source")),
        drift=bool(doc.get("drift", False)),
        route=_route_from_json(doc.get("route")),
        source=_str(doc.get("source", "")),
        before=None if before is None else from_document(dict(before)),
        serving=bool(doc.get("serving", False)),
        title=_str(doc.get("title", "")),
    )


def portable(source: str) -> str:
    """A local artifact directory as a path relative to the working directory (the repository
    root in CI), so a plan saved by one job applies in another checkout; gs:// URIs as they are.

    Reading keeps it relative: apply resolves it against its own working directory.
    """
    if source.startswith("gs://") or not os.path.isabs(source):
        return source
    return os.path.relpath(source)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {value!r}")
    return value
