"""Issue 22: the README's plan and PR-comment examples are the renders the tests hold, not
hand-written text that drifts from what deployer prints."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKED = re.compile(
    r"<!-- golden: (?P<path>\S+) -->\n(?P<fence>`{3,})\w*\n(?P<body>.*?)\n(?P=fence)\n", re.S
)


def test_every_example_marked_in_the_readme_is_its_golden_render() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = list(MARKED.finditer(readme))
    assert len(found) >= 4
    for match in found:
        golden = (ROOT / match["path"]).read_text(encoding="utf-8").rstrip("\n")
        assert match["body"] == golden, match["path"]
