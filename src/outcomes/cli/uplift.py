"""`outcomes uplift CONTRACT --period P --pilot ... [--control ...] [--baseline P0]` (docs/uplift.md), and
`outcomes uplift --plan --metric M --rate R --effect E`: how many customers a pilot needs before it starts.

Register it in cli.py with ``app.command("uplift")(uplift_command)``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

__all__ = ["uplift_command"]

_KINDS = {
    "pilot_vs_control": "pilot - control",
    "pilot_vs_baseline": "pilot - baseline",
    "control_vs_baseline": "control - baseline",
    "pre_period_gap": "pilot - control, baseline",
    "difference_in_differences": "DiD",
}


def _short(est: dict[str, Any]) -> str:
    """The verdict in a few words (the full sentence is in --json)."""
    if est["lift"] is None or est["ci"] is None:
        return "no data"
    if est["verdict"].startswith("too few customers"):
        return "too few customers"
    if not est["significant"]:
        return "not significant"
    return "significant, " + ("favourable" if est["favourable"] else "unfavourable")


def _fail(message: str) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(1)


def _pct(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v * 100:+.1f} pts" if signed else f"{v * 100:.1f}%"


def _p(v: float | None, resamples: int) -> str:
    if v is None:
        return "-"
    return f"< {1 / resamples:.4f}" if v == 0 else f"{v:.4f}"


def _print(report: dict[str, Any]) -> None:
    ref = []
    if report["control"] is not None:
        ref.append(f"control {report['control']['text']}")
    if report["baseline"] is not None:
        ref.append(f"baseline {report['baseline']}")
    out.print(
        f"{report['contract']} v{report['version']}, period {report['period']}: pilot {report['pilot']['text']} "
        f"against {' and '.join(ref)} ({report['method']})",
        markup=False,
    )
    conf = f"{float(report['confidence']) * 100:g}%"
    for m in report["metrics"]:
        t = Table(title=f"{m['metric']} (resampling customers; {m['better']} is better)", title_justify="left")
        for col in ("group", "period", "value", "customers"):
            t.add_column(col, justify="left" if col in ("group", "period") else "right")
        for s in m["samples"]:
            shown = _pct(s["value_decimal"]) + (f" ({s['numerator']}/{s['denominator']})" if s["denominator"] else "")
            t.add_row(s["group"], s["period"], shown, f"{s['customers']:,}")
        out.print(t)
        e = Table(show_header=True)
        for col in ("estimate", "lift", "relative", f"{conf} interval", "p", "verdict"):
            e.add_column(col, justify="left" if col in ("estimate", "verdict") else "right")
        for est in m["estimates"]:
            ci = "-" if est["ci"] is None else f"[{_pct(est['ci'][0], True)}, {_pct(est['ci'][1], True)}]"
            rel = "-" if est["relative"] is None else f"{est['relative'] * 100:+.1f}%"
            star = " *" if est["kind"] == m["headline"] else ""
            e.add_row(_KINDS[est["kind"]] + star, _pct(est["lift_decimal"], True), rel, ci,
                      _p(est["p_value"], report["resamples"]), _short(est))  # fmt: skip
        out.print(e)
        for est in m["estimates"]:
            if est.get("ols"):
                o = est["ols"]
                out.print(
                    f"  OLS check ({o['method']}, {o['clusters']} clusters): DiD {_pct(o['did'], True)}, "
                    f"{conf} interval [{_pct(o['ci'][0], True)}, {_pct(o['ci'][1], True)}], "
                    f"p {'< 0.0001' if o['p_value'] < 0.0001 else format(o['p_value'], '.4f')}",
                    markup=False,
                )
        head = next(est for est in m["estimates"] if est["kind"] == m["headline"])
        if head.get("power_note"):
            out.print(f"  power: {head['power_note']}", markup=False)
        for n in m["notes"]:
            out.print(f"  note: {n}", markup=False)
    out.print(
        f"* the headline estimate; rates in %, lifts in percentage points; significant: the {conf} interval "
        "excludes 0 (customers resampled); favourable: in the metric's good direction",
        markup=False,
    )


def uplift_command(
    contract: Annotated[str | None, typer.Argument(help="Contract id (not with --plan).")] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="The pilot's period, e.g. 2026-06 (or 2026-Q2).")
    ] = None,
    pilot: Annotated[
        list[str] | None,
        typer.Option(
            "--pilot",
            help="Pilot segment: queue=A,B | agent=X,Y | customer=ID,... or customer=@FILE | workflow=W. "
            "Repeat the option to combine criteria (all must match).",
        ),
    ] = None,
    control: Annotated[
        list[str] | None,
        typer.Option("--control", help="Control segment, same syntax as --pilot (same period)."),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Baseline period to compare with, e.g. 2026-03.")
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="save_rate, churn_rate, csat_top2box, fcr_rate (default: all four)."),
    ] = None,
    confidence: Annotated[str, typer.Option("--confidence", help="Confidence level of the intervals.")] = "0.95",
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap (same seed, same numbers).")] = 0,
    plan: Annotated[
        bool, typer.Option("--plan", help="Before a pilot: how many customers per arm it needs to show --effect.")
    ] = False,
    rate: Annotated[
        float | None, typer.Option("--rate", help="--plan: the metric's current rate, e.g. 0.20.", min=0.0, max=1.0)
    ] = None,
    effect: Annotated[
        float | None,
        typer.Option("--effect", help="--plan: the change to show, as a rate, e.g. -0.03 (3 points down).",
                     min=-1.0, max=1.0),
    ] = None,
    power: Annotated[
        float | None, typer.Option("--power", help="--plan: the chance to show it (default 0.8).", min=0.5, max=0.999)
    ] = None,
    contacts: Annotated[
        float | None,
        typer.Option("--contacts-per-customer", help="--plan: contacts per customer (default 1).", min=1.0, max=1000.0),
    ] = None,
    icc: Annotated[
        float | None,
        typer.Option("--icc", help="--plan: correlation of one customer's contacts, 0..1 (default 0).", min=0.0, max=1.0),
    ] = None,
    one_sided: Annotated[
        bool, typer.Option("--one-sided", help="--plan: a one-sided test, as a contract's lift gate uses.")
    ] = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Lift of save rate, churn, CSAT and FCR in a pilot against a control group and/or a baseline period,
    with intervals that resample customers, p-values, the minimum detectable effect and a plain verdict
    (difference-in-differences when both). With --plan: the customers a pilot needs, before it starts."""
    import math

    planning = {"--rate": rate, "--effect": effect, "--power": power, "--contacts-per-customer": contacts,
                "--icc": icc}  # fmt: skip
    for name, v in planning.items():
        if v is not None and not math.isfinite(v):
            _fail(f"{name} {v} is not a number")
    if plan:
        _plan(metric, rate, effect, power, contacts, icc, one_sided, confidence, as_json)
        return
    given = [name for name, v in planning.items() if v is not None] + (["--one-sided"] if one_sided else [])
    if given:
        _fail(f"{given[0]} is for --plan (how many customers a pilot needs); add --plan or leave it out")
    if contract is None or period is None or not pilot:
        _fail("give CONTRACT, --period and --pilot (or --plan to size a pilot before it starts)")
    from outcomes.ledger import LedgerError
    from outcomes.metrics.lift import UpliftError, UpliftSpec, measure_uplift
    from outcomes.metrics.outcomes import Clocks
    from outcomes.metrics.segments import UPLIFT_METRICS, SegmentError, parse_segment
    from outcomes.period import Period

    if not control and baseline is None:
        _fail("give --control SEGMENT, --baseline PERIOD, or both (difference-in-differences)")
    try:
        conf = Decimal(confidence)
    except InvalidOperation:
        conf = Decimal(-1)
    if not Decimal(0) < conf < Decimal(1):
        _fail(f"--confidence {confidence!r} must be a number strictly between 0 and 1, e.g. 0.95")
    if not 200 <= resamples <= 100000:
        _fail(f"--resamples {resamples} must be between 200 and 100000")
    metrics = tuple(dict.fromkeys(metric or UPLIFT_METRICS))
    unknown = [m for m in metrics if m not in UPLIFT_METRICS]
    if unknown:
        _fail(f"--metric {unknown[0]!r} is not one of {', '.join(UPLIFT_METRICS)}")
    try:
        pilot_seg = parse_segment(pilot, "--pilot")
        control_seg = parse_segment(control, "--control") if control else None
    except SegmentError as exc:
        _fail(str(exc))
    with open_workspace(workspace) as ws:
        ledger, facts = ws.ledger(), ws.facts()
        latest = ledger.contract_version(contract)
        from outcomes.ledger.store import load_version

        kind = load_version(latest).period
        try:
            p = Period.parse(period, kind)
            b = Period.parse(baseline, kind) if baseline is not None else None
        except ValueError as exc:
            _fail(str(exc))
        try:
            c, _row = ledger.contract_for(contract, p.start)
        except LedgerError as exc:
            _fail(str(exc))
        spec = UpliftSpec(
            pilot=pilot_seg, period=p, control=control_seg, baseline=b, metrics=metrics,
            confidence=conf, resamples=resamples, seed=seed,
        )  # fmt: skip
        clocks = Clocks(contacts=facts.contact_clock(c.system_of_record), events=facts.event_clock())
        try:
            with err.status(f"measuring the lift in {p}…"):
                results = measure_uplift(c, facts.interactions(), facts.events(), clocks, spec)
        except UpliftError as exc:
            _fail(str(exc))
        report = {
            "contract": c.contract,
            "version": c.version,
            "period": p.label,
            "baseline": b.label if b is not None else None,
            "pilot": {"text": pilot_seg.describe(), "segment": pilot_seg.to_dict()},
            "control": (
                {"text": control_seg.describe(), "segment": control_seg.to_dict()} if control_seg else None
            ),
            "confidence": format(conf, "f"),
            "resamples": resamples,
            "seed": seed,
            "method": f"cluster bootstrap of customers, {resamples} resamples, seed {seed}",
            "metrics": [r.to_dict() for r in results],
        }
        if as_json:
            print_json(report)
        else:
            _print(report)


def _plan(metric, rate, effect, power, contacts, icc, one_sided, confidence, as_json) -> None:
    from outcomes.metrics.lift import DEFAULT_POWER, UpliftError, plan_customers

    if not metric or len(metric) != 1:
        _fail("--plan: give one --metric (save_rate, churn_rate, csat_top2box or fcr_rate)")
    if rate is None or effect is None:
        _fail("--plan: give --rate (the metric now, e.g. 0.20) and --effect (the change to show, e.g. -0.03)")
    try:
        conf = Decimal(confidence)
    except InvalidOperation:
        conf = Decimal(-1)
    if not Decimal(0) < conf < Decimal(1):
        _fail(f"--confidence {confidence!r} must be a number strictly between 0 and 1, e.g. 0.95")
    try:
        got = plan_customers(metric[0], rate, effect, confidence=conf, power=power or DEFAULT_POWER,
                             contacts=contacts or 1.0, icc=icc or 0.0, one_sided=one_sided)  # fmt: skip
    except UpliftError as exc:
        _fail(str(exc))
    if as_json:
        print_json(got)
        return
    per = "" if got["metric"] == "churn_rate" else (
        f" ({got['contacts_per_customer']:g} contacts per customer, icc {got['icc']:g}, "
        f"design effect {got['design_effect']:.2f})"
    )  # fmt: skip
    out.print(
        f"{got['metric']} from {rate * 100:.1f}%: to show a change of {effect * 100:+.1f} points at "
        f"{float(conf) * 100:g}% ({got['test']}) with {got['power'] * 100:g}% power, the pilot and the control "
        f"need {got['customers_per_arm']:,} customers each{per}. A difference-in-differences needs about twice "
        "as many per group and period.",
        markup=False,
    )


app = typer.Typer()
app.command("uplift")(uplift_command)
