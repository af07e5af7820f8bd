"""The machine catalog covers every machine type either backend offers, and agrees with the
validators' tables on the GPUs that come with a machine."""

from __future__ import annotations

import pytest

from deployer import machines
from deployer.providers.mlengine import catalog
from deployer.providers.vertex import catalog as catalog_vertex

OFFERED = {
    *catalog.REGIONAL_MACHINE_TYPES,
    *catalog.GLOBAL_MACHINE_TYPES,
    *catalog_vertex.MACHINE_TYPES,
}


@pytest.mark.parametrize("machine_type", sorted(OFFERED))
def test_every_offered_machine_type_has_a_shape(machine_type: str) -> None:
    found = machines.shape(machine_type)
    assert found is not None, machine_type
    assert found.vcpus > 0 and found.memory_gib > 0


@pytest.mark.parametrize("machine_type", sorted(catalog_vertex.FIXED_GPU_MACHINES))
def test_fixed_gpus_agree_with_the_validator(machine_type: str) -> None:
    gpu, count = catalog_vertex.FIXED_GPU_MACHINES[machine_type]
    assert machines.gpus(machine_type, None, 0) == {gpu: count}


@pytest.mark.parametrize(
    ("machine_type", "vcpus", "memory"),
    [
        ("n1-standard-2", 2, 7.5),
        ("n1-highmem-16", 16, 104),
        ("n1-highcpu-32", 32, 28.8),
        ("e2-highcpu-16", 16, 16),
        ("n2-highmem-128", 128, 864),
        ("c3-highcpu-22", 22, 44),
        ("a2-highgpu-1g", 12, 85),
        ("a3-highgpu-8g", 208, 1872),
        ("g2-standard-24", 24, 96),
        ("mls1-c4-m2", 4, 2),
    ],
)
def test_published_rows(machine_type: str, vcpus: float, memory: float) -> None:
    found = machines.shape(machine_type)
    assert found is not None
    assert (found.vcpus, found.memory_gib) == (vcpus, memory)


def test_attached_accelerators_count_on_n1_and_a_machine_keeps_its_own() -> None:
    assert machines.gpus("n1-standard-4", "NVIDIA_TESLA_T4", 2) == {"NVIDIA_TESLA_T4": 2}
    assert machines.gpus("n1-standard-4", None, 0) == {}
    assert machines.gpus("g2-standard-8", "NVIDIA_L4", 1) == {"NVIDIA_L4": 1}


def test_series_names_follow_billing() -> None:
    assert machines.series("n2d-highmem-8") == "N2D"
    assert machines.series("a2-ultragpu-1g") == "A2"
    assert machines.series("mls1-c1-m2") == "MLS1"
    assert machines.series("z9-unknown-4") == "Z9"
    assert machines.series("weird") is None


def test_n1_gpu_caps_cover_every_offered_count() -> None:
    for gpu, counts in machines.N1_GPU_COUNTS.items():
        for count in counts:
            assert (gpu, count) in machines.N1_GPU_MAX_VCPUS
