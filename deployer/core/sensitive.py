"""Sensitive values: secrets a manifest hands a serving container (Terraform's `sensitive`).

A value marked sensitive is a `Sensitive` string: it compares, hashes and serializes as the
string it is (the diff still sees a change, the provider writes it), but no output shows it.
Renderers show `shown(value)`, where it reads `(sensitive value)`; the JSON plan writes
`{"sensitive": DIGEST}` (`digest`, salted with the plan's fingerprint and deliberately slow, so
that a plan file kept as a CI artifact does not let anyone try guesses at a weak secret
quickly), and reads it back as `Redacted`, which `apply PLAN.json` replaces with the value of the
same digest in the manifests. Everything printed passes `scrub` (the CLI wraps stdout and
stderr in `ScrubbingStream`), which replaces each registered value, as CI systems mask secrets
in logs: error messages and progress lines that quote a value never show it either.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

SHOWN = "(sensitive value)"
SCRUB_MIN = 4
"""Values shorter than this are masked in plans but not searched for in free text: masking
every `1` or `on` in every message would mangle it and protect nothing."""


class Sensitive(str):
    """A string no plan, log or message shows (`repr` hides it too)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(SHOWN)


@dataclass(frozen=True)
class Redacted:
    """A sensitive value read back from a plan file: only its digest is known."""

    digest: str

    def __str__(self) -> str:
        return SHOWN


def is_secret(value: Any) -> bool:
    return isinstance(value, Sensitive | Redacted)


def secrets_in(value: Any) -> Iterator[Sensitive | Redacted]:
    """Every sensitive value inside `value` (dicts, lists and tuples walked)."""
    if isinstance(value, Sensitive | Redacted):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from secrets_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from secrets_in(item)


def shown(value: Any) -> Any:
    """`value` as it may be shown: each sensitive value replaced by `(sensitive value)`."""
    if isinstance(value, Sensitive | Redacted):
        return SHOWN
    if isinstance(value, Mapping):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    return value


_DIGESTS: dict[tuple[str, str], str] = {}
_DIGESTS_LOCK = threading.Lock()


def digest(value: str, salt: str) -> str:
    """scrypt (N=2**12, r=8: about 7 ms and 4 MiB a value) of `value` salted with `salt`."""
    key = (str.__str__(value), salt)
    with _DIGESTS_LOCK:
        found = _DIGESTS.get(key)
    if found is None:
        raw = hashlib.scrypt(
            key[0].encode("utf-8"), salt=f"deployer-sensitive:{salt}".encode(), n=2**12, r=8, p=1
        )
        found = "scrypt:" + raw[:16].hex()
        with _DIGESTS_LOCK:
            _DIGESTS[key] = found
    return found


def to_document(value: Any, salt: str) -> Any:
    """`value` for the JSON plan: each sensitive value as `{"sensitive": DIGEST}`."""
    if isinstance(value, Sensitive):
        return {"sensitive": digest(value, salt)}
    if isinstance(value, Redacted):
        return {"sensitive": value.digest}
    if isinstance(value, Mapping):
        return {k: to_document(v, salt) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_document(v, salt) for v in value]
    return value


def from_document(value: Any) -> Any:
    """The inverse of `to_document`: `{"sensitive": DIGEST}` becomes `Redacted(DIGEST)`."""
    if isinstance(value, Mapping):
        if len(value) == 1 and isinstance(value.get("sensitive"), str):
            return Redacted(value["sensitive"])
        return {k: from_document(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_document(v) for v in value]
    return value


def resolve(value: Any, known: Mapping[str, Sensitive]) -> Any:
    """`value` with each `Redacted` replaced by the known value of that digest; KeyError (the
    digest) when one is not known."""
    if isinstance(value, Redacted):
        return known[value.digest]
    if isinstance(value, Mapping):
        return {k: resolve(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, known) for v in value]
    return value


# ---- free text: the values to mask in everything printed --------------------------------------

_REGISTERED: set[str] = set()
_LOCK = threading.Lock()


def register(values: Iterable[str]) -> None:
    """Mask these values (and their JSON-escaped forms) in everything `scrub` sees."""
    with _LOCK:
        for value in values:
            text = str.__str__(value)
            if len(text) >= SCRUB_MIN:
                _REGISTERED.add(text)
                _REGISTERED.add(json.dumps(text, ensure_ascii=False)[1:-1])
                _REGISTERED.add(json.dumps(text)[1:-1])


def scrub(text: str) -> str:
    """`text` with every registered value replaced by `(sensitive value)`, longest first."""
    if not _REGISTERED or not text:
        return text
    with _LOCK:
        values = sorted(_REGISTERED, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, SHOWN)
    return text


class ScrubbingStream:
    """A text stream that scrubs what passes through it, a line at a time (a value split
    across two writes of one line is still found); everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        if not _REGISTERED and not self._pending:
            return self._stream.write(text)
        data = self._pending + text
        cut = data.rfind("\n") + 1
        self._pending = data[cut:]
        if cut:
            self._stream.write(scrub(data[:cut]))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._stream.write(scrub(pending))
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
