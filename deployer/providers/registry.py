"""The backends deployer knows: every package under `deployer/providers/` that declares a
`BACKEND` (a `deployer.core.backend.Backend`). Adding a backend is adding such a folder."""

from __future__ import annotations

import functools
import importlib
import pkgutil

import deployer.providers
from deployer.core.backend import Backend
from deployer.core.errors import UsageError


@functools.cache
def backends() -> dict[str, Backend]:
    found: dict[str, Backend] = {}
    for module in pkgutil.iter_modules(deployer.providers.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{deployer.providers.__name__}.{module.name}")
        backend = getattr(package, "BACKEND", None)
        if isinstance(backend, Backend):
            found[backend.name] = backend
    return dict(sorted(found.items()))


def backend(name: str) -> Backend:
    """The backend called `name`; UsageError naming the known ones otherwise."""
    found = backends().get(name)
    if found is None:
        raise UsageError(f"unknown backend {name!r} (known: {', '.join(backends())})")
    return found


def default() -> Backend:
    return next(b for b in backends().values() if b.default)
