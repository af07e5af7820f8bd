"""Checks that need several fields, several files or the file system, each with its position.

These mirror what AI Platform Prediction would refuse (facts in `deployer.catalog`), so a bad
manifest fails in `validate` instead of halfway through an apply.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from deployer import catalog, catalog_vertex, jsonfile
from deployer.config import vertex
from deployer.config.diagnostics import Diagnostics, Position, display_path
from deployer.config.schema import (
    DEFAULT_BACKEND,
    AutoScaling,
    Backend,
    ManualScaling,
    ModelSpec,
    Settings,
    VersionSpec,
)
from deployer.config.stack import DeclaredModel
from deployer.config.yamlsource import PathKey, SourceMap

PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
BIGQUERY_TABLE_RE = re.compile(r"^[A-Za-z0-9_.:-]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_$-]+$")


def default_stack_name(root: Path) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", root.resolve().name.lower()) or "default"


class _Checker:
    """Reports problems of one file at positions looked up by path."""

    def __init__(self, source: SourceMap, diags: Diagnostics) -> None:
        self.source = source
        self.diags = diags

    def at(self, path: PathKey, message: str) -> None:
        self.diags.add(self.source.file, self.source.value(path), message)

    def at_key(self, path: PathKey, message: str) -> None:
        self.diags.add(self.source.file, self.source.key(path), message)

    def declared(self, path: PathKey) -> bool:
        """Whether the file has this key, even if the schema refused its value (already
        reported), so rules do not add "missing" errors for it."""
        return path in self.source.keys

    def warn(self, path: PathKey, message: str) -> None:
        self.diags.warn(self.source.file, self.source.value(path), message)

    def name(self, path: PathKey, what: str, value: str) -> None:
        if not catalog.NAME_RE.match(value):
            self.at(
                path,
                f"invalid {what} name '{value}': start with a letter, then letters, digits or "
                "underscores (no hyphens), at most 128 characters",
            )

    def labels(self, path: PathKey, labels: Mapping[str, str], extra: int = 0) -> None:
        for key, value in labels.items():
            if key in catalog.RESERVED_LABELS:
                self.at_key((*path, key), f"label '{key}' is reserved for deployer's own use")
            elif not catalog.LABEL_KEY_RE.match(key):
                self.at_key(
                    (*path, key),
                    f"invalid label key '{key}': start with a lowercase letter; lowercase "
                    "letters, digits, '-' and '_' only; at most 63 characters",
                )
            if not catalog.LABEL_VALUE_RE.match(value):
                self.at(
                    (*path, key),
                    f"invalid label value '{value}' for '{key}': lowercase letters, digits, "
                    "'-' and '_' only; at most 63 characters",
                )
        if len(labels) + extra > catalog.MAX_LABELS:
            self.at(
                path,
                f"too many labels: {len(labels)} plus {extra} added by deployer and settings "
                f"exceed {catalog.MAX_LABELS}",
            )


def check_settings(
    settings: Settings,
    source: SourceMap,
    root: Path,
    diags: Diagnostics,
    backend: Backend = DEFAULT_BACKEND,
) -> None:
    c = _Checker(source, diags)
    stack = settings.stack if settings.stack is not None else default_stack_name(root)
    if not catalog.LABEL_VALUE_RE.match(stack) or not stack:
        where = ("stack",) if settings.stack is not None else ()
        c.at(
            where,
            f"invalid stack '{stack}': it becomes a label value, so lowercase letters, digits, "
            "'-' and '_' only, 1-63 characters",
        )
    if not PROJECT_RE.match(settings.project):
        c.at(
            ("project",),
            f"invalid project ID '{settings.project}': 6-30 lowercase letters, digits or "
            "hyphens, starting with a letter",
        )
    bucket, _, _ = settings.artifacts.removeprefix("gs://").partition("/")
    if not settings.artifacts.startswith("gs://") or not BUCKET_RE.match(bucket):
        c.at(
            ("artifacts",),
            f"'artifacts' must be a gs://BUCKET[/PREFIX] URI, got '{settings.artifacts}'",
        )
    if backend == "vertex":
        if settings.region not in catalog_vertex.REGIONS:
            c.at(("region",), vertex.unknown_region(settings.region))
    elif settings.region not in catalog.ENDPOINTS:
        c.at(("region",), _unknown_region(settings.region))
    c.labels(("labels",), settings.labels, extra=len(catalog.RESERVED_LABELS))
    for name in settings.environments:
        if not ENVIRONMENT_RE.match(name):
            c.at_key(
                ("environments", name),
                f"invalid environment name {name!r}: letters, digits, '-', '_' and '.', "
                "starting with a letter or digit, 1-63 characters (it is printed in plans, "
                "pull-request comments and the history)",
            )


ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def _unknown_region(region: str) -> str:
    hint = difflib.get_close_matches(region, catalog.ENDPOINTS, n=1, cutoff=0.7)
    if hint:
        return f"unknown region '{region}'; did you mean '{hint[0]}'?"
    return (
        f"unknown region '{region}': use 'global' or a regional endpoint "
        f"({', '.join(catalog.REGIONAL_ENDPOINTS)})"
    )


def check_models(
    models: Iterable[DeclaredModel],
    settings: Settings | None,
    diags: Diagnostics,
    backend: Backend = DEFAULT_BACKEND,
) -> None:
    first_seen: dict[tuple[str, str], tuple[str, Position]] = {}
    settings_labels = len(settings.labels) if settings else 0
    for model in models:
        c = _Checker(model.source, diags)
        base: PathKey = ("models", model.index)
        spec = model.spec
        c.name((*base, "name"), "model", spec.name)
        _check_regions(c, base, model, backend)
        c.labels((*base, "labels"), spec.labels, extra=settings_labels + 4)
        for region in dict.fromkeys(model.regions):
            key = (spec.name, region)
            if key in first_seen:
                file, pos = first_seen[key]
                c.at(
                    (*base, "name"),
                    f"model '{spec.name}' is declared twice for region {region} "
                    f"(first at {file}:{pos.line})",
                )
            else:
                first_seen[key] = (model.display_file, model.source.value((*base, "name")))
        if backend == "vertex":
            vertex.check_model(c, base, model)
        else:
            vertex.refuse_vertex_only(c, base, model)
        if (
            backend == "mlengine"
            and spec.console_logging
            and any(catalog.is_regional(r) for r in model.regions)
        ):
            c.at(
                (*base, "console_logging"),
                "console_logging is only available on the global endpoint, not on "
                + ", ".join(r for r in model.regions if catalog.is_regional(r)),
            )
        _check_default_version(c, base, spec)
        seen_versions: dict[str, int] = {}
        for i, version in enumerate(spec.versions):
            vpath = (*base, "versions", model.version_index(i))
            if version.name in seen_versions:
                first = model.source.value((*base, "versions", seen_versions[version.name], "name"))
                c.at(
                    (*vpath, "name"),
                    f"duplicate version name '{version.name}' in model '{spec.name}' "
                    f"(first at line {first.line})",
                )
            else:
                seen_versions[version.name] = model.version_index(i)
            _check_version(c, vpath, model, version, settings_labels, backend)


def _check_regions(c: _Checker, base: PathKey, model: DeclaredModel, backend: Backend) -> None:
    if model.spec.regions is not None and not model.spec.regions:
        c.at((*base, "regions"), "'regions' must list at least one region")
    seen: set[str] = set()
    for i, region in enumerate(model.spec.regions or ()):
        if backend == "vertex":
            if region not in catalog_vertex.REGIONS:
                c.at((*base, "regions", i), vertex.unknown_region(region))
        elif region not in catalog.ENDPOINTS:
            c.at((*base, "regions", i), _unknown_region(region))
        if region in seen:
            c.at((*base, "regions", i), f"region '{region}' is listed twice")
        seen.add(region)


def _check_default_version(c: _Checker, base: PathKey, spec: ModelSpec) -> None:
    names = list(dict.fromkeys(v.name for v in spec.versions))
    if spec.default_version is None:
        if len(names) > 1:
            c.at(
                (*base, "name"),
                f"model '{spec.name}' declares {len(names)} versions: set 'default_version' "
                f"to one of {', '.join(names)}",
            )
    elif spec.default_version not in names:
        declared = ", ".join(names) or "none"
        c.at(
            (*base, "default_version"),
            f"default_version '{spec.default_version}' is not a declared version "
            f"(declared: {declared})",
        )


def _check_version(
    c: _Checker,
    path: PathKey,
    model: DeclaredModel,
    version: VersionSpec,
    settings_labels: int,
    backend: Backend,
) -> None:
    c.name((*path, "name"), "version", version.name)
    c.labels((*path, "labels"), version.labels, extra=settings_labels + 4)
    if backend == "vertex":
        vertex.check_version(c, path, model, version)
    else:
        for key in ("runtime_version", "artifact"):
            if getattr(version, key) is None and not c.declared((*path, key)):
                c.at(path, f"missing required key '{key}'")
        _check_runtime(c, path, version)
        _check_machine(c, path, model, version)
        _check_custom_routine(c, path, model, version)
    _check_scaling(c, path, model, version, backend)
    _check_artifact(c, path, model, version)
    _check_smoke_test(c, path, model, version)
    if version.request_logging and not BIGQUERY_TABLE_RE.match(
        version.request_logging.bigquery_table
    ):
        c.at(
            (*path, "request_logging", "bigquery_table"),
            f"'bigquery_table' must be PROJECT.DATASET.TABLE, got "
            f"'{version.request_logging.bigquery_table}'",
        )
    for i, uri in enumerate(version.package_uris):
        if not uri.startswith("gs://"):
            c.at((*path, "package_uris", i), f"package URI must start with gs://, got '{uri}'")


def _check_runtime(c: _Checker, path: PathKey, version: VersionSpec) -> None:
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


def _machine_types(model: DeclaredModel, version: VersionSpec) -> dict[str, str]:
    """The machine type each of the model's endpoints would run, defaults included."""
    return {
        region: version.machine_type
        or catalog.DEFAULT_MACHINE_TYPE["global" if region == catalog.GLOBAL else "regional"]
        for region in model.regions
    }


def _check_custom_routine(
    c: _Checker, path: PathKey, model: DeclaredModel, version: VersionSpec
) -> None:
    """ml v1: a custom prediction routine (`prediction_class`) runs only on mls1-* machines, and
    `service_account` only with such a routine or a custom container (as the service says)."""
    if version.prediction_class:
        bad = sorted({m for m in _machine_types(model, version).values() if catalog.is_n1(m)})
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


def _check_machine(c: _Checker, path: PathKey, model: DeclaredModel, version: VersionSpec) -> None:
    where = (*path, "machine_type") if version.machine_type else (*path, "name")
    for region, machine in _machine_types(model, version).items():
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
        bad = sorted({m for m in _machine_types(model, version).values() if not catalog.is_n1(m)})
        if bad:
            c.at(
                (*path, "accelerator"),
                f"accelerators need an n1-* machine type, not {', '.join(bad)}",
            )


def _one_of(values: Iterable[str]) -> str:
    """`'a', 'b' or 'c'`, as pydantic words a Literal's choices."""
    quoted = [f"'{v}'" for v in values]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]]) if len(quoted) > 1 else quoted[0]


def _check_scaling(
    c: _Checker, path: PathKey, model: DeclaredModel, version: VersionSpec, backend: Backend
) -> None:
    scaling = version.scaling
    spath = (*path, "scaling")
    if isinstance(scaling, ManualScaling) or scaling is None:
        return
    assert isinstance(scaling, AutoScaling)
    if (
        scaling.min_nodes is not None
        and scaling.max_nodes is not None
        and scaling.min_nodes > scaling.max_nodes
    ):
        c.at(
            (*spath, "min_nodes"),
            f"min_nodes ({scaling.min_nodes}) must not exceed max_nodes ({scaling.max_nodes})",
        )
    if scaling.min_nodes == 0 and backend == "mlengine":
        n1 = sorted({m for m in _machine_types(model, version).values() if catalog.is_n1(m)})
        if n1:
            c.at(
                (*spath, "min_nodes"),
                f"{', '.join(n1)} cannot scale to zero: set min_nodes to 1 or more",
            )
    seen: set[str] = set()
    for i, metric in enumerate(scaling.metrics):
        mpath = (*spath, "metrics", i)
        if not 0 <= metric.target <= 100:
            c.at((*mpath, "target"), f"metric target must be 0-100 (percent), got {metric.target}")
        if metric.name in seen:
            c.at((*mpath, "name"), f"metric '{metric.name}' is listed twice")
        seen.add(metric.name)


def _check_artifact(c: _Checker, path: PathKey, model: DeclaredModel, version: VersionSpec) -> None:
    apath = (*path, "artifact")
    uri = version.artifact
    if uri is None:
        return
    if uri.startswith("gs://"):
        bucket = uri.removeprefix("gs://").partition("/")[0]
        if not BUCKET_RE.match(bucket):
            c.at(apath, f"invalid artifact URI '{uri}': expected gs://BUCKET/PATH")
        return
    if "://" in uri:
        c.at(apath, f"artifact must be a local directory or a gs:// URI, got '{uri}'")
        return
    local = model.artifact_path(version)
    assert local is not None
    if local.is_symlink() and not local.exists():
        c.at(apath, f"artifact {display_path(local)} is a symlink that loops or points nowhere")
    elif not local.exists():
        c.at(apath, f"artifact directory not found: {display_path(local)}")
    elif not local.is_dir():
        c.at(apath, f"artifact must be a directory, but {display_path(local)} is not one")
    elif (
        version.framework == "tensorflow"
        and version.container is None
        and not (local / "saved_model.pb").is_file()
    ):
        c.at(
            apath,
            f"artifact {display_path(local)} is not a TensorFlow SavedModel (no saved_model.pb)",
        )


def _check_smoke_test(
    c: _Checker, path: PathKey, model: DeclaredModel, version: VersionSpec
) -> None:
    smoke = version.smoke_test
    if smoke is None:
        return
    counts: dict[str, int] = {}
    for key in ("instances", "expect"):
        name = getattr(smoke, key)
        if name is None:
            continue
        where = (*path, "smoke_test", key)
        file = model.file.parent / name
        try:
            values = jsonfile.read_jsonl(file, display_path(file))
        except jsonfile.InputError as exc:
            if not file.exists() and not file.is_symlink():
                c.at(where, f"smoke_test {key} file not found: {display_path(file)}")
            else:
                c.at(where, f"smoke_test {key} file {exc}")
            continue
        if not values:
            c.at(where, f"smoke_test {key} file {display_path(file)} holds no lines")
            continue
        counts[key] = len(values)
    if len(counts) == 2 and counts["instances"] != counts["expect"]:
        c.at(
            (*path, "smoke_test", "expect"),
            f"smoke_test expects {counts['expect']} predictions for {counts['instances']} "
            "instances: give one expected prediction per instance line",
        )
