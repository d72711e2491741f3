"""`outcomes init`: create a workspace (settings, facts store, ledger); `outcomes doctor`: clean leftovers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outcomes.cli.console import (
    WAIT,
    JsonOpt,
    WorkspaceOpt,
    command_line,
    errors,
    open_workspace,
    out,
    print_json,
    waiting,
)

app = typer.Typer()


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="Folder to create or reuse.")] = Path(".")) -> None:
    """Create a workspace: settings (outcomes.toml), a DuckDB facts store and a SQLite ledger."""
    from outcomes.workspace import init_workspace

    with errors():
        ws = init_workspace(directory, command=command_line(), wait=WAIT["seconds"], waiting=waiting)
        out.print(f"workspace ready at {ws.root}")
        out.print(f"  facts:  {ws.settings.facts_path}")
        out.print(f"  ledger: {ws.settings.ledger_url}")
        ws.close()


@app.command()
def doctor(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Find and remove the leftovers of settlements that never recorded (a killed settle or rerun, older
    versions): evidence no recorded settlement refers to, and evidence files cut off mid-write."""
    from outcomes.settlement import leftovers

    with open_workspace(workspace) as ws:
        store = ws.duckdb_facts()
        found = leftovers.find(ws.ledger(), store)
        if not dry_run:
            leftovers.remove(store, found)
        if as_json:
            print_json({"removed": not dry_run, "leftovers": [x.to_dict() for x in found]})
            return
        if not found:
            out.print("nothing to clean: every piece of evidence belongs to a recorded settlement")
            return
        verb = "would remove" if dry_run else "removed"
        for x in found:
            out.print(f"{verb} {x.kind} {x.name}: {x.why}", markup=False)
