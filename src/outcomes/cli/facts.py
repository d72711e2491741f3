"""`outcomes facts ...`: the facts store beyond ingest (docs/spark.md).

`outcomes facts export DIR` writes the DuckDB facts store as Parquet for Spark to read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

facts_app = typer.Typer(help="The facts store: export it for Spark.", no_args_is_help=True)


@facts_app.command("export")
def export_command(
    folder: Annotated[Path, typer.Argument(help="Folder to write interactions/, events/ and batches/ into.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write every fact version (with _batch, _until, _hash) and the batches as Parquet, for Spark.

    Point facts.spark_parquet (or OUTCOMES_SPARK_PARQUET) at FOLDER to settle from it with facts.engine =
    "spark". Each table folder is replaced whole; the digest printed is the one Spark recomputes.
    """
    from outcomes.facts.export import export_parquet

    with open_workspace(workspace) as ws:
        try:
            with err.status(f"exporting the facts to {folder}…"):
                summary = export_parquet(ws.duckdb_facts(), folder)
        except (NotADirectoryError, OSError) as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
        if as_json:
            print_json(summary.to_dict())
            return
        t = Table("table", "rows (all versions)", title=f"facts exported to {summary.folder}")
        for name, n in summary.rows.items():
            t.add_row(name, f"{n:,}")
        out.print(t)
        out.print(f"latest batch {summary.latest_batch}, digest {summary.digest}")


app = typer.Typer()
app.add_typer(facts_app, name="facts")
