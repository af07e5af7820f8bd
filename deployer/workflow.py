"""The steps behind `plan` and `apply`: load, digest artifacts, read the cloud, plan.

The CLI stays thin by calling these; each step lives in its own package and this module only
wires them together. Backends come from `deployer.providers.registry`, never by name.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence

from deployer.core import manifest, ownership
from deployer.core.errors import OptionError
from deployer.core.plan import Plan
from deployer.core.provider import Provider
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey
from deployer.core.stack import DeclaredModel, Stack
from deployer.plan.planner import PlanOptions, plan
from deployer.plan.present import annotate
from deployer.providers import registry


def parse_targets(targets: Sequence[str]) -> tuple[tuple[str, str | None], ...]:
    parsed = []
    for target in targets:
        model, _, version = target.partition("/")
        if not manifest.NAME_RE.match(model) or (version and not manifest.NAME_RE.match(version)):
            raise OptionError(f"--target {target!r}: expected MODEL or MODEL/VERSION")
        parsed.append((model, version or None))
    return tuple(parsed)


def provider_for(project: str, backend: str) -> Provider:
    """The provider of a backend, for one project; providers import their clients lazily."""
    return registry.backend(backend).provider(project)


def scanned_endpoints(provider: Provider) -> tuple[str, ...]:
    """Every endpoint (region) a stack may have resources on, so dropped models are pruned."""
    return registry.backend(provider.name).locations


def read_observed(provider: Provider, stack: str) -> list[ObservedResource]:
    """Live state on every endpoint, so models dropped from every manifest are still pruned."""
    return provider.read(scanned_endpoints(provider), stack)


def check_artifacts(stack: Stack) -> None:
    """Refuse artifacts the service would reject or serve wrongly (no TensorFlow needed)."""
    from deployer.artifacts.checks import check_stack
    from deployer.core.diagnostics import ManifestError

    problems = check_stack(stack, registry.backend(stack.backend).artifact_limits)
    if problems:
        raise ManifestError(problems)


def compute_plan(
    stack: Stack,
    provider: Provider,
    *,
    allow_downtime: bool = False,
    targets: Sequence[str] = (),
    destroy: bool = False,
    allow_over_quota: bool = False,
) -> Plan:
    """The plan for `stack`; with `destroy`, the plan that removes every managed resource.
    It says what its deployments hold and cost, and is an error when its peak needs more
    serving quota than is free (a warning with `allow_over_quota`)."""
    from deployer.artifacts import digests_for
    from deployer.metering import metered

    parsed = scoped_targets(stack, parse_targets(targets))
    options = PlanOptions(
        stack=stack.name,
        project=stack.project,
        allow_downtime=allow_downtime,
        targets=parsed,
        environment=stack.environment or "",
        declared_protect=declared_protect(stack) if destroy else {},
    )
    if not destroy:
        check_artifacts(stack)
    digests = {} if destroy else digests_for(stack)
    desired = [] if destroy else provider.desired(stack, digests)
    observed = read_observed(provider, stack.name)
    check_targets(parse_targets(targets), stack, desired, observed)
    planned = plan(desired, observed, provider.model, options)
    planned = dataclasses.replace(
        planned,
        artifacts=dict(sorted(digests.items())),
        artifacts_uri=stack.settings.artifacts,
        backend=provider.name,
        environment=stack.environment or "",
        emulator=emulator_url(),
        commit=git_commit(stack.root),
    )
    planned = _warn_left_behind(planned, stack, provider.name)
    index = ManifestIndex(stack, registry.backend(provider.name).key_name)
    planned = annotate(planned, provider.model.vocabulary, index, observed)
    return metered(planned, stack, provider, observed, allow_over_quota=allow_over_quota)


def _warn_left_behind(planned: Plan, stack: Stack, backend: str) -> Plan:
    """What the stack still has on a backend it used before (deployer.backends_used)."""
    from deployer.backends_used import left_behind

    found = left_behind(stack, backend)
    return dataclasses.replace(planned, warnings=(*planned.warnings, *found)) if found else planned


def declared_protect(stack: Stack) -> dict[ResourceKey, bool]:
    """Each declared model's `protect`, per region: a destroy honours the manifests, also where
    the service keeps the label a model was created with."""
    return {
        ResourceKey(region, model.spec.name): model.spec.protect
        for model in stack.models
        for region in model.regions
    }


def emulator_url(environ: Mapping[str, str] | None = None) -> str:
    """The local twin's URL when AIPLATFORM_EMULATOR_HOST points deployer at it, else ""."""
    value = (
        (environ if environ is not None else os.environ).get("AIPLATFORM_EMULATOR_HOST", "").strip()
    )
    if value and "://" not in value:
        value = f"http://{value}"
    return value.rstrip("/")


COMMIT_ENV = ("GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT", "GIT_COMMIT")


def git_commit(root: object, environ: Mapping[str, str] | None = None) -> str:
    """The manifests' commit (short): from CI's variables, else `git rev-parse`; "" if unknown."""
    env = environ if environ is not None else os.environ
    for name in COMMIT_ENV:
        if env.get(name, "").strip():
            return env[name].strip()[:12]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


class ManifestIndex:
    """Where each model and version of a stack is declared: `FILE:LINE` per resource and key.

    `key_name` is how the backend names a manifest version in its keys."""

    def __init__(self, stack: Stack, key_name: Callable[[str], str] = str) -> None:
        self.key_name = key_name
        self._models: dict[tuple[str, str], DeclaredModel] = {}
        for model in stack.models:
            for region in model.regions:
                self._models[(region, model.spec.name)] = model

    def _entry(self, key: ResourceKey) -> tuple[DeclaredModel, tuple[str | int, ...]] | None:
        model = self._models.get((key.endpoint, key.model))
        if model is None:
            return None
        path: tuple[str | int, ...] = ("models", model.index)
        if key.version is None:
            return model, path
        for position, version in enumerate(model.spec.versions):
            if key.version in (version.name, self.key_name(version.name)):
                return model, (*path, "versions", model.version_index(position))
        return None

    def locate(self, key: ResourceKey, manifest_key: str = "") -> str:
        found = self._entry(key)
        if found is None:
            return ""
        model, path = found
        if manifest_key:
            keys = tuple(manifest_key.split(" ", 1)[0].split("."))
            # the key under the entry, else under its model (`default_version`), else the entry
            for base in (path, path[:2]):
                if (*base, *keys) in model.source.keys:
                    path = (*base, *keys)
                    break
        return f"{model.display_file}:{model.source.key(path).line}"

    def declares(self, key: ResourceKey, manifest_key: str) -> bool:
        found = self._entry(key)
        if found is None:
            return False
        model, path = found
        keys = tuple(manifest_key.split("."))
        return any((*base, *keys) in model.source.keys for base in (path, path[:2]))

    def artifact(self, key: ResourceKey) -> str:
        found = self._entry(key)
        if found is None or key.version is None:
            return ""
        model, _ = found
        for version in model.spec.versions:
            if key.version in (version.name, self.key_name(version.name)):
                return version.artifact or ""
        return ""


NOTHING = (("", None),)
"""A target no resource matches (model names are never empty): an empty scope plans nothing."""


def scoped_targets(
    stack: Stack, targets: tuple[tuple[str, str | None], ...]
) -> tuple[tuple[str, str | None], ...]:
    """The targets of a run: with a single model file as PATH, its models (and --target may
    only narrow them further); else the --target values, empty meaning everything."""
    if stack.scope is None:
        return targets
    for model, version in targets:
        if model not in stack.scope:
            shown = model if version is None else f"{model}/{version}"
            raise OptionError(
                f"--target {shown}: model '{model}' is not declared in the file given as PATH "
                "(a single model file limits the run to its own models)"
            )
    return targets or tuple((m, None) for m in stack.scope) or NOTHING


def check_targets(
    targets: tuple[tuple[str, str | None], ...],
    stack: Stack,
    desired: Sequence[DesiredResource],
    observed: Sequence[ObservedResource],
) -> None:
    """OptionError for a --target that names nothing declared and nothing this stack manages
    live (a typo would otherwise plan nothing and exit 0)."""
    keys = [r.key for r in desired] + [
        r.key for r in observed if ownership.owned_by(r.labels, stack.name)
    ]
    for model, version in targets:
        if not any(k.model == model and (version is None or k.version == version) for k in keys):
            shown = model if version is None else f"{model}/{version}"
            raise OptionError(
                f"--target {shown}: names nothing declared in the manifests or managed live by "
                f"stack '{stack.name}'"
            )


def resolved(plan: Plan) -> Plan:
    """A loaded plan file in today's terms: the default backend when it names none (format
    1.0), and each part's kind from the backend's resource model."""
    backend = registry.backend(plan.backend) if plan.backend else registry.default()
    model = backend.resources
    actions = []
    for action in plan.actions:
        key = action.key
        kind = model.with_part(key.part)
        if kind is not None and key.kind != kind.name:
            key = dataclasses.replace(key, kind=kind.name)
        route = action.route
        routing = model.routing(route.path) if route is not None else None
        if route is not None and routing is not None and not route.target:
            # format 1.0 named a route by its path only: its words and rules from the model
            route = dataclasses.replace(
                route, name=routing.name, serves=routing.serves, target=routing.target
            )
        actions.append(dataclasses.replace(action, key=key, route=route))
    return dataclasses.replace(plan, backend=backend.name, actions=tuple(actions))
