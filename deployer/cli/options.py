"""Options shared by the commands that read manifests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from deployer.core.errors import OptionError

PathArg = Annotated[
    Path,
    typer.Argument(help="Manifests directory or a single manifest file.", show_default=True),
]
EnvOpt = Annotated[
    str | None, typer.Option("--env", help="Environment from deployer.yaml whose vars apply.")
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", help="Set a variable: NAME=VALUE (repeatable, wins over --env)."),
]


def load(path: Path, env: str | None, var: list[str] | None):  # -> deployer.config.Stack
    """Load manifests the way every command does, turning bad --var values into usage errors."""
    from deployer.config.variables import parse_cli_vars
    from deployer.stacks import load_stack

    try:
        cli_vars = parse_cli_vars(var or [])
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    stack = load_stack(path, env, cli_vars)
    for warning in stack.warnings:
        print(warning, file=sys.stderr)
    return stack
