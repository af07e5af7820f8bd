"""The apply log says what a run does as it does it: a serving move's before -> after, a
replace's phases, and upload progress in bytes."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from deployer.apply.executor import Outcome, Status, perform
from deployer.apply.progress import LiveProgress, PlainProgress
from deployer.apply.run import Uploader
from deployer.core.plan import Action, ActionKind, FieldChange, Plan, Route, note
from deployer.core.resources import ResourceKey

V2 = ResourceKey("us-central1", "m", "v2")


def _lines(progress: PlainProgress) -> list[str]:
    assert isinstance(progress.stream, io.StringIO)
    return [line.split(" ", 1)[1] for line in progress.stream.getvalue().splitlines()]


def test_a_default_move_and_a_traffic_move_show_before_and_after() -> None:
    progress = PlainProgress(io.StringIO())
    progress.started(
        Action(
            "set-default:x",
            ActionKind.REROUTE,
            V2,
            note("moves"),
            changes=(FieldChange("defaultVersion", "v1", "v2"),),
            route=Route("defaultVersion", "default version"),
        )
    )
    endpoint = ResourceKey("us-central1", "m", part="endpoint")
    progress.started(
        Action(
            "set-traffic:x",
            ActionKind.REROUTE,
            endpoint,
            note("moves"),
            changes=(FieldChange("traffic", {"v1": 100}, {"v1": 90, "v2": 10}),),
            route=Route("traffic", "traffic", split=True),
        )
    )
    assert _lines(progress) == [
        "us-central1/m/v2: Setting default (v1 -> v2)...",
        "us-central1/m:endpoint: Routing traffic (v1 100 -> v1 90, v2 10)...",
    ]


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def delete(self, key: ResourceKey) -> None:
        self.calls.append("delete")

    def create(self, *args: Any) -> None:
        self.calls.append("create")


def test_a_replace_reports_its_phases_in_the_order_they_happen() -> None:
    for kind, expected in (
        (
            ActionKind.DELETE_THEN_CREATE,
            ["deleting the old one", "delete", "creating the new one", "create"],
        ),
        (ActionKind.CREATE_THEN_DELETE, ["creating the new one; the old one goes", "create"]),
    ):
        provider = _Recorder()
        action = Action("replace:x", kind, V2, note("forced"), desired={}, labels={})

        def tell(text: str, provider: _Recorder = provider) -> None:
            provider.calls.append(text)

        perform(provider, action, tell)  # type: ignore[arg-type]
        got = [c.split(" (")[0] for c in provider.calls]
        assert [g[: len(e)] for g, e in zip(got, expected, strict=True)] == expected
        if kind is ActionKind.DELETE_THEN_CREATE:  # it says what it costs
            assert "unavailable until the new one is ready" in provider.calls[0]


def test_uploads_report_bytes_at_each_quarter(storage_client: Any, tmp_path: Path) -> None:
    bucket = storage_client.create_bucket(f"b-progress-{tmp_path.name[-8:].lower()}")
    source = tmp_path / "model"
    source.mkdir()
    for i in range(8):
        (source / f"part{i}.bin").write_bytes(bytes(200_000))
    from deployer.artifacts.digest import local_digest

    plan = Plan(
        stack="s",
        project="p",
        artifacts={str(source): local_digest(source)},  # the upload checks the bytes against it
        artifacts_uri=f"gs://{bucket.name}/deployer",
    )
    action = Action(
        "create:x", ActionKind.CREATE, V2, note("new"), desired={}, artifact_source=str(source)
    )
    progress = PlainProgress(io.StringIO())
    Uploader(storage_client, progress.note, plan, parallelism=2, detail=progress.detail)(action)
    lines = [line for line in _lines(progress) if "uploading artifact" in line]
    shares = [int(re.search(r"\((\d+)%\)", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert shares == sorted(shares) and shares[-1] == 100 and len(shares) <= 5
    assert lines[-1].endswith(
        "uploading artifact: 1.5 MB of 1.5 MB (100%); waiting for the service to create it"
    )


def _switch() -> Action:
    return Action(
        "set-traffic:us-central1/m:endpoint",
        ActionKind.REROUTE,
        ResourceKey("us-central1", "m", part="endpoint"),
        note("moves"),
        changes=(FieldChange("traffic", {"v1": 100}, {"v2": 100}),),
        route=Route("traffic", "traffic", split=True),
    )


def _console(height: int = 12) -> Any:
    from rich.console import Console

    return Console(
        file=io.StringIO(), force_terminal=True, width=120, height=height, color_system=None
    )


def test_where_traffic_went_is_printed_when_a_move_finishes() -> None:
    """Issue 22 item 10: a terminal and a log both say where traffic went, not only that a
    set-traffic completed."""
    plain = PlainProgress(io.StringIO())
    plain.finished(Outcome(_switch(), Status.DONE, 2.0))
    assert _lines(plain) == [
        "us-central1/m:endpoint: set-traffic complete (v1 100 -> v2 100) after 2.0s"
    ]
    console = _console()
    live = LiveProgress(console, total=3)
    live.finished(Outcome(_switch(), Status.DONE, 2.0))
    out = console.file.getvalue()
    assert "✓ us-central1/m:endpoint: set-traffic complete (v1 100 -> v2 100) after 2.0s" in out


def test_live_view_never_outgrows_the_terminal_and_counts_the_run() -> None:
    """32 models in flight on a 12-line terminal: the view keeps to the screen (so a redraw
    leaves nothing stale in the scrollback), counts what it cannot draw and the whole run."""
    from rich.console import Console

    console = _console(height=12)
    live = LiveProgress(console, total=40)
    actions = [
        Action(
            f"create:m{i}", ActionKind.CREATE, ResourceKey("us-central1", f"m{i}", "v1"), note("")
        )
        for i in range(32)
    ]
    for action in actions:
        live.started(action)
    for action in actions[:3]:
        live.finished(Outcome(action, Status.DONE, 1.0))
    live.finished(Outcome(actions[3], Status.FAILED, 1.0, error="boom"))
    drawn = Console(file=io.StringIO(), width=120, color_system=None)
    drawn.print(live.view())
    lines = drawn.file.getvalue().splitlines()
    assert len(lines) <= 12 - 1
    assert "… and 20 more running" in lines[-2]
    assert lines[-1].strip() == "3 of 40 done, 28 running, 1 failed"
    assert live.count_text() == "3 of 40 done, 28 running, 1 failed"
