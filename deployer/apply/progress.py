"""Progress of an apply: a live view on a terminal, timestamped lines in CI logs."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, Any

from rich.markup import escape

from deployer.apply.executor import Outcome, Status
from deployer.plan.model import Action

_VERBS = {
    "create": "Creating",
    "update": "Updating",
    "replace": "Replacing",
    "delete": "Deleting",
    "set-default": "Setting default",
    "set-traffic": "Routing traffic",
    "wait": "Waiting for",
}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PlainProgress:
    """One line per event, safe to interleave from worker threads."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            print(f"{_stamp()} {text}", file=self.stream, flush=True)

    def started(self, action: Action) -> None:
        self.line(f"{action.address}: {_VERBS[action.kind.value]}...")

    def finished(self, outcome: Outcome) -> None:
        a = outcome.action
        if outcome.status is Status.DONE:
            self.line(f"{a.address}: {a.kind.value} complete after {outcome.seconds:.1f}s")
        elif outcome.status is Status.FAILED:
            self.line(f"{a.address}: {a.kind.value} FAILED: {outcome.error}")
        else:
            self.line(f"{a.address}: {a.kind.value} {outcome.error}")

    def note(self, text: str) -> None:
        self.line(text)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LiveProgress:
    """A rich live table of actions in flight with elapsed times, and a log of finished ones."""

    def __init__(self, console: Any) -> None:
        from rich.live import Live

        self.console = console
        self._lock = threading.Lock()
        self._running: dict[str, tuple[Action, float]] = {}
        self._live = Live(self._render(), console=console, refresh_per_second=4, transient=True)
        self._live.get_renderable = self._render  # type: ignore[method-assign]

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        with self._lock:
            running = sorted(self._running.values(), key=lambda item: item[1])
        for action, started in running:
            table.add_row(
                "[cyan]⠿[/]",
                f"{_VERBS[action.kind.value]} {action.address}",
                f"[dim]{now - started:.0f}s[/]",
            )
        return table

    def started(self, action: Action) -> None:
        with self._lock:
            self._running[action.id] = (action, time.monotonic())

    def finished(self, outcome: Outcome) -> None:
        a = outcome.action
        with self._lock:
            self._running.pop(a.id, None)
        if outcome.status is Status.DONE:
            self.console.print(
                f"[green]✓[/] {a.address}: {a.kind.value} complete after {outcome.seconds:.1f}s"
            )
        elif outcome.status is Status.FAILED:
            self.console.print(
                f"[red]✗[/] {a.address}: {a.kind.value} failed: {escape(outcome.error)}"
            )
        else:
            self.console.print(f"[yellow]-[/] {a.address}: {a.kind.value} {escape(outcome.error)}")

    def note(self, text: str) -> None:
        self.console.print(escape(text))

    def __enter__(self) -> LiveProgress:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()
