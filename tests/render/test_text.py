"""Text output: what a user reads in a terminal or a CI log."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from deployer.core.plan import Action, ActionKind, Amount, FieldChange, Ignored, Plan, note
from deployer.render.resources import amount_text
from deployer.render.text import render_text, text_plain
from render.plans import MODEL, golden, version

ANSI = re.compile(r"\x1b\[[0-9;]*m")

GOLDEN = golden("full_plan.txt")


def test_every_action_kind_renders_terraform_like(plan: Plan) -> None:
    assert text_plain(plan) == GOLDEN


def test_empty_plan_says_no_changes_and_still_lists_ignored(empty_plan: Plan) -> None:
    assert text_plain(empty_plan) == (
        'Stack "prod" in project "acme-ml", backend mlengine\n\n'
        "No changes. The live state matches the manifests.\n"
    )
    with_ignored = Plan("prod", "acme-ml", ignored=(Ignored("global/other", "managed by 'x'"),))
    out = text_plain(with_ignored)
    assert "Ignored (not managed by this stack):\n  global/other  # managed by 'x'\n" in out
    assert out.endswith("No changes. The live state matches the manifests.\n")


def test_errors_without_actions_do_not_claim_the_state_matches() -> None:
    plan = Plan("prod", "acme-ml", errors=("global/m is declared but belongs to stack 'b'",))
    out = text_plain(plan)
    assert "No changes" not in out
    assert "Errors:\n  - global/m is declared but belongs to stack 'b'\n" in out
    assert "Plan: 0 to add" not in out
    assert out.endswith("Plan failed: 1 error. Nothing will be applied.\n")


def test_values_are_compact_and_unambiguous() -> None:
    plan = Plan(
        "s",
        "p",
        actions=(
            Action(
                "update:us-central1/fashion_mnist/v1",
                ActionKind.UPDATE,
                version("v1"),
                note("changed: several"),
                changes=(
                    FieldChange("description", "two\nlines", None),
                    FieldChange("requestLoggingConfig", None, {"samplingPercentage": 0.5}),
                    FieldChange("packageUris", ["gs://a/p.tar.gz"], []),
                    FieldChange("onlinePredictionLogging", False, True),
                ),
            ),
        ),
    )
    lines = text_plain(plan).splitlines()
    assert '      description: "two\\nlines" -> (none)' in lines
    assert "      requestLoggingConfig.samplingPercentage: (none) -> 0.5" in lines
    assert '      packageUris: ["gs://a/p.tar.gz"] -> []' in lines
    assert "      onlinePredictionLogging: false -> true" in lines


def test_only_forcing_fields_are_marked() -> None:
    out = text_plain(
        Plan(
            "s",
            "p",
            actions=(
                Action(
                    "replace:us-central1/fashion_mnist/v1",
                    ActionKind.DELETE_THEN_CREATE,
                    version("v1"),
                    note("replacement forced by: machineType, framework"),
                    changes=(
                        FieldChange("machineType", "mls1-c1-m2", "n1-standard-4", True),
                        FieldChange("description", "a", "b"),
                        FieldChange("framework", "SCIKIT_LEARN", "XGBOOST", True),
                    ),
                ),
            ),
        )
    )
    marked = [line.split(":")[0].strip() for line in out.splitlines() if "forces" in line]
    assert marked == ["machineType", "framework"]


def _console(**kwargs: object) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, **kwargs), buf  # type: ignore[arg-type]


def test_non_tty_output_is_plain(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    console, buf = _console()
    render_text(plan, console)
    assert "\x1b" not in buf.getvalue()
    assert buf.getvalue() == GOLDEN


def test_no_color_wins_over_a_terminal(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    console, buf = _console(force_terminal=True, color_system="truecolor")
    render_text(plan, console)
    assert "\x1b" not in buf.getvalue()
    assert buf.getvalue() == GOLDEN


def test_terminal_output_is_colored_by_action_kind(
    plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    console, buf = _console(force_terminal=True, color_system="standard", width=200)
    render_text(plan, console)
    out = buf.getvalue()
    assert ANSI.sub("", out) == GOLDEN
    lines = out.splitlines()

    def line_for(prefix: str) -> str:
        return next(line for line in lines if ANSI.sub("", line).startswith(prefix))

    assert "\x1b[32m" in line_for("  + us-central1/fashion_mnist/v3")  # green
    assert "\x1b[33m" in line_for("  ~ us-central1/fashion_mnist  # changed: description")
    assert "\x1b[31m" in line_for("-/+ us-central1/fashion_mnist/v2")  # red, as Terraform
    assert "\x1b[31m" in line_for("  - us-central1/fashion_mnist/v1")  # red
    assert "\x1b[36m" in line_for("  » us-central1/fashion_mnist/v3")  # cyan


def test_narrow_terminal_does_not_wrap_lines(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    console, buf = _console(force_terminal=True, width=20)
    render_text(plan, console)
    assert ANSI.sub("", buf.getvalue()) == GOLDEN


def test_default_console_writes_plain_text_to_a_pipe(
    plan: Plan, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    render_text(plan)
    assert capsys.readouterr().out == GOLDEN


def test_markup_in_user_values_is_printed_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    plan = Plan(
        "s",
        "p",
        actions=(
            Action(
                "update:us-central1/fashion_mnist",
                ActionKind.UPDATE,
                MODEL,
                note("changed: description"),
                changes=(FieldChange("description", "[bold]x[/bold]", ":smile: [red]y"),),
            ),
        ),
    )
    console, buf = _console(force_terminal=True, color_system="standard")
    render_text(plan, console)
    assert '"[bold]x[/bold]" -> ":smile: [red]y"' in ANSI.sub("", buf.getvalue())


def test_a_footprint_that_only_autoscales_without_a_maximum_says_so_not_nothing() -> None:
    assert amount_text(Amount(unbounded=True)) == "no upper bound"
    assert amount_text(Amount(2, 7.5, unbounded=True)) == "2 vCPUs, 7.5 GiB (no upper bound)"
    assert amount_text(Amount()) == "nothing"
