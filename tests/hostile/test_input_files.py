"""Issue 19 item 9 (and 12's `1e400`): JSON files a user hands deployer besides manifests.

Smoke-test instance and expect files, `predict --instances @FILE` (and FILE.jsonl), the plans
`show-plans` renders and the plan `apply` executes all go through one reader
(deployer.core.jsonfile) with the manifests' guards. Each hostile file is one line naming it,
exit 1, in seconds: nothing blocks on a FIFO or grows on /dev/zero."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cli.helpers import Repo, model, version

from deployer.core import jsonfile
from hostile.helpers import assert_one_line_error


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _sparse(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(jsonfile.MAX_BYTES + 1)


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (_fifo, "a FIFO, not a regular file"),
    "dev-zero": (_zero, "a character device, not a regular file"),
    "too-big": (_sparse, "byte limit"),
    "binary": (_bytes(bytes(range(256)) * 4), "not UTF-8 text"),
    "deep": (_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n"), "nested deeper than 64 levels"),
    "infinite": (_bytes(b"[[1e400, 2]]\n"), "1e400 is out of range for a number"),
    "nan": (_bytes(b"[[NaN, 2]]\n"), "NaN is not a JSON number"),
    "many-digits": (_bytes(b"[[" + b"7" * 5000 + b"]]\n"), "too many digits"),
}
TIMEOUT = 30.0
"""Every case ends in well under a second; a FIFO that blocks would hit this instead."""


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_smoke_test_files_are_one_positioned_line(repo: Repo, case: str) -> None:
    make, needle = HOSTILE[case]
    smoke = {"instances": "smoke.jsonl"}
    repo.write([model("m", [version("v1", smoke_test=smoke)], regions=["us-central1"])])
    make(repo.manifests / "models" / "smoke.jsonl")
    result = repo.run("validate", "manifests", timeout=TIMEOUT)
    line = assert_one_line_error(result, "smoke_test instances file", needle)
    assert line.startswith("manifests/models/m.yaml:"), line


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("form", ["@instances.json", "instances.jsonl"])
def test_predict_instance_files_are_one_line(repo: Repo, case: str, form: str) -> None:
    make, needle = HOSTILE[case]
    repo.write([model("m", [version("v1")], regions=["us-central1"])])
    name = form.removeprefix("@")
    make(repo.root / name)
    result = repo.run("predict", "m", "--instances", form, timeout=TIMEOUT)
    assert_one_line_error(result, f"--instances {name}", needle)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_show_plans_inputs_are_one_line(repo: Repo, case: str) -> None:
    make, needle = HOSTILE[case]
    repo.root.mkdir(parents=True)
    make(repo.root / "plan.json")
    result = repo.run("show-plans", "plan.json", timeout=TIMEOUT)
    assert_one_line_error(result, "plan.json", needle)


@pytest.mark.parametrize("case", sorted(set(HOSTILE) - {"fifo", "dev-zero"}))
def test_saved_plans_to_apply_are_one_line(repo: Repo, case: str) -> None:
    """(A FIFO or a device is not a file, so `apply` reads it as a manifests path: the
    manifest loader refuses it in one line, tests/hostile/test_yaml_shapes.py.)"""
    make, needle = HOSTILE[case]
    repo.write([])
    make(repo.root / "plan.json")
    result = repo.run("apply", "plan.json", timeout=TIMEOUT)
    assert_one_line_error(result, "plan.json", "not a valid saved plan", needle)


def test_inline_instances_have_the_same_limits(repo: Repo) -> None:
    repo.write([model("m", [version("v1")], regions=["us-central1"])])
    for text, needle in (
        ("[[1e400, 1]]", "1e400 is out of range"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ("[[Infinity]]", "Infinity is not a JSON number"),
    ):
        result = repo.run("predict", "m", "--instances", text, timeout=TIMEOUT)
        assert_one_line_error(result, "--instances", needle)


def test_nesting_is_counted_outside_strings_only() -> None:
    assert jsonfile.nesting('{"a": "[[[[[[", "b": [[1]]}') == 3
    assert jsonfile.nesting('"\\"[[[') == 0  # an unterminated string runs to the end
    assert jsonfile.parse("[" * 64 + "]" * 64) is not None


def test_a_quote_heavy_text_is_scanned_in_linear_time() -> None:
    """`"\\"\\"…` made a string pattern rescan the rest of the text from every quote."""
    text = '"\\"' * 2_000_000
    with pytest.raises(jsonfile.InputError, match="not valid JSON"):
        jsonfile.parse(text, "x")


PRICES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "fifo": (_fifo, "manifests/deployer.yaml:", "names manifests/prices.yaml, not a file"),
    "dev-zero": (_zero, "manifests/deployer.yaml:", "names manifests/prices.yaml, not a file"),
    "directory": (lambda p: p.mkdir(), "manifests/deployer.yaml:", "not a file"),
    "too-big": (
        lambda p: p.write_bytes(b"# " + b"x" * (1 << 20) + b"\n"),
        "manifests/prices.yaml:",
        "over the 1,048,576-byte limit",
    ),
    "binary": (_bytes(bytes(range(256)) * 4), "manifests/prices.yaml:", "not UTF-8 text"),
    "deep": (_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n"), "manifests/prices.yaml:", "YAML"),
    "not-a-mapping": (_bytes(b"- 1\n"), "manifests/prices.yaml:1:1:", "a prices file is a mapping"),
}


@pytest.mark.parametrize("case", sorted(PRICES))
def test_a_hostile_prices_file_is_one_positioned_line(repo: Repo, case: str) -> None:
    """Issue 23: deployer.yaml's `prices:` file is read like a manifest."""
    make, where, needle = PRICES[case]
    repo.write([model("m", [version("v1")], regions=["us-central1"])], prices="prices.yaml")
    make(repo.manifests / "prices.yaml")
    result = repo.run("validate", "manifests", timeout=TIMEOUT)
    line = assert_one_line_error(result, needle)
    assert line.startswith(where), line
