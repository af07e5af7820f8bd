"""Benchmark 4: start-up, whole process: `deployer --help`, `validate` and a no-change `plan`.

Each command runs RUNS times as a fresh process with this interpreter (`python -m deployer`, what
the `deployer` console script runs); the median is compared with `python -c pass` measured in
the same run, so the ratio is the cost of deployer itself. `plan` runs against its own twin on
which the example `manifests/` were applied once (set-up, not timed). The example artifacts are
built into export/ first if missing (TensorFlow, once). It also lists the largest imports of a
`plan` process (`-X importtime`): TensorFlow must not be among them.

Usage: python bench/startup.py [RUNS]   (default 7)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from _support import REPO, machine, storage_client
from _support import twin as start_twin

HELP_TARGET = 0.5


def timed(args: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall seconds of `args` as a fresh process (each run must exit 0)."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} exited {result.returncode}: {result.stderr[-500:]}")
    return statistics.median(seconds)


def largest_imports(args: list[str], env: dict[str, str], top: int = 6) -> list[tuple[int, str]]:
    """The `top` top-level imports of a process by cumulative microseconds."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=REPO, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if cumulative.isdigit() and not name.startswith(" "):
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str]) -> int:
    runs = int(argv[1]) if len(argv) > 1 else 7
    py = sys.executable
    deployer = [py, "-m", "deployer"]
    env = {**os.environ, "NO_GCE_CHECK": "true", "PYTHONPATH": str(REPO)}
    if not (REPO / "export" / "iris" / "1").exists():
        subprocess.run([py, "scripts/build_example_artifacts.py"], cwd=REPO, env=env, check=True)
    print(f"machine: {machine()}")
    base = timed([py, "-c", "pass"], runs, env)
    figures = {
        "deployer --help": timed([*deployer, "--help"], runs, env),
        "deployer validate manifests/": timed([*deployer, "validate", "manifests/"], runs, env),
    }
    with start_twin(op_seconds=0) as twin:
        storage_client().create_bucket("demo-models")
        plan_env = {**env, **twin.env}
        subprocess.run(
            [*deployer, "apply", "manifests/", "--auto-approve"], cwd=REPO, env=plan_env,
            check=True, capture_output=True,
        )  # fmt: skip
        plan = [*deployer, "plan", "manifests/", "--detailed-exitcode"]
        figures["deployer plan manifests/ (no change)"] = timed(plan, runs, plan_env)
        imports = largest_imports(plan[1:], plan_env)
    print(f"\nwhole process, median of {runs} runs")
    print(f"  {'python -c pass':40s} {base:6.3f} s")
    for name, seconds in figures.items():
        print(f"  {name:40s} {seconds:6.3f} s   {seconds / base:5.1f}x python -c pass")
    met = "met" if figures["deployer --help"] < HELP_TARGET else "MISSED"
    print(f"  --help target < {HELP_TARGET} s: {met}")
    print("\nlargest imports of a plan process (cumulative):")
    for micros, name in imports:
        print(f"  {micros / 1e6:6.3f} s  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
