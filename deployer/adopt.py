"""`deployer import`: adopt live models that deployer does not manage yet.

For each selected (region, model): the backend's importer turns the live resources into the
manifest entry that declares exactly them; that entry is loaded and validated like any manifest
(with the stack's own `deployer.yaml`), its desired resources are computed, and the provider's
`adopt` writes the ownership labels (with `deployer-spec` and the artifact digest) that make the
live resources this stack's. A fresh plan of the imported models is then computed to check it is
empty; anything left is reported. The YAML to add to the manifests is returned, never written
into the repository by this module.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deployer.core import manifest, ownership
from deployer.core.errors import AdoptionError, UsageError
from deployer.core.provider import Adopts, Imported, Provider
from deployer.core.resources import DesiredResource, ObservedResource
from deployer.core.stack import Stack


@dataclass
class ImportResult:
    yaml: str
    models: list[str] = field(default_factory=list)
    """`REGION/MODEL` of each imported model."""
    notes: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)
    """Actions a plan would still take for the imported models (empty when all went well)."""


def _group(observed: Sequence[ObservedResource]) -> dict[tuple[str, str], list[ObservedResource]]:
    groups: dict[tuple[str, str], list[ObservedResource]] = {}
    for resource in observed:
        groups.setdefault((resource.key.endpoint, resource.key.model), []).append(resource)
    return groups


def parse_selection(target: str) -> tuple[str, str | None]:
    model, _, version = target.partition("/")
    if not manifest.NAME_RE.match(model) or (version and not manifest.NAME_RE.match(version)):
        raise UsageError(f"{target!r}: expected MODEL or MODEL/VERSION")
    return model, version or None


def import_models(
    stack: Stack,
    provider: Provider,
    target: str | None,
    *,
    regions: Sequence[str],
    every: bool = False,
    environment: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
) -> ImportResult:
    """Adopt `target` (MODEL or MODEL/VERSION), or with `every` each unmanaged model."""
    from deployer.artifacts import digests_for
    from deployer.plan.planner import PlanOptions, plan

    if not isinstance(provider, Adopts):
        raise AdoptionError(f"backend {provider.name} cannot adopt live models")
    observed = provider.read(regions, None)
    groups = _group(observed)
    default_region = stack.settings.region
    selected: list[tuple[ObservedResource, list[ObservedResource], str | None]] = []
    name, only = parse_selection(target) if target else (None, None)
    for (region, model), resources in sorted(groups.items()):
        head = next((r for r in resources if r.key.version is None and not r.key.part), None)
        if head is None:
            continue
        owner = ownership.owner(head.labels)
        if every:
            if owner is None:
                selected.append((head, [r for r in resources if r is not head], None))
            continue
        if model != name:
            continue
        if owner is not None and owner != stack.name:
            raise AdoptionError(
                f"{region}/{model} belongs to stack '{owner}': deployer never takes a model from "
                "another stack (remove it from that stack's manifests first)"
            )
        selected.append((head, [r for r in resources if r is not head], only))
    if not selected:
        where = ", ".join(regions)
        if every:
            raise AdoptionError(f"no unmanaged model found in {where} of project {stack.project!r}")
        raise AdoptionError(f"model {name!r} not found in {where} of project {stack.project!r}")

    result = ImportResult(yaml="")
    imported: list[tuple[ObservedResource, list[ObservedResource], Imported]] = []
    for head, children, version in selected:
        made: Imported = provider.manifest_entry(head, children, default_region, version)
        imported.append((head, children, made))
        result.notes.extend(made.notes)
        result.models.append(head.key.address)
    entries = [made.entry for _, _, made in imported]
    text = yaml.safe_dump({"models": entries}, sort_keys=False, allow_unicode=True)

    tmp_stack = _load_with(stack, text, environment, cli_vars)
    digests = digests_for(tmp_stack)
    desired = provider.desired(tmp_stack, digests)
    for head, children, made in imported:
        mine = [d for d in desired if d.key.model_key == head.key]
        specs = {d.key: ownership.spec_hash(d) for d in mine}
        result.notes.extend(provider.adopt(head, children, mine, made.origin, specs))

    # The check `plan` will make: the imported models as declared, against the live state now.
    keys = {head.key for head, _, _ in imported}
    after = [r for r in provider.read(regions, stack.name) if r.key.model_key in keys]
    wanted = [d for d in desired if d.key.model_key in keys]
    check = plan(
        wanted, after, provider.model, PlanOptions(stack=stack.name, project=stack.project)
    )
    result.remaining = [f"{a.kind.verb} {a.address}: {a.reason.text()}" for a in check.actions]
    result.remaining += list(check.errors)
    header = (
        f"# Imported by `deployer import` from project {stack.project} "
        f"({', '.join(result.models)}).\n"
    )
    result.yaml = header + text
    return result


def _load_with(
    stack: Stack, text: str, environment: str | None, cli_vars: Mapping[str, str] | None
) -> Stack:
    """The stack's settings with only the imported models, loaded and validated as usual."""
    from deployer.config.loader import SETTINGS_NAMES
    from deployer.stacks import load_stack

    with tempfile.TemporaryDirectory(prefix="deployer-import-") as tmp:
        root = Path(tmp) / stack.root.name  # the stack's default name is its directory's
        root.mkdir()
        for name in SETTINGS_NAMES:
            if (stack.root / name).is_file():
                shutil.copyfile(stack.root / name, root / name)
                break
        (root / "imported.yaml").write_text(text)
        loaded = load_stack(root, environment, cli_vars or {})
        # Loaded models keep their paths for display only; artifacts are all gs:// here.
        return loaded


def desired_by_key(desired: Sequence[DesiredResource]) -> dict[Any, DesiredResource]:
    return {d.key: d for d in desired}
