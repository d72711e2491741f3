"""`outcomes staffing`: the agents a stream of contacts needs, Erlang C or (with --patience) Erlang A.

One interval from the options (`--calls --interval-minutes --aht`), or every interval of a contract's period
from the ingested facts (`--from-facts CONTRACT --period P`), with a chart of required against present agents
(docs/simulator.md, "Staffing").
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

__all__ = ["staffing_command"]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def _print_one(result: dict[str, Any]) -> None:
    t = Table(title=f"Staffing ({result['model'].replace('_', ' ').title()})", title_justify="left")
    t.add_column("")
    t.add_column("value", justify="right")
    t.add_row("offered load", f"{result['offered_load_erlangs']:.2f} Erlangs")
    t.add_row("agents on the phones", str(result["agents"]))
    t.add_row(f"agents after {result['shrinkage']:.0%} shrinkage", str(result["agents_after_shrinkage"]))
    t.add_row(f"service level (within {result['answer_within_seconds']:g} s)", _pct(result["service_level"]))
    t.add_row("P(wait)", _pct(result["wait_probability"]))
    t.add_row("ASA (answered contacts)", _secs(result["asa_seconds"]))
    t.add_row("occupancy", _pct(result["occupancy"]))
    if result["abandon_probability"] is not None:
        t.add_row("P(abandon)", _pct(result["abandon_probability"]))
    out.print(t)
    needed = ", ".join(f"{k} {v}" for k, v in result["needed_by"].items())
    if needed:
        out.print(f"agents each target needs alone: {needed}", markup=False)


def _print_intervals(rep: dict[str, Any]) -> None:
    tot = rep["totals"]
    out.print(
        f"{rep['contract']} v{rep['version']}, period {rep['period']}, {rep['interval_minutes']}-minute "
        f"intervals ({rep['timezone']}), {rep['model'].replace('_', ' ').title()}",
        markup=False,
    )
    t = Table(title="Intervals with contacts or agents", title_justify="left")
    for col in ("start", "arrivals", "AHT", "required", "after shrinkage", "present", "service level"):
        t.add_column(col, justify="left" if col == "start" else "right", no_wrap=col == "start")
    for r in rep["intervals"]:
        if not r["arrivals"] and not r["present"]:
            continue
        t.add_row(
            r["start"][:16].replace("T", " "),
            str(r["arrivals"]),
            _secs(r["handle_seconds"]),
            str(r["required"]),
            str(r["required_after_shrinkage"]),
            str(r["present"]),
            _pct(r.get("service_level")),
        )
    out.print(t)
    out.print(
        f"{tot['arrivals']} contacts in {tot['intervals_with_arrivals']} of {tot['intervals']} intervals; "
        f"peak required {tot['peak_required']}, peak present {tot['peak_present']}; "
        f"agent-hours required {tot['required_agent_hours']:.1f} "
        f"({tot['required_after_shrinkage_agent_hours']:.1f} after shrinkage), present "
        f"{tot['present_agent_hours']:.1f}; {tot['intervals_short']} interval(s) had fewer agents than required",
        markup=False,
    )


def staffing_command(
    calls: Annotated[
        float | None,
        typer.Option(
            "--calls", min=0, max=1e9, help="Contacts arriving in one interval (not with --from-facts)."
        ),
    ] = None,
    interval_minutes: Annotated[
        int, typer.Option("--interval-minutes", min=1, max=1440, help="Length of an interval, in minutes.")
    ] = 30,
    aht: Annotated[
        float | None,
        typer.Option(
            "--aht",
            min=0.001,
            max=1e7,
            help="Mean handle time, seconds. With --from-facts, only for contacts without handle_seconds.",
        ),
    ] = None,
    service_level: Annotated[
        float,
        typer.Option(
            "--service-level",
            min=0,
            max=0.999999,
            help="Share of all arrivals answered within --answer-within.",
        ),
    ] = 0.8,
    answer_within: Annotated[
        float, typer.Option("--answer-within", min=0, max=1e7, help="The service level's threshold, seconds.")
    ] = 20.0,
    shrinkage: Annotated[
        float,
        typer.Option(
            "--shrinkage", min=0, max=0.99, help="Share of paid time not on the phones (0.3 = 30%)."
        ),
    ] = 0.0,
    max_occupancy: Annotated[
        float | None,
        typer.Option("--max-occupancy", min=0.01, max=1, help="Most share of on-phone time spent handling."),
    ] = None,
    max_wait: Annotated[
        float | None,
        typer.Option(
            "--max-wait", min=0.000001, max=1, help="Most P(wait): share of arrivals who wait at all."
        ),
    ] = None,
    patience: Annotated[
        float | None,
        typer.Option(
            "--patience",
            min=0.001,
            max=1e9,
            help="Callers' mean patience, seconds: Erlang A (callers abandon); without it Erlang C.",
        ),
    ] = None,
    max_abandon: Annotated[
        float | None,
        typer.Option("--max-abandon", min=0.000001, max=1, help="Most P(abandon) (needs --patience)."),
    ] = None,
    from_facts: Annotated[
        str | None,
        typer.Option(
            "--from-facts", help="Contract id: staff every interval of --period from the ingested facts."
        ),
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Period, with --from-facts (e.g. 2026-10).")
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="With --from-facts: only contacts of this channel.")
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart", help="With --from-facts: save required against present agents (.html, .png, .svg)."
        ),
    ] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Agents needed for a service level: Erlang C, or Erlang A with --patience (callers abandon).

    Prints the agents on the phones and after shrinkage, the service level (answered within the threshold over
    all arrivals), P(wait), ASA, occupancy and, with --patience, P(abandon). With --from-facts CONTRACT
    --period P, does so for every interval of the period from the ingested contacts, with the agents who were
    present; --chart FILE draws both.
    """
    from outcomes.analysis.staffing import StaffingError, chart_format, demand_of, solve, target_of

    target = target_of(
        service_level=service_level,
        answer_within_seconds=answer_within,
        max_wait_probability=max_wait,
        max_occupancy=max_occupancy,
        max_abandon_probability=max_abandon,
        shrinkage=shrinkage,
    )
    if from_facts is None:
        if period is not None or channel is not None or chart is not None:
            raise StaffingError(
                "--period, --channel and --chart go with --from-facts",
                hint="give --from-facts CONTRACT, or leave them out",
            )
        if calls is None or aht is None:
            raise StaffingError(
                "give --calls and --aht (or --from-facts CONTRACT --period P)",
                hint="e.g. outcomes staffing --calls 100 --interval-minutes 30 --aht 180",
            )
        demand = demand_of(
            arrivals=calls,
            interval_seconds=interval_minutes * 60,
            handle_seconds=aht,
            patience_seconds=patience,
        )
        result = {
            "arrivals": calls,
            "interval_minutes": interval_minutes,
            "aht_seconds": aht,
            "patience_seconds": patience,
            **solve(demand, target).as_dict(),
        }
        if as_json:
            print_json(result)
        else:
            _print_one(result)
        return

    if calls is not None:
        raise StaffingError("--calls does not go with --from-facts: the facts give the arrivals")
    if period is None:
        raise StaffingError("--from-facts needs --period", hint="e.g. --from-facts acme --period 2026-10")
    if chart is not None:
        chart_format(chart)  # a wrong suffix fails before anything is measured
    from outcomes.analysis.staffing import collect, write_chart

    with open_workspace(workspace) as ws, err.status(f"staffing {from_facts} {period}…"):
        rep = collect(
            ws,
            from_facts,
            period,
            interval_minutes,
            target,
            patience_seconds=patience,
            fallback_handle_seconds=aht,
            channel=channel,
        )
    if as_json:
        print_json(rep)
    else:
        _print_intervals(rep)
    if chart is not None:
        path = write_chart(rep, chart)
        # with --json, stdout stays machine-readable: the chart's path goes to stderr
        (err if as_json else out).print(f"chart: {path}", markup=False)
    sys.stdout.flush()


app = typer.Typer()
app.command("staffing")(staffing_command)
