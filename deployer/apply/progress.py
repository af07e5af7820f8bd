"""Progress of an apply: a live view on a terminal, timestamped lines in CI logs.

Both say where traffic went when a serving move finishes (before -> after), what an action is
waiting for once its upload is done, and how far the run is (`12 of 80 done`). The live view
never grows taller than the terminal: rows that do not fit are counted, not drawn, so nothing
stale is left in the scrollback when it redraws.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, Any

from rich.markup import escape

from deployer.apply.executor import Outcome, Status
from deployer.core.plan import Action, ActionKind, split_text

_VERBS = {
    ActionKind.CREATE: "Creating",
    ActionKind.UPDATE: "Updating",
    ActionKind.DELETE_THEN_CREATE: "Replacing",
    ActionKind.CREATE_THEN_DELETE: "Replacing",
    ActionKind.DELETE: "Deleting",
    ActionKind.WAIT: "Waiting for",
}


def describe(action: Action) -> str:
    """`Setting default us-central1/m/v2 (v1 -> v2)`: what starts, with a serving move's
    before -> after, so a log shows where traffic went without the plan beside it."""
    route = action.route
    if action.kind is not ActionKind.REROUTE or route is None:
        return f"{_VERBS.get(action.kind, action.kind.value)} {action.address}"
    verb = "Routing traffic" if route.split else "Setting default"
    if not action.changes:
        return f"{verb} {action.address}"
    change = action.changes[0]
    if route.split:
        if change.before == change.after:  # the same shares, onto replacements
            return f"{verb} {action.address} ({split_text(change.after)}, onto the new instances)"
        return (
            f"{verb} {action.address} ({split_text(change.before)} -> {split_text(change.after)})"
        )
    return f"{verb} {action.address} ({change.before or '(none)'} -> {change.after})"


def done_text(action: Action) -> str:
    """`set-traffic complete: v1 100 -> v2 100`: what finished, with where traffic went."""
    moved = describe(action)
    route = moved[moved.index("(") :] if action.reroutes and "(" in moved else ""
    return f"{action.kind_text()} complete{f' {route}' if route else ''}"


def _bytes(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def upload_text(done: int, total: int) -> str:
    """Upload progress; once every byte is up, that the service is now creating it (an upload
    is the start of a create, not all of it)."""
    share = 100 * done // total if total else 100
    text = f"uploading artifact: {_bytes(done)} of {_bytes(total)} ({share}%)"
    return text if done < total else f"{text}; waiting for the service to create it"


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
        verb, _, rest = describe(action).partition(f" {action.address}")
        self.line(f"{action.address}: {verb}{rest}...")

    def detail(self, action: Action, text: str) -> None:
        self.line(f"{action.address}: {text}")

    def finished(self, outcome: Outcome) -> None:
        a = outcome.action
        if outcome.status is Status.DONE:
            self.line(f"{a.address}: {done_text(a)} after {outcome.seconds:.1f}s")
        elif outcome.status is Status.FAILED:
            self.line(f"{a.address}: {a.kind_text()} FAILED: {outcome.error}")
        else:
            self.line(f"{a.address}: {a.kind_text()} {outcome.error}")

    def note(self, text: str) -> None:
        self.line(text)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LiveProgress:
    """A rich live table of actions in flight with elapsed times and an overall count, and a
    log of finished ones (with where traffic went)."""

    def __init__(self, console: Any, total: int = 0) -> None:
        from rich.live import Live

        self.console = console
        self.total = total
        self._lock = threading.Lock()
        self._running: dict[str, tuple[Action, float]] = {}
        self._details: dict[str, str] = {}
        self._done = self._failed = self._skipped = 0
        self._live = Live(self.view(), console=console, refresh_per_second=4, transient=True)
        self._live.get_renderable = self.view  # type: ignore[method-assign]

    def count_text(self) -> str:
        """`12 of 80 done, 3 running, 1 failed`."""
        with self._lock:
            done, failed, skipped = self._done, self._failed, self._skipped
            running = len(self._running)
        total = f" of {self.total}" if self.total else ""
        parts = [f"{done}{total} done", f"{running} running"]
        parts += [f"{failed} failed"] if failed else []
        parts += [f"{skipped} skipped"] if skipped else []
        return ", ".join(parts)

    def view(self) -> Any:
        """The live table: running actions oldest first, as many as the terminal holds."""
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        with self._lock:
            running = sorted(self._running.values(), key=lambda item: item[1])
            details = dict(self._details)
        room = max(1, self.console.size.height - 3)  # the count, a "more" line, the cursor
        shown = running if len(running) <= room else running[: room - 1]
        for action, started in shown:
            table.add_row(
                "[cyan]⠿[/]",
                escape(describe(action)),
                f"[dim]{now - started:.0f}s[/]",
                f"[dim]{escape(details.get(action.id, ''))}[/]",
            )
        if len(shown) < len(running):
            table.add_row("", f"[dim]… and {len(running) - len(shown)} more running[/]", "", "")
        table.add_row("", f"[bold]{escape(self.count_text())}[/]", "", "")
        return table

    def detail(self, action: Action, text: str) -> None:
        with self._lock:
            self._details[action.id] = text

    def started(self, action: Action) -> None:
        with self._lock:
            self._running[action.id] = (action, time.monotonic())

    def finished(self, outcome: Outcome) -> None:
        a = outcome.action
        with self._lock:
            self._running.pop(a.id, None)
            self._details.pop(a.id, None)
            if outcome.status is Status.DONE:
                self._done += 1
            elif outcome.status is Status.FAILED:
                self._failed += 1
            else:
                self._skipped += 1
        if outcome.status is Status.DONE:
            self.console.print(
                f"[green]✓[/] {escape(a.address)}: {escape(done_text(a))} "
                f"after {outcome.seconds:.1f}s"
            )
        elif outcome.status is Status.FAILED:
            self.console.print(
                f"[red]✗[/] {escape(a.address)}: {a.kind_text()} failed: {escape(outcome.error)}"
            )
        else:
            self.console.print(
                f"[yellow]-[/] {escape(a.address)}: {a.kind_text()} {escape(outcome.error)}"
            )

    def note(self, text: str) -> None:
        self.console.print(escape(text))

    def __enter__(self) -> LiveProgress:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()
