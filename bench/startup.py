"""Benchmark: whole-process start-up of `deployer --help`, `validate` and a no-change `plan`.

Each command is timed as a whole process (interpreter start, imports, work, exit), because that
is what a user or a CI job waits for, next to `python -c pass` with the same interpreter in the
same run, so the ratios compare across machines. Runs are interleaved (one of each command per
round) so that load drifting during the run hits every command alike; the median is reported.

Setup (not timed): the example `manifests/` are copied to a temporary directory, their
SavedModels are built there (scripts/build_example_artifacts.py, TensorFlow in a subprocess), a
local twin is started in this process and the stack is applied once, so the timed `plan` has
nothing to do but read the live state and find it unchanged. Then each command runs once more
under `python -X importtime` to show how much of its time is imports, and which, and to check
that TensorFlow never loads.

Each CHECKOUT is timed with this interpreter, `PYTHONPATH=CHECKOUT` and the two lines that the
`deployer` console script runs (`from deployer.cli import main; main()`); give two checkouts
to compare before and after in one run. Byte-code is compiled once by warm-up runs, as for an
installed package, even where PYTHONDONTWRITEBYTECODE is set.

Usage: python bench/startup.py [--runs N] [--top K] [CHECKOUT ...]   (default 7, 12, this repo)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUCKET = "demo-models"
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("deployer --help", ("--help",)),
    ("deployer plan --help", ("plan", "--help")),
    ("deployer validate manifests/", ("validate", "manifests")),
    ("deployer plan manifests/", ("plan", "manifests")),
)
HELP_TARGET_S = 0.5


@dataclass(frozen=True)
class Imports:
    """One `-X importtime` run: total import time and where it went."""

    total_us: int
    by_package: dict[str, int]  # self time summed over a top-level package's modules
    top_level: list[tuple[str, int]]  # modules imported at depth 0, with cumulative time
    tensorflow: bool


def parse_importtime(stderr: str) -> Imports:
    by_package: dict[str, int] = defaultdict(int)
    top_level: list[tuple[str, int]] = []
    tensorflow = False
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        module = name.strip()
        package = module.split(".")[0]
        by_package[package] += int(self_us)
        if depth == 0:
            top_level.append((module, int(cumulative)))
        tensorflow = tensorflow or package == "tensorflow"
    return Imports(
        total_us=sum(us for _, us in top_level),
        by_package=dict(by_package),
        top_level=top_level,
        tensorflow=tensorflow,
    )


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]
    expect: int = 0


# Exactly what the `deployer` console script does (pyproject.toml [project.scripts]).
ENTRY = "import sys; from deployer.cli import main; sys.argv[0] = 'deployer'; sys.exit(main())"


def commands() -> list[Command]:
    baseline = Command("python -c pass", (sys.executable, "-c", "pass"))
    return [baseline] + [
        Command(label, (sys.executable, "-c", ENTRY, *args)) for label, args in COMMANDS
    ]


def run(command: Command, env: Mapping[str, str], cwd: Path, *flags: str) -> str:
    """Run once (`flags` go to the interpreter), fail loudly on a surprising exit, return stderr."""
    argv = [command.argv[0], *flags, *command.argv[1:]]
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if proc.returncode != command.expect:
        raise SystemExit(
            f"{command.label}: exit {proc.returncode}, expected {command.expect}\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return proc.stderr


def timed(command: Command, env: Mapping[str, str], cwd: Path) -> float:
    """Wall time of one run. A wait with a timeout polls with growing sleeps, which would round
    the times up, so a timer kills a process that hangs instead."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command.argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    code = proc.wait()
    elapsed = time.perf_counter() - started
    watchdog.cancel()
    if code != command.expect:
        raise SystemExit(f"{command.label}: exit {code}, expected {command.expect}")
    return elapsed


def checkout_env(base: Mapping[str, str], checkout: Path) -> dict[str, str]:
    return {**base, "PYTHONPATH": str(checkout)}


def without_bytecode_opt_out(env: Mapping[str, str]) -> dict[str, str]:
    """The environment minus PYTHONDONTWRITEBYTECODE: an installed deployer runs from byte-code
    compiled once, so recompiling every module on every run would time something no user sees.
    The byte-code goes to a private PYTHONPYCACHEPREFIX and the warm-up runs fill it."""
    return {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}


def setup(work: Path, twin_dir: Path):  # -> deployer.emulator.EmulatorHandle
    """The example stack in `work`, applied to a fresh twin with no operation delays."""
    from deployer.emulator import Knobs, start
    from deployer.emulator.gcs import ensure_bucket

    shutil.copytree(REPO / "manifests", work / "manifests")
    build = REPO / "scripts" / "build_example_artifacts.py"
    subprocess.run(
        [sys.executable, str(build), str(work / "export")],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=300,
    )
    twin = start(twin_dir, port=0, gcs_port=0, knobs=Knobs(op_seconds=0))
    assert twin.gcs_url is not None
    ensure_bucket(twin.gcs_url, BUCKET)
    return twin


def listen_overflows() -> int | None:
    """Connections the kernel dropped because a listen queue was full (Linux only): each costs
    its client a SYN retransmit, one second, which is what makes a rare plan run slow here."""
    try:
        with open("/proc/net/netstat") as netstat:
            rows = [line.split() for line in netstat if line.startswith("TcpExt:")]
        return int(rows[1][rows[0].index("ListenOverflows")])
    except (OSError, IndexError, ValueError):
        return None


def report_imports(label: str, imports: Imports, wall: float, bare_us: int, top: int) -> None:
    share = imports.total_us / 1e6 / wall if wall else 0.0
    print(
        f"  {label:<30} imports {imports.total_us / 1000:7.1f} ms (python alone "
        f"{bare_us / 1000:.1f} ms) = {share:4.0%} of its median wall time; "
        f"TensorFlow loaded: {'YES' if imports.tensorflow else 'no'}"
    )
    if top:
        ranked = sorted(imports.by_package.items(), key=lambda item: -item[1])[:top]
        print(
            "    self time by top-level package (plan imports its API client in worker threads, "
            "whose lines interleave, so some self time can land on the wrong package):"
        )
        for package, us in ranked:
            print(f"      {us / 1000:7.1f} ms  {package}")
        print("    slowest imports at top level (cumulative):")
        for module, us in sorted(imports.top_level, key=lambda item: -item[1])[:top]:
            print(f"      {us / 1000:7.1f} ms  {module}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command")
    parser.add_argument("--top", type=int, default=12, help="import offenders shown for plan")
    parser.add_argument("checkouts", nargs="*", type=Path, default=[REPO])
    options = parser.parse_args(argv)
    checkouts: list[Path] = [path.resolve() for path in options.checkouts]
    sys.path.insert(0, str(REPO))  # the twin of this checkout, not whichever is installed

    cpus = os.cpu_count()
    print(f"machine: {cpus} CPUs, {platform.machine()}, {platform.system()} {platform.release()}")
    print(f"python: {sys.executable} ({platform.python_version()})")
    print("byte-code: compiled by warm-up runs into a private PYTHONPYCACHEPREFIX, then reused")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="deployer-startup-") as tmp:
        work = Path(tmp) / "repo"
        twin = setup(work, Path(tmp) / "twin")
        try:
            base = {
                **without_bytecode_opt_out(os.environ),
                **twin.env,
                "NO_GCE_CHECK": "true",
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
            }
            cmds = commands()
            apply = (sys.executable, "-c", ENTRY, "apply", "manifests", "--auto-approve")
            run(Command("apply", apply), checkout_env(base, checkouts[0]), work)
            check = Command("plan", (*cmds[-1].argv, "--detailed-exitcode"))
            for checkout in checkouts:  # warm-up: byte-code caches, and the plan is empty
                env = checkout_env(base, checkout)
                for command in (*cmds, check):
                    run(command, env, work)

            overflows_before = listen_overflows()
            times: dict[tuple[Path, str], list[float]] = defaultdict(list)
            for _ in range(options.runs):
                for checkout in checkouts:
                    env = checkout_env(base, checkout)
                    for command in cmds:
                        times[checkout, command.label].append(timed(command, env, work))

            overflows_after = listen_overflows()
            imports = {
                (checkout, command.label): parse_importtime(
                    run(command, checkout_env(base, checkout), work, "-X", "importtime")
                )
                for checkout in checkouts
                for command in cmds
            }
        finally:
            twin.stop()
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if overflows_before is not None and overflows_after is not None:
        print(
            f"listen queue overflows during the timed runs: {overflows_after - overflows_before} "
            "(each adds ~1 s to one run: a SYN retransmit)"
        )

    failed = False
    for checkout in checkouts:
        print(f"\ncheckout {checkout}: median of {options.runs} whole-process runs (min-max)")
        medians = {
            label: statistics.median(times[checkout, label]) for label in (c.label for c in cmds)
        }
        bare = medians[cmds[0].label]
        for command in cmds:
            runs = times[checkout, command.label]
            median = medians[command.label]
            line = (
                f"  {command.label:<30} {median * 1000:7.1f} ms "
                f"({min(runs) * 1000:.0f}-{max(runs) * 1000:.0f})  {median / bare:5.1f}x python"
            )
            if command.label == "deployer --help":
                met = median < HELP_TARGET_S
                line += f"  [target < {HELP_TARGET_S * 1000:.0f} ms: {'met' if met else 'MISSED'}]"
            print(line)
        print("  imports (python -X importtime, one run each; importtime adds some overhead):")
        bare_us = imports[checkout, cmds[0].label].total_us
        for command in cmds[1:]:
            found = imports[checkout, command.label]
            top = options.top if command is cmds[-1] else 0
            report_imports(command.label, found, medians[command.label], bare_us, top)
            failed = failed or found.tensorflow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
