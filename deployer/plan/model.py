"""The Plan: what apply would do, as plain data that renderers print and the executor runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deployer.providers.schema import ResourceKey

FORMAT_VERSION = "1.0"


class ActionKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    SET_DEFAULT = "set-default"
    SET_TRAFFIC = "set-traffic"
    """An endpoint's traffic split moves (one patch); `desired["traffic"]` is the new split."""
    WAIT = "wait"
    """A live resource is CREATING/UPDATING/DELETING: apply waits for it, then re-plans."""


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any
    forces_replacement: bool = False
    mask: str | None = None
    label: str = ""
    """The field in the manifest's vocabulary (`runtime_version`, `scaling.nodes`); "" = `path`."""
    hidden: bool = False
    """Internal or computed (a hashed URI, an etag): kept for apply, not shown to users."""
    shown: str = ""
    """How the change reads in the manifest's terms when the values do not say it (an artifact:
    `../export/iris/2 (digest 8cf5d1…)`); "" = the values."""
    source: str = ""
    """`FILE:LINE` of the manifest key that declares the new value, when known."""

    @property
    def name(self) -> str:
        return self.label or self.path


@dataclass(frozen=True)
class Action:
    id: str
    kind: ActionKind
    key: ResourceKey
    reason: str
    changes: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()
    """Actions that must succeed first: if one fails, this one is skipped."""
    ordered_after: tuple[str, ...] = ()
    """Actions that must finish first, whether they succeed or not (ordering only)."""
    desired: Mapping[str, Any] | None = None
    """Desired fields (create, replace, update) and labels as the provider will write them."""
    labels: Mapping[str, str] | None = None
    artifact_source: str | None = None
    drift: bool = False
    create_first: bool = False
    """A replace that creates the new resource before the old one goes (create-before-destroy)."""
    source: str = ""
    """`FILE:LINE` of the manifest entry behind this resource, when known."""
    before: Mapping[str, Any] | None = None
    """The live fields of what a delete removes (kept so a reviewer and the JSON see them)."""

    @property
    def address(self) -> str:
        return self.key.address

    @property
    def destructive(self) -> bool:
        return self.kind in (ActionKind.DELETE, ActionKind.REPLACE)

    @property
    def reroutes(self) -> bool:
        """A default-version move or a traffic change: what serves predictions changes."""
        return self.kind in REROUTES


REROUTES = (ActionKind.SET_DEFAULT, ActionKind.SET_TRAFFIC)


@dataclass(frozen=True)
class Ignored:
    address: str
    reason: str


@dataclass(frozen=True)
class Summary:
    add: int
    change: int
    replace: int
    destroy: int
    reroute: int = 0
    """Default-version moves and traffic changes, counted apart from `change`."""

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.replace or self.destroy or self.reroute)


@dataclass(frozen=True)
class Plan:
    stack: str
    project: str
    actions: tuple[Action, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    fingerprint: str = ""
    artifacts: Mapping[str, str] = field(default_factory=dict)
    """Artifact digests the plan relied on: source (dir or gs:// URI) -> digest."""
    artifacts_uri: str = ""
    """The stack's `artifacts` setting: where uploads and the lock live."""
    backend: str = "mlengine"
    environment: str = ""
    """The `--env` environment the manifests were loaded for ("" = none selected)."""
    emulator: str = ""
    """The local twin's URL when the live state was read from it instead of Google Cloud."""
    commit: str = ""
    """The manifests' Git commit, when known."""
    smoke_tests: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Smoke tests apply runs before it promotes a version, pinned like artifacts (filled by
    deployer.apply.smoke.pin): `MODEL/VERSION` -> {instances, expect, tolerance, digest}."""
    manifests: str = ""
    """The manifests directory the plan was made from, relative to the working directory:
    `apply PLAN.json` reads the sensitive values the plan file holds only as digests there."""

    @property
    def summary(self) -> Summary:
        def count(*kinds: ActionKind) -> int:
            return sum(1 for a in self.actions if a.kind in kinds)

        return Summary(
            add=count(ActionKind.CREATE),
            change=count(ActionKind.UPDATE),
            replace=count(ActionKind.REPLACE),
            destroy=count(ActionKind.DELETE),
            reroute=count(*REROUTES),
        )

    @property
    def drift(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.drift)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)
