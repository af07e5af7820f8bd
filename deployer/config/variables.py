"""`${var.NAME}` interpolation in manifest strings.

Values come from `vars` in deployer.yaml, then the `--env` environment's `vars`, then
`--var NAME=VALUE` (last wins). `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from deployer.config.yamlsource import PathKey

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


def interpolate_string(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace every `${var.NAME}`; returns the result and the problems found."""
    problems: list[str] = []

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
        return values[name]

    return _TOKEN_RE.sub(replace, text), problems


def interpolate(data: Any, values: Mapping[str, str], on_error: OnError, path: PathKey = ()) -> Any:
    """Interpolate every string inside `data` (keys are left alone)."""
    if isinstance(data, str):
        result, problems = interpolate_string(data, values)
        for problem in problems:
            on_error(path, problem)
        return result
    if isinstance(data, dict):
        return {k: interpolate(v, values, on_error, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, values, on_error, (*path, i)) for i, v in enumerate(data)]
    return data
