"""Manifests on the `vertex` backend: the rules Vertex AI adds, and the resolved values its
provider needs (image, machine, replica counts, alias, traffic split).

Facts come from `deployer.providers.vertex.catalog`; DESIGN.md section 10 and VERTEX-API.md
section 8 describe the mapping. Every rule reports one positioned line that says how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

from deployer.core import manifest
from deployer.core.diagnostics import Checker, PathKey
from deployer.core.manifest import AutoScaling, ManualScaling, ModelSpec, VersionSpec
from deployer.core.stack import DeclaredModel
from deployer.providers.vertex import catalog as catalog_vertex

PREBUILT_FRAMEWORKS = ("scikit-learn", "xgboost")
"""Frameworks whose prebuilt image is chosen by `framework_version` (TensorFlow: runtime)."""
ALIAS_MAX = 63
"""The alias is also stored as a label value (`deployer-version`), which takes at most 63."""


# Resolved values, for the provider and the twin -------------------------------------------------


def machine_type(version: VersionSpec) -> str:
    return version.machine_type or catalog_vertex.DEFAULT_MACHINE_TYPE


def has_gpu(version: VersionSpec) -> bool:
    accelerator = version.accelerator.type if version.accelerator else None
    return catalog_vertex.has_gpu(machine_type(version), accelerator)


def image_version(version: VersionSpec) -> str | None:
    """The version that picks the prebuilt image: runtime_version for TensorFlow, else
    framework_version."""
    if version.framework == "tensorflow":
        return version.runtime_version
    return version.framework_version


def vertex_image(version: VersionSpec, region: str) -> str:
    """The serving image of a validated version: its `container` or the prebuilt image."""
    if version.container is not None:
        return version.container.image_uri
    wanted = image_version(version)
    image = (
        catalog_vertex.prebuilt_image(version.framework, wanted, has_gpu(version), region)
        if wanted is not None
        else None
    )
    if image is None:
        raise ValueError(f"version '{version.name}' has no serving image (validate it first)")
    return image


def replica_counts(version: VersionSpec) -> tuple[int, int]:
    """(minReplicaCount, maxReplicaCount): manual nodes fix both; auto defaults min to 1 and
    max to min."""
    scaling = version.scaling
    if isinstance(scaling, ManualScaling):
        return scaling.nodes, scaling.nodes
    auto = scaling if isinstance(scaling, AutoScaling) else None
    low = auto.min_nodes if auto and auto.min_nodes is not None else 1
    high = auto.max_nodes if auto and auto.max_nodes is not None else low
    return low, max(low, high)


def default_version(spec: ModelSpec) -> str | None:
    """The declared default: `default_version`, or the only version."""
    if spec.default_version is not None:
        return spec.default_version
    return spec.versions[0].name if len(spec.versions) == 1 else None


def traffic_split(spec: ModelSpec) -> dict[str, int]:
    """Percent per version name: `traffic` as declared (zero entries dropped), or 100 to the
    default version when it is deployed; empty when nothing serves."""
    if spec.traffic is not None:
        return {name: pct for name, pct in spec.traffic.items() if pct}
    default = default_version(spec)
    deployed = {v.name for v in spec.versions if v.deployed}
    return {default: 100} if default in deployed else {}


# Rules -------------------------------------------------------------------------------------------


def unknown_region(region: str) -> str:
    if region == "global":
        return (
            "region 'global' is the legacy ml v1 endpoint; Vertex AI has no global endpoint: "
            "use a region such as us-central1"
        )
    hint = difflib.get_close_matches(region, catalog_vertex.REGIONS, n=1, cutoff=0.7)
    if hint:
        return f"unknown Vertex AI region '{region}'; did you mean '{hint[0]}'?"
    return f"unknown Vertex AI region '{region}' (known: {', '.join(catalog_vertex.REGIONS)})"


def check_model(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    """Model-level vertex rules (names, traffic, the default, the endpoint's logging)."""
    spec = model.spec
    if _valid_name(spec.name) and not (
        catalog_vertex.MODEL_ID_RE.match(spec.name) and spec.name[:1].isalpha()
    ):
        c.at(
            (*base, "name"),
            f"invalid model name '{spec.name}' on vertex: a Vertex AI model ID is lowercase "
            f"letters, digits and '_', starting with a letter, at most 63 characters "
            f"(e.g. '{spec.name.lower()[:63]}')",
        )
    _check_aliases(c, base, model)
    _check_traffic(c, base, model)
    _check_endpoint_logging(c, base, model)
    _check_prediction_regions(c, base, model)
    _check_logging_regions(c, base, model)


def _check_prediction_regions(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    """Endpoints only where Vertex AI offers online prediction (catalog_vertex.PREDICTION_REGIONS;
    regions that are not API hosts at all are reported by the region rule)."""
    declared = model.spec.regions
    for i, region in enumerate(model.regions):
        if region in catalog_vertex.PREDICTION_REGIONS or region not in catalog_vertex.REGIONS:
            continue
        where = (*base, "regions", i) if declared else (*base, "name")
        origin = "" if declared else " (the settings' region)"
        c.at(
            where,
            f"Vertex AI online prediction is not offered in '{region}'{origin}: the model "
            "registry is there but no endpoint can be; pick another region",
        )


def logging_table(model: DeclaredModel) -> tuple[str, int] | None:
    """(PROJECT.DATASET.TABLE, version index) of the model's request logging, if any."""
    for i, version in enumerate(model.spec.versions):
        if version.request_logging is not None:
            return version.request_logging.bigquery_table, i
    return None


def _table_path(base: PathKey, model: DeclaredModel, index: int) -> PathKey:
    return (*base, "versions", model.version_index(index), "request_logging", "bigquery_table")


def _check_logging_regions(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    """BigQueryDestination.outputUri [DD]: "When the full table reference is specified, the
    Dataset must exist and table must not exist." The endpoint of each region would need its
    own new table, so one table cannot serve two regions."""
    found = logging_table(model)
    if found is None or len(set(model.regions)) < 2:
        return
    table, index = found
    c.at(
        _table_path(base, model, index),
        f"request_logging.bigquery_table '{table}' would be shared by the endpoints of "
        f"{len(set(model.regions))} regions ({', '.join(dict.fromkeys(model.regions))}); on "
        "vertex a full table must not exist yet, so each endpoint needs its own: deploy this "
        "model to one region, or split it into one model per region with its own table",
    )


def check_logging_tables(
    models: Sequence[DeclaredModel], checker: Callable[[DeclaredModel], Checker]
) -> None:
    """Two models naming one full logging table: the second endpoint would find it existing."""
    first: dict[str, tuple[DeclaredModel, int]] = {}
    for model in models:
        found = logging_table(model)
        if found is None:
            continue
        table, index = found
        base: PathKey = ("models", model.index)
        if table in first:
            other, other_index = first[table]
            line = other.source.value(_table_path(("models", other.index), other, other_index))
            checker(model).at(
                _table_path(base, model, index),
                f"request_logging.bigquery_table '{table}' is also the table of model "
                f"'{other.spec.name}' ({other.display_file}:{line.line}); on vertex each "
                "endpoint logs into a table that must not exist yet: give each model its own",
            )
        else:
            first[table] = (model, index)


def _valid_name(name: str) -> bool:
    return bool(manifest.NAME_RE.match(name))


def _check_aliases(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    first: dict[str, tuple[str, int]] = {}
    for i, version in enumerate(model.spec.versions):
        if not _valid_name(version.name):
            continue  # the name rule already reported it
        vindex = model.version_index(i)
        npath = (*base, "versions", vindex, "name")
        name = version.name
        mapped = catalog_vertex.alias(name)
        if mapped == catalog_vertex.DEFAULT_ALIAS:
            c.at(
                npath,
                f"version name '{name}' maps to the alias 'default', which Vertex AI keeps for "
                "the model's default version: rename the version",
            )
        elif len(mapped) > ALIAS_MAX:
            c.at(
                npath,
                f"version name '{name}' is too long for vertex: its alias is stored as a label "
                f"value, at most {ALIAS_MAX} characters",
            )
        elif not catalog_vertex.ALIAS_RE.match(mapped):
            c.at(
                npath,
                f"version name '{name}' maps to the Vertex AI alias '{mapped}', which is "
                "invalid: use at least 2 characters, ending with a letter or digit",
            )
        elif mapped in first and first[mapped][0] != name:
            other, other_index = first[mapped]
            line = c.source.value((*base, "versions", other_index, "name")).line
            c.at(
                npath,
                f"version names '{name}' and '{other}' (line {line}) both map to the Vertex AI "
                f"alias '{mapped}': rename one",
            )
        else:
            first.setdefault(mapped, (name, vindex))


def _check_traffic(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    spec = model.spec
    deployed = {v.name: v.deployed for v in spec.versions}
    if spec.traffic is None:
        default = default_version(spec)
        if default is None or deployed.get(default, True) or c.declared((*base, "traffic")):
            return  # nothing to check, or a 'traffic' the schema refused (already reported)
        if spec.default_version is not None:
            c.at(
                (*base, "default_version"),
                f"default_version '{default}' has deployed: false, so nothing would serve: "
                "deploy it or set 'traffic' over deployed versions",
            )
        else:
            i = next(i for i, v in enumerate(spec.versions) if v.name == default)
            c.at(
                (*base, "versions", model.version_index(i), "deployed"),
                f"version '{default}' is the model's only version and has deployed: false, so "
                "nothing would serve: deploy it or declare a deployed version",
            )
        return
    tpath = (*base, "traffic")
    if not spec.traffic:
        c.at(tpath, "'traffic' must name at least one deployed version (percents summing to 100)")
        return
    for name, pct in spec.traffic.items():
        if name not in deployed:
            c.at_key(
                (*tpath, name),
                f"traffic names '{name}', which is not a declared version "
                f"(declared: {', '.join(deployed) or 'none'})",
            )
        elif not deployed[name] and pct:
            c.at_key(
                (*tpath, name),
                f"traffic sends {pct}% to '{name}', which has deployed: false: deploy it or "
                "remove it from 'traffic'",
            )
        if not 0 <= pct <= 100:
            c.at((*tpath, name), f"traffic percent for '{name}' must be 0-100, got {pct}")
    total = sum(spec.traffic.values())
    if total != 100 and all(0 <= p <= 100 for p in spec.traffic.values()):
        c.at(tpath, f"traffic percents sum to {total}, not 100")


def _check_endpoint_logging(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    versions = model.spec.versions
    if not versions:
        return
    first = versions[0]
    first_line = c.source.value((*base, "versions", model.version_index(0), "name")).line
    for i, version in enumerate(versions[1:], start=1):
        if version.request_logging == first.request_logging:
            continue
        vpath = (*base, "versions", model.version_index(i))
        where = (*vpath, "request_logging") if version.request_logging else (*vpath, "name")
        c.at(
            where,
            f"request_logging differs from version '{first.name}' (line {first_line}): on "
            "vertex it is one setting of the model's endpoint, so declare the same on every "
            "version",
        )


def check_version(c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec) -> None:
    """Version-level vertex rules: machine, accelerator, scaling, serving image, artifact.

    A `container` the schema refused (already reported) still counts as declared, so its typo
    does not also bring "missing runtime_version/artifact" errors."""
    _check_machine(c, path, version)
    _check_duty_cycle(c, path, version)
    if version.service_account and not catalog_vertex.SERVICE_ACCOUNT_RE.match(
        version.service_account
    ):
        c.at(
            (*path, "service_account"),
            f"service_account '{version.service_account}' is not an e-mail address: Vertex AI "
            "takes the service account's e-mail (NAME@PROJECT.iam.gserviceaccount.com)",
        )
    scaling = version.scaling
    if isinstance(scaling, AutoScaling) and scaling.min_nodes == 0:
        c.at(
            (*path, "scaling", "min_nodes"),
            "Vertex AI v1 cannot scale to zero: set min_nodes to 1 or more",
        )
    container_declared = version.container is not None or c.declared((*path, "container"))
    if version.container is not None or not container_declared:
        _check_image(c, path, version)
    if version.artifact is None and not container_declared and not c.declared((*path, "artifact")):
        c.at(
            path,
            "missing required key 'artifact' (on vertex only a version with a 'container' may "
            "omit it)",
        )
    for key in ("prediction_class", "package_uris"):
        if getattr(version, key):
            c.at_key(
                (*path, key),
                f"'{key}' (custom prediction routines) does not exist on vertex: build a "
                "serving image and declare it under 'container'",
            )
    if version.python_version is not None:
        c.warn((*path, "python_version"), "python_version has no meaning on vertex and is ignored")


def _check_machine(c: Checker, path: PathKey, version: VersionSpec) -> None:
    machine = machine_type(version)
    mpath = (*path, "machine_type")
    if machine not in catalog_vertex.MACHINE_TYPES:
        if machine.startswith("mls1-"):
            c.at(
                mpath,
                f"'{machine}' exists only on the legacy global endpoint (mlengine); on vertex "
                f"use e.g. {catalog_vertex.DEFAULT_MACHINE_TYPE}",
            )
            return
        hint = difflib.get_close_matches(machine, catalog_vertex.MACHINE_TYPES, n=1, cutoff=0.8)
        series = sorted({m.split("-")[0] for m in catalog_vertex.MACHINE_TYPES})
        c.at(
            mpath,
            f"unknown Vertex AI machine_type '{machine}'; did you mean '{hint[0]}'?"
            if hint
            else f"unknown Vertex AI machine_type '{machine}' (series: {', '.join(series)})",
        )
        return
    accelerator = version.accelerator
    why = catalog_vertex.accelerator_error(
        machine,
        accelerator.type if accelerator else None,
        accelerator.count if accelerator else 0,
    )
    if why is not None:
        c.at((*path, "accelerator") if accelerator else mpath, why)


def _check_duty_cycle(c: Checker, path: PathKey, version: VersionSpec) -> None:
    scaling = version.scaling
    if not isinstance(scaling, AutoScaling):
        return
    machine = machine_type(version)
    if machine not in catalog_vertex.MACHINE_TYPES:
        return  # reported by the machine rule
    gpus = version.accelerator.count if version.accelerator else 0
    if machine in catalog_vertex.FIXED_GPU_MACHINES:
        gpus = catalog_vertex.FIXED_GPU_MACHINES[machine][1]
    for i, metric in enumerate(scaling.metrics):
        names = [catalog_vertex.METRICS.get(metric.name, metric.name)]
        why = catalog_vertex.duty_cycle_error(names, gpus)
        if why:
            c.at((*path, "scaling", "metrics", i, "name"), f"{metric.name}: {why}")


def _check_image(c: Checker, path: PathKey, version: VersionSpec) -> None:
    if version.container is not None:
        image = version.container.image_uri
        if not image.strip():
            c.at((*path, "container", "image_uri"), "'image_uri' must name a container image")
        else:
            problem = catalog_vertex.image_error(image)
            if problem:
                c.at((*path, "container", "image_uri"), f"{problem}: push it there")
        for name in version.container.env:
            if not catalog_vertex.ENV_NAME_RE.match(name):
                c.at_key(
                    (*path, "container", "env", name),
                    f"environment variable name '{name}' is not a C identifier (letters, "
                    "digits and '_', not starting with a digit), which Vertex AI requires",
                )
        for i, port in enumerate(version.container.ports):
            if not 1 <= port <= 65535:
                c.at((*path, "container", "ports", i), f"port must be 1-65535, got {port}")
        return
    framework = version.framework
    if framework == "tensorflow":
        key, wanted = "runtime_version", version.runtime_version
        if wanted is None:
            if not c.declared((*path, key)):
                c.at(
                    path,
                    "missing required key 'runtime_version' (the TensorFlow version of the "
                    "prebuilt serving image), or give a 'container'",
                )
            return
    else:
        key, wanted = "framework_version", version.framework_version
        if wanted is None:
            if not c.declared((*path, key)):
                known = ", ".join(catalog_vertex.PREBUILT_VERSIONS[framework])
                c.at(
                    path,
                    f"{framework} on vertex needs 'framework_version' (the {framework} version "
                    f"of the prebuilt serving image: {known}), or give a 'container'",
                )
            return
    gpu = has_gpu(version)
    if gpu and framework not in catalog_vertex.GPU_FRAMEWORKS:
        where = (*path, "accelerator") if version.accelerator else (*path, "machine_type")
        c.at(
            where,
            f"{framework} has no GPU serving image on Vertex AI: use a CPU machine without "
            "accelerator, or a 'container'",
        )
        return
    if catalog_vertex.prebuilt_image(framework, wanted, gpu, "us-central1") is None:
        c.at(
            (*path, key),
            f"no prebuilt Vertex AI image for {framework} {wanted} (available: "
            f"{', '.join(catalog_vertex.PREBUILT_VERSIONS[framework])}): pick one of those or "
            "give a 'container'",
        )


class Rules:
    """The vertex backend's manifest rules (`deployer.core.backend.ManifestRules`)."""

    def region_problem(self, region: str) -> str | None:
        return None if region in catalog_vertex.REGIONS else unknown_region(region)

    def check_model(self, c: Checker, base: PathKey, model: DeclaredModel) -> None:
        check_model(c, base, model)

    def check_version(
        self, c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec
    ) -> None:
        check_version(c, path, model, version)

    def check_stack(
        self, models: Sequence[DeclaredModel], checker: Callable[[DeclaredModel], Checker]
    ) -> None:
        check_logging_tables(models, checker)


RULES = Rules()
