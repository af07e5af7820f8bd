"""Which changed fields were changed live rather than in the manifests: drift, field by field.

Every create and update writes the `deployer-spec` label: a hash of the declared fields and
labels (`deployer.core.ownership.spec_hash`). When it equals the hash of today's declaration, the
manifests did not change since that write, so every difference is a live change. When it does
not, the manifests changed some fields since: put the live value back in place of the declared
one for a set of the differing fields, and the set whose result hashes to the record is what the
manifests changed (their old value is still live); every other difference is drift. At most one
set matches (else the hash collides). When none does (a field changed both in the manifests and
live, or the record predates a write that did not renew it), nothing is claimed: a change is
called drift only when the record proves it.

Pure: no I/O, and nothing here knows a backend.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from itertools import combinations
from typing import Any

from deployer.core import ownership
from deployer.core.resources import DesiredResource, ObservedResource

LABELS = "labels"
MAX_FIELDS = 12
"""Differing fields searched at most (2**12 hashes); beyond that nothing is claimed."""


def _differing(desired: DesiredResource, observed: ObservedResource) -> list[str]:
    paths = [p for p, v in sorted(desired.fields.items()) if observed.fields.get(p) != v]
    if ownership.compared_labels(observed.labels) != ownership.compared_labels(desired.labels):
        paths.append(LABELS)
    return paths


def _previous(
    desired: DesiredResource, observed: ObservedResource, manifest: Collection[str]
) -> DesiredResource:
    """The declaration as it was if the manifests changed exactly `manifest` since the record."""
    fields: dict[str, Any] = dict(desired.fields)
    for path in manifest:
        if path != LABELS:
            fields[path] = observed.fields.get(path)
    labels = observed.labels if LABELS in manifest else desired.labels
    return DesiredResource(desired.key, fields, labels)


def _subsets(paths: list[str]) -> Iterator[tuple[str, ...]]:
    for size in range(len(paths) + 1):
        yield from combinations(paths, size)


def drifted(desired: DesiredResource, observed: ObservedResource) -> frozenset[str] | None:
    """The field paths (`labels` for the labels) changed live since deployer last wrote this
    resource; None when its record cannot tell (no record, or no consistent reading)."""
    record = observed.labels.get(ownership.LABEL_SPEC)
    if not record:
        return None
    paths = _differing(desired, observed)
    if len(paths) > MAX_FIELDS:
        return frozenset(paths) if ownership.spec_hash(desired) == record else None
    for manifest in _subsets(paths):
        if ownership.spec_hash(_previous(desired, observed, manifest)) == record:
            return frozenset(paths) - set(manifest)
    return None
