"""`outcomes scorecard CONTRACT --period P`: the balanced scorecard of a contract (docs/scorecard.md).

Register it in cli.py with ``app.command("scorecard")(scorecard_command)``.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outcomes.cli.console import WorkspaceOpt, err, open_workspace, out

__all__ = ["scorecard_command"]


class ChartFormat(StrEnum):
    svg = "svg"
    png = "png"


def _print_tables(card: dict[str, Any]) -> None:
    from outcomes.analysis.scorecard import show, show_change

    wf = card["workflow"] or "all workflows"
    out.print(
        f"{card['contract']} v{card['version']}, {wf}, period {card['period']} "
        f"(baseline {card['baseline']}; money in {card['currency']})"
    )
    for g in card["groups"]:
        t = Table(title=g["title"], title_justify="left")
        t.add_column("metric")
        for p in card["trend"]:
            t.add_column(p + (" *" if p == card["period"] else ""), justify="right")
        if card["baseline"] is not None:
            t.add_column(f"baseline {card['baseline']}", justify="right")
            t.add_column("change", justify="right")
        notes = []
        for m in g["metrics"]:
            cells = [m["label"]]
            cells += [show(pt["value"], m["unit"]) for pt in m["trend"]]
            if m["baseline"] is not None:
                cells += [show(m["baseline"]["value"], m["unit"]), show_change(m["change"], m["unit"])]
            t.add_row(*cells)
            if m["undefined"] is not None:
                notes.append(f"  {m['label']}: {m['undefined']}")
        out.print(t)
        for n in notes:
            out.print(n, markup=False)
    out.print("* the scorecard's period; '-' is undefined (never 0)")


def scorecard_command(
    contract: Annotated[str, typer.Argument(help="Contract id.")],
    period: Annotated[str, typer.Option("--period", help="Period, e.g. 2026-10 (or 2026-Q4).")],
    workflow: Annotated[
        str | None, typer.Option("--workflow", help="One workflow (default: all of the contract's, pooled).")
    ] = None,
    trend: Annotated[
        int | None,
        typer.Option("--trend", help="How many periods to show, ending with --period (default: 3)."),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="The period to compare with (default: the one before).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of tables.")] = False,
    right_channels: Annotated[
        Path | None,
        typer.Option(
            "--right-channels",
            help="YAML mapping intent -> right channels, for right-channel share (else it is not measured).",
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option("--chart", help="Also write one trend chart per group into this folder."),
    ] = None,
    chart_format: Annotated[
        ChartFormat, typer.Option("--chart-format", help="Format of the --chart files.")
    ] = ChartFormat.svg,
    workspace: WorkspaceOpt = None,
) -> None:
    """Balanced scorecard: customer health, financial and operational metrics, trend and change vs baseline.

    With --chart DIR, also writes one chart per group (SVG or PNG): each metric's trend on its own axis, the
    baseline dashed.
    """
    from outcomes.analysis.right_channels import read_right_channels
    from outcomes.analysis.scorecard import DEFAULT_TREND, collect, to_csv, to_json

    if as_json and as_csv:
        err.print("error: give --json or --csv, not both", markup=False)
        raise typer.Exit(1)
    if chart is not None:
        try:  # before measuring anything: a folder that cannot be written fails at once, with nothing printed
            chart.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            err.print(f"error: cannot write the charts into {chart}: {exc.strerror or exc}", markup=False)
            raise typer.Exit(1) from None
    mapping = read_right_channels(right_channels) if right_channels is not None else None
    with open_workspace(workspace) as ws, err.status(f"measuring the scorecard of {contract} {period}…"):
        card = collect(
            ws,
            contract,
            period,
            workflow=workflow,
            trend=DEFAULT_TREND if trend is None else trend,
            baseline=baseline,
            right_channels=mapping,
        )
    if as_json:
        sys.stdout.write(to_json(card))
    elif as_csv:
        sys.stdout.write(to_csv(card))
    else:
        _print_tables(card)
    if chart is not None:
        from outcomes.analysis.charts import write_charts  # altair loads only when charts are asked for

        try:
            paths = write_charts(card, chart, chart_format.value)
        except OSError as exc:
            err.print(f"error: cannot write the charts into {chart}: {exc.strerror or exc}", markup=False)
            raise typer.Exit(1) from None
        # with --json/--csv, stdout stays machine-readable: the chart paths go to stderr
        console = err if as_json or as_csv else out
        for path in paths:
            console.print(f"chart: {path}", markup=False)


app = typer.Typer()
app.command("scorecard")(scorecard_command)
