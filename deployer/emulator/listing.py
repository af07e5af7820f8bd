"""Pagination tokens and the `filter` expressions of list calls."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from deployer.emulator.apierrors import invalid

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_TERM = re.compile(r"^(NOT\s+|-)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=|!=|:)\s*(.+)$")


def page_size(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise invalid(f"Invalid value for pageSize: {raw!r}") from None
    if size < 0:
        raise invalid("pageSize must not be negative")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(last_name: str) -> str:
    return base64.urlsafe_b64encode(last_name.encode()).decode()


def decode_token(token: str | None) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise invalid(f"Invalid page token {token!r}") from None


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_filter(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for `filter`: terms like `labels.team=vision`, `labels.owner:*`,
    `state=READY`, joined with AND (or spaces), each optionally negated with NOT or `-`."""
    if not text or not text.strip():
        return lambda _obj: True
    terms = [t for t in re.split(r"\s+AND\s+", text.strip()) if t.strip()]
    expanded: list[str] = []
    for term in terms:
        # "a=b c=d" (implicit AND) unless the value is quoted
        expanded.extend(
            re.findall(r"(?:NOT\s+)?\S+?\s*(?:!=|=|:)\s*(?:\"[^\"]*\"|'[^']*'|\S+)", term)
        )
        if not expanded:
            raise invalid(f"Invalid filter {text!r}")
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for term in expanded:
        match = _TERM.match(term.strip())
        if not match:
            raise invalid(
                f"Invalid filter term {term!r}; use e.g. labels.KEY=VALUE or labels.KEY:*"
            )
        negate, field, op, raw = match.groups()
        value = _unquote(raw)

        def check(
            obj: dict[str, Any], field: str = field, op: str = op, value: str = value
        ) -> bool:
            found = _lookup(obj, field)
            if op == ":" and value == "*":
                return found is not None
            text_value = (
                ""
                if found is None
                else str(found).lower()
                if isinstance(found, bool)
                else str(found)
            )
            if op == "!=":
                return text_value != value
            return text_value == value

        checks.append((lambda c: lambda o: not c(o))(check) if negate else check)
    return lambda obj: all(c(obj) for c in checks)
