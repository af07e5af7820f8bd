"""The steps behind `plan` and `apply`: load, digest artifacts, read the cloud, diff.

The CLI stays thin by calling these; each step lives in its own package and this module only
wires them together, so a Vertex AI backend plugs in by providing another provider.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from deployer import catalog
from deployer.config.stack import Stack
from deployer.errors import UsageError
from deployer.plan.diff import PlanOptions, diff, fingerprint
from deployer.plan.model import Plan
from deployer.providers.base import Provider
from deployer.providers.schema import ObservedResource


def parse_targets(targets: Sequence[str]) -> tuple[tuple[str, str | None], ...]:
    parsed = []
    for target in targets:
        model, _, version = target.partition("/")
        if not catalog.NAME_RE.match(model) or (version and not catalog.NAME_RE.match(version)):
            raise UsageError(f"--target {target!r}: expected MODEL or MODEL/VERSION")
        parsed.append((model, version or None))
    return tuple(parsed)


BACKENDS = ("mlengine", "vertex")


def provider_for(project: str, backend: str = "mlengine") -> Provider:
    """The provider of a backend, for one project; providers import their clients lazily."""
    if backend == "vertex":
        from deployer.providers.vertex.provider import VertexProvider

        return VertexProvider(project)
    if backend != "mlengine":
        raise UsageError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
    from deployer.providers.mlengine.provider import MLEngineProvider

    return MLEngineProvider(project)


def scanned_endpoints(provider: Provider) -> tuple[str, ...]:
    """Every endpoint (region) a stack may have resources on, so dropped models are pruned."""
    if provider.name == "vertex":
        from deployer import catalog_vertex

        return catalog_vertex.REGIONS
    return catalog.ENDPOINTS


def read_observed(provider: Provider, stack: str) -> list[ObservedResource]:
    """Live state on every endpoint, so models dropped from every manifest are still pruned."""
    return provider.read(scanned_endpoints(provider), stack)


def check_artifacts(stack: Stack) -> None:
    """Refuse artifacts the service would reject or serve wrongly (no TensorFlow needed)."""
    from deployer.artifacts.checks import check_stack
    from deployer.config.diagnostics import ManifestError

    problems = check_stack(stack)
    if problems:
        raise ManifestError(problems)


def compute_plan(
    stack: Stack,
    provider: Provider,
    *,
    allow_downtime: bool = False,
    targets: Sequence[str] = (),
    destroy: bool = False,
) -> Plan:
    """The plan for `stack`; with `destroy`, the plan that removes every managed resource."""
    from deployer.artifacts import digests_for

    options = PlanOptions(
        stack=stack.name,
        project=stack.project,
        allow_downtime=allow_downtime,
        targets=parse_targets(targets),
    )
    if not destroy:
        check_artifacts(stack)
    digests = {} if destroy else digests_for(stack)
    desired = [] if destroy else provider.desired(stack, digests)
    observed = read_observed(provider, stack.name)
    plan = diff(desired, observed, provider.schemas, options)
    return dataclasses.replace(
        plan,
        artifacts=dict(sorted(digests.items())),
        artifacts_uri=stack.settings.artifacts,
        backend=provider.name,
    )


def current_fingerprint(plan: Plan, provider: Provider) -> str:
    return fingerprint(read_observed(provider, plan.stack))
