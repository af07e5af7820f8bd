"""`deployer import` for a provider whose pure importer module says what live models become.

Each backend's `importer` module turns live resources into the manifest entry that declares
them (`manifest_entry`), says how they will read once labelled (`adopted`) and puts back what
`adopt` wrote (`restore`); this mixin gives a provider those three `Adopts` methods from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType

from deployer.core.provider import Imported
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey


class ImportsThrough:
    """Mixin: the provider's `importer()` returns its importer module (imported lazily)."""

    def importer(self) -> ModuleType:
        raise NotImplementedError

    def manifest_entry(
        self,
        model: ObservedResource,
        children: Sequence[ObservedResource],
        default_region: str,
        only: str | None,
    ) -> Imported:
        entry: Imported = self.importer().manifest_entry(model, children, default_region, only)
        return entry

    def adopted(
        self,
        model: ObservedResource,
        children: Sequence[ObservedResource],
        desired: Sequence[DesiredResource],
        origin: Mapping[str, str],
        specs: Mapping[ResourceKey, str],
        stack: str,
    ) -> list[ObservedResource]:
        found: list[ObservedResource] = self.importer().adopted(
            model, children, desired, origin, specs, stack
        )
        return found

    def restore(self, model: ObservedResource, children: Sequence[ObservedResource]) -> list[str]:
        left: list[str] = self.importer().restore(self, model, children)
        return left
