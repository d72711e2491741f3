"""`outcomes init`: create a workspace (settings, facts store, ledger)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outcomes.cli.console import errors, out

app = typer.Typer()


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="Folder to create or reuse.")] = Path(".")) -> None:
    """Create a workspace: settings (outcomes.toml), a DuckDB facts store and a SQLite ledger."""
    from outcomes.workspace import init_workspace

    with errors():
        ws = init_workspace(directory)
        out.print(f"workspace ready at {ws.root}")
        out.print(f"  facts:  {ws.settings.facts_path}")
        out.print(f"  ledger: {ws.settings.ledger_url}")
        ws.close()
