"""The layers hold (docs/architecture.md): the import contracts in pyproject.toml, checked by
`lint-imports` in scripts/test.sh, plus what imports alone cannot show."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from deployer.providers import registry

PACKAGE = Path(__file__).resolve().parents[1] / "deployer"
NEUTRAL = ("plan", "apply", "render", "accounting", "artifacts")
"""Packages that read what a backend declares and never name one."""


def _sources(*packages: str) -> list[Path]:
    roots = [PACKAGE / p for p in packages] if packages else [PACKAGE]
    return sorted(p for root in roots for p in root.rglob("*.py"))


def test_the_application_names_no_backend() -> None:
    """doctor, metering and pricing ask the provider and the registry, never a backend by name."""
    names = {n.lower() for n in registry.backends()}
    found = {
        name: sorted(names & _code_words(PACKAGE / name))
        for name in ("doctor.py", "metering.py", "pricing.py", "workflow.py", "adopt.py")
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_no_module_imports_a_private_name_of_another() -> None:
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deployer"):
                found += [
                    f"{path.relative_to(PACKAGE.parent)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert found == []


def _code_words(path: Path) -> set[str]:
    """Names and string contents of a module, without its comments and docstrings."""
    words: set[str] = set()
    tree = ast.parse(path.read_text())
    docstrings = {  # a string standing alone as a statement: a docstring of its module, class,
        id(node.value)  # function or attribute
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                words.update(node.value.lower().replace("-", " ").replace("_", " ").split())
        elif isinstance(node, ast.Name):
            words.update(node.id.lower().split("_"))
        elif isinstance(node, ast.Attribute):
            words.update(node.attr.lower().split("_"))
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.NAME:
            words.update(tok.string.lower().split("_"))
    return words


def test_the_neutral_packages_name_no_backend() -> None:
    names = {n.lower() for n in registry.backends()}
    named = {
        str(path.relative_to(PACKAGE.parent)): sorted(names & _code_words(path))
        for path in _sources(*NEUTRAL)
    }
    assert {k: v for k, v in named.items() if v} == {}


def test_every_backend_is_found_and_complete() -> None:
    """A backend is a folder under providers/ declaring BACKEND; one of them is the default."""
    backends = registry.backends()
    assert {"mlengine", "vertex"} <= set(backends)
    assert [b.name for b in backends.values() if b.default] == [registry.default().name]
    for backend in backends.values():
        model = backend.resources
        assert {k.name for k in model.kinds} >= {"model", "version"}, backend.name
        assert backend.locations and backend.title
