"""Command-line entry point: parses arguments, calls the library, maps errors to exit codes.

Command modules import their heavy dependencies inside the command functions so that
`deployer --help` and `deployer validate` stay fast and never load TensorFlow or API clients.
"""

from __future__ import annotations

import sys

from deployer.cli import (  # noqa: F401  (registers commands)
    apply_cmd,
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
from deployer.errors import DeployerError


def main() -> None:
    try:
        app()
    except DeployerError as exc:
        print(f"{exc.prefix}{exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
