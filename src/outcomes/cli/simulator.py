"""`outcomes compare` and `outcomes simulate`: the same data priced under other contracts, and scenarios
(docs/simulator.md). Nothing is recorded in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

app = typer.Typer()

CHART_SUFFIXES = (".svg", ".png", ".html")

ContractsArg = Annotated[
    list[str], typer.Argument(help="Contract files (YAML), or ids of contracts registered in the workspace.")
]
PeriodOpt = Annotated[str, typer.Option("--period", help="Period, e.g. 2026-10 (or 2026-Q4).")]
ChartOpt = Annotated[
    Path | None, typer.Option("--chart", help="Also write a chart to this file (.svg, .png or .html).")
]


def _check_chart(chart: Path | None) -> None:
    if chart is None:
        return
    if chart.suffix.lower() not in CHART_SUFFIXES:
        err.print(f"error: --chart {chart}: the file must end in .svg, .png or .html", markup=False)
        raise typer.Exit(1)
    if not chart.parent.is_dir():
        err.print(f"error: --chart {chart}: the folder {chart.parent} does not exist", markup=False)
        raise typer.Exit(1)


def load_contracts(ws: Any, names: list[str], period: str) -> list[tuple[str, Any]]:
    """Each name as a contract file, else as a registered contract (its version in effect for `period`)."""
    from outcomes.contract import read_contract
    from outcomes.errors import OutcomesError
    from outcomes.settlement.resolve import period_of, version_for

    found = []
    for name in names:
        path = Path(name)
        if path.suffix.lower() in (".yaml", ".yml") or path.exists():
            if not path.is_file():
                raise OutcomesError(f"{name}: no such contract file", code="not_found")
            found.append((name, read_contract(path)))
        else:
            ledger = ws.ledger()
            contract, _ = version_for(ledger, name, period_of(ledger, name, period))
            found.append((name, contract))
    return found


def _money(v: str | None) -> str:
    return "-" if v is None else f"{float(v):,.2f}"


def _print_compare(table: dict[str, Any]) -> None:
    t = Table(
        title=f"Period {table['period']} under each contract ({table['currency']})", title_justify="left"
    )
    first = Path(table["rows"][0]["source"]).stem if table["rows"] else ""
    for col in (
        "contract",
        "structure",
        "invoice = provider revenue",
        "buyer cost",
        "verified resolutions",
        "buyer cost per verified resolution",
        "provider margin (est.)",
        "margin %",
        f"saving a year vs {first}",
    ):
        t.add_column(col, justify="left" if col in ("contract", "structure") else "right", overflow="fold")
    for r in table["rows"]:
        share = r["provider_margin_share"]
        t.add_row(
            Path(r["source"]).stem,
            r["structure"],
            _money(r["invoice"]),
            _money(r["buyer_cost"]),
            f"{r['verified_resolutions']:,}",
            _money(r["cost_per_verified_resolution"]),
            _money(r["provider_margin"]),
            "-" if share is None else f"{100 * float(share):.1f}%",
            _money(r["annual_saving_vs_first"]),
        )
    out.print(t)
    if not table["costs"]:
        out.print(
            "provider cost and margin need a cost model: --scenario FILE with `costs` (docs/simulator.md)"
        )


@app.command("compare")
def compare_command(
    contracts: ContractsArg,
    period: PeriodOpt,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Scenario file whose `costs` estimate provider margin.")
    ] = None,
    provisional: Annotated[
        bool, typer.Option("--provisional", help="Price a period whose repeat windows are still open.")
    ] = False,
    chart: ChartOpt = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Price one period of the workspace's data under each contract, side by side, recording nothing.

    Each total is exactly what `outcomes settle` gives for that contract and period (less adjustments of
    earlier periods); beside it the buyer's cost, the cost per verified resolution, the provider's revenue and
    (with --scenario) its estimated cost and margin, and the run rate over a year.
    """
    from outcomes.simulator.compare import compare
    from outcomes.simulator.scenario import read_scenario

    _check_chart(chart)
    costs = read_scenario(scenario).costs if scenario is not None else None
    with open_workspace(workspace) as ws, err.status(f"pricing {period} under {len(contracts)} contract(s)…"):
        table = compare(
            ws.ledger(),
            ws.facts(),
            load_contracts(ws, contracts, period),
            period,
            costs=costs,
            provisional=provisional,
        )
    _emit(table, as_json, _print_compare, chart, "compare_chart")


def _emit(result: dict[str, Any], as_json: bool, show: Callable[[dict[str, Any]], None], chart: Path | None,
          drawing: str) -> None:  # fmt: skip
    """The result as JSON (sorted keys) or a table, then its chart (simulator/charts.py `drawing`) if asked."""
    if as_json:
        print_json(result, sort_keys=True)
    else:
        show(result)
    if chart is not None:
        from outcomes.simulator import charts

        charts.write_chart(getattr(charts, drawing)(result), chart)
        (err if as_json else out).print(f"chart: {chart}", markup=False)


def _q(d: dict[str, str] | None) -> str:
    if d is None:
        return "-"
    return f"{_money(d['p10'])} / {_money(d['p50'])} / {_money(d['p90'])}"


def _print_simulation(result: dict[str, Any]) -> None:
    out.print(
        f"scenario {result['scenario']!r}, period {result['period']}, {result['runs']} runs, seed {result['seed']} "
        f"(money in {result['currency']}, per period: P10 / P50 / P90)"
    )
    t = Table(title="Distributions", title_justify="left")
    for col in (
        "contract",
        "structure",
        "buyer cost",
        "provider revenue",
        "provider margin (est.)",
        "cost per verified resolution",
    ):
        t.add_column(col, justify="left" if col in ("contract", "structure") else "right", overflow="fold")
    for c in result["contracts"]:
        t.add_row(
            c["name"],
            c["structure"],
            _q(c["buyer_cost"]),
            _q(c["provider_revenue"]),
            _q(c["provider_margin"]),
            _q(c["cost_per_verified_resolution"]),
        )
    out.print(t)
    first = result["contracts"][0]["incentive"] if result["contracts"] else None
    steps = "" if first is None else f" (FCR +/-{first['fcr_step']}, automation +{first['automation_step']})"
    i = Table(
        title=f"Incentive test: change against the scenario, without noise{steps}; revenue / margin",
        title_justify="left",
    )
    for col in ("contract", "FCR down", "FCR up", "automation up", "buyer cost, automation up", "verdict"):
        i.add_column(col, justify="left" if col in ("contract", "verdict") else "right", overflow="fold")

    def rm(change: dict[str, Any]) -> str:
        return f"{_money(change['provider_revenue'])} / {_money(change['provider_margin'])}"

    for c in result["contracts"]:
        inc = c["incentive"]
        i.add_row(
            c["name"],
            rm(inc["fcr_down"]),
            rm(inc["fcr_up"]),
            rm(inc["automation_up"]),
            _money(inc["automation_up"]["buyer_cost"]),
            inc["alignment"].upper() if inc["misaligned"] else inc["alignment"],
        )
    out.print(i)
    for c in result["contracts"]:
        if c["productivity_share"] is not None:
            out.print(f"{c['name']}: productivity-share credit to the buyer {_q(c['productivity_share'])}")
        for metric, share in c["review_triggers"].items():
            out.print(f"{c['name']}: review trigger on {metric} fires in {100 * float(share):.0f}% of runs")


@app.command("simulate")
def simulate_command(
    contracts: ContractsArg,
    period: PeriodOpt,
    scenario: Annotated[Path, typer.Option("--scenario", help="Scenario file (YAML, docs/simulator.md).")],
    runs: Annotated[
        int | None,
        typer.Option("--runs", min=10, max=100_000, help="Monte Carlo runs (default: the file's)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, max=2**32 - 1, help="Seed (default: the file's).")
    ] = None,
    provisional: Annotated[
        bool, typer.Option("--provisional", help="Start from a period whose repeat windows are still open.")
    ] = False,
    chart: ChartOpt = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Run a scenario (volume, channel mix, automation, quality, glide phase, price review) over each contract.

    Starts from the period as measured, draws volume, handle time and FCR from seeded streams, and shows each
    contract's buyer cost, provider revenue and margin and cost per verified resolution as P10 / P50 / P90,
    then the incentive test: a structure whose provider earns more when FCR falls is flagged misaligned.
    """
    from rich.progress import Progress

    from outcomes.simulator.basis import measure_basis
    from outcomes.simulator.monte_carlo import simulate
    from outcomes.simulator.scenario import read_scenario

    _check_chart(chart)
    sc = read_scenario(scenario)
    update = {k: v for k, v in (("runs", runs), ("seed", seed)) if v is not None}
    sc = sc.model_copy(update=update)
    with open_workspace(workspace) as ws:
        with err.status(f"measuring {period} under {len(contracts)} contract(s)…"):
            bases = [
                measure_basis(ws.ledger(), ws.facts(), c, period, source=s, provisional=provisional)
                for s, c in load_contracts(ws, contracts, period)
            ]
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("simulating", total=sc.runs * len(bases))
            result = simulate(bases, sc, advance=lambda n: progress.advance(task, n))
    _emit(result, as_json, _print_simulation, chart, "distribution_chart")


@app.command("renewal")
def renewal_command(
    contract: Annotated[str, typer.Argument(help="Contract id (registered in the workspace).")],
    start: Annotated[str, typer.Option("--from", help="First period of the window, e.g. 2026-01.")],
    end: Annotated[str, typer.Option("--to", help="Last period of the window, e.g. 2026-12.")],
    alternative: Annotated[
        list[Path] | None,
        typer.Option("--alternative", help="A contract file to price the same periods under (repeatable)."),
    ] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Scenario file whose `costs` estimate provider margin.")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the pack as an HTML page.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the pack as a PDF (WeasyPrint).")] = None,
    no_integrity: Annotated[
        bool, typer.Option("--no-integrity", help="Leave out the integrity checks (faster).")
    ] = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """The renewal pack: the fact base of the renewal conversation over settled periods.

    Per workflow the outcomes counted, targets against actuals, credits paid and earned back, disputes, trends,
    integrity findings, pilots' uplift, and the cost of the same periods under each --alternative contract.
    """
    from outcomes.contract import read_contract
    from outcomes.simulator.renewal import charts, collect, render_html, render_pdf
    from outcomes.simulator.scenario import read_scenario

    for target in (html, pdf):
        if target is not None and not target.parent.is_dir():
            err.print(f"error: {target}: the folder {target.parent} does not exist", markup=False)
            raise typer.Exit(1)
    costs = read_scenario(scenario).costs if scenario is not None else None
    alternatives = [(str(p), read_contract(p)) for p in alternative or []]
    with open_workspace(workspace) as ws, err.status(f"building the renewal pack of {contract}…"):
        pack = collect(
            ws, contract, start, end, alternatives=alternatives, costs=costs, integrity=not no_integrity
        )
        page = render_html(pack, charts(ws, pack)) if html is not None or pdf is not None else None
    if as_json:
        print_json(pack, sort_keys=True)
    else:
        _print_renewal(pack)
    console = err if as_json else out
    if html is not None and page is not None:
        html.write_text(page, encoding="utf-8")
        console.print(f"html: {html}", markup=False)
    if pdf is not None and page is not None:
        pdf.write_bytes(render_pdf(page))
        console.print(f"pdf: {pdf}", markup=False)


def _print_renewal(pack: dict[str, Any]) -> None:
    out.print(
        f"renewal pack: {pack['contract']} v{pack['version']} ({pack['structure']}), {pack['from']} to {pack['to']}, "
        f"money in {pack['currency']}"
    )
    t = Table(title="Trends", title_justify="left")
    for col in (
        "period",
        "total",
        "credits",
        "earned back",
        "verified resolutions",
        "cost per verified resolution",
    ):
        t.add_column(col, justify="left" if col == "period" else "right")
    for p in pack["periods"]:
        t.add_row(
            p["period"],
            _money(p["total"]),
            _money(p["credits"]),
            _money(p["earned_back"]),
            f"{p['verified_resolutions']:,}",
            _money(p["cost_per_verified_resolution"]),
        )
    out.print(t)
    tot = pack["totals"]
    out.print(
        f"billed {_money(tot['billed'])}; credits {_money(tot['credits'])}, earned back {_money(tot['earned_back'])}; "
        f"disputes {len(pack['disputes'])}; integrity findings "
        f"{'-' if pack['integrity'] is None else len(pack['integrity'])}; pilots measured {len(pack['pilots'])}"
    )
    if pack["alternatives"]:
        a = Table(title="The same periods under other structures", title_justify="left")
        for col in (
            "contract",
            "structure",
            "invoice",
            "buyer cost",
            "cost per verified resolution",
            "provider margin (est.)",
        ):
            a.add_column(
                col, justify="left" if col in ("contract", "structure") else "right", overflow="fold"
            )
        for r in pack["alternatives"]:
            a.add_row(
                r["name"],
                r["structure"],
                _money(r["invoice"]),
                _money(r["buyer_cost"]),
                _money(r["cost_per_verified_resolution"]),
                _money(r["provider_margin"]),
            )
        out.print(a)
