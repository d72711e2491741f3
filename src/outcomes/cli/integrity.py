"""`outcomes integrity CONTRACT --period P`: detectors for the ways outcome metrics are gamed
(docs/integrity.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outcomes.analysis.integrity.model import DETECTORS, Report
from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

__all__ = ["integrity_command"]

SAMPLE = 5


def _print(report: Report, show_ids: int) -> None:
    out.print(
        f"{report.contract} v{report.version}, period {report.period}: "
        f"{len(report.findings)} finding(s), money at stake {report.to_dict()['billing_effect']} {report.currency}"
    )
    t = Table(title="Detectors", title_justify="left")
    for col in ("detector", "looked at", "flagged", "rate", "findings"):
        t.add_column(col, justify="left" if col == "detector" else "right")
    for r in report.runs:
        rate = "-" if r.firing_rate is None else f"{100 * r.firing_rate:.2f}%"
        t.add_row(r.detector, f"{r.population:,}", f"{r.flagged:,}", rate, str(len(r.findings)))
    out.print(t)
    for r in report.runs:
        if r.details.get("curve"):
            _print_curve(r.details, report.currency)
    for f in report.findings:
        subject = f" [{f.subject_kind} {f.subject}]" if f.subject else ""
        d = f.to_dict(report.currency)
        out.print(
            f"{f.severity.upper():8} {f.detector}{subject}: {f.count} contact(s), billing effect "
            f"{d['billing_effect']} {report.currency}",
            markup=False,
        )
        out.print(f"         {f.message}", markup=False)
        if show_ids:
            more = f" (+{f.count - show_ids} more; --json lists all)" if f.count > show_ids else ""
            out.print(f"         ids: {', '.join(f.interaction_ids[:show_ids])}{more}", markup=False)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _print_curve(d: dict, currency: str) -> None:
    """containment_abandonment's return curve: bot sessions against agent resolutions of the same queues."""
    from outcomes.analysis.integrity.containment import p_text

    t = Table(
        title="Return to a human after a resolution (containment_abandonment)",
        title_justify="left",
        caption="expected: the bot's sessions at the agents' rate, queue by queue",
        caption_justify="left",
    )
    for col in ("within", "bot sessions", "bot back", "agents back", "expected", "ratio"):
        t.add_column(col, justify="left" if col == "within" else "right")
    for c in d["curve"]:
        ratio = "-" if c["ratio"] is None else f"{c['ratio']:.2f}x"
        t.add_row(
            c["within"],
            f"{c['bot_sessions']:,}",
            _pct(c["bot_rate"]),
            _pct(c["agent_rate"]),
            _pct(c["expected_rate"]),
            ratio,
        )
    out.print(t)
    test, paid = d["test"], d["paid_followed_by_human"]
    within = d["curve"][-1]["within"] if d["curve"] else ""
    verdict = "significant" if test["significant"] else "not significant"
    out.print(f"  excess within {within}: {verdict} (z={test['z']:.2f}, {p_text(test['p'])})", markup=False)
    out.print(
        f"  {paid['count']:,} paid bot resolutions were followed by a human contact within {within}: "
        f"{paid['amount']} {currency}",
        markup=False,
    )


def integrity_command(
    contract: Annotated[str, typer.Argument(help="Contract id.")],
    period: Annotated[str, typer.Option("--period", help="Period, e.g. 2026-10 (or 2026-Q4).")],
    detector: Annotated[
        list[str] | None,
        typer.Option(
            "--detector", help=f"Run only this detector (repeatable): {', '.join(DETECTORS)}. Default: all."
        ),
    ] = None,
    ids: Annotated[int, typer.Option("--ids", help="Sample ids shown per finding in the table view.")] = SAMPLE,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Integrity checks against gaming: split tickets, premature closure, bot containment that was abandonment,
    survey selection bias, reclassification toward higher prices, resolution claims the system of record does
    not support. Each finding has a severity, a subject, every affected interaction id and its billing effect."""
    with open_workspace(workspace) as ws:
        from outcomes.analysis.integrity import collect

        with err.status(f"running the integrity detectors on {contract} {period}…"):
            report = collect(ws, contract, period, only=detector)
        if as_json:
            print_json(report.to_dict())
        else:
            _print(report, max(ids, 0))


app = typer.Typer()
app.command("integrity")(integrity_command)
