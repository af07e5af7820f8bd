"""`deployer doctor`: check a project before the first apply, one line per problem with its fix."""

from pathlib import Path

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, PathArg, VarOpt, load
from deployer.core.errors import DeployerError


@app.command()
def doctor(path: PathArg = Path("manifests"), env: EnvOpt = None, var: VarOpt = None) -> None:
    """Check credentials, APIs, permissions, the artifacts bucket and serving quota of the
    stack's project; exit 0 when everything holds, 1 otherwise."""
    from deployer.doctor import diagnose

    stack = load(path, env, var)
    regions = ", ".join(stack.regions()) or stack.settings.region
    print(
        f"deployer doctor: project {stack.project}, {stack.backend} backend, stack "
        f"'{stack.name}', regions {regions}"
    )
    report = diagnose(stack)
    for finding in report.findings:
        print(f"  {finding.line()}", flush=True)
    if report.ok:
        skipped = sum(1 for f in report.findings if f.skipped)
        note = f" ({skipped} skipped)" if skipped else ""
        print(f"All {len(report.findings) - skipped} checks pass{note}.")
        return
    count = len(report.problems)
    raise DeployerError(
        f"doctor found {count} problem{'s' if count != 1 else ''} in project {stack.project} "
        "(each FAIL line above says how to fix it)"
    )
