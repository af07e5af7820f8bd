"""`deployer history`: the stack's applies and destroys, newest first."""

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from deployer.cli.app import app
from deployer.cli.options import EnvOpt, PathArg, VarOpt, load


class HistoryFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def history(
    path: PathArg = Path("manifests"),
    env: EnvOpt = None,
    var: VarOpt = None,
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", help="Output format.")
    ] = HistoryFormat.table,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most N runs.")] = 20,
) -> None:
    """List the stack's recorded applies and destroys (who, when, commit, CI run, outcome)."""
    from deployer.artifacts.gcs import storage_client
    from deployer.history import COLUMNS, read_records, rows

    stack = load(path, env, var)
    records = read_records(
        storage_client(stack.project), stack.settings.artifacts, stack.name, limit
    )
    if fmt is HistoryFormat.json:
        print(json.dumps([r.to_json() for r in records], indent=2, sort_keys=True))
        return
    if not records:
        print(f'No applies or destroys recorded for stack "{stack.name}" yet.')
        return
    table = [COLUMNS, *rows(records)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
