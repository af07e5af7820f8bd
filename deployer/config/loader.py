"""Load a manifests directory (or one file) into a validated `Stack`, or every problem at once.

The backends are given (`deployer.providers.registry` finds them): each brings its own
manifest rules, and the one a stack names is checked against the list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deployer.config import rules
from deployer.config.prices import check_prices, prices_path
from deployer.config.validation import validate
from deployer.config.variables import interpolate, sensitive_paths
from deployer.config.yamlsource import YamlDocument, load_yaml
from deployer.core.backend import Backend
from deployer.core.diagnostics import (
    Diagnostics,
    ManifestError,
    PathKey,
    Position,
    SourceMap,
    display_path,
)
from deployer.core.errors import UsageError
from deployer.core.manifest import ModelSpec, Settings, VersionSpec
from deployer.core.sensitive import Sensitive, register
from deployer.core.stack import DeclaredModel, Stack

SETTINGS_NAMES = ("deployer.yaml", "deployer.yml")
_SETTINGS_ONLY_KEYS = ("vars", "environments", "sensitive_vars")
SENSITIVE_USE = (
    "variable {names} is sensitive (listed in sensitive_vars): use it only in a container's "
    "env or args values, which plans never show"
)


def _find_files(path: Path) -> tuple[Path | None, list[Path]]:
    """The settings file and the model files for a directory or a single file."""
    if path.is_dir():
        settings = next((path / n for n in SETTINGS_NAMES if (path / n).is_file()), None)
        models = sorted(
            p
            for pattern in ("*.yaml", "*.yml")
            for p in path.rglob(pattern)
            if not p.is_dir()  # FIFOs, sockets, broken links are reported when read
            and p != settings
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        return settings, models
    if path.name in SETTINGS_NAMES:
        return path, []
    return _settings_above(path), [path]


def _settings_above(path: Path) -> Path | None:
    """The settings file of a single model file: in its directory or the nearest one above
    (model files are searched recursively, so `manifests/models/a.yaml` is `manifests/`'s),
    not above a repository's root."""
    for directory in _ancestors(path):
        found = next((directory / n for n in SETTINGS_NAMES if (directory / n).is_file()), None)
        if found is not None:
            return found
        if (directory / ".git").exists():
            return None
    return None


def _ancestors(path: Path) -> list[Path]:
    return [path.parent, *Path(os.path.realpath(path.parent)).parents]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _variables(
    doc: YamlDocument, environment: str | None, cli_vars: Mapping[str, str], diags: Diagnostics
) -> dict[str, str]:
    data = doc.data if isinstance(doc.data, dict) else {}
    values: dict[str, str] = {}
    raw_vars = data.get("vars", {})
    if isinstance(raw_vars, dict):
        values.update({k: _scalar_text(v) for k, v in raw_vars.items()})
    if environment is not None:
        envs = data.get("environments", {})
        envs = envs if isinstance(envs, dict) else {}
        if environment not in envs:
            known = ", ".join(sorted(envs)) or "none defined"
            pos = doc.source.key(("environments",)) if "environments" in data else Position()
            diags.add(doc.source.file, pos, f"unknown environment '{environment}' (known: {known})")
        elif isinstance(envs[environment], dict):
            env_vars = envs[environment].get("vars", {})
            if isinstance(env_vars, dict):
                values.update({k: _scalar_text(v) for k, v in env_vars.items()})
    values.update(cli_vars)
    return values


class Backends:
    """The backends a stack may name, and the default."""

    def __init__(self, backends: Mapping[str, Backend]) -> None:
        self.by_name = dict(backends)
        defaults = [b for b in backends.values() if b.default]
        if len(defaults) != 1:
            raise ValueError("exactly one backend must be the default")
        self.default = defaults[0]

    def choose(
        self, data: Any, environment: str | None, source: SourceMap, diags: Diagnostics
    ) -> Backend:
        """The backend the run targets: the environment's, else the settings' (read from the
        raw settings, so model files are checked for the right backend even when deployer.yaml
        has other errors). Every unknown name is reported where it is written; the default's
        rules then check the rest."""
        data = data if isinstance(data, dict) else {}
        envs = data.get("environments")
        envs = envs if isinstance(envs, dict) else {}
        named = [(("backend",), data.get("backend"))] + [
            (("environments", name, "backend"), env.get("backend"))
            for name, env in envs.items()
            if isinstance(env, dict)
        ]
        for path, value in named:
            if isinstance(value, str) and value not in self.by_name:
                diags.add_root_cause(
                    source.file,
                    source.value(path),
                    f"'backend' must be one of {_one_of(sorted(self.by_name))}; got string "
                    f"'{value}'",
                )
        env = envs.get(environment) if environment else None
        for value in (env.get("backend") if isinstance(env, dict) else None, data.get("backend")):
            if isinstance(value, str) and value in self.by_name:
                return self.by_name[value]
        return self.default


def _one_of(values: list[str]) -> str:
    """`'a', 'b' or 'c'`, as pydantic words a Literal's choices."""
    quoted = [f"'{v}'" for v in values]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]]) if len(quoted) > 1 else quoted[0]


def _interpolated(
    doc: YamlDocument,
    values: Mapping[str, str],
    diags: Diagnostics,
    skip: tuple[str, ...] = (),
    sensitive: tuple[str, ...] = (),
) -> Any:
    def on_error(path: PathKey, message: str) -> None:
        diags.add_root_cause(doc.source.file, doc.source.value(path), message)

    if not isinstance(doc.data, dict):
        return doc.data
    return {
        k: (v if k in skip else interpolate(v, values, on_error, (k,), sensitive))
        for k, v in doc.data.items()
    }


def _sensitive_names(data: Any) -> tuple[str, ...]:
    names = data.get("sensitive_vars") if isinstance(data, dict) else None
    return tuple(n for n in names if isinstance(n, str)) if isinstance(names, list) else ()


def _misused(doc: YamlDocument, path: PathKey, names: tuple[str, ...]) -> str:
    """The sensitive variables a value uses, as the message names them."""
    text: Any = doc.data
    try:
        for key in path:
            text = text[key]
    except (KeyError, IndexError, TypeError):
        text = ""
    used = [n for n in names if isinstance(text, str) and f"var.{n}" in text]
    return ", ".join(f"'{n}'" for n in used) or "(sensitive)"


Marks = dict[tuple[int, int], tuple[set[str], set[int]]]
"""(model index, version index) -> (env names, args indexes) that use a sensitive variable."""


def _sensitive_uses(
    doc: YamlDocument, data: Any, names: tuple[str, ...], diags: Diagnostics
) -> Marks:
    """Where a model file uses sensitive variables: container env and args values are marked,
    any other place is an error at its position."""
    marks: Marks = {}
    for path in sensitive_paths(data):
        match path:
            case ("models", int(i), "versions", int(j), "container", "env", str(name), *rest) if (
                rest in ([], ["value"])
            ):
                marks.setdefault((i, j), (set(), set()))[0].add(name)
            case ("models", int(i), "versions", int(j), "container", "args", int(k), *rest) if (
                rest in ([], ["value"])
            ):
                marks.setdefault((i, j), (set(), set()))[1].add(k)
            case _:
                used = _misused(doc, path, names)
                message = SENSITIVE_USE.format(names=used)
                diags.add(doc.source.file, doc.source.value(path), message)
    return marks


def _marked(version: VersionSpec, env: set[str], args: set[int]) -> VersionSpec:
    container = version.container
    if container is None:
        return version
    marked = container.model_copy(
        update={
            "env": {
                k: Sensitive(v) if k in env and isinstance(v, str) else v
                for k, v in container.env.items()
            },
            "args": tuple(
                Sensitive(a) if i in args and isinstance(a, str) else a
                for i, a in enumerate(container.args)
            ),
        }
    )
    return version.model_copy(update={"container": marked})


def _load_settings(
    path: Path | None,
    root: Path,
    environment: str | None,
    cli_vars: Mapping[str, str],
    diags: Diagnostics,
    backends: Backends,
) -> tuple[Settings | None, dict[str, str], Backend]:
    default = backends.default
    if path is None:
        where = display_path(root / SETTINGS_NAMES[0])
        diags.add(
            where,
            Position(),
            "settings file not found: deployer.yaml must set 'project' and 'artifacts'",
        )
        return None, dict(cli_vars), default
    file = display_path(path)
    doc = load_yaml(path, file, diags)
    if doc is None:
        return None, dict(cli_vars), default
    if not isinstance(doc.data, dict):
        diags.add(
            file,
            doc.source.value(()),
            "deployer.yaml must be a mapping with 'project' and 'artifacts'",
        )
        return None, dict(cli_vars), default
    values = _variables(doc, environment, cli_vars, diags)
    names = _sensitive_names(doc.data)
    data = _interpolated(doc, values, diags, skip=_SETTINGS_ONLY_KEYS, sensitive=names)
    for misused in sensitive_paths(data):
        used = _misused(doc, misused, names)
        diags.add(doc.source.file, doc.source.value(misused), SENSITIVE_USE.format(names=used))
    values = {k: Sensitive(v) if k in names else v for k, v in values.items()}
    backend = backends.choose(data, environment, doc.source, diags)
    settings = validate(Settings, data, doc.source, diags)
    if settings is not None:
        rules.check_settings(settings, doc.source, root, diags, backend.rules)
        if settings.prices is not None:
            check_prices(settings.prices, doc.source, root, diags, backends.by_name)
    return settings, values, backend


def _load_model_file(
    path: Path, values: Mapping[str, str], diags: Diagnostics
) -> list[tuple[ModelSpec, tuple[int, ...], SourceMap, int]]:
    names = tuple(k for k, v in values.items() if isinstance(v, Sensitive))
    file = display_path(path)
    doc = load_yaml(path, file, diags)
    if doc is None:
        return []
    if doc.data is None:
        diags.add(file, Position(), "empty model file: expected a 'models' list")
        return []
    if not isinstance(doc.data, dict) or "models" not in doc.data:
        diags.add(file, doc.source.value(()), "a model file must be a mapping with a 'models' list")
        return []
    data = _interpolated(doc, values, diags, sensitive=names)
    marks = _sensitive_uses(doc, data, names, diags) if names else {}
    for key in data:
        if key != "models":
            hint = "; did you mean 'models'?" if key in ("model", "Models") else ""
            diags.add(file, doc.source.key((key,)), f"unknown key '{key}'{hint}")
    models = data["models"]
    if not isinstance(models, list):
        diags.add(file, doc.source.value(("models",)), "'models' must be a list of models")
        return []
    loaded = []
    for i, item in enumerate(models):
        model = _load_model(item, doc.source, ("models", i), diags, marks)
        if model is not None:
            loaded.append((*model, doc.source, i))
    return loaded


def _load_model(
    item: Any, source: SourceMap, path: PathKey, diags: Diagnostics, marks: Marks | None = None
) -> tuple[ModelSpec, tuple[int, ...]] | None:
    """Validate a model and each of its versions on their own, so one bad version does not
    hide the problems of the others or of the model."""
    if not isinstance(item, dict):
        validate(ModelSpec, item, source, diags, prefix=path)  # reports what is wrong
        return None
    raw_versions = item.get("versions", [])
    if not isinstance(raw_versions, list):
        diags.add(source.file, source.value((*path, "versions")), "'versions' must be a list")
        raw_versions = []
    spec = validate(
        ModelSpec, {k: v for k, v in item.items() if k != "versions"}, source, diags, prefix=path
    )
    versions: list[VersionSpec] = []
    indexes: list[int] = []
    for j, raw in enumerate(raw_versions):
        version = validate(VersionSpec, raw, source, diags, prefix=(*path, "versions", j))
        mark = (marks or {}).get((int(path[-1]), j))
        if version is not None and mark is not None:
            version = _marked(version, *mark)
        if version is not None:
            versions.append(version)
            indexes.append(j)
    if spec is None:
        return None
    return spec.model_copy(update={"versions": tuple(versions)}), tuple(indexes)


def load_stack(
    path: Path | str,
    environment: str | None,
    cli_vars: Mapping[str, str] | None,
    backends: Mapping[str, Backend],
) -> Stack:
    """Load and validate manifests for one of `backends`; raises ManifestError listing every
    problem found."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{display_path(path)}: no such file or directory")
    diags = Diagnostics()
    settings_path, model_paths = _find_files(path)
    root = path if path.is_dir() else (settings_path or path).parent
    settings, values, backend = _load_settings(
        settings_path, root, environment, cli_vars or {}, diags, Backends(backends)
    )
    register(v for v in values.values() if isinstance(v, Sensitive))
    if settings is not None and settings.prices is not None:  # a prices file is no model file
        named = prices_path(root, settings.prices).resolve()
        model_paths = [p for p in model_paths if p.resolve() != named]
    declared: list[DeclaredModel] = []
    for model_path in model_paths:
        for spec, version_indexes, source, index in _load_model_file(model_path, values, diags):
            default_region = settings.region if settings else "us-central1"
            regions = spec.regions if spec.regions is not None else (default_region,)
            declared.append(
                DeclaredModel(spec, model_path, source, index, regions, version_indexes)
            )
    rules.check_models(declared, settings, diags, backend.rules)
    if diags or settings is None:
        raise ManifestError(diags.sorted(), diags.sorted_warnings())
    stack_name = settings.stack or rules.default_stack_name(root)
    single_file = not path.is_dir() and path.name not in SETTINGS_NAMES
    scope = tuple(dict.fromkeys(m.spec.name for m in declared)) if single_file else None
    stack = Stack(
        root,
        stack_name,
        settings,
        environment,
        tuple(declared),
        backend=backend.name,
        warnings=tuple(diags.sorted_warnings()),
        scope=scope,
    )
    register(stack.sensitive_values())
    return stack
