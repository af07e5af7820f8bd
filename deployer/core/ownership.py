"""Who owns a live resource, and what it was last applied from: deployer's own labels.

No state file: every resource deployer creates carries `managed-by: deployer` and its stack's
name (DESIGN.md section 4); `deployer-spec` holds a short hash of the declared fields at the last
apply, which tells a manifest change from a live one (drift); `deployer-protect` keeps `protect`
on the live resource. These rules are the same on every backend.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from deployer.core.resources import DesiredResource, ObservedResource

LABEL_MANAGED_BY = "managed-by"
LABEL_MANAGED_BY_VALUE = "deployer"
LABEL_STACK = "deployer-stack"
LABEL_SPEC = "deployer-spec"
LABEL_PROTECT = "deployer-protect"
LABEL_ARTIFACT = "deployer-artifact"
"""The content digest of a version's artifact, so changed bytes behind an unchanged URI show."""
LABEL_ROUTE = "deployer-route"
"""On a resource that routes (an endpoint's split): a short hash of the route deployer last
set, which tells a manifest's new route from one changed by hand (drift)."""
RESERVED_LABELS = frozenset({LABEL_MANAGED_BY, LABEL_STACK, LABEL_SPEC, LABEL_PROTECT})
COMPUTED_LABELS = frozenset({LABEL_SPEC, LABEL_ROUTE})
"""Labels derived from the others: never compared as a change."""


def owner(labels: Mapping[str, str]) -> str | None:
    """The stack a live resource belongs to ("" for deployer's without a stack), or None
    when deployer does not manage it."""
    if labels.get(LABEL_MANAGED_BY) != LABEL_MANAGED_BY_VALUE:
        return None
    return labels.get(LABEL_STACK, "")


def owned_by(labels: Mapping[str, str], stack: str) -> bool:
    return owner(labels) == stack


def own_label(key: str) -> bool:
    """deployer's own labels (`managed-by`, `deployer-*`): never user changes."""
    return key == LABEL_MANAGED_BY or key.startswith("deployer-")


def protected(labels: Mapping[str, str]) -> bool:
    return labels.get(LABEL_PROTECT) == "true"


CHILD_RECORD_PREFIX = f"{LABEL_SPEC}-"


def child_record(ident: str) -> str:
    """The label on a parent that holds the `deployer-spec` record of a child with no labels of
    its own (a deployed model on its endpoint), by the child's id."""
    return f"{CHILD_RECORD_PREFIX}{ident}"


def is_child_record(key: str) -> bool:
    return key.startswith(CHILD_RECORD_PREFIX)


def computed(key: str) -> bool:
    """A label deployer derives (records), never compared as a change."""
    return key in COMPUTED_LABELS or is_child_record(key)


def kept_records(labels: Mapping[str, object]) -> dict[str, str]:
    """The records on a live resource that a rewrite of its own labels (and `deployer-spec`)
    must carry over: the route deployer set and its children's specs."""
    return {str(k): str(v) for k, v in labels.items() if computed(str(k)) and k != LABEL_SPEC}


def compared_labels(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(labels.items()) if not computed(k)}


def spec_hash(resource: DesiredResource) -> str:
    """Short digest of the declared fields and labels, written as the `deployer-spec` label."""
    doc = {"fields": dict(resource.fields), "labels": compared_labels(resource.labels)}
    return _short_digest(doc)


def _short_digest(doc: object) -> str:
    """16 hex digits of the SHA-256 of `doc` as compact, key-sorted JSON: a label value."""
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def route_hash(route: Mapping[str, int]) -> str:
    """Short digest of a route as the planner reads it (target name -> weight; zero weights
    left out; one target routed alone is `{name: 100}`), written as the `deployer-route`
    label."""
    return _short_digest(sorted((str(k), int(v)) for k, v in route.items() if int(v)))


def last_applied(observed: ObservedResource, desired: DesiredResource) -> bool:
    """The live resource was last applied from exactly this declaration."""
    return observed.labels.get(LABEL_SPEC) == spec_hash(desired)


def fingerprint(observed: Iterable[ObservedResource]) -> str:
    """Digest of the observed state a plan was computed from, to refuse stale saved plans.

    Sorted by address (a string): sorting ResourceKeys themselves compares a model's None
    version with its versions' names and raises TypeError.
    """
    doc = sorted(
        [
            r.key.address,
            dict(r.fields),
            dict(r.labels),
            str(r.state),
            r.is_default,
        ]
        for r in observed
    )
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
