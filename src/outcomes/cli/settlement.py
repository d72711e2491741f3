"""Settling and reading settlements: `outcomes settle|settlements|show|explain|rerun|adjustments|status`."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json, require_contract

app = typer.Typer()


@app.command()
def settle(
    contract_id: Annotated[str, typer.Argument(help="Contract id (as registered).")],
    period: Annotated[str, typer.Option("--period", "-p", help="Period: YYYY-MM, or YYYY-Qn for quarters.")],
    provisional: Annotated[
        bool, typer.Option(help="Settle before the repeat-contact windows close; the rest stays pending.")
    ] = False,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the invoice as CSV.")] = False,
    profile: Annotated[
        bool, typer.Option("--profile", help="Also print the seconds each stage took (on stderr).")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Compute and record the period's settlement (immutable, fingerprinted) and print the invoice."""
    from outcomes.settlement.settle import settle as run

    with open_workspace(workspace) as ws:
        with err.status(f"settling {contract_id} {period}…"):
            result = run(ws.ledger(), ws.facts(), contract_id, period, provisional=provisional)
        inv = result.to_dict()
        _with_head(ws.ledger(), ws.ledger().settlement(result.settlement_id), inv)
        _show_invoice(inv, as_json, as_csv)
        if profile:
            _show_profile(result.timings)


def _show_profile(timings: dict[str, float]) -> None:
    from outcomes.settlement.stages import STAGES

    t = Table("stage", "seconds", title="where the time went", title_justify="left")
    for stage in STAGES:
        if stage in timings:
            t.add_row(stage, f"{timings[stage]:.3f}")
    t.add_row("total", f"{sum(timings.values()):.3f}")
    err.print(t)


def _with_head(ledger: Any, row: Any, inv: dict[str, Any]) -> None:
    """The audit chain's head right after the settlement was recorded: the counterparty keeps it, and can
    later prove that nothing recorded up to it was removed or rewritten (`audit verify --against`)."""
    head = ledger.settlement_head(row)
    if head is not None:
        inv["audit_head"] = head.line()


def _show_invoice(inv: dict[str, Any], as_json: bool, as_csv: bool) -> None:
    from outcomes.settlement.invoice import invoice_csv, invoice_table

    if as_json:
        print_json(inv)
    elif as_csv:
        sys.stdout.write(invoice_csv(inv))
    else:
        out.print(invoice_table(inv))
        for n in inv.get("notices", []):
            out.print(f"notice ({n['code']}): {n['message']}", markup=False)
        if inv.get("audit_head"):
            out.print(
                f"audit head after this settlement: {inv['audit_head']} (keep it; `outcomes audit verify --against "
                "\"HEAD\"` proves the ledger still extends it)",
                markup=False,
            )


@app.command()
def settlements(
    contract_id: Annotated[str | None, typer.Option("--contract", help="Only this contract.")] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List recorded settlements."""
    with open_workspace(workspace) as ws:
        require_contract(ws.ledger(), contract_id)
        rows = ws.ledger().settlements(contract_id)
        if as_json:
            print_json(
                [
                    {
                        "settlement": r.id,
                        "contract": r.contract,
                        "version": r.version,
                        "period": r.period,
                        "status": r.status,
                        "total": r.total,
                        "currency": r.currency,
                        "fingerprint": r.fingerprint,
                        "created_at": r.created_at,
                    }
                    for r in rows
                ]
            )
            return
        t = Table("#", "contract", "v", "period", "status", "total", "fingerprint", "recorded")
        for r in rows:
            t.add_row(
                str(r.id),
                r.contract,
                str(r.version),
                r.period,
                r.status,
                f"{r.total} {r.currency}",
                r.fingerprint[:19] + "…",
                r.created_at[:19],
            )
        out.print(t)


@app.command()
def show(
    settlement: Annotated[str, typer.Argument(help="Settlement number or CONTRACT/PERIOD.")],
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the invoice as CSV.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print a recorded settlement's invoice."""
    from outcomes.settlement.invoice import invoice_dict

    with open_workspace(workspace) as ws:
        row = ws.ledger().settlement(settlement)
        inv = invoice_dict(row)
        _with_head(ws.ledger(), row, inv)
        _show_invoice(inv, as_json, as_csv)


@app.command()
def explain(
    settlement: Annotated[str, typer.Argument(help="Settlement number or CONTRACT/PERIOD.")],
    line: Annotated[
        int | None, typer.Argument(help="Line number (from the invoice); all lines when omitted.")
    ] = None,
    sample: Annotated[int, typer.Option(help="Sample ids shown per fate and reason.", min=0)] = 5,
    show_sql: Annotated[
        bool, typer.Option("--sql", help="Also show the SQL the outcome compiled to (--json always has it).")
    ] = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show how a line was computed: the contract clause, the arithmetic, counts by reason, sample ids (and
    the SQL with --sql)."""
    from outcomes.settlement.explain import explain_lines, render

    with open_workspace(workspace) as ws:
        parts = explain_lines(ws.ledger(), ws.facts(), settlement, line, sample=sample)
        if as_json:
            print_json(parts)
        else:
            render(out, parts, show_sql=show_sql)


@app.command()
def rerun(
    settlement: Annotated[str, typer.Argument(help="Settlement number or CONTRACT/PERIOD.")],
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Recompute a settlement from the stored facts (as of its batch) and contract version; exit 1 on any
    difference in the fingerprint, a line, or a fact edited behind the ledger's back."""
    from outcomes.settlement.rerun import rerun as run

    with open_workspace(workspace) as ws:
        with err.status(f"rerunning settlement {settlement}…"):
            report = run(ws.ledger(), ws.facts(), settlement)
        if as_json:
            print_json(report.to_dict())
        else:
            t = Table(
                "#",
                "line",
                "recorded",
                "recomputed",
                "match",
                title=f"rerun of settlement {report.settlement}",
            )
            for ln in report.lines:
                t.add_row(
                    str(ln["line"]),
                    ln["label"],
                    (ln["recorded"] or {}).get("amount", "—"),
                    (ln["recomputed"] or {}).get("amount", "—"),
                    "yes" if ln["match"] else "[red]NO[/red]",
                )
            out.print(t)
            # "matches" is said once, of the whole rerun, and only when everything agrees
            if report.fingerprint_matches:
                out.print(f"fingerprint: recomputed from the facts read, identical ({report.fingerprint})")
            else:
                out.print(
                    f"[red]fingerprint DIFFERS[/red]: recorded {report.recorded_fingerprint}, recomputed from the "
                    f"facts read {report.fingerprint}"
                )
                if report.digest != report.recorded_digest:
                    out.print(
                        "[red]the facts read are not the facts the settlement read (rows deleted, added or "
                        "edited since)[/red]"
                    )
            if not report.total_matches:
                out.print(
                    f"[red]total DIFFERS: recorded {report.recorded_total}, recomputed {report.total}[/red]"
                )
            for name, n in report.tampered.items():
                if n:
                    out.print(
                        f"[red]{n:,} {name} rows no longer match their stored hash (edited in the database)[/red]"
                    )
            for problem in report.ledger_rows:
                out.print(f"ledger: {problem}", style="red", markup=False)
            out.print(
                "rerun matches the recorded settlement" if report.ok else "[red]rerun does NOT match[/red]"
            )
        if not report.ok:
            raise typer.Exit(1)


@app.command()
def adjustments(
    contract_id: Annotated[str | None, typer.Option("--contract", help="Only this contract.")] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List adjustment lines: which settlement carried them, which period and line they correct, and why."""
    with open_workspace(workspace) as ws:
        require_contract(ws.ledger(), contract_id)
        rows = []
        for st in ws.ledger().settlements(contract_id):
            for ln in st.lines:
                if ln.kind != "adjustment":
                    continue
                d = json.loads(ln.details)
                adj = d.get("adjusts", {})
                rows.append(
                    {
                        "settlement": st.id,
                        "contract": st.contract,
                        "billed_in": st.period,
                        "line": ln.seq,
                        "corrects_period": adj.get("period"),
                        "corrects_settlement": adj.get("settlement"),
                        "corrects_line": adj.get("line"),
                        "label": ln.label,
                        "amount": ln.amount,
                        "currency": st.currency,
                        "why": [
                            f"{c.get('contacts')} {c.get('outcome')}: {c.get('before')} -> {c.get('after')}"
                            for c in d.get("fate_changes", [])
                            if "before" in c
                        ]
                        or [d.get("reason", "")],
                    }
                )
        if as_json:
            print_json(rows)
            return
        t = Table("settlement", "billed in", "corrects", "line", "amount", "why")
        for r in rows:
            t.add_row(
                f"{r['settlement']}:{r['line']}",
                r["billed_in"],
                f"{r['corrects_period']} (settlement {r['corrects_settlement']}, line {r['corrects_line']})",
                r["label"],
                f"{r['amount']} {r['currency']}",
                "; ".join(r["why"]),
            )
        out.print(t)


@app.command()
def status(
    contract_id: Annotated[
        str | None, typer.Argument(help="Contract id (all registered contracts if omitted).")
    ] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Where each contract stands: data clocks, last settlement, the next period and when it can be settled,
    every period of the term up to the data clock that is not settled yet, and notices such as review
    triggers."""
    from outcomes.settlement.status import contract_status

    with open_workspace(workspace) as ws:
        ids = (
            [contract_id]
            if contract_id is not None
            else sorted({r.contract for r in ws.ledger().contract_versions()})
        )
        states = [contract_status(ws.ledger(), ws.facts(), c) for c in ids]
        if as_json:
            print_json(states)
            return
        for st in states:
            out.rule(f"{st['contract']} v{st['version']}")
            out.print(f"contacts observed up to: {st['contact_clock'] or 'nothing yet'}")
            out.print(f"customer events observed up to: {st['event_clock'] or 'nothing yet'}")
            if st["missing_events"]:
                out.print(
                    f"no customer events ingested: {', '.join(st['missing_events'])} cannot be verified; "
                    "ingest them with `outcomes ingest events FILE` (or settle --provisional)",
                    markup=False,
                )
            last = st["last_settlement"]
            out.print(
                "last settlement: "
                + (
                    f"{last['period']} (#{last['settlement']}, {last['status']}, {last['total']})"
                    if last
                    else "none"
                )
            )
            nxt = st["next_period"]
            if nxt:
                when = (
                    "now"
                    if nxt["settleable"]
                    else f"once contacts after {nxt['settleable_after']} are ingested"
                    + (" and customer events are" if st["missing_events"] else "")
                )
                out.print(f"next period: {nxt['period']}, settleable {when}")
            unsettled = st["unsettled"]
            if unsettled:
                ready = [u["period"] for u in unsettled if u["settleable"]]
                waiting = [u["period"] for u in unsettled if not u["settleable"]]
                out.print(
                    f"unsettled up to the data clock: {len(unsettled)}"
                    + (f"; settleable now: {', '.join(ready)}" if ready else "")
                    + (f"; waiting for data: {', '.join(waiting)}" if waiting else "")
                )
            for n in st["notices"]:
                out.print(f"notice ({n['code']}): {n['message']}", markup=False)
