"""Smoke tests: a version is sent its manifest's `smoke_test` instances before it becomes the
default (or gets traffic); a wrong or failed answer fails that action, so the default and the
traffic stay where they were. Backend-neutral: a provider that can call one version
(`CallsVersions`) is asked before a single-target reroute; one that routes by a split
(`Canaries`) judges each version gaining traffic behind a small share first."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.core.errors import DeployerError
from deployer.core.plan import Action, ActionKind, Plan
from deployer.core.provider import CallsVersions, Canaries, Provider
from deployer.core.stack import Stack


class SmokeTestFailed(DeployerError):
    pass


@dataclass(frozen=True)
class SmokeTest:
    source: str
    """The manifest's instances file, named in messages."""
    instances: list[Any]
    expect: list[Any] | None
    tolerance: float
    digest: str = ""
    """Of the files' text and the tolerance: what a plan pins."""


Tests = dict[tuple[str, str], SmokeTest]
"""(model, version as the manifest or the backend names it) -> its smoke test."""


def pin(stack: Stack, plan: Plan) -> Plan:
    """The plan with the smoke tests of the models whose serving it changes pinned to it, as
    artifacts are: each file's path (relative to the working directory, like a saved plan's
    artifacts) and a digest of what the test is. A saved plan then gates exactly as a direct
    apply does, and an input edited after the plan makes it stale. The manifests directory is
    recorded too (where `apply PLAN.json` finds the plan's sensitive values)."""
    import dataclasses

    promoted = {a.key.model for a in plan.actions if a.reroutes}
    pinned: dict[str, dict[str, Any]] = {}
    for model in stack.models:
        if model.spec.name not in promoted:
            continue
        for version in model.spec.versions:
            smoke = version.smoke_test
            if smoke is None:
                continue
            base = model.file.parent
            instances = _portable(base / smoke.instances)
            expect = _portable(base / smoke.expect) if smoke.expect else None
            test = _read(instances, expect, smoke.tolerance)
            pinned[f"{model.spec.name}/{version.name}"] = {
                "instances": instances,
                "expect": expect,
                "tolerance": smoke.tolerance,
                "digest": test.digest,
            }
    return dataclasses.replace(plan, smoke_tests=pinned, manifests=_portable(stack.root))


def pinned_tests(plan: Plan, key_name: Callable[[str], str] = str) -> Tests:
    """The plan's pinned smoke tests, read again; StalePlanError when a file changed or is gone
    since the plan was made (nothing has been changed yet when this is called). `key_name` is
    how the backend names a manifest version in its keys (a registry alias)."""
    from deployer.apply.run import StalePlanError
    from deployer.core.jsonfile import InputError

    tests: Tests = {}
    for name, pin_ in sorted(plan.smoke_tests.items()):
        model, _, version = name.partition("/")
        try:
            test = _read(pin_["instances"], pin_.get("expect"), float(pin_["tolerance"]))
        except InputError as exc:
            raise StalePlanError(
                f"saved plan is stale: smoke test of {name}: {exc}; run `deployer plan --out "
                "FILE` again"
            ) from None
        if test.digest != pin_["digest"]:
            changed = pin_["instances"] + (f" or {pin_['expect']}" if pin_.get("expect") else "")
            raise StalePlanError(
                f"saved plan is stale: smoke test file {changed} of {name} changed since the "
                "plan was created; run `deployer plan --out FILE` again"
            )
        # Plans name a version by its manifest name, or as the backend keys it.
        tests[(model, version)] = test
        tests.setdefault((model, key_name(version)), test)
    return tests


def _portable(path: Path) -> str:
    return os.path.relpath(os.path.realpath(path))


def _read(instances: str, expect: str | None, tolerance: float) -> SmokeTest:
    from deployer.core.jsonfile import parse_lines, read_text

    texts = [read_text(Path(instances))] + ([read_text(Path(expect))] if expect else [])
    digest = hashlib.sha256(
        json.dumps([texts, repr(tolerance)], ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    return SmokeTest(
        instances,
        parse_lines(texts[0], instances),
        parse_lines(texts[1], expect) if expect else None,
        tolerance,
        digest,
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def difference(got: Any, want: Any, tolerance: float, where: str = "") -> str | None:
    """The first place where `got` differs from `want`, or None when they agree."""
    if _number(got) and _number(want):
        gap = abs(float(got) - float(want))
        if math.isnan(gap) or gap > tolerance:
            return (
                f"{where or 'value'} is {got}, expected {want} (off by {gap:.3g} > {tolerance:g})"
            )
        return None
    if isinstance(got, list) and isinstance(want, list):
        if len(got) != len(want):
            return f"{where or 'value'} has {len(got)} values, expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            found = difference(g, w, tolerance, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(got, dict) and isinstance(want, dict):
        if set(got) != set(want):
            return f"{where or 'value'} has keys {sorted(got)}, expected {sorted(want)}"
        for key in sorted(want):
            found = difference(got[key], want[key], tolerance, f"{where}.{key}")
            if found:
                return found
        return None
    if got != want:
        return f"{where or 'value'} is {got!r}, expected {want!r}"
    return None


def run_smoke_test(provider: Provider, action: Action, test: SmokeTest) -> str:
    """Send the instances to the version; SmokeTestFailed with the difference, else a note."""
    key = action.key
    if not isinstance(provider, CallsVersions):
        raise SmokeTestFailed(
            f"smoke test ({test.source}): {provider.name} cannot call {key.address}"
        )
    try:
        predictions = list(provider.smoke(key, test.instances))
    except Exception as exc:
        raise SmokeTestFailed(f"smoke test ({test.source}) failed: {_first(exc)}") from None
    judge(test, predictions)
    return f"Smoke test of {key.address} passed ({len(predictions)} instances)"


def _first(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def judge(test: SmokeTest, predictions: list[Any]) -> None:
    """SmokeTestFailed naming the first difference from the expected answers."""
    if len(predictions) != len(test.instances):
        raise SmokeTestFailed(
            f"smoke test ({test.source}) failed: {len(predictions)} predictions for "
            f"{len(test.instances)} instances"
        )
    if test.expect is not None:
        for i, (got, want) in enumerate(zip(predictions, test.expect, strict=True)):
            found = difference(got, want, test.tolerance, "prediction")
            if found:
                raise SmokeTestFailed(
                    f"smoke test ({test.source}) failed on instance {i + 1}: {found}"
                )


def run_canary(provider: Provider, action: Action, name: str, test: SmokeTest) -> str:
    """Where no single version can be called (a shared endpoint), route it a small share and
    judge the answers it gives; the provider restores the split when the test fails."""
    if not isinstance(provider, Canaries):
        raise SmokeTestFailed(f"smoke test ({test.source}): {provider.name} cannot run a canary")
    try:
        provider.canary(action.key, name, test.instances, lambda got: judge(test, got))
    except SmokeTestFailed as exc:
        raise SmokeTestFailed(f"{exc}; the traffic stays where it was") from None
    except Exception as exc:
        raise SmokeTestFailed(
            f"smoke test ({test.source}) of {name} failed: {_first(exc)}; "
            "the traffic stays where it was"
        ) from None
    return f"Smoke test of {action.key.model}/{name} passed behind a canary share"


class SmokeGate:
    """A `Prepare` hook: runs a version's smoke test before the action that promotes it."""

    def __init__(
        self,
        provider: Provider,
        tests: Mapping[tuple[str, str], SmokeTest],
        note: Callable[[str], None],
        plan: Plan | None = None,
    ) -> None:
        self.provider = provider
        self.tests = tests
        self.note = note
        actions = plan.actions if plan else ()
        self.fresh = {
            (a.key.model_key, a.key.version)
            for a in actions
            if a.key.version is not None and (a.kind is ActionKind.CREATE or a.kind.replaces)
        }
        self.routed = {a.key.model_key for a in actions if _split(a)}
        """Models whose promotion is a traffic move: that move is gated, not the default's."""

    def __call__(self, action: Action) -> None:
        key = action.key
        if _split(action):
            self.traffic(action)
            return
        route = action.route
        if route is None or not route.serves or key.version is None:
            return
        if key.model_key in self.routed:
            return
        test = self.tests.get((key.model, key.version))
        if test is not None:
            self.note(run_smoke_test(self.provider, action, test))

    def traffic(self, action: Action) -> None:
        """Each version gaining traffic (a new deployment, or a larger share) is tested first."""
        path = action.route.path if action.route is not None else ""
        after = dict((action.desired or {}).get(path) or {})
        change = next((c for c in action.changes if c.path == path), None)
        before = dict(change.before or {}) if change is not None else {}
        for name in sorted(after):
            gains = (action.key.model_key, name) in self.fresh or before.get(name, 0) < after[name]
            test = self.tests.get((action.key.model, name))
            if after[name] > 0 and gains and test is not None:
                self.note(run_canary(self.provider, action, name, test))


def _split(action: Action) -> bool:
    """A reroute of a weighted split that serves requests (a traffic change)."""
    return action.route is not None and action.route.split and action.route.serves
