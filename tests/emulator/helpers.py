"""Small helpers for the conformance suite."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.errors import HttpError


def api_error(call: Callable[[], Any], code: int, status: str | None = None) -> dict[str, Any]:
    """Run `call`, expect an HttpError with `code` (and canonical `status`); return its error."""
    with pytest.raises(HttpError) as info:
        call()
    assert info.value.status_code == code, info.value.content
    body = json.loads(info.value.content)
    error = body["error"]
    if status is not None:
        assert isinstance(error, dict) and error["status"] == status, body
    return error


def predict_error(call: Callable[[], Any]) -> str:
    """Run a predict call that fails like the real service: HTTP 400 with {"error": "<text>"}."""
    with pytest.raises(HttpError) as info:
        call()
    assert info.value.status_code == 400, info.value.content
    body = json.loads(info.value.content)
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    return body["error"]
