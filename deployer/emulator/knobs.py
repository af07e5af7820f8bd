"""Test knobs: latency, operation duration, injected faults and quotas, with a seed."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from deployer.providers.mlengine import catalog
from deployer.providers.vertex import catalog as catalog_vertex


@dataclass
class Knobs:
    """What makes the twin slow, flaky or strict. All of it can change at run time."""

    op_seconds: float = 2.0
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    op_failure_rate: float = 0.0
    seed: int | None = None
    max_version_ops: int = catalog.MAX_CONCURRENT_VERSION_OPS
    max_models: int = catalog.MAX_MODELS_PER_PROJECT
    max_versions: int = catalog.MAX_VERSIONS_PER_PROJECT
    vertex_lro_per_minute: int = catalog_vertex.MAX_LRO_PER_MINUTE
    vertex_undeploy_settle_s: float = 0.0
    """After an undeploy the version still lists the deployment, and deleteVersion and
    models.delete are refused, for this long (python-aiplatform#2807: still refused 60 s on)."""
    vertex_service_names: bool = False
    """Names as the service returns them: the project number instead of its id, 19-digit
    deployed-model IDs."""
    vertex_label_precedence: str = "version"
    """Which level wins when a read merges model and version labels with the same key; the
    service does not document it (UpdateModelRequest.model: "merged")."""
    vertex_deploy_failure_rate: float = 0.0
    """Share of deploys that fail inside their operation: image pull or model server crash."""
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)
    """Serving quota limits: metric -> {region or "*": limit}, over the twin's defaults; Service
    Usage reports them and a deploy past one fails inside its operation with RESOURCE_EXHAUSTED
    (deployer/emulator/project/quotas.py)."""
    denied_permissions: list[str] = field(default_factory=list)
    disabled_services: list[str] = field(default_factory=list)
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per bucket: location, owning project, readers (what the GCS emulator does not keep)."""

    def validate(self) -> None:
        if self.op_seconds < 0:
            raise ValueError("op_seconds must be >= 0")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if self.vertex_label_precedence not in LABEL_PRECEDENCE:
            raise ValueError("vertex_label_precedence must be 'version' or 'model'")
        for name in ("fault_rate", "op_failure_rate", "vertex_deploy_failure_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        names = (
            "max_version_ops",
            "max_models",
            "max_versions",
            "vertex_lro_per_minute",
        )
        if self.vertex_undeploy_settle_s < 0:
            raise ValueError("vertex_undeploy_settle_s must be >= 0")
        for name in names:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        from deployer.emulator.project_knobs import validate as validate_project

        validate_project(self.quotas, self.denied_permissions, self.disabled_services, self.buckets)


_TYPES: dict[str, tuple[type, ...]] = {
    "op_seconds": (int, float),
    "latency_ms": (int, float),
    "fault_rate": (int, float),
    "op_failure_rate": (int, float),
    "seed": (int, type(None)),
    "max_version_ops": (int,),
    "max_models": (int,),
    "max_versions": (int,),
    "vertex_lro_per_minute": (int,),
    "vertex_undeploy_settle_s": (int, float),
    "vertex_service_names": (bool,),
    "vertex_label_precedence": (str,),
    "vertex_deploy_failure_rate": (int, float),
    "quotas": (dict,),
    "denied_permissions": (list,),
    "disabled_services": (list,),
    "buckets": (dict,),
}
LABEL_PRECEDENCE = ("version", "model")

VERTEX_REALISM: dict[str, Any] = {
    "vertex_undeploy_settle_s": 2.0,
    "vertex_service_names": True,
    "vertex_label_precedence": "model",
    "quotas": {"custom_model_serving_cpus": {"*": 64}},
}
"""The realism profile (`deployer emulator --vertex-realism`, the tests' realistic twin): the
service's delays, names, quotas and undocumented choices that deployer must survive. The settle
time is shortened from the 60 s of python-aiplatform#2807 so tests stay fast; deploy failures
stay off (a test turns `vertex_deploy_failure_rate` on where it wants them)."""


class KnobBox:
    """Thread-safe holder of the knobs and the seeded random source that the faults draw from."""

    def __init__(self, knobs: Knobs) -> None:
        knobs.validate()
        self._knobs = knobs
        self._lock = threading.Lock()
        self._rng = random.Random(knobs.seed)

    def get(self) -> Knobs:
        with self._lock:
            return Knobs(**asdict(self._knobs))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.get())

    def update(self, changes: dict[str, Any]) -> Knobs:
        """Apply a partial update (from the control route); ValueError on a bad key or value."""
        names = {f.name for f in fields(Knobs)}
        for key, value in changes.items():
            if key not in names:
                raise ValueError(f"unknown knob {key!r}; known: {', '.join(sorted(names))}")
            wrong_bool = isinstance(value, bool) and bool not in _TYPES[key]
            if wrong_bool or not isinstance(value, _TYPES[key]):
                raise ValueError(f"knob {key!r} has the wrong type")
        with self._lock:
            candidate = Knobs(**{**asdict(self._knobs), **changes})
            candidate.validate()
            self._knobs = candidate
            if "seed" in changes:
                self._rng = random.Random(candidate.seed)
            return Knobs(**asdict(candidate))

    def chance(self, rate: float) -> bool:
        """True with probability `rate`, drawn from the seeded source."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def pick(self, options: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._rng.choice(options)

    def weighted(self, options: list[Any], weights: list[int]) -> Any:
        """One of `options` with probability proportional to its weight (seeded)."""
        with self._lock:
            return self._rng.choices(options, weights=weights)[0]
