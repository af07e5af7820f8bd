"""Apply under injected faults, after SIGKILL, and with two runs at once on the same stack."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from cli.helpers import LOCK_ID, Live, Repo, managed, model, poll, unmanaged, version


def _stack() -> list[dict[str, Any]]:
    return [
        model(
            "alpha",
            [
                version("v1", "a", scaling={"mode": "auto", "min_nodes": 1, "max_nodes": 3}),
                version("v2", "b", scaling={"mode": "manual", "nodes": 1}),
            ],
            regions=["us-central1", "europe-west4"],
            default_version="v2",
        ),
        model(
            "beta",
            [version("v1", "c", machine_type="mls1-c1-m2")],
            regions=["global"],
            description="beta",
        ),
    ]


def _bystander(repo: Repo, live: Live, upload_dir: Any, pristine: Any) -> dict[str, Any]:
    uri = upload_dir(pristine["a"], repo.bucket, "hand-made/a")
    live.create_model("us-central1", "stranger")
    live.create_version("us-central1", "stranger", "v1", uri)
    state = live.snapshot()
    assert len(state) == 2
    return state


def test_repeated_applies_converge_under_faults(
    repo: Repo,
    live: Live,
    twin: Any,
    twin_knobs: Any,
    monkeypatch: pytest.MonkeyPatch,
    upload_dir: Any,
    pristine: Any,
) -> None:
    before = _bystander(repo, live, upload_dir, pristine)
    repo.write(_stack())
    twin_knobs(fault_rate=0.2, op_failure_rate=0.1, seed=1234)
    injected = [0]
    chance = twin.knobs.chance

    def counting(rate: float) -> bool:
        hit = chance(rate)
        injected[0] += hit
        return hit

    monkeypatch.setattr(twin.knobs, "chance", counting)
    runs = []
    for _ in range(8):
        result = repo.apply()
        runs.append(result)
        assert "Traceback" not in result.stderr, str(result)
        if result.returncode == 0:
            break
        assert "Run apply again" in result.stdout + result.stderr, str(result)
    else:
        pytest.fail("apply did not converge in 8 runs:\n" + "\n".join(map(str, runs[-2:])))
    assert injected[0] >= 5, f"only {injected[0]} faults were injected"
    plan = repo.run("plan", "manifests", "--detailed-exitcode")
    assert plan.returncode == 0, str(plan)
    twin_knobs(fault_rate=0.0, op_failure_rate=0.0)
    repo.assert_no_changes()
    state = live.snapshot()
    assert unmanaged(state, repo.stack) == before
    assert len(managed(state, repo.stack)) == 8


def _lock_blob(repo: Repo, storage_client: Any) -> Any:
    return storage_client.bucket(repo.bucket).get_blob(f"deployer/.deployer/locks/{repo.stack}")


def _uploaded(repo: Repo, storage_client: Any) -> bool:
    return any(
        not blob.name.startswith("deployer/.deployer/")
        for blob in storage_client.list_blobs(repo.bucket, prefix="deployer/")
    )


@pytest.mark.parametrize("point", ["start", "uploads", "creates"])
def test_apply_killed_then_rerun_converges(
    point: str,
    repo: Repo,
    live: Live,
    storage_client: Any,
    twin_knobs: Any,
    upload_dir: Any,
    pristine: Any,
) -> None:
    before = _bystander(repo, live, upload_dir, pristine)
    repo.write(_stack())
    twin_knobs(op_seconds=1.0)
    proc = repo.start("apply", "manifests", "--auto-approve")
    try:
        if point == "start":
            poll(lambda: _lock_blob(repo, storage_client), 60, "the stack lock")
        elif point == "uploads":
            poll(lambda: _uploaded(repo, storage_client), 60, "a first uploaded object")
        else:
            poll(
                lambda: any("/v" in a for a in managed(live.snapshot(), repo.stack)),
                60,
                "a first version being created",
            )
        assert proc.poll() is None, "apply finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # The lock outlives the killed run: the next run names it and how to remove it.
    blocked = repo.apply()
    assert blocked.returncode == 1, str(blocked)
    assert "locked" in blocked.stderr and "Traceback" not in blocked.stderr, str(blocked)
    match = LOCK_ID.search(blocked.stderr)
    assert match, blocked.stderr
    unlocked = repo.run("force-unlock", match.group(1), "manifests")
    assert unlocked.returncode == 0, str(unlocked)
    assert _lock_blob(repo, storage_client) is None

    result = repo.apply()
    if result.returncode != 0:  # e.g. a version the killed run left CREATING is waited for
        result = repo.apply()
    assert result.returncode == 0, str(result)
    repo.assert_no_changes()
    state = live.snapshot()
    assert unmanaged(state, repo.stack) == before
    assert len(managed(state, repo.stack)) == 8
    assert _lock_blob(repo, storage_client) is None


def test_two_applies_at_once_one_runs_the_other_names_the_holder(
    repo: Repo, live: Live, storage_client: Any, twin_knobs: Any
) -> None:
    repo.write(_stack())
    twin_knobs(op_seconds=0.5)
    first, second = (repo.start("apply", "manifests", "--auto-approve") for _ in range(2))
    outputs = [proc.communicate(timeout=120) for proc in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 1], outputs
    by_code = {p.returncode: out for p, out in zip((first, second), outputs, strict=True)}
    winner_out, loser_err = by_code[0][0], by_code[1][1]
    assert "Apply complete! Resources: 8 added" in winner_out, winner_out
    assert f"stack '{repo.stack}' is locked" in loser_err and "pid" in loser_err, loser_err
    assert "--lock-timeout" in loser_err and "deployer force-unlock" in loser_err
    repo.assert_no_changes()
    assert len(managed(live.snapshot(), repo.stack)) == 8

    # With --lock-timeout the second run waits for the first, then finds nothing left to do.
    models = _stack()
    models[1]["description"] = "changed"
    repo.write(models)
    holder = repo.start("apply", "manifests", "--auto-approve")
    try:
        poll(lambda: _lock_blob(repo, storage_client), 60, "the first run's lock")
        waiter = repo.run("apply", "manifests", "--auto-approve", "--lock-timeout", "90s")
    finally:
        holder_out, holder_err = holder.communicate(timeout=120)
    assert holder.returncode == 0, holder_out + holder_err
    assert "1 changed" in holder_out
    assert waiter.returncode == 0, str(waiter)
    assert "No changes" in waiter.stdout and "Apply complete" not in waiter.stdout, str(waiter)
    assert live.snapshot()["global/beta"]["description"] == "changed"
    assert _lock_blob(repo, storage_client) is None


def test_sigkill_leaves_no_half_uploaded_artifact_in_use(
    repo: Repo, live: Live, storage_client: Any
) -> None:
    repo.write(_stack())
    proc = repo.start("apply", "manifests", "--auto-approve")
    poll(lambda: _uploaded(repo, storage_client), 60, "a first uploaded object")
    proc.kill()
    proc.wait(timeout=30)
    for body in managed(live.snapshot(), repo.stack).values():
        uri = body.get("deploymentUri")
        if uri:
            marker = uri.removeprefix(f"gs://{repo.bucket}/") + ".complete"
            assert storage_client.bucket(repo.bucket).get_blob(marker) is not None, uri
