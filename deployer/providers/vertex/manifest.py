"""Manifests on the `vertex` backend: the rules Vertex AI adds, and the resolved values its
provider needs (image, machine, replica counts, alias, traffic split).

Facts come from `deployer.providers.vertex.catalog`; DESIGN.md section 10 and VERTEX-API.md
section 8 describe the mapping. Every rule reports one positioned line that says how to fix it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence

from deployer.core import manifest, ownership
from deployer.core.backend import ArtifactLimits
from deployer.core.diagnostics import Checker, PathKey
from deployer.core.manifest import (
    AutoScaling,
    ManualScaling,
    ModelSpec,
    RequestLogging,
    ResourcePool,
    ScalingMetric,
    Settings,
    VersionSpec,
)
from deployer.core.stack import DeclaredModel
from deployer.providers.vertex import catalog as catalog_vertex
from deployer.providers.vertex import observe

PREBUILT_FRAMEWORKS = ("scikit-learn", "xgboost")
"""Frameworks whose prebuilt image is chosen by `framework_version` (TensorFlow: runtime)."""
ALIAS_MAX = 63
"""The alias is also stored as a label value (`deployer-version`), which takes at most 63."""


# Resolved values, for the provider and the twin -------------------------------------------------


BIGQUERY_TABLE_RE = re.compile(r"^[A-Za-z0-9_.:-]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_$-]+$")
DURATION_RE = re.compile(r"^([0-9]{1,9})s?$")
PERCENT_RE = re.compile(r"^([0-9]{1,3})%$")
PREVIEW = "is a Vertex AI preview feature (v1beta1): set preview: true in deployer.yaml to use it"


def machine_type(version: VersionSpec) -> str:
    return version.machine_type or catalog_vertex.DEFAULT_MACHINE_TYPE


def has_gpu(version: VersionSpec, pool: ResourcePool | None = None) -> bool:
    """Whether the version's nodes have GPUs: its own machine's, or its pool's."""
    if pool is not None:
        accelerator = pool.accelerator.type if pool.accelerator else None
        return catalog_vertex.has_gpu(pool_machine(pool), accelerator)
    accelerator = version.accelerator.type if version.accelerator else None
    return catalog_vertex.has_gpu(machine_type(version), accelerator)


def pool_machine(pool: ResourcePool) -> str:
    return pool.machine_type or catalog_vertex.DEFAULT_MACHINE_TYPE


def pool_region(pool: ResourcePool, settings: Settings) -> str:
    return pool.region or settings.region


def pools(settings: Settings) -> dict[tuple[str, str], ResourcePool]:
    """(region, name) -> the pool declared there."""
    return {(pool_region(p, settings), p.name): p for p in settings.resource_pools}


def seconds(value: int | str | None) -> int | None:
    """A duration written `600` or `600s` in seconds (None: absent or malformed)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    match = DURATION_RE.match(value.strip())
    return int(match.group(1)) if match else None


def scales_to_zero(version: VersionSpec) -> bool:
    scaling = version.scaling
    return isinstance(scaling, AutoScaling) and scaling.min_nodes == 0


def rolling(version: VersionSpec) -> bool:
    return version.rollout is not None and version.rollout.strategy == "rolling"


def rollout_options(version: VersionSpec) -> dict[str, int]:
    """RolloutOptions [DD v1beta1] of a rolling version: max surge and max unavailable as
    replicas or percentages. Neither given: one extra node (the SDK sends 0 for what is not
    given; with both 0 nothing could move [INF])."""
    rollout = version.rollout
    if rollout is None or rollout.strategy != "rolling":
        return {}
    out: dict[str, int] = {}
    for key, value in (("Surge", rollout.max_surge), ("Unavailable", rollout.max_unavailable)):
        if isinstance(value, str) and PERCENT_RE.match(value.strip()):
            out[f"max{key}Percentage"] = int(value.strip()[:-1])
        elif isinstance(value, int):
            out[f"max{key}Replicas"] = value
    if not any(out.values()):
        out = {**out, "maxSurgeReplicas": 1}
    return out


def request_logging(spec: ModelSpec) -> RequestLogging | None:
    """The endpoint's request logging: `endpoint.request_logging`, or the versions' one."""
    if spec.endpoint is not None and spec.endpoint.request_logging is not None:
        return spec.endpoint.request_logging
    return next((v.request_logging for v in spec.versions if v.request_logging), None)


def image_version(version: VersionSpec) -> str | None:
    """The version that picks the prebuilt image: runtime_version for TensorFlow, else
    framework_version."""
    if version.framework == "tensorflow":
        return version.runtime_version
    return version.framework_version


def vertex_image(version: VersionSpec, region: str, pool: ResourcePool | None = None) -> str:
    """The serving image of a validated version: its `container` or the prebuilt image (for
    the GPUs of its own machine or of its pool)."""
    if version.container is not None:
        return version.container.image_uri
    wanted = image_version(version)
    image = (
        catalog_vertex.prebuilt_image(version.framework, wanted, has_gpu(version, pool), region)
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
    _check_endpoint(c, base, model)
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


def logging_table(model: DeclaredModel) -> tuple[str, PathKey] | None:
    """(PROJECT.DATASET.TABLE, its path under the model) of the model's request logging."""
    endpoint = model.spec.endpoint
    if endpoint is not None and endpoint.request_logging is not None:
        return endpoint.request_logging.bigquery_table, ("endpoint", "request_logging")
    for i, version in enumerate(model.spec.versions):
        if version.request_logging is not None:
            return version.request_logging.bigquery_table, (
                "versions",
                model.version_index(i),
                "request_logging",
            )
    return None


def _table_path(base: PathKey, where: PathKey) -> PathKey:
    return (*base, *where, "bigquery_table")


def _check_logging_regions(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    """BigQueryDestination.outputUri [DD]: "When the full table reference is specified, the
    Dataset must exist and table must not exist." The endpoint of each region would need its
    own new table, so one table cannot serve two regions."""
    found = logging_table(model)
    if found is None or len(set(model.regions)) < 2:
        return
    table, where = found
    c.at(
        _table_path(base, where),
        f"request_logging.bigquery_table '{table}' would be shared by the endpoints of "
        f"{len(set(model.regions))} regions ({', '.join(dict.fromkeys(model.regions))}); on "
        "vertex a full table must not exist yet, so each endpoint needs its own: deploy this "
        "model to one region, or split it into one model per region with its own table",
    )


def check_logging_tables(
    models: Sequence[DeclaredModel], checker: Callable[[DeclaredModel], Checker]
) -> None:
    """Two models naming one full logging table: the second endpoint would find it existing."""
    first: dict[str, tuple[DeclaredModel, PathKey]] = {}
    for model in models:
        found = logging_table(model)
        if found is None:
            continue
        table, where = found
        base: PathKey = ("models", model.index)
        if table in first:
            other, other_where = first[table]
            line = other.source.value(_table_path(("models", other.index), other_where))
            checker(model).at(
                _table_path(base, where),
                f"request_logging.bigquery_table '{table}' is also the table of model "
                f"'{other.spec.name}' ({other.display_file}:{line.line}); on vertex each "
                "endpoint logs into a table that must not exist yet: give each model its own",
            )
        else:
            first[table] = (model, where)


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
    _check_scaling(c, path, version)
    _check_pool_use(c, path, version)
    _check_rollout(c, path, version)
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


def _check_endpoint(c: Checker, base: PathKey, model: DeclaredModel) -> None:
    """The `endpoint:` block: one kind of access (shared or dedicated public, Private Service
    Connect, VPC peering), what each allows, and its own labels and logging."""
    spec = model.spec
    ep = spec.endpoint
    if ep is None:
        return
    epath = (*base, "endpoint")
    psc = ep.private_service_connect is not None
    if ep.dedicated and psc:
        c.at(
            (*epath, "dedicated"),
            "dedicated: true and private_service_connect exclude each other: a Private Service "
            "Connect endpoint is a dedicated private endpoint already (Endpoint.yaml: "
            "dedicatedEndpointEnabled conflicts with privateServiceConnectConfig)",
        )
    if ep.network is not None:
        # SDK PrivateEndpoint (VPC peering): "A maximum of one model can be deployed to each
        # private Endpoint", "Traffic split is not supported for PSA based PrivateEndpoint"
        c.at_key(
            (*epath, "network"),
            "network (VPC peering) is not supported: such an endpoint serves one deployed model "
            "without a traffic split, so no version could roll out without downtime; use "
            "private_service_connect (Private Service Connect) for private access",
        )
    if ep.private_service_connect is not None:
        for i, project in enumerate(ep.private_service_connect.project_allowlist):
            if not catalog_vertex.PROJECT_ID_RE.match(project):
                c.at(
                    (*epath, "private_service_connect", "project_allowlist", i),
                    f"'{project}' is not a project ID (6-30 lowercase letters, digits or '-')",
                )
        _check_private_limits(c, base, model, "a Private Service Connect endpoint")
    if ep.inference_timeout is not None:
        tpath = (*epath, "inference_timeout")
        timeout = seconds(ep.inference_timeout)
        if timeout is None or not 1 <= timeout <= catalog_vertex.INFERENCE_TIMEOUT_MAX:
            c.at(
                tpath,
                f"inference_timeout must be 1s to {catalog_vertex.INFERENCE_TIMEOUT_MAX}s "
                f"(written 600 or 600s), got {ep.inference_timeout!r}",
            )
        elif not (ep.dedicated or psc):
            c.at(
                tpath,
                "inference_timeout needs dedicated: true or private_service_connect: shared "
                "public endpoints answer within 60 s and take no timeout",
            )
    if ep.dedicated or psc:
        for i, version in enumerate(spec.versions):
            if version.smoke_test is not None:
                c.at_key(
                    (*base, "versions", model.version_index(i), "smoke_test"),
                    "a smoke test predicts through the regional host, which a dedicated or "
                    "private endpoint does not answer (Endpoint.dedicatedEndpointEnabled: "
                    '"you won\'t be able to send request to the shared DNS"): drop smoke_test',
                )
    if ep.display_name is not None and not (
        ep.display_name.strip() and len(ep.display_name) <= catalog_vertex.DISPLAY_NAME_MAX
    ):
        c.at(
            (*epath, "display_name"),
            f"display_name must be 1-{catalog_vertex.DISPLAY_NAME_MAX} characters",
        )
    _check_labels(c, (*epath, "labels"), ep.labels)
    if ep.request_logging is not None:
        table = ep.request_logging.bigquery_table
        if not BIGQUERY_TABLE_RE.match(table):
            c.at(
                (*epath, "request_logging", "bigquery_table"),
                f"'bigquery_table' must be PROJECT.DATASET.TABLE, got '{table}'",
            )
        line = c.source.key((*epath, "request_logging")).line
        for i, version in enumerate(spec.versions):
            if version.request_logging is not None:
                c.at_key(
                    (*base, "versions", model.version_index(i), "request_logging"),
                    f"request_logging is declared under endpoint (line {line}), which covers "
                    "every version: remove it here",
                )


def _check_private_limits(c: Checker, base: PathKey, model: DeclaredModel, what: str) -> None:
    """SDK PrivateEndpoint.deploy: "Model co-hosting is not supported for PrivateEndpoint"
    (python-aiplatform models.py)."""
    for i, version in enumerate(model.spec.versions):
        if version.resource_pool is not None:
            c.at(
                (*base, "versions", model.version_index(i), "resource_pool"),
                f"{what} cannot serve from a shared resource pool (no model co-hosting on "
                "private endpoints): drop resource_pool",
            )


def _check_labels(c: Checker, path: PathKey, labels: Mapping[str, str]) -> None:
    for key, value in labels.items():
        if ownership.own_label(key):
            c.at_key(
                (*path, key),
                f"label '{key}' is reserved for deployer's own use (managed-by, deployer-*)",
            )
        elif not manifest.LABEL_KEY_RE.match(key):
            c.at_key(
                (*path, key),
                f"invalid label key '{key}': start with a lowercase letter; lowercase letters, "
                "digits, '-' and '_' only; at most 63 characters",
            )
        if not manifest.LABEL_VALUE_RE.match(value):
            c.at(
                (*path, key),
                f"invalid label value '{value}' for '{key}': lowercase letters, digits, '-' "
                "and '_' only; at most 63 characters",
            )


def _check_metrics(c: Checker, path: PathKey, metrics: Sequence[ScalingMetric]) -> None:
    """A request-count target is a rate (at least 1); a percentage of 0 is refused (the
    general rule already holds percentages to 0-100)."""
    for i, metric in enumerate(metrics):
        name = catalog_vertex.METRICS.get(metric.name, metric.name)
        why = catalog_vertex.metric_target_error(name, metric.target)
        if why and (metric.name == "REQUEST_COUNT" or metric.target == 0):
            c.at((*path, i, "target"), f"{metric.name}: {why}")


def _check_scaling(c: Checker, path: PathKey, version: VersionSpec) -> None:
    scaling = version.scaling
    if not isinstance(scaling, AutoScaling):
        return
    spath = (*path, "scaling")
    _check_metrics(c, (*spath, "metrics"), scaling.metrics)
    if scaling.min_nodes == 0 and scaling.max_nodes is None:
        c.at(
            (*spath, "min_nodes"),
            "min_nodes: 0 needs max_nodes: how many nodes it may scale up to",
        )
    stz = scaling.scale_to_zero
    if stz is None:
        return
    zpath = (*spath, "scale_to_zero")
    if scaling.min_nodes != 0:
        # DedicatedResources.initialReplicaCount [DD v1beta1]: "When min_replica_count > 0
        # (meaning that the scale-to-zero feature is not enabled), initial_replica_count
        # should not be set"
        c.at_key(zpath, "scale_to_zero applies only with min_nodes: 0")
        return
    low, high = catalog_vertex.SCALE_TO_ZERO_PERIOD
    for key in ("idle_scaledown", "min_scaleup"):
        value = getattr(stz, key)
        if value is None:
            continue
        period = seconds(value)
        if period is None or not low <= period <= high:
            c.at(
                (*zpath, key),
                f"{key} must be {low}s to {high}s (written 600 or 600s), got {value!r}",
            )
    if scaling.max_nodes is not None and stz.initial_nodes > scaling.max_nodes:
        # initialReplicaCount [DD v1beta1]: "larger than zero, but no greater than
        # max_replica_count"
        c.at(
            (*zpath, "initial_nodes"),
            f"initial_nodes ({stz.initial_nodes}) must not exceed max_nodes ({scaling.max_nodes})",
        )


def _check_pool_use(c: Checker, path: PathKey, version: VersionSpec) -> None:
    """A version on a shared pool takes the pool's nodes: the SDK refuses a machine spec or
    autoscaling targets with `deployment_resource_pool` ("may not be set when ... is
    specified", preview/models.py); spot nodes are the pool's too [INF]."""
    if version.resource_pool is None:
        return
    if version.container is not None or version.framework != "tensorflow":
        # [DOCS model-co-hosting] Limitations: only TensorFlow (and PyTorch) models on their
        # prebuilt containers; "Prebuilt containers configured for other frameworks are not
        # supported", "Custom containers are not supported"
        what = "a custom container" if version.container is not None else version.framework
        c.at(
            (*path, "resource_pool"),
            f"only TensorFlow versions on the prebuilt image can share a resource pool (model "
            f"co-hosting), not {what}: drop resource_pool",
        )
    for key in ("machine_type", "accelerator", "scaling"):
        if getattr(version, key) is not None:
            c.at_key(
                (*path, key),
                f"'{key}' comes from resource_pool '{version.resource_pool}' for a version "
                "deployed on it: remove it here",
            )
    if version.spot:
        c.at_key((*path, "spot"), "a version on a resource_pool runs on the pool's nodes: no spot")


def _check_rollout(c: Checker, path: PathKey, version: VersionSpec) -> None:
    rollout = version.rollout
    if rollout is None:
        return
    rpath = (*path, "rollout")
    if rollout.strategy != "rolling":
        for key in ("max_surge", "max_unavailable"):
            if getattr(rollout, key) is not None:
                c.at_key((*rpath, key), f"{key} applies to strategy: rolling only")
        return
    values = []
    for key in ("max_surge", "max_unavailable"):
        value = getattr(rollout, key)
        if value is None:
            continue
        percent = PERCENT_RE.match(value.strip()) if isinstance(value, str) else None
        number = int(percent.group(1)) if percent else value
        if not isinstance(number, int) or number < 0 or (percent and number > 100):
            c.at(
                (*rpath, key),
                f"{key} must be a number of nodes (0 or more) or a percentage ('25%'), got "
                f"{value!r}",
            )
            return
        values.append(number)
    if len(values) == 2 and not any(values):
        c.at(
            (*rpath, "max_surge"),
            "max_surge and max_unavailable are both 0: a rolling update could replace no node",
        )
    spath = (*rpath, "strategy")
    if version.resource_pool is not None:
        c.at(spath, "a version on a resource_pool cannot be rolled (its nodes are the pool's)")
    elif scales_to_zero(version):
        c.at(spath, "a rolling update needs running nodes to replace: not with min_nodes: 0")
    if version.smoke_test is not None:
        c.at(
            spath,
            "a rolling update moves traffic onto the new version as its nodes come up, so no "
            "smoke test can run first: remove smoke_test or use strategy: blue-green",
        )


def check_settings(c: Checker, settings: Settings) -> None:
    """deployer.yaml's `resource_pools`: names, regions, machines and scaling, as the service
    takes them."""
    seen: dict[tuple[str, str], int] = {}
    for i, pool in enumerate(settings.resource_pools):
        ppath: PathKey = ("resource_pools", i)
        region = pool_region(pool, settings)
        if not catalog_vertex.POOL_NAME_RE.match(pool.name) or "--" in pool.name:
            c.at(
                (*ppath, "name"),
                f"invalid resource pool name '{pool.name}': lowercase letters, digits and '-' "
                "(not '--'), starting with a letter, at most 53 characters",
            )
        rpath = (*ppath, "region") if pool.region is not None else (*ppath, "name")
        if region not in catalog_vertex.REGIONS:
            c.at(rpath, unknown_region(region))
        elif region not in catalog_vertex.PREDICTION_REGIONS:
            c.at(rpath, f"Vertex AI online prediction is not offered in '{region}'")
        if (region, pool.name) in seen:
            line = c.source.value(("resource_pools", seen[(region, pool.name)], "name")).line
            c.at(
                (*ppath, "name"),
                f"resource pool '{pool.name}' is declared twice for {region} (line {line})",
            )
        seen.setdefault((region, pool.name), i)
        _check_pool_machine(c, ppath, pool)


def _check_pool_machine(c: Checker, ppath: PathKey, pool: ResourcePool) -> None:
    machine = pool_machine(pool)
    if machine not in catalog_vertex.MACHINE_TYPES:
        c.at((*ppath, "machine_type"), f"unknown Vertex AI machine_type '{machine}'")
        return
    accelerator = pool.accelerator
    why = catalog_vertex.accelerator_error(
        machine, accelerator.type if accelerator else None, accelerator.count if accelerator else 0
    )
    if why is not None:
        c.at((*ppath, "accelerator") if accelerator else (*ppath, "machine_type"), why)
    scaling = pool.scaling
    if scaling is None:
        return
    if scaling.max_nodes is not None and scaling.min_nodes > scaling.max_nodes:
        c.at(
            (*ppath, "scaling", "min_nodes"),
            f"min_nodes ({scaling.min_nodes}) must not exceed max_nodes ({scaling.max_nodes})",
        )
    gpus = accelerator.count if accelerator else 0
    if machine in catalog_vertex.FIXED_GPU_MACHINES:
        gpus = catalog_vertex.FIXED_GPU_MACHINES[machine][1]
    names: set[str] = set()
    for j, metric in enumerate(scaling.metrics):
        mpath = (*ppath, "scaling", "metrics", j)
        name = catalog_vertex.METRICS[metric.name]
        why = catalog_vertex.duty_cycle_error([name], gpus)
        target = catalog_vertex.metric_target_error(name, metric.target)
        if why:
            c.at((*mpath, "name"), f"{metric.name}: {why}")
        elif target:
            c.at((*mpath, "target"), f"{metric.name}: {target}")
        elif metric.name in names:
            c.at((*mpath, "name"), f"metric '{metric.name}' is listed twice")
        names.add(metric.name)


def check_preview_and_pools(
    models: Sequence[DeclaredModel],
    checker: Callable[[DeclaredModel], Checker],
    settings: Settings,
) -> None:
    """What a model needs from deployer.yaml: the preview opt-in for scale to zero and rolling
    updates, and a declared pool in each of its regions."""
    declared = pools(settings)
    for model in models:
        c = checker(model)
        base: PathKey = ("models", model.index)
        for region in model.regions:
            if (region, model.spec.name) in declared:
                c.at(
                    (*base, "name"),
                    f"model '{model.spec.name}' has the name of a resource pool of {region}: a "
                    "pool and a model of one region need different names",
                )
        for i, version in enumerate(model.spec.versions):
            vpath = (*base, "versions", model.version_index(i))
            if scales_to_zero(version) and not settings.preview:
                c.at(
                    (*vpath, "scaling", "min_nodes"),
                    f"scale to zero (min_nodes: 0) {PREVIEW}, or set min_nodes to 1 or more "
                    "(Vertex AI v1 needs at least 1)",
                )
            if rolling(version) and not settings.preview:
                c.at((*vpath, "rollout", "strategy"), f"a rolling update {PREVIEW}")
            name = version.resource_pool
            if name is None:
                continue
            for region in model.regions:
                pool = declared.get((region, name))
                if pool is None:
                    known = sorted(n for r, n in declared if r == region)
                    c.at(
                        (*vpath, "resource_pool"),
                        f"resource_pool '{name}' is not declared for {region} in deployer.yaml's "
                        f"resource_pools (declared there: {', '.join(known) or 'none'})",
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

    def check_settings(self, c: Checker, settings: Settings) -> None:
        check_settings(c, settings)

    def check_stack(
        self,
        models: Sequence[DeclaredModel],
        checker: Callable[[DeclaredModel], Checker],
        settings: Settings | None,
    ) -> None:
        check_logging_tables(models, checker)
        if settings is not None:
            check_preview_and_pools(models, checker, settings)
            check_endpoint_label_count(models, checker, settings)


ENDPOINT_OWN_LABELS = len(
    ownership.RESERVED_LABELS
    | {catalog_vertex.LABEL_MODEL, observe.LABEL_REPLACES, ownership.LABEL_ROUTE}
)
"""Labels deployer adds to an endpoint besides one record per deployment: ownership, the model
it serves, a replaced endpoint's successor mark, and the route record."""


def check_endpoint_label_count(
    models: Sequence[DeclaredModel], checker: Callable[[DeclaredModel], Checker], settings: Settings
) -> None:
    """An endpoint carries the settings', the model's and its own labels plus deployer's: the
    service takes 64 at most ([DD] Endpoint.labels), so too many is refused here, not halfway
    through an apply."""
    for model in models:
        spec = model.spec
        own = spec.endpoint.labels if spec.endpoint is not None else {}
        count = len({**settings.labels, **spec.labels, **own})
        # a record per deployed version, and one more while a blue-green replacement runs
        records = sum(1 for v in spec.versions if v.deployed) + 1
        if count + ENDPOINT_OWN_LABELS + records > manifest.MAX_LABELS:
            where: PathKey = (
                ("models", model.index, "endpoint", "labels")
                if own
                else (
                    "models",
                    model.index,
                    "labels",
                )
            )
            checker(model).at(
                where,
                f"too many labels for {spec.name}'s endpoint: {count} from deployer.yaml, the "
                f"model and its endpoint plus {ENDPOINT_OWN_LABELS + records} of deployer's "
                f"exceed {manifest.MAX_LABELS}",
            )


RULES = Rules()


def artifact_limits(model: DeclaredModel, version: VersionSpec) -> ArtifactLimits:
    """One size for every machine; the prebuilt scikit-learn/XGBoost servers load one file."""
    return ArtifactLimits(
        catalog_vertex.MAX_ARTIFACT_BYTES, "Vertex AI", None, "shrink the model", "Vertex AI"
    )
