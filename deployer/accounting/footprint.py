"""Footprints: vCPUs, memory and GPUs of deployments, per region and per model, at min and at
max replicas, before and after a plan, and at the peak while the plan is applied.

The peak is what quota must hold while the apply runs. A create-before-destroy replacement runs
the old and the new deployment side by side; a delete-then-create one, or an in-place change,
holds the larger of the two, and a rolling update the larger plus the surge nodes it may add.
A deleted deployment counts at the peak as well: deletions may run
after the creations (a version gives up its traffic before it is undeployed), so the peak is an
upper bound that holds whatever order the executor picks.

Hooks for spot capacity and shared resource pools (issue 24): a `Deployment` says whether it
runs on spot VMs, and which pool it shares; deployments sharing a pool in a region count it
once (the pool's replicas are what is held, however many deployments it serves).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from deployer import machines


class Rollout(StrEnum):
    """How a deployment present before and after the plan gets from one to the other."""

    IN_PLACE = "in-place"
    CREATE_BEFORE_DESTROY = "create-before-destroy"
    DELETE_THEN_CREATE = "delete-then-create"
    ROLLING = "rolling"
    """Moved onto a new upload by the service, node by node: the larger of the two plus the
    surge nodes it may add (`Deployment.surge`)."""


@dataclass(frozen=True)
class Deployment:
    """One deployed version: what serves it and how many replicas it may run.

    `max_replicas` None means no upper bound (`ml` v1 auto scaling without `maxNodes`).
    `spot`: on spot VMs (priced and charged to quota apart: not priced here yet); `pool`: the
    shared resource pool it runs on ("" = its own replicas), whose machine and replica counts
    the deployment then carries."""

    region: str
    model: str
    version: str
    machine_type: str
    min_replicas: int
    max_replicas: int | None
    accelerator_type: str | None = None
    accelerator_count: int = 0
    spot: bool = False
    pool: str = ""
    surge: int = 0
    """Extra replicas a rolling update may add while it runs."""
    surge_percent: int = 0
    """The same as a percentage of the replica count (rounded up)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.region, self.model, self.version)

    def replica(self) -> Resources:
        """What one replica holds; a machine type the catalog does not know is named in
        `unknown` and counts as nothing."""
        found = machines.shape(self.machine_type)
        if found is None:
            return Resources(unknown=(self.machine_type,))
        return Resources(
            found.vcpus,
            found.memory_gib,
            machines.gpus(self.machine_type, self.accelerator_type, self.accelerator_count),
        )

    def at_min(self) -> Resources:
        return self.replica().times(self.min_replicas)

    def at_max(self) -> Resources:
        if self.max_replicas is None:
            return Resources(unbounded=True, unknown=self.replica().unknown)
        return self.replica().times(self.max_replicas)

    def surge_span(self) -> Span:
        """The nodes a rolling update adds beside the running ones, at min and at max."""

        def extra(replicas: int | None) -> int:
            by_percent = -(-(replicas or 0) * self.surge_percent // 100)
            return max(self.surge, by_percent)

        one = self.replica()
        return Span(one.times(extra(self.min_replicas)), one.times(extra(self.max_replicas)))


@dataclass(frozen=True)
class Resources:
    """A sum of replicas. `unbounded`: some deployment may scale without limit, so the sum is a
    lower bound; `unknown`: machine types without a shape, left out of the sum."""

    vcpus: float = 0.0
    memory_gib: float = 0.0
    gpus: Mapping[str, int] = field(default_factory=dict)
    unbounded: bool = False
    unknown: tuple[str, ...] = ()

    def times(self, n: int) -> Resources:
        return Resources(
            self.vcpus * n,
            self.memory_gib * n,
            {k: v * n for k, v in self.gpus.items() if v * n},
            self.unbounded,
            self.unknown,
        )

    def __add__(self, other: Resources) -> Resources:
        gpus = dict(self.gpus)
        for kind, count in other.gpus.items():
            gpus[kind] = gpus.get(kind, 0) + count
        return Resources(
            self.vcpus + other.vcpus,
            self.memory_gib + other.memory_gib,
            gpus,
            self.unbounded or other.unbounded,
            _merge(self.unknown, other.unknown),
        )

    def larger(self, other: Resources) -> Resources:
        """Each quantity at the larger of the two."""
        kinds = {*self.gpus, *other.gpus}
        return Resources(
            max(self.vcpus, other.vcpus),
            max(self.memory_gib, other.memory_gib),
            {k: max(self.gpus.get(k, 0), other.gpus.get(k, 0)) for k in kinds},
            self.unbounded or other.unbounded,
            _merge(self.unknown, other.unknown),
        )

    @property
    def empty(self) -> bool:
        return not (self.vcpus or self.memory_gib or any(self.gpus.values()) or self.unknown)

    def describe(self) -> str:
        """`8 vCPUs, 30 GiB, 1 x NVIDIA_TESLA_T4` (for plan text and error lines)."""
        parts = [f"{_number(self.vcpus)} vCPUs", f"{_number(self.memory_gib)} GiB"]
        parts += [f"{n} x {kind}" for kind, n in sorted(self.gpus.items()) if n]
        text = ", ".join(parts)
        if self.unbounded:
            text += " (unbounded)"
        if self.unknown:
            text += f" (+ unknown: {', '.join(self.unknown)})"
        return text


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({*a, *b}))


def _number(value: float) -> float | int:
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


NOTHING = Resources()


@dataclass(frozen=True)
class Span:
    """Resources at the lowest and at the highest replica counts."""

    at_min: Resources = NOTHING
    at_max: Resources = NOTHING

    def __add__(self, other: Span) -> Span:
        return Span(self.at_min + other.at_min, self.at_max + other.at_max)

    def larger(self, other: Span) -> Span:
        return Span(self.at_min.larger(other.at_min), self.at_max.larger(other.at_max))


def span(deployment: Deployment | None) -> Span:
    if deployment is None:
        return Span()
    return Span(deployment.at_min(), deployment.at_max())


@dataclass(frozen=True)
class Footprint:
    before: Span = Span()
    after: Span = Span()
    peak: Span = Span()

    def __add__(self, other: Footprint) -> Footprint:
        return Footprint(
            self.before + other.before, self.after + other.after, self.peak + other.peak
        )


@dataclass(frozen=True)
class PlanFootprint:
    """Footprints per region and per model (`REGION/MODEL`), and over the whole plan."""

    regions: Mapping[str, Footprint]
    models: Mapping[str, Footprint]
    total: Footprint

    @property
    def unknown_machine_types(self) -> tuple[str, ...]:
        found: set[str] = set()
        for span_ in (self.total.before, self.total.after):
            found.update(span_.at_min.unknown)
        return tuple(sorted(found))


def change_footprint(
    before: Deployment | None, after: Deployment | None, rollout: Rollout = Rollout.IN_PLACE
) -> Footprint:
    """The footprint of one deployment's change (either side may be absent)."""
    old, new = span(before), span(after)
    if before is None or after is None or rollout is Rollout.CREATE_BEFORE_DESTROY:
        peak = old + new
    elif rollout is Rollout.ROLLING:
        peak = old.larger(new) + after.surge_span()
    else:
        peak = old.larger(new)
    return Footprint(old, new, peak)


def footprint(
    before: Iterable[Deployment],
    after: Iterable[Deployment],
    rollouts: Mapping[tuple[str, str, str], Rollout] | None = None,
) -> PlanFootprint:
    """The plan's footprint. Deployments pair up by `key` (region, model, version); a pair not
    in `rollouts` changes in place (only replica counts can)."""
    old = {d.key: d for d in pooled_once(before)}
    new = {d.key: d for d in pooled_once(after)}
    rollouts = rollouts or {}
    regions: dict[str, Footprint] = {}
    models: dict[str, Footprint] = {}
    total = Footprint()
    for key in sorted({*old, *new}):
        change = change_footprint(old.get(key), new.get(key), rollouts.get(key, Rollout.IN_PLACE))
        region, model = key[0], f"{key[0]}/{key[1]}"
        regions[region] = regions.get(region, Footprint()) + change
        models[model] = models.get(model, Footprint()) + change
        total = total + change
    return PlanFootprint(regions, models, total)


def pooled_once(deployments: Iterable[Deployment]) -> list[Deployment]:
    """The deployments with each shared pool counted once per region: the first deployment on
    a pool carries its replicas, the others hold none of their own."""
    seen: set[tuple[str, str]] = set()
    out: list[Deployment] = []
    for deployment in sorted(deployments, key=lambda d: d.key):
        if deployment.pool:
            slot = (deployment.region, deployment.pool)
            if slot in seen:
                deployment = replace(deployment, min_replicas=0, max_replicas=0)
            seen.add(slot)
        out.append(deployment)
    return out
