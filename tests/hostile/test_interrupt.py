"""Item 6: interruption. The first SIGINT or SIGTERM stops scheduling and lets the actions in
flight finish, releases the lock and exits 130 saying a re-run converges; a second SIGINT exits
at once, still releasing the lock. Waiting for a lock says so while it waits."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import pytest
from cli.helpers import Live, Repo, managed, model, poll, version

from deployer.apply.lock import StackLock, lock_uri


def _models() -> list[dict[str, Any]]:
    return [model(f"m{i}", [version("v1")], regions=["us-central1"]) for i in range(4)]


def _lock_blob(repo: Repo, storage_client: Any) -> Any:
    uri = lock_uri(repo.artifacts_uri, repo.stack)
    return storage_client.bucket(uri.bucket).get_blob(uri.prefix)


def _first_started(proc: subprocess.Popen[str]) -> list[str]:
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:  # PlainProgress: timestamped lines, one per event
        seen.append(line)
        if "/v1: Creating" in line:
            return seen
    raise AssertionError("apply ended before any action started: " + "".join(seen))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_stops_scheduling_and_exits_130(
    repo: Repo, live: Live, storage_client: Any, twin_knobs: Any, sig: signal.Signals
) -> None:
    repo.write(_models())
    twin_knobs(op_seconds=1.0)
    proc = repo.start("apply", "manifests", "--auto-approve", "--parallelism", "1")
    try:
        _first_started(proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert "Interrupted" in err and "no new action will start" in err, err
    assert "run the command again to converge" in err, err
    assert _lock_blob(repo, storage_client) is None
    created = {a for a in managed(live.snapshot(), repo.stack) if a.count("/") == 2}
    assert 0 < len(created) < 4, created  # something done, something never started
    twin_knobs(op_seconds=0.2)
    assert repo.apply().returncode == 0
    repo.assert_no_changes()


def test_second_sigint_exits_at_once_and_releases_the_lock(
    repo: Repo, live: Live, storage_client: Any, twin_knobs: Any
) -> None:
    repo.write(_models())
    twin_knobs(op_seconds=8.0)
    proc = repo.start("apply", "manifests", "--auto-approve", "--parallelism", "2")
    try:
        _first_started(proc)
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        poll(lambda: proc.poll() is None, 5, "apply still running after one SIGINT")
        time.sleep(0.3)  # the first handler has printed; a second signal now
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert elapsed < 5, elapsed  # not the 8 s the operations in flight take
    assert "Traceback" not in err and "stopped at once" in err, err
    assert _lock_blob(repo, storage_client) is None
    twin_knobs(op_seconds=0.2)
    for _ in range(3):  # the versions left CREATING are waited for, then the rest converges
        if repo.apply().returncode == 0:
            break
    repo.assert_no_changes()


def test_waiting_for_a_lock_says_so(repo: Repo, storage_client: Any) -> None:
    repo.write(_models()[:1])
    held = StackLock(storage_client, repo.artifacts_uri, repo.stack, "apply")
    held.acquire()
    try:
        result = repo.run("apply", "manifests", "--auto-approve", "--lock-timeout", "1s")
    finally:
        held.release()
    assert result.returncode == 1 and "Traceback" not in result.stderr, str(result)
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Waiting up to 1s for the stack lock"), str(result)
    assert "is locked" in lines[-1], str(result)
