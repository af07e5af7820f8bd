"""`deployer import`: adopt live models that deployer does not manage yet.

For each selected (region, model): the backend's importer turns the live resources into the
manifest entry that declares exactly them; that entry is loaded and validated like any manifest
(with the stack's own `deployer.yaml`), and its desired resources computed. Everything that can
refuse is checked before anything is written: the entry must validate, and a plan of it against
the live state as it will read once labelled (the importer's `adopted`, pure) must be empty.
Only then does the provider's `adopt` write the ownership labels (with `deployer-spec` and the
artifact digest) that make the live resources this stack's, and a fresh plan of the imported
models checks the result. When a write or that check fails, what was written is undone (the
importer's `restore`): a model labelled as the stack's but declared nowhere would be deleted by
the stack's next apply. The YAML to add to the manifests is returned, never written into the
repository by this module; the CLI calls `ImportResult.undo` when it cannot write it either.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deployer.core import manifest, ownership
from deployer.core.errors import AdoptionError, DeployerError, UsageError
from deployer.core.provider import Adopts, Imported
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.core.stack import Stack
from deployer.plan.planner import PlanOptions, plan


@dataclass
class ImportResult:
    yaml: str
    models: list[str] = field(default_factory=list)
    """`REGION/MODEL` of each imported model."""
    notes: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)
    """Kept for callers of the previous version: always empty (a non-empty check is undone)."""
    skipped: list[str] = field(default_factory=list)
    """`REGION/MODEL: why` of each model `--all` could not import (nothing of it was changed)."""
    undo: Callable[[], list[str]] = field(default=lambda: [])
    """Put the imported models back as they were; returns what could not be undone."""


@dataclass
class _Prepared:
    head: ObservedResource
    children: list[ObservedResource]
    made: Imported
    desired: list[DesiredResource]
    specs: dict[ResourceKey, str]


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


def literal(value: Any) -> Any:
    """`value` with every `${` written `$${`, so that text read from the cloud (a description
    holding `${var.x}`) is read back as itself, not as a variable."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [literal(v) for v in value]
    return value


def import_models(
    stack: Stack,
    provider: Any,
    target: str | None,
    *,
    regions: Sequence[str],
    every: bool = False,
    environment: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
) -> ImportResult:
    """Adopt `target` (MODEL or MODEL/VERSION), or with `every` each unmanaged model (a model
    that cannot be imported is then skipped, with why, and the others are imported)."""
    if not isinstance(provider, Adopts):
        raise AdoptionError(f"backend {provider.name} cannot adopt live models")
    name, only = parse_selection(target) if target is not None else (None, None)
    observed = provider.read(regions, None)
    selected = _select(stack, observed, name, only, every, regions)

    result = ImportResult(yaml="")
    prepared: list[_Prepared] = []
    for head, children, version in selected:
        try:
            prepared.append(
                _prepare(stack, provider, head, children, version, environment, cli_vars)
            )
        except DeployerError as exc:
            _skip_or_raise(result, every, head, exc)

    adopted: list[_Prepared] = []
    for item in prepared:
        try:
            result.notes.extend(
                provider.adopt(item.head, item.children, item.desired, item.made.origin, item.specs)
            )
        except BaseException as exc:
            left = _restore(provider, [item])
            if not every or not isinstance(exc, DeployerError):
                _restore(provider, adopted)
                if isinstance(exc, DeployerError):
                    raise AdoptionError(_undone(str(exc), left)) from None
                raise
            _skip_or_raise(result, every, item.head, DeployerError(_undone(str(exc), left)))
            continue
        adopted.append(item)

    adopted = _check_after(stack, provider, regions, adopted, result, every)
    if not adopted:
        raise AdoptionError(
            "nothing was imported: " + "; ".join(result.skipped)
            if result.skipped
            else "nothing was imported"
        )
    for item in adopted:
        result.notes.extend(item.made.notes)
        result.models.append(item.head.key.address)
    entries = [literal(item.made.entry) for item in adopted]
    text = yaml.safe_dump({"models": entries}, sort_keys=False, allow_unicode=True)
    header = (
        f"# Imported by `deployer import` from project {stack.project} "
        f"({', '.join(result.models)}).\n"
    )
    result.yaml = header + text
    result.undo = lambda: _restore(provider, adopted)
    return result


def _select(
    stack: Stack,
    observed: Sequence[ObservedResource],
    name: str | None,
    only: str | None,
    every: bool,
    regions: Sequence[str],
) -> list[tuple[ObservedResource, list[ObservedResource], str | None]]:
    selected: list[tuple[ObservedResource, list[ObservedResource], str | None]] = []
    for (region, model), resources in sorted(_group(observed).items()):
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
    return selected


def _skip_or_raise(
    result: ImportResult, every: bool, head: ObservedResource, exc: DeployerError
) -> None:
    if not every:
        raise AdoptionError(f"cannot import {head.key.address}: {exc}") from None
    result.skipped.append(f"{head.key.address}: {exc}")


def _prepare(
    stack: Stack,
    provider: Adopts,
    head: ObservedResource,
    children: list[ObservedResource],
    only: str | None,
    environment: str | None,
    cli_vars: Mapping[str, str] | None,
) -> _Prepared:
    """The model's entry, validated, its desired resources, and the proof (a plan against the
    live state as adopting it will leave it) that importing it needs nothing else; nothing is
    written here."""
    from deployer.artifacts import digests_for

    made: Imported = provider.manifest_entry(head, children, stack.settings.region, only)
    text = yaml.safe_dump({"models": [literal(made.entry)]}, sort_keys=False, allow_unicode=True)
    tmp_stack = _load_with(stack, text, environment, cli_vars)
    every = provider.desired(tmp_stack, digests_for(tmp_stack))
    desired = [d for d in every if d.key.model_key == head.key]
    specs = {d.key: ownership.spec_hash(d) for d in desired}
    after = provider.adopted(head, children, desired, made.origin, specs, stack.name)
    check = plan(
        desired, after, provider.model, PlanOptions(stack=stack.name, project=stack.project)
    )
    left = [f"{a.kind.verb} {a.address}: {a.reason.text()}" for a in check.actions]
    left += list(check.errors)
    if left:
        more = f" (and {len(left) - 3} more)" if len(left) > 3 else ""
        raise AdoptionError(
            f"its manifest would not describe it exactly (after the import a plan would still: "
            f"{'; '.join(left[:3])}{more}); nothing was changed"
        )
    return _Prepared(head, children, made, desired, specs)


def _check_after(
    stack: Stack,
    provider: Adopts,
    regions: Sequence[str],
    adopted: list[_Prepared],
    result: ImportResult,
    every: bool,
) -> list[_Prepared]:
    """The check `plan` will make: each imported model as declared, against the live state
    now. A model that would still change is put back as it was."""
    if not adopted:
        return adopted
    keys = {item.head.key for item in adopted}
    try:
        after = [r for r in provider.read(regions, stack.name) if r.key.model_key in keys]
    except BaseException:
        _restore(provider, adopted)
        raise
    kept: list[_Prepared] = []
    failed: list[tuple[_Prepared, str]] = []
    for item in adopted:
        mine = [r for r in after if r.key.model_key == item.head.key]
        check = plan(
            item.desired,
            mine,
            provider.model,
            PlanOptions(stack=stack.name, project=stack.project),
        )
        left = [f"{a.kind.verb} {a.address}: {a.reason.text()}" for a in check.actions]
        left += list(check.errors)
        if left:
            failed.append((item, "; ".join(left[:3])))
        else:
            kept.append(item)
    for item, why in failed:
        undone = _restore(provider, [item])
        message = _undone(f"after labelling it, a plan would still {why}", undone)
        if not every:
            _restore(provider, kept)
            raise AdoptionError(f"cannot import {item.head.key.address}: {message}")
        result.skipped.append(f"{item.head.key.address}: {message}")
    return kept


def _restore(provider: Adopts, items: Sequence[_Prepared]) -> list[str]:
    """Undo `adopt` for each item (best effort); what could not be undone, one line each."""
    left: list[str] = []
    for item in reversed(items):
        left.extend(provider.restore(item.head, item.children))
    return left


def _undone(message: str, left: list[str]) -> str:
    if not left:
        return f"{message}; the labels written were removed again"
    return (
        f"{message}; could not undo everything: {'; '.join(left)} (remove deployer's labels "
        "there by hand, or the next apply of the stack may delete it)"
    )


def _load_with(
    stack: Stack, text: str, environment: str | None, cli_vars: Mapping[str, str] | None
) -> Stack:
    """The stack's settings with only the imported models, loaded and validated as usual; a
    problem is an AdoptionError saying what the generated manifest gets wrong (its file is a
    temporary one, gone by the time anyone reads the message)."""
    from deployer.config.loader import SETTINGS_NAMES
    from deployer.core.diagnostics import ManifestError
    from deployer.stacks import load_stack

    with tempfile.TemporaryDirectory(prefix="deployer-import-") as tmp:
        root = Path(tmp) / stack.root.name  # the stack's default name is its directory's
        root.mkdir()
        for name in SETTINGS_NAMES:
            if (stack.root / name).is_file():
                shutil.copyfile(stack.root / name, root / name)
                break
        generated = root / "imported.yaml"
        generated.write_text(text)
        try:
            # Loaded models keep their paths for display only; artifacts are all gs:// here.
            return load_stack(root, environment, cli_vars or {})
        except ManifestError as exc:
            mine = [d for d in exc.diagnostics if d.file.endswith("imported.yaml")]
            found = mine or exc.diagnostics
            what = found[0].message if found else str(exc).splitlines()[0]
            where = f" (line {found[0].line} of the generated YAML)" if mine else ""
            raise AdoptionError(
                f"deployer cannot declare it as it is: {what}{where}; nothing was changed"
            ) from None
