"""Command-line entry point: parses arguments, calls the library, maps errors to exit codes.

Command modules import their heavy dependencies inside the command functions so that
`deployer --help` and `deployer validate` stay fast and never load TensorFlow or API clients.
They also leave out `from __future__ import annotations`: typer reads every command's
annotations on each start, and string annotations would make it compile and evaluate each one
(about a tenth of `deployer --help`). tests/cli/test_startup.py holds both rules.
"""

from __future__ import annotations

import contextlib
import os
import sys

from deployer.cli import (  # noqa: F401  (registers commands)
    apply_cmd,
    doctor_cmd,
    emulator_cmd,
    history_cmd,
    import_cmd,
    inspect_cmd,
    plan_cmd,
    predict_cmd,
    schema_cmd,
    validate_cmd,
)
from deployer.cli.app import app
from deployer.core.errors import DeployerError


def main() -> None:
    from deployer.core.sensitive import ScrubbingStream

    # Sensitive values (core/sensitive.py) are masked in everything printed, whoever prints it.
    sys.stdout = ScrubbingStream(sys.stdout)
    sys.stderr = ScrubbingStream(sys.stderr)
    try:
        app()
    except DeployerError as exc:
        print(f"{exc.prefix}{exc}", file=sys.stderr)
        if getattr(exc, "immediate", False):
            _exit_now(exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        _exit_now(130)
    except Exception as exc:
        # The last line of defence: a failure nobody mapped is still one line and exit 1.
        # DEPLOYER_DEBUG=1 shows the traceback (and such a failure is a bug worth reporting).
        if os.environ.get("DEPLOYER_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0][:500]
        print(
            f"Error: unexpected {type(exc).__name__}: {first} (a bug in deployer? "
            "DEPLOYER_DEBUG=1 shows where)",
            file=sys.stderr,
        )
        sys.exit(1)


def _exit_now(code: int) -> None:
    """Exit without waiting for worker threads still blocked on the network."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
