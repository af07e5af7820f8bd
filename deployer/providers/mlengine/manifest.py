"""Manifests on the `mlengine` backend: the rules AI Platform Prediction (`ml` v1) adds.

Facts come from `deployer.providers.mlengine.catalog` (MLENGINE-API.md): endpoints, machine
types per endpoint, runtime and Python versions, accelerators, custom prediction routines.
Every rule reports one positioned line that says how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence

from deployer.core.backend import ArtifactLimits
from deployer.core.diagnostics import Checker, PathKey
from deployer.core.manifest import AutoScaling, Settings, VersionSpec
from deployer.core.stack import DeclaredModel
from deployer.providers.mlengine import catalog

VERTEX_ONLY = "is only available with backend: vertex (set in deployer.yaml)"


def unknown_region(region: str) -> str:
    hint = difflib.get_close_matches(region, catalog.ENDPOINTS, n=1, cutoff=0.7)
    if hint:
        return f"unknown region '{region}'; did you mean '{hint[0]}'?"
    return (
        f"unknown region '{region}': use 'global' or a regional endpoint "
        f"({', '.join(catalog.REGIONAL_ENDPOINTS)})"
    )


def machine_types(model: DeclaredModel, version: VersionSpec) -> dict[str, str]:
    """The machine type each of the model's endpoints would run, defaults included."""
    return {
        region: version.machine_type
        or catalog.DEFAULT_MACHINE_TYPE["global" if region == catalog.GLOBAL else "regional"]
        for region in model.regions
    }


class Rules:
    """The mlengine backend's manifest rules (`deployer.core.backend.ManifestRules`)."""

    def region_problem(self, region: str) -> str | None:
        return None if region in catalog.ENDPOINTS else unknown_region(region)

    def check_model(self, c: Checker, base: PathKey, model: DeclaredModel) -> None:
        spec = model.spec
        if spec.console_logging and any(catalog.is_regional(r) for r in model.regions):
            c.at(
                (*base, "console_logging"),
                "console_logging is only available on the global endpoint, not on "
                + ", ".join(r for r in model.regions if catalog.is_regional(r)),
            )
        for key in ("traffic", "endpoint"):
            if getattr(spec, key) is not None:
                c.at_key((*base, key), f"'{key}' {VERTEX_ONLY}")
        for i, version in enumerate(spec.versions):
            vpath = (*base, "versions", model.version_index(i))
            if not version.deployed:
                c.at((*vpath, "deployed"), f"'deployed: false' {VERTEX_ONLY}")
            for key in ("framework_version", "container", "rollout", "resource_pool"):
                if getattr(version, key) is not None:
                    c.at_key((*vpath, key), f"'{key}' {VERTEX_ONLY}")
            if c.declared((*vpath, "spot")):
                c.at_key((*vpath, "spot"), f"'spot' {VERTEX_ONLY}")
            scaling = version.scaling
            if isinstance(scaling, AutoScaling):
                if scaling.scale_to_zero is not None:
                    where = (*vpath, "scaling", "scale_to_zero")
                    c.at_key(where, f"'scale_to_zero' {VERTEX_ONLY}")
                for j, metric in enumerate(scaling.metrics):
                    if metric.name == "REQUEST_COUNT":
                        where = (*vpath, "scaling", "metrics", j, "name")
                        c.at(where, f"metric 'REQUEST_COUNT' {VERTEX_ONLY}")

    def check_version(
        self, c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec
    ) -> None:
        for key in ("runtime_version", "artifact"):
            if getattr(version, key) is None and not c.declared((*path, key)):
                c.at(path, f"missing required key '{key}'")
        _check_runtime(c, path, version)
        _check_machine(c, path, model, version)
        _check_custom_routine(c, path, model, version)
        scaling = version.scaling
        if isinstance(scaling, AutoScaling) and scaling.min_nodes == 0:
            n1 = sorted({m for m in machine_types(model, version).values() if catalog.is_n1(m)})
            if n1:
                c.at(
                    (*path, "scaling", "min_nodes"),
                    f"{', '.join(n1)} cannot scale to zero: set min_nodes to 1 or more",
                )

    def check_settings(self, c: Checker, settings: Settings) -> None:
        if settings.preview:
            c.at_key(("preview",), f"'preview' (Vertex AI preview features) {VERTEX_ONLY}")
        if settings.resource_pools:
            c.at_key(("resource_pools",), f"'resource_pools' {VERTEX_ONLY}")

    def check_stack(
        self,
        models: Sequence[DeclaredModel],
        checker: Callable[[DeclaredModel], Checker],
        settings: Settings | None,
    ) -> None:
        return None


RULES = Rules()


def _check_runtime(c: Checker, path: PathKey, version: VersionSpec) -> None:
    if version.runtime_version is None:
        return
    if version.runtime_version not in catalog.RUNTIME_VERSIONS:
        c.at(
            (*path, "runtime_version"),
            f"unknown runtime_version '{version.runtime_version}' (known: "
            f"{', '.join(catalog.RUNTIME_VERSIONS)})",
        )
    elif version.python_version is not None and version.python_version not in (
        catalog.python_versions_for(version.runtime_version)
    ):
        c.at(
            (*path, "python_version"),
            f"python_version '{version.python_version}' is not available with runtime "
            f"{version.runtime_version} (use "
            f"{', '.join(catalog.python_versions_for(version.runtime_version))})",
        )


def _check_custom_routine(
    c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec
) -> None:
    """A custom prediction routine (`prediction_class`) runs only on mls1-* machines, and
    `service_account` only with such a routine or a custom container (as the service says)."""
    if version.prediction_class:
        bad = sorted({m for m in machine_types(model, version).values() if catalog.is_n1(m)})
        if bad:
            c.at(
                (*path, "prediction_class"),
                f"'prediction_class' (a custom prediction routine) needs an mls1-* machine "
                f"type on the global endpoint, not {', '.join(bad)}",
            )
    if version.service_account and not (version.prediction_class or version.container):
        c.at(
            (*path, "service_account"),
            "'service_account' needs a custom prediction routine ('prediction_class') or a "
            "'container'",
        )


def _check_machine(c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec) -> None:
    where = (*path, "machine_type") if version.machine_type else (*path, "name")
    for region, machine in machine_types(model, version).items():
        if region not in catalog.ENDPOINTS:
            continue
        allowed = catalog.machine_types_for(region)
        if machine in allowed:
            continue
        if machine in catalog.GLOBAL_MACHINE_TYPES:
            why = (
                f"'{machine}' runs only on the global endpoint; region {region} needs an n1-* type"
            )
        elif machine in catalog.REGIONAL_MACHINE_TYPES:
            why = (
                f"'{machine}' runs only on regional endpoints; "
                "on global use mls1-c1-m2 or mls1-c4-m2"
            )
        else:
            why = f"unknown machine_type '{machine}' (for {region}: {', '.join(allowed)})"
        c.at(where, why)
    accelerator = version.accelerator
    if accelerator is not None and accelerator.type not in catalog.ACCELERATOR_TYPES:
        c.at(
            (*path, "accelerator", "type"),
            f"'type' must be one of {_one_of(catalog.ACCELERATOR_TYPES)}; "
            f"got string '{accelerator.type}'",
        )
    elif version.accelerator is not None:
        bad = sorted({m for m in machine_types(model, version).values() if not catalog.is_n1(m)})
        if bad:
            c.at(
                (*path, "accelerator"),
                f"accelerators need an n1-* machine type, not {', '.join(bad)}",
            )


def _one_of(values: Iterable[str]) -> str:
    """`'a', 'b' or 'c'`, as pydantic words a Literal's choices."""
    quoted = [f"'{v}'" for v in values]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]]) if len(quoted) > 1 else quoted[0]


def artifact_limits(model: DeclaredModel, version: VersionSpec) -> ArtifactLimits:
    """The tightest limits over the machine types the version runs on (one per region)."""
    machines = sorted(
        {
            version.machine_type
            or catalog.DEFAULT_MACHINE_TYPE["global" if r == catalog.GLOBAL else "regional"]
            for r in model.regions
        }
    ) or ["n1-standard-2"]
    machine = min(machines, key=catalog.max_artifact_bytes)
    fix = (
        "use an n1-* machine type on a regional endpoint (up to 10 GB) or shrink the model"
        if not catalog.is_n1(machine)
        else "shrink the model"
    )
    return ArtifactLimits(
        catalog.max_artifact_bytes(machine),
        f"machine type {machine}",
        catalog.MAX_ARTIFACT_FILES,
        fix,
    )
