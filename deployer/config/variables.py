"""`${var.NAME}` interpolation in manifest strings.

Values come from `vars` in deployer.yaml, then the `--env` environment's `vars`, then
`--var NAME=VALUE` (last wins). `$${` writes a literal `${`. A string that uses a variable
named in `sensitive_vars` comes out as a `deployer.core.sensitive.Sensitive` string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from deployer.config.yamlsource import PathKey
from deployer.core.sensitive import Sensitive

VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TOKEN_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")

OnError = Callable[[PathKey, str], None]


def parse_cli_vars(pairs: list[str]) -> dict[str, str]:
    """Parse `--var NAME=VALUE` arguments; raises ValueError with the offending argument."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not VAR_NAME_RE.match(name):
            raise ValueError(
                f"--var {pair!r}: expected NAME=VALUE with NAME like [A-Za-z_][A-Za-z0-9_-]*"
            )
        result[name] = value
    return result


def interpolate_string(
    text: str, values: Mapping[str, str], sensitive: Collection[str] = ()
) -> tuple[str, list[str]]:
    """Replace every `${var.NAME}`; returns the result (Sensitive when a variable in
    `sensitive` was used) and the problems found."""
    problems: list[str] = []
    used: list[str] = []

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        inner = match.group(1)
        if inner is None:
            problems.append("unterminated '${' (write '$${' for a literal '${')")
            return whole
        name = inner[4:] if inner.startswith("var.") else None
        if name is None or not VAR_NAME_RE.match(name):
            problems.append(f"malformed reference '{whole}': expected '${{var.NAME}}'")
            return whole
        if name not in values:
            known = ", ".join(sorted(values)) or "none defined"
            problems.append(f"undefined variable '{name}' (known: {known})")
            return whole
        used.append(name)
        return values[name]

    result = _TOKEN_RE.sub(replace, text)
    return (Sensitive(result) if any(n in sensitive for n in used) else result), problems


def interpolate(
    data: Any,
    values: Mapping[str, str],
    on_error: OnError,
    path: PathKey = (),
    sensitive: Collection[str] = (),
) -> Any:
    """Interpolate every string inside `data` (keys are left alone)."""
    if isinstance(data, str):
        result, problems = interpolate_string(data, values, sensitive)
        for problem in problems:
            on_error(path, problem)
        return result
    if isinstance(data, dict):
        return {k: interpolate(v, values, on_error, (*path, k), sensitive) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, values, on_error, (*path, i), sensitive) for i, v in enumerate(data)]
    return data


def sensitive_paths(data: Any, path: PathKey = ()) -> list[PathKey]:
    """Where `data` holds Sensitive strings (from sensitive variables)."""
    if isinstance(data, Sensitive):
        return [path]
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in sensitive_paths(v, (*path, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in sensitive_paths(v, (*path, i))]
    return []
