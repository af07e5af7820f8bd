"""JSON and JSON Lines that a user hands deployer: smoke-test files, `predict --instances`,
saved plans (`apply PLAN.json`, `show-plans`).

One reader with the guards manifests have (deployer.config.yamlsource): only a regular file (a
FIFO blocks forever, /dev/zero never ends), at most MAX_BYTES read, UTF-8 text; nesting at most
MAX_DEPTH levels (deeper input exhausts the recursion of every later step); numbers finite
(NaN, Infinity and 1e400, which Python reads as infinity, are not JSON the services accept) and
integers of at most 4,300 digits (Python's own conversion limit). Every refusal is an
InputError whose text is one line naming the file.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from deployer.core.errors import DeployerError

MAX_BYTES = 32 << 20
"""32 MiB: a saved plan of 400 versions is about 1 MB; an online prediction request is at most
1.5 MB on ml v1 and Vertex AI, so bigger instance files cannot be sent anyway."""
MAX_DEPTH = 64
"""Nesting of arrays and objects: a saved plan needs about 8 levels, an image instance 4."""

_TOKENS = re.compile(r'"(?:[^"\\]|\\.?)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)
"""A string (an unterminated one runs to the end, so no text is scanned twice) or a bracket."""


class InputError(DeployerError):
    """A file or JSON text deployer refuses to read; `reason` is the message without the file."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.where = where
        self.reason = reason


def read_text(path: Path, where: str | None = None) -> str:
    """The file's text; InputError unless it is a regular UTF-8 file of at most MAX_BYTES."""
    shown = str(path) if where is None else where
    try:
        with open(path, "rb", opener=_nonblocking) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(shown, f"{_kind(info.st_mode)}, not a regular file")
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        if path.is_symlink() and not path.exists():
            raise InputError(shown, "broken symbolic link: it points to nothing") from None
        raise InputError(shown, f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise InputError(shown, f"over the {MAX_BYTES:,}-byte limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(shown, f"not UTF-8 text (byte {exc.start})") from None


def _nonblocking(path: str, flags: int) -> int:
    """Open without blocking: opening a FIFO for reading waits for a writer otherwise."""
    return os.open(path, flags | os.O_NONBLOCK)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "a special file"


def parse(text: str, where: str = "") -> Any:
    """One JSON value from `text`, with the limits above; InputError naming `where`."""
    if len(text) > MAX_BYTES:
        raise InputError(where, f"over the {MAX_BYTES:,}-byte limit")
    depth = nesting(text)
    if depth > MAX_DEPTH:
        raise InputError(where, f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) and text.strip():
            raise InputError(where, "not valid JSON: it ends too early (truncated?)") from None
        at = f"line {exc.lineno} column {exc.colno}" if "\n" in text else f"char {exc.pos}"
        raise InputError(where, f"not valid JSON ({exc.msg} at {at})") from None
    except _NotFinite as exc:
        raise InputError(where, str(exc)) from None
    except RecursionError:  # unreachable after the nesting check; kept as a last guard
        raise InputError(where, f"JSON nested deeper than {MAX_DEPTH} levels") from None


def nesting(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON `text` (strings skipped), read
    without recursion; stops counting once past MAX_DEPTH."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        else:
            depth -= 1
    return deepest


class _NotFinite(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _NotFinite(f"{name} is not a JSON number (use a finite number or null)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"{_short(text)} is out of range for a number (it would be infinity)")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise _NotFinite(f"the integer {_short(text)} has too many digits") from None


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}…{text[-10:]} ({len(text):,} characters)"


def read_json(path: Path, where: str | None = None) -> Any:
    """The one JSON value of a file, read with read_text's guards."""
    shown = str(path) if where is None else where
    return parse(read_text(path, shown), shown)


def parse_lines(text: str, where: str = "") -> list[Any]:
    """The JSON value of each non-blank line (JSON Lines); InputError naming the line."""
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values.append(parse(line))
        except InputError as exc:
            raise InputError(where, f"line {number}: {exc.reason}") from None
    return values


def read_jsonl(path: Path, where: str | None = None) -> list[Any]:
    """The values of a JSON Lines file, read with read_text's guards."""
    shown = str(path) if where is None else where
    return parse_lines(read_text(path, shown), shown)
