"""Checks that need several fields, several files or the file system, each with its position.

These are the rules every backend shares (names, labels, duplicates, default versions,
artifacts, smoke tests); the backend's own rules come in as its `ManifestRules`, so a bad
manifest fails in `validate` instead of halfway through an apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from deployer.core import jsonfile, manifest, ownership
from deployer.core.backend import ManifestRules
from deployer.core.diagnostics import Diagnostics, PathKey, Position, SourceMap, display_path
from deployer.core.manifest import AutoScaling, ManualScaling, ModelSpec, Settings, VersionSpec
from deployer.core.stack import DeclaredModel

PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
BIGQUERY_TABLE_RE = re.compile(r"^[A-Za-z0-9_.:-]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_$-]+$")


def default_stack_name(root: Path) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", root.resolve().name.lower()) or "default"


class Checker:
    """Reports problems of one file at positions looked up by path
    (`deployer.core.diagnostics.Checker`)."""

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
        if not manifest.NAME_RE.match(value):
            self.at(
                path,
                f"invalid {what} name '{value}': start with a letter, then letters, digits or "
                "underscores (no hyphens), at most 128 characters",
            )

    def labels(self, path: PathKey, labels: Mapping[str, str], extra: int = 0) -> None:
        for key, value in labels.items():
            if ownership.own_label(key):
                self.at_key(
                    (*path, key),
                    f"label '{key}' is reserved for deployer's own use (managed-by, deployer-*)",
                )
            elif not manifest.LABEL_KEY_RE.match(key):
                self.at_key(
                    (*path, key),
                    f"invalid label key '{key}': start with a lowercase letter; lowercase "
                    "letters, digits, '-' and '_' only; at most 63 characters",
                )
            if not manifest.LABEL_VALUE_RE.match(value):
                self.at(
                    (*path, key),
                    f"invalid label value '{value}' for '{key}': lowercase letters, digits, "
                    "'-' and '_' only; at most 63 characters",
                )
        if len(labels) + extra > manifest.MAX_LABELS:
            self.at(
                path,
                f"too many labels: {len(labels)} plus {extra} added by deployer and settings "
                f"exceed {manifest.MAX_LABELS}",
            )


def check_settings(
    settings: Settings,
    source: SourceMap,
    root: Path,
    diags: Diagnostics,
    rules: ManifestRules,
) -> None:
    c = Checker(source, diags)
    stack = settings.stack if settings.stack is not None else default_stack_name(root)
    if not manifest.LABEL_VALUE_RE.match(stack) or not stack:
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
    problem = rules.region_problem(settings.region)
    if problem:
        c.at(("region",), problem)
    rules.check_settings(c, settings)
    c.labels(("labels",), settings.labels, extra=len(ownership.RESERVED_LABELS))
    for name in settings.environments:
        if not ENVIRONMENT_RE.match(name):
            c.at_key(
                ("environments", name),
                f"invalid environment name {name!r}: letters, digits, '-', '_' and '.', "
                "starting with a letter or digit, 1-63 characters (it is printed in plans, "
                "pull-request comments and the history)",
            )


ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def check_models(
    models: Iterable[DeclaredModel],
    settings: Settings | None,
    diags: Diagnostics,
    rules: ManifestRules,
) -> None:
    first_seen: dict[tuple[str, str], tuple[str, Position]] = {}
    settings_labels = len(settings.labels) if settings else 0
    models = list(models)
    rules.check_stack(models, lambda model: Checker(model.source, diags), settings)
    for model in models:
        c = Checker(model.source, diags)
        base: PathKey = ("models", model.index)
        spec = model.spec
        c.name((*base, "name"), "model", spec.name)
        _check_regions(c, base, model, rules)
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
        rules.check_model(c, base, model)
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
            _check_version(c, vpath, model, version, settings_labels, rules)


def _check_regions(c: Checker, base: PathKey, model: DeclaredModel, rules: ManifestRules) -> None:
    if model.spec.regions is not None and not model.spec.regions:
        c.at((*base, "regions"), "'regions' must list at least one region")
    seen: set[str] = set()
    for i, region in enumerate(model.spec.regions or ()):
        problem = rules.region_problem(region)
        if problem:
            c.at((*base, "regions", i), problem)
        if region in seen:
            c.at((*base, "regions", i), f"region '{region}' is listed twice")
        seen.add(region)


def _check_default_version(c: Checker, base: PathKey, spec: ModelSpec) -> None:
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
    c: Checker,
    path: PathKey,
    model: DeclaredModel,
    version: VersionSpec,
    settings_labels: int,
    rules: ManifestRules,
) -> None:
    c.name((*path, "name"), "version", version.name)
    c.labels((*path, "labels"), version.labels, extra=settings_labels + 4)
    rules.check_version(c, path, model, version)
    _check_scaling(c, path, version)
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


def _check_scaling(c: Checker, path: PathKey, version: VersionSpec) -> None:
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
    seen: set[str] = set()
    for i, metric in enumerate(scaling.metrics):
        mpath = (*spath, "metrics", i)
        if metric.name != "REQUEST_COUNT" and not 0 <= metric.target <= 100:  # a rate
            c.at((*mpath, "target"), f"metric target must be 0-100 (percent), got {metric.target}")
        if metric.name in seen:
            c.at((*mpath, "name"), f"metric '{metric.name}' is listed twice")
        seen.add(metric.name)


def _check_artifact(c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec) -> None:
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
    c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec
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
