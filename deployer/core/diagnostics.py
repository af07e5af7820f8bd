"""Manifest problems as `FILE:LINE:COL: message` lines, collected so a run reports all of them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from deployer.core.errors import DeployerError

PathKey = tuple[str | int, ...]
"""Where a value sits in a YAML document: keys and list indexes from the root."""


@dataclass(frozen=True, order=True)
class Position:
    line: int = 1
    col: int = 1


@dataclass
class SourceMap:
    """Positions of values and keys in one YAML document, by path from the root."""

    file: str
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)

    def value(self, path: PathKey) -> Position:
        """Position of the value at `path`, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            pos = self.values.get(tuple(path[:end]))
            if pos is not None:
                return pos
        return Position()

    def key(self, path: PathKey) -> Position:
        """Position of the key that introduces `path` (falls back to its value)."""
        pos = self.keys.get(tuple(path))
        return pos if pos is not None else self.value(path)


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    col: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.file}:{self.line}:{self.col}: {kind}{self.message}"


class Checker(Protocol):
    """Reports problems of one manifest file at the positions of the paths they concern: what
    a backend's manifest rules are given (`deployer.core.backend.ManifestRules`)."""

    source: SourceMap

    def at(self, path: PathKey, message: str) -> None:
        """An error at the value of `path`."""
        ...

    def at_key(self, path: PathKey, message: str) -> None:
        """An error at the key that introduces `path`."""
        ...

    def warn(self, path: PathKey, message: str) -> None:
        """A warning: printed, it does not fail the run."""
        ...

    def declared(self, path: PathKey) -> bool:
        """Whether the file has this key, even if the schema refused its value (already
        reported), so rules do not add "missing" errors for it."""
        ...


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


@dataclass
class Diagnostics:
    items: list[Diagnostic] = field(default_factory=list)
    blocked: set[tuple[str, Position]] = field(default_factory=set)
    warnings: list[Diagnostic] = field(default_factory=list)

    def add(self, file: str, pos: Position, message: str) -> None:
        if (file, pos) not in self.blocked:
            self.items.append(Diagnostic(file, pos.line, pos.col, message))

    def add_root_cause(self, file: str, pos: Position, message: str) -> None:
        """Report a problem that makes the value unusable, and silence the follow-on errors
        later checks would report at the same position."""
        self.items.append(Diagnostic(file, pos.line, pos.col, message))
        self.blocked.add((file, pos))

    def warn(self, file: str, pos: Position, message: str) -> None:
        """Report something deployer ignores: printed, but it does not fail the run."""
        self.warnings.append(Diagnostic(file, pos.line, pos.col, message, warning=True))

    def __bool__(self) -> bool:
        """True when there are errors (warnings alone do not count)."""
        return bool(self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(set(self.items))

    def sorted_warnings(self) -> list[Diagnostic]:
        return sorted(set(self.warnings))


class ManifestError(DeployerError):
    """Raised with every problem found in the manifests; each is one line with its position."""

    prefix = ""

    def __init__(
        self, diagnostics: list[Diagnostic], warnings: list[Diagnostic] | None = None
    ) -> None:
        self.diagnostics = diagnostics
        self.warnings = warnings or []
        count = len(diagnostics)
        lines = "\n".join(str(d) for d in [*diagnostics, *self.warnings])
        super().__init__(f"{lines}\n{count} error{'s' if count != 1 else ''} in manifests")
