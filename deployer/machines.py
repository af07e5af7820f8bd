"""What one replica (node) of each machine type holds: vCPUs, memory and GPUs, for both backends.

Footprints, quota checks and prices multiply these by replica counts, so the numbers must be the
service's own. Which machine types a backend *offers* stays in its `providers/<name>/catalog.py`
(the validators' allow-lists); this module only says what a machine type is made of, and knows
more types than either backend offers.

Sources, per table (memory in GiB: Compute Engine writes "GB" for binary gigabytes, e.g. the
`machineTypes` API gives n1-standard-2 `memoryMb: 7680` = 7.5 x 1024 [INF: read from that unit,
not stated on the machine-type pages]):

- E2, N1 (serving sizes): cloud.google.com/vertex-ai/docs/predictions/configure-compute
  ("Machine types" tables, read).
- N1 (all), N2, N2D, C2, C2D, C3: cloud.google.com/compute/docs/general-purpose-machines and
  /compute-optimized-machines; rows cross-checked against Cyclenerd/google-cloud-pricing-cost-
  calculator `build/gcp.yml` (cpu/ram per machine type).
- A2, G2: cloud.google.com/compute/docs/accelerator-optimized-machines and /compute/docs/gpus
  (g2-standard-4: 1 L4, 4 vCPUs, 16 GB; g2-standard-8: 32 GB, read); rows cross-checked as above.
- A3: accelerator-optimized-machines ("208 vCPUs, and 1,872 GB of memory", a3-highgpu-8g);
  a3-highgpu-1g 26 vCPUs / 234 GB / 1 H100 from compute/docs/gpus as quoted in a public Vertex AI
  billing write-up (zenn.dev, 2025-08); the 2g and 4g sizes [INF: linear in the 1g].
- mls1 (`ml` v1 global endpoint): cloud.google.com/ai-platform/prediction/docs/
  machine-types-online-prediction (mls1-c1-m2: 1 vCPU, 2 GB; mls1-c4-m2: 4 vCPUs, 2 GB).
- N1 GPU counts and vCPU caps: compute/docs/gpus, N1 table [INF: the table was not readable in
  the stored copy; values as that page gave them when last read].
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class MachineShape:
    """One replica of a machine type. `gpu_count` GPUs of `gpu_type` come with the machine
    (a2, a3, g2); an n1 machine has none of its own (it takes `acceleratorConfig` GPUs)."""

    name: str
    series: str
    """The series as billing SKUs name it: "N1", "E2", "A2", ... ("MLS1" for ml v1's own)."""
    vcpus: float
    memory_gib: float
    gpu_type: str | None = None
    gpu_count: int = 0


def _family(
    family: str, sizes: tuple[int, ...], gib_per_vcpu: float, exceptions: dict[int, float] | None
) -> dict[str, MachineShape]:
    series = family.split("-")[0].upper()
    shapes = {}
    for n in sizes:
        memory = (exceptions or {}).get(n, round(n * gib_per_vcpu, 2))
        name = f"{family}-{n}"
        shapes[name] = MachineShape(name, series, n, memory)
    return shapes


_GENERAL: tuple[tuple[str, tuple[int, ...], float, dict[int, float] | None], ...] = (
    ("e2-standard", (2, 4, 8, 16, 32), 4.0, None),
    ("e2-highmem", (2, 4, 8, 16), 8.0, None),
    ("e2-highcpu", (2, 4, 8, 16, 32), 1.0, None),
    ("n1-standard", (1, 2, 4, 8, 16, 32, 64, 96), 3.75, None),
    ("n1-highmem", (2, 4, 8, 16, 32, 64, 96), 6.5, None),
    ("n1-highcpu", (2, 4, 8, 16, 32, 64, 96), 0.9, None),
    ("n2-standard", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128), 4.0, None),
    ("n2-highmem", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128), 8.0, {128: 864.0}),
    ("n2-highcpu", (2, 4, 8, 16, 32, 48, 64, 80, 96), 1.0, None),
    ("n2d-standard", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224), 4.0, None),
    ("n2d-highmem", (2, 4, 8, 16, 32, 48, 64, 80, 96), 8.0, None),
    ("n2d-highcpu", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224), 1.0, None),
    ("c2-standard", (4, 8, 16, 30, 60), 4.0, None),
    ("c2d-standard", (2, 4, 8, 16, 32, 56, 112), 4.0, None),
    ("c2d-highmem", (2, 4, 8, 16, 32, 56, 112), 8.0, None),
    ("c2d-highcpu", (2, 4, 8, 16, 32, 56, 112), 2.0, None),
    ("c3-standard", (4, 8, 22, 44, 88, 176), 4.0, None),
    ("c3-highmem", (4, 8, 22, 44, 88, 176), 8.0, None),
    ("c3-highcpu", (4, 8, 22, 44, 88, 176), 2.0, None),
)

_ACCELERATOR_OPTIMIZED: tuple[tuple[str, float, float, str, int], ...] = (
    ("a2-highgpu-1g", 12, 85, "NVIDIA_TESLA_A100", 1),
    ("a2-highgpu-2g", 24, 170, "NVIDIA_TESLA_A100", 2),
    ("a2-highgpu-4g", 48, 340, "NVIDIA_TESLA_A100", 4),
    ("a2-highgpu-8g", 96, 680, "NVIDIA_TESLA_A100", 8),
    ("a2-megagpu-16g", 96, 1360, "NVIDIA_TESLA_A100", 16),
    ("a2-ultragpu-1g", 12, 170, "NVIDIA_A100_80GB", 1),
    ("a2-ultragpu-2g", 24, 340, "NVIDIA_A100_80GB", 2),
    ("a2-ultragpu-4g", 48, 680, "NVIDIA_A100_80GB", 4),
    ("a2-ultragpu-8g", 96, 1360, "NVIDIA_A100_80GB", 8),
    ("a3-highgpu-1g", 26, 234, "NVIDIA_H100_80GB", 1),
    ("a3-highgpu-2g", 52, 468, "NVIDIA_H100_80GB", 2),
    ("a3-highgpu-4g", 104, 936, "NVIDIA_H100_80GB", 4),
    ("a3-highgpu-8g", 208, 1872, "NVIDIA_H100_80GB", 8),
    ("a3-megagpu-8g", 208, 1872, "NVIDIA_H100_MEGA_80GB", 8),  # [INF] the shape of a3-highgpu-8g
    ("g2-standard-4", 4, 16, "NVIDIA_L4", 1),
    ("g2-standard-8", 8, 32, "NVIDIA_L4", 1),
    ("g2-standard-12", 12, 48, "NVIDIA_L4", 1),
    ("g2-standard-16", 16, 64, "NVIDIA_L4", 1),
    ("g2-standard-24", 24, 96, "NVIDIA_L4", 2),
    ("g2-standard-32", 32, 128, "NVIDIA_L4", 1),
    ("g2-standard-48", 48, 192, "NVIDIA_L4", 4),
    ("g2-standard-96", 96, 384, "NVIDIA_L4", 8),
)

_MLS1: tuple[tuple[str, float, float], ...] = (
    ("mls1-c1-m2", 1, 2),
    ("mls1-c4-m2", 4, 2),
)


def _build() -> dict[str, MachineShape]:
    shapes: dict[str, MachineShape] = {}
    for family, sizes, ratio, exceptions in _GENERAL:
        shapes.update(_family(family, sizes, ratio, exceptions))
    for name, vcpus, memory, gpu, count in _ACCELERATOR_OPTIMIZED:
        shapes[name] = MachineShape(name, name[:2].upper(), vcpus, memory, gpu, count)
    for name, vcpus, memory in _MLS1:
        shapes[name] = MachineShape(name, "MLS1", vcpus, memory)
    return shapes


MACHINES: dict[str, MachineShape] = _build()

N1_GPU_COUNTS: dict[str, tuple[int, ...]] = {
    "NVIDIA_TESLA_T4": (1, 2, 4),
    "NVIDIA_TESLA_P4": (1, 2, 4),
    "NVIDIA_TESLA_V100": (1, 2, 4, 8),
    "NVIDIA_TESLA_P100": (1, 2, 4),
    "NVIDIA_TESLA_K80": (1, 2, 4, 8),
}
"""GPUs that attach to n1 machines, and the counts Compute Engine offers [INF, see above]."""

N1_GPU_MAX_VCPUS: dict[tuple[str, int], int] = {
    ("NVIDIA_TESLA_T4", 1): 48,
    ("NVIDIA_TESLA_T4", 2): 48,
    ("NVIDIA_TESLA_T4", 4): 96,
    ("NVIDIA_TESLA_P4", 1): 24,
    ("NVIDIA_TESLA_P4", 2): 48,
    ("NVIDIA_TESLA_P4", 4): 96,
    ("NVIDIA_TESLA_V100", 1): 12,
    ("NVIDIA_TESLA_V100", 2): 24,
    ("NVIDIA_TESLA_V100", 4): 48,
    ("NVIDIA_TESLA_V100", 8): 96,
    ("NVIDIA_TESLA_P100", 1): 16,
    ("NVIDIA_TESLA_P100", 2): 32,
    ("NVIDIA_TESLA_P100", 4): 64,
    ("NVIDIA_TESLA_K80", 1): 8,
    ("NVIDIA_TESLA_K80", 2): 16,
    ("NVIDIA_TESLA_K80", 4): 32,
    ("NVIDIA_TESLA_K80", 8): 64,
}
"""The most vCPUs an n1 machine may have with that many GPUs of that type [INF, see above]."""

_SERIES_RE = re.compile(r"^([a-z][a-z0-9]*?\d[a-z]?)-")


def shape(machine_type: str) -> MachineShape | None:
    """The shape of `machine_type`, or None for a type this catalog does not know."""
    return MACHINES.get(machine_type)


def series(machine_type: str) -> str | None:
    """The billing series of a machine type ("n2d-highmem-8" -> "N2D"), known or not."""
    found = MACHINES.get(machine_type)
    if found is not None:
        return found.series
    match = _SERIES_RE.match(machine_type)
    return match.group(1).upper() if match else None


def gpus(machine_type: str, accelerator_type: str | None, accelerator_count: int) -> dict[str, int]:
    """GPUs one replica holds: the machine's own (a2, a3, g2) or the attached accelerators."""
    found = MACHINES.get(machine_type)
    if found is not None and found.gpu_type is not None:
        return {found.gpu_type: found.gpu_count}
    if accelerator_type and accelerator_count > 0:
        return {accelerator_type: accelerator_count}
    return {}
