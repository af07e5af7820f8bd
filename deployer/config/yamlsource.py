"""Safe YAML loading that remembers where every key and value came from.

PyYAML's safe loader gives plain data without positions and silently keeps the last of duplicate
keys. We compose the node tree ourselves so that every later error can point at `FILE:LINE:COL`
and duplicate keys are reported instead of hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deployer.config.diagnostics import Diagnostics, Position

PathKey = tuple[str | int, ...]

# Keys whose values are version strings: `runtime_version: 2.10` must stay "2.10", not 2.1.
VERSION_KEYS = frozenset({"runtime_version", "python_version", "framework_version"})


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


@dataclass
class YamlDocument:
    data: Any
    source: SourceMap


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Composer:
    def __init__(self, file: str, diags: Diagnostics) -> None:
        self.source = SourceMap(file)
        self.diags = diags
        self.constructor = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        self.source.values[path] = _pos(node)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            self.diags.add_root_cause(
                self.source.file,
                _pos(node),
                f"unsupported YAML tag '{_short_tag(node.tag)}' (YAML is loaded safely)",
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        if (
            path
            and path[-1] in VERSION_KEYS
            and node.tag
            in (
                "tag:yaml.org,2002:float",
                "tag:yaml.org,2002:int",
            )
        ):
            return node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.diags.add_root_cause(
                self.source.file, _pos(node), f"unsupported YAML value: {problem}"
            )
            return None

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.diags.add(
                    self.source.file, _pos(key_node), "YAML merge keys (<<) are not supported"
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.diags.add(
                    self.source.file, _pos(key_node), "mapping keys must be plain strings"
                )
                continue
            key = str(self._scalar(key_node, ()))
            key_pos = _pos(key_node)
            if key in seen:
                first = seen[key]
                self.diags.add(
                    self.source.file,
                    key_pos,
                    f"duplicate key '{key}' (first defined at line {first.line})",
                )
                continue
            seen[key] = key_pos
            self.source.keys[(*path, key)] = key_pos
            result[key] = self.convert(value_node, (*path, key))
        return result


def load_yaml(path: Path, file: str, diags: Diagnostics) -> YamlDocument | None:
    """Load one YAML file; problems go to `diags` and None is returned when nothing is usable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diags.add(file, Position(), f"cannot read file: {exc}")
        return None
    composer = _Composer(file, diags)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else Position()
        problem = exc.problem or exc.context or "invalid YAML"
        diags.add(file, pos, f"YAML syntax error: {problem}")
        return None
    except yaml.YAMLError as exc:
        diags.add(file, Position(), f"YAML syntax error: {exc}")
        return None
    if len(nodes) > 1:
        diags.add(file, _pos(nodes[1]), "a manifest file holds one YAML document, found several")
        return None
    if not nodes:
        return YamlDocument(None, composer.source)
    return YamlDocument(composer.convert(nodes[0], ()), composer.source)
