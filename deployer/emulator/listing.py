"""Pagination tokens and the `filter` expressions of list calls."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from deployer.emulator.apierrors import invalid

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


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


def paginate(
    rows: list[dict[str, Any]],
    query: dict[str, str],
    key: str,
    order: Callable[[dict[str, Any]], str] = lambda row: str(row["name"]),
) -> dict[str, Any]:
    """One page of `rows` (already sorted by `order`) matching the query's `filter`; the page
    token is the `order` key of the last row shown, so pages stay stable under inserts."""
    size = page_size(query.get("pageSize", query.get("page_size")))
    after = decode_token(query.get("pageToken", query.get("page_token")))
    matches = parse_filter(query.get("filter"))
    selected = [r for r in rows if order(r) > after and matches(r)]
    page = selected[:size]
    out: dict[str, Any] = {}
    if page:
        out[key] = page
    if len(selected) > size:
        out["nextPageToken"] = encode_token(order(page[-1]))
    return out


def _lookup(obj: Any, path: str) -> Any:
    from deployer.emulator.discovery import camel

    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        # map keys (labels) are taken as written; field names in snake_case too (display_name)
        obj = obj.get(part, obj.get(camel(part)))
    return obj


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


_FILTER_TERM = re.compile(
    r"\s*(?:(AND)\b|(NOT\s+|-)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*(!=|=|:)\s*"
    r"(\"[^\"]*\"|'[^']*'|[^\s\"']+))\s*"
)


def parse_filter(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for `filter`: terms like `labels.team=vision`, `labels.owner:*`,
    `state=READY`, joined with AND (or spaces), each optionally negated with NOT or `-`."""
    if not text or not text.strip():
        return lambda _obj: True
    checks: list[Callable[[dict[str, Any]], bool]] = []
    position = 0
    while position < len(text):
        match = _FILTER_TERM.match(text, position)
        if match is None or match.end() == position:
            raise invalid(
                f"Invalid filter {text!r} at position {position}; use terms like "
                "labels.KEY=VALUE or labels.KEY:* joined with AND"
            )
        position = match.end()
        keyword, negate, field, op, raw = match.groups()
        if keyword:
            continue
        checks.append(_term(field, op, _unquote(raw), bool(negate)))
    return lambda obj: all(check(obj) for check in checks)


def _term(field: str, op: str, value: str, negate: bool) -> Callable[[dict[str, Any]], bool]:
    def check(obj: dict[str, Any]) -> bool:
        found = _lookup(obj, field)
        if op == ":" and value == "*":
            result = found is not None
        elif op == ":" and isinstance(found, dict):
            result = value in found  # `labels:KEY`
        else:
            shown = "" if found is None else str(found)
            if isinstance(found, bool):
                shown = shown.lower()
            result = shown != value if op == "!=" else shown == value
        return not result if negate else result

    return check
