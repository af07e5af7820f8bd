"""Safe YAML loading that remembers where every key and value came from.

PyYAML's safe loader gives plain data without positions and silently keeps the last of duplicate
keys. We compose the node tree ourselves so that every later error can point at `FILE:LINE:COL`
and duplicate keys are reported instead of hidden.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deployer.core.diagnostics import Diagnostics, PathKey, Position, SourceMap

MAX_BYTES = 1 << 20
"""A manifest file is at most 1 MiB: split a larger stack into several files."""
MAX_DEPTH = 32
"""Nesting of mappings and sequences: manifests need about 6 levels; hundreds would exhaust
the recursion of every later step."""
MAX_NODES = 100_000
"""Values after alias expansion: an alias bomb (a few lines expanding to billions) stops here."""


class _ShapeError(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


# Keys whose values are version strings: `runtime_version: 2.10` must stay "2.10", not 2.1.
VERSION_KEYS = frozenset({"runtime_version", "python_version", "framework_version"})


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
        self.count = 0

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _ShapeError(
                node,
                f"the document expands to more than {MAX_NODES:,} values "
                "(YAML aliases expanding too much?)",
            )
        if len(path) > MAX_DEPTH:
            raise _ShapeError(node, f"nesting deeper than {MAX_DEPTH} levels")
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


def _read(path: Path, file: str, diags: Diagnostics) -> str | None:
    """The file's text: only a regular file (a FIFO or a device would block or never end),
    at most MAX_BYTES, UTF-8."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            diags.add(file, Position(), "not a regular file (a manifest must be a plain file)")
            return None
        if info.st_size > MAX_BYTES:
            diags.add(
                file,
                Position(),
                f"file is {info.st_size:,} bytes, over the {MAX_BYTES:,}-byte limit for a "
                "manifest: split it into several files",
            )
            return None
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            diags.add(file, Position(), f"file is over the {MAX_BYTES:,}-byte limit")
            return None
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        diags.add(file, Position(), f"cannot read file: not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        if path.is_symlink() and not path.exists():
            diags.add(file, Position(), "broken symbolic link: it points to nothing")
        else:
            diags.add(file, Position(), f"cannot read file: {exc.strerror or exc}")
    return None


def _check_depth(text: str) -> None:
    """Walk the event stream (iterative, unlike composing) and refuse deep nesting before the
    composer's recursion meets it."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _ShapeError(
                    yaml.ScalarNode("", "", event.start_mark, event.end_mark),
                    f"nesting deeper than {MAX_DEPTH} levels",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(path: Path, file: str, diags: Diagnostics) -> YamlDocument | None:
    """Load one YAML file; problems go to `diags` and None is returned when nothing is usable."""
    text = _read(path, file, diags)
    if text is None:
        return None
    composer = _Composer(file, diags)
    try:
        _check_depth(text)
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        if len(nodes) > 1:
            diags.add(
                file, _pos(nodes[1]), "a manifest file holds one YAML document, found several"
            )
            return None
        if not nodes:
            return YamlDocument(None, composer.source)
        return YamlDocument(composer.convert(nodes[0], ()), composer.source)
    except _ShapeError as exc:
        diags.add(file, _pos(exc.node), f"YAML too large: {exc}")
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else Position()
        problem = exc.problem or exc.context or "invalid YAML"
        diags.add(file, pos, f"YAML syntax error: {problem}")
        return None
    except yaml.YAMLError as exc:
        diags.add(file, Position(), f"YAML syntax error: {exc}")
        return None
    except RecursionError:
        diags.add(file, Position(), f"YAML too large: nesting deeper than {MAX_DEPTH} levels")
        return None
