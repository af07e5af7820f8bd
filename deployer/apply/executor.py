"""Runs a Plan's dependency graph against a provider with bounded concurrency.

An action starts when everything it depends on has succeeded and everything it is ordered after
has finished (successfully or not); an action whose dependency failed is skipped, while
independent branches keep going. Version create/delete operations are further
limited per project (the service allows 10 at once). Every write is idempotent on re-run (create
after an interrupted create, delete of something already gone), so applying again after any
failure or interruption converges.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from deployer.core.model import ResourceKind
from deployer.core.ownership import spec_hash
from deployer.core.plan import Action, ActionKind, Plan
from deployer.core.provider import Provider
from deployer.core.resources import DesiredResource, ObservedResource, ResourceKey


class Status(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    action: Action
    status: Status
    seconds: float = 0.0
    error: str = ""
    blocked_by: Action | None = None
    """For a skipped action: the dependency that did not complete."""


class Events(Protocol):
    def started(self, action: Action) -> None: ...

    def finished(self, outcome: Outcome) -> None: ...


class Stop:
    """Shared between the executor and whoever interrupts it (the CLI's signal handler):
    once `requested`, no new action starts; `in_flight` names the actions still running."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._guard = threading.Lock()
        self._running: dict[str, str] = {}

    def request(self) -> None:
        self.requested.set()

    def began(self, action: Action) -> None:
        with self._guard:
            self._running[action.id] = action.address

    def ended(self, action: Action) -> None:
        with self._guard:
            self._running.pop(action.id, None)

    @property
    def in_flight(self) -> list[str]:
        with self._guard:
            return sorted(self._running.values())


INTERRUPTED = "not started: interrupted"


Prepare = Callable[[Action], None]
"""Runs before an action's write (e.g. uploads its artifact); raising fails the action."""


_LIMITED = (
    ActionKind.CREATE,
    ActionKind.DELETE_THEN_CREATE,
    ActionKind.CREATE_THEN_DELETE,
    ActionKind.DELETE,
)


def _spec(action: Action) -> str:
    return spec_hash(DesiredResource(action.key, action.desired or {}, action.labels or {}))


def _kind(provider: Provider, action: Action) -> ResourceKind | None:
    return provider.model.get(action.key.kind)


Detail = Callable[[str], None]
"""Reports a phase of a running action (shown next to it in the live view)."""


def _quiet(_: str) -> None:
    return None


def perform(provider: Provider, action: Action, detail: Detail = _quiet) -> ObservedResource | None:
    """One action's calls, in the order the service needs them: from its kind alone.

    A create-then-delete only creates here (and returns what it created or found): the plan
    holds a separate delete of the superseded instance, ordered after whatever must move off it
    first.
    """
    key, fields, labels = action.key, action.desired or {}, action.labels or {}
    kind = action.kind
    if kind is ActionKind.WAIT:
        provider.wait_settled(key)
    elif kind is ActionKind.REROUTE:
        if action.route is None:
            raise ValueError(f"{action.id}: a reroute without its routing")
        provider.reroute(key, action.route.path, fields.get(action.route.path))
    elif kind is ActionKind.DELETE:
        provider.delete(key)
    elif kind is ActionKind.UPDATE:
        mask = sorted({c.mask for c in action.changes if c.mask})
        provider.update(key, mask, fields, labels, _spec(action))
    elif kind is ActionKind.DELETE_THEN_CREATE:
        detail("deleting the old one (unavailable until the new one is ready)")
        provider.delete(key)
        detail("creating the new one")
        provider.create(key, fields, labels, _spec(action))
    elif kind is ActionKind.CREATE_THEN_DELETE:
        detail("creating the new one; the old one goes once nothing uses it")
        return provider.create(key, fields, labels, _spec(action))
    elif kind is ActionKind.CREATE:
        provider.create(key, fields, labels, _spec(action))
    else:  # pragma: no cover - exhaustive over ActionKind
        raise ValueError(f"unknown action kind {kind}")
    return None


def execute(
    plan: Plan,
    provider: Provider,
    events: Events,
    parallelism: int | None = None,
    prepare: Prepare | None = None,
    stop: Stop | None = None,
) -> list[Outcome]:
    """Run every action of `plan`; returns one outcome per action, in plan order.

    Once `stop` is requested no further action starts (each is reported skipped, "not
    started: interrupted") and the actions in flight are let finish. An exception raised in
    this thread (a second Ctrl-C) leaves at once without waiting for them."""
    stop = stop or Stop()
    by_id = {a.id: a for a in plan.actions}
    outcomes: dict[str, Outcome] = {}
    quotas = {
        kind.name: threading.BoundedSemaphore(kind.concurrent)
        for kind in provider.model.kinds
        if kind.concurrent
    }
    lanes: dict[object, threading.Lock] = {}
    lanes_guard = threading.Lock()
    kept: set[tuple[ResourceKey, str]] = set()
    """Instances a create-then-delete found already as declared and took as the new one (the
    live state changed since the plan, e.g. another action's write): never deleted."""

    def lane(action: Action) -> threading.Lock | None:
        """The lock serializing this action with its model's other serial writes, if any."""
        kind = _kind(provider, action)
        if kind is None or not kind.serial or action.kind is ActionKind.WAIT:
            return None
        with lanes_guard:
            return lanes.setdefault(action.key.model_key, threading.Lock())

    pending = list(plan.actions)
    running: dict[Future[Outcome], Action] = {}

    def tell(action: Action, text: str) -> None:
        detail = getattr(events, "detail", None)
        if detail is not None:
            detail(action, text)

    def run(action: Action) -> Outcome:
        if stop.requested.is_set():  # queued in the pool when the stop came: never start it
            outcome = Outcome(action, Status.SKIPPED, error=INTERRUPTED)
            events.finished(outcome)
            return outcome
        events.started(action)
        started = time.monotonic()
        try:
            with contextlib.ExitStack() as held:
                serial = lane(action)
                if serial is not None:
                    held.enter_context(serial)  # a smoke test's canary writes the endpoint too
                if prepare is not None:
                    prepare(action)
                quota = quotas.get(action.key.kind)
                if quota is not None and action.kind in _LIMITED:
                    held.enter_context(quota)
                instance = (action.key.current, action.key.instance)
                if action.kind is ActionKind.DELETE and action.key.instance and instance in kept:
                    tell(action, "kept: its replacement found it as declared and took it")
                else:
                    made = perform(provider, action, lambda text: tell(action, text))
                    if action.kind is ActionKind.CREATE_THEN_DELETE and made and made.ident:
                        with lanes_guard:
                            kept.add((action.key.current, made.ident))
            outcome = Outcome(action, Status.DONE, time.monotonic() - started)
        except Exception as exc:  # every failure is reported at the end, none stops the rest
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            outcome = Outcome(action, Status.FAILED, time.monotonic() - started, message)
        events.finished(outcome)
        return outcome

    workers = parallelism or provider.apply_parallelism
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="apply")

    def submit(action: Action) -> None:
        stop.began(action)
        future = pool.submit(run, action)
        future.add_done_callback(lambda _: stop.ended(action))
        running[future] = action

    finished = False
    try:
        while pending or running:
            if stop.requested.is_set():
                for action in pending:
                    outcome = Outcome(action, Status.SKIPPED, error=INTERRUPTED)
                    outcomes[action.id] = outcome
                    events.finished(outcome)
                pending = []
            still_pending = []
            for action in pending:
                deps = [d for d in action.depends_on if d in by_id]
                after = [d for d in action.ordered_after if d in by_id]
                failed = [d for d in deps if d in outcomes and outcomes[d].status != Status.DONE]
                if failed:
                    blocker = by_id[failed[0]]
                    outcome = Outcome(
                        action,
                        Status.SKIPPED,
                        error=f"skipped: {blocker.address} failed",
                        blocked_by=blocker,
                    )
                    outcomes[action.id] = outcome
                    events.finished(outcome)
                elif all(d in outcomes for d in (*deps, *after)):
                    submit(action)
                else:
                    still_pending.append(action)
            if len(still_pending) == len(pending) and not running:
                for action in still_pending:  # a cycle: never happens with plans from diff()
                    outcomes[action.id] = Outcome(
                        action, Status.SKIPPED, error="skipped: dependency cycle"
                    )
                break
            pending = still_pending
            if not running:
                continue
            # A bounded wait, so a stop request is seen while long operations are in flight.
            done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                action = running.pop(future)
                outcomes[action.id] = future.result()
        finished = True
    finally:
        # After an exception (a second Ctrl-C) do not wait for the threads in flight.
        pool.shutdown(wait=finished, cancel_futures=True)
    return [outcomes[a.id] for a in plan.actions]
