"""Assertions shared by the hostile-input tests."""

from __future__ import annotations

import re
from typing import Any

MANIFEST_SUMMARY = re.compile(r"^\d+ errors? in manifests$")
"""Manifest errors end with this count line (FILE:LINE:COL lines first): not a second error."""


def assert_one_line_error(result: Any, *needles: str, code: int = 1) -> str:
    """`result` exited `code` with exactly one line on stderr, no traceback, naming `needles`."""
    assert result.returncode == code, str(result)
    assert "Traceback" not in result.stderr + result.stdout, str(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if len(lines) == 2 and MANIFEST_SUMMARY.match(lines[1]):
        lines = lines[:1]
    assert len(lines) == 1, str(result)
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]
