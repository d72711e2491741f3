"""The `outcomes` command line. Every feature works from here on the same contract file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from outcomes import __version__
from outcomes.console import JsonOpt, WorkspaceOpt, err, out
from outcomes.console import errors as _errors
from outcomes.console import print_json as _print_json
from outcomes.console import workspace as _workspace

app = typer.Typer(
    name="outcomes",
    help="Run an outcome-based customer-service contract: contract as code, verified outcomes, priced "
    "settlements that both parties can explain and rerun.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
contract_app = typer.Typer(help="Register and inspect contract versions.", no_args_is_help=True)
ingest_app = typer.Typer(
    help="Load interaction data and CRM events into the facts store.", no_args_is_help=True
)
quarantine_app = typer.Typer(
    help="Rows that were refused at ingest, with their reasons.", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit log of every ledger change.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")
app.add_typer(ingest_app, name="ingest")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(audit_app, name="audit")


def _register_subcommands() -> None:
    from outcomes.cli_disputes import dispute_app
    from outcomes.cli_facts import facts_app
    from outcomes.cli_integrity import integrity_command
    from outcomes.cli_mapping import mapping_app
    from outcomes.cli_scorecard import scorecard_command
    from outcomes.cli_uplift import uplift_command

    app.add_typer(dispute_app, name="dispute")
    app.add_typer(facts_app, name="facts")
    app.add_typer(mapping_app, name="mapping")
    app.command("scorecard")(scorecard_command)
    app.command("integrity")(integrity_command)
    app.command("uplift")(uplift_command)


_register_subcommands()


@app.command()
def version() -> None:
    """Print the outcomes version."""
    out.print(__version__)


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="Folder to create or reuse.")] = Path(".")) -> None:
    """Create a workspace: settings (outcomes.toml), a DuckDB facts store and a SQLite ledger."""
    from outcomes.workspace import init_workspace

    with _errors():
        ws = init_workspace(directory)
        out.print(f"workspace ready at {ws.root}")
        out.print(f"  facts:  {ws.settings.facts_path}")
        out.print(f"  ledger: {ws.settings.ledger_url}")
        ws.close()


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Contract YAML file.")],
    as_json: JsonOpt = False,
) -> None:
    """Check a contract file and report every problem at once (file, line, key, hint). Exit 1 on errors."""
    from outcomes.contract import contract_hash, load_contract

    contract, issues = load_contract(file)
    errors = [i for i in issues if i.level == "error"]
    if as_json:
        _print_json(
            {
                "file": str(file),
                "valid": not errors,
                "hash": contract_hash(contract) if contract is not None and not errors else None,
                "issues": [i.to_dict() for i in issues],
            }
        )
    else:
        for i in issues:
            (err if i.level == "error" else out).print(str(i), markup=False)
        if not errors and contract is not None:
            out.print(f"{file}: valid · {contract.contract} v{contract.version} · {contract_hash(contract)}")
        else:
            err.print(f"{file}: {len(errors)} error(s)", markup=False)
    if errors or contract is None:
        raise typer.Exit(1)


@contract_app.command("add")
def contract_add(
    file: Annotated[Path, typer.Argument(help="Contract YAML file.")], workspace: WorkspaceOpt = None
) -> None:
    """Register a contract version in the ledger (amendments are new versions; old ones stay readable)."""
    from outcomes.contract import read_contract

    with _workspace(workspace) as ws:
        contract = read_contract(file)
        reg = ws.ledger().add_contract(contract, file.read_text(encoding="utf-8"), str(file))
        verb = "registered" if reg.created else "already registered (same content)"
        out.print(
            f"{contract.contract} v{contract.version} {verb}: effective from {reg.row.effective_from}, {reg.row.hash}"
        )


@contract_app.command("list")
def contract_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List registered contracts and their versions."""
    with _workspace(workspace) as ws:
        rows = ws.ledger().contract_versions()
        if as_json:
            _print_json(
                [
                    {
                        "contract": r.contract,
                        "version": r.version,
                        "effective_from": r.effective_from,
                        "hash": r.hash,
                        "registered_at": r.registered_at,
                        "file": r.filename,
                    }
                    for r in rows
                ]
            )
            return
        t = Table("contract", "version", "effective from", "hash", "registered")
        for r in rows:
            t.add_row(r.contract, str(r.version), r.effective_from, r.hash[:19] + "…", r.registered_at[:19])
        out.print(t)


@contract_app.command("show")
def contract_show(
    contract_id: Annotated[str, typer.Argument(help="Contract id.")],
    version: Annotated[int | None, typer.Option(help="Version (default: the latest).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print a registered contract version as it was registered."""
    with _workspace(workspace) as ws:
        row = ws.ledger().contract_version(contract_id, version)
        sys.stdout.write(row.source_text)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _ingest(
    kind: str,
    file: Path,
    fmt: str | None,
    timezone: str | None,
    as_json: bool,
    workspace: Path | None,
    mapping: str | None = None,
    params: list[str] | None = None,
) -> None:
    with _workspace(workspace) as ws:
        if not file.exists():
            from outcomes.facts import IngestError

            with _errors():
                raise IngestError(f"{file}: no such file")
        with _progress() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"{stage} {file.name}", total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            if mapping is None:
                summary = ws.facts().ingest(kind, file, fmt=fmt, timezone=timezone, progress=progress)
            else:
                from outcomes.cli_mapping import ingest_with_mapping, parse_params
                from outcomes.facts import IngestError

                if fmt is not None:
                    raise IngestError(
                        f"{file}: give --format or --mapping, not both: the mapping says how to read it"
                    )
                summary = ingest_with_mapping(
                    ws, kind, file, mapping, timezone=timezone, params=parse_params(params), progress=progress
                )
        data = summary.to_dict()
        if summary.batch is not None:
            ws.ledger().record_ingest(data)
        if as_json:
            _print_json(
                {
                    k: data[k]
                    for k in (
                        "rows",
                        "accepted",
                        "duplicates",
                        "updated",
                        "quarantined",
                        "skipped",
                        "reasons",
                    )
                }
                | {k: data[k] for k in ("batch", "mapping", "unit", "source_rows") if k in data}
            )
            return
        out.print(
            f"{file}: {data['rows']:,} rows · {data['accepted']:,} accepted · {data['duplicates']:,} duplicates · "
            f"{data['updated']:,} updated · {data['quarantined']:,} quarantined · {data['skipped']:,} skipped"
            + (f" (batch {data['batch']})" if data.get("batch") is not None else "")
        )
        for reason, n in sorted(data["reasons"].items()):
            out.print(f"  {reason}: {n:,}")
        if data["quarantined"]:
            out.print("  see `outcomes quarantine list` for each refused row and why")


FormatOpt = Annotated[
    str | None, typer.Option("--format", help="csv | parquet | jsonl (default: from the extension).")
]
ZoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone", help="Read timestamps without an offset in this IANA zone (else they are refused)."
    ),
]


MappingOpt = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        help="A mapping file (YAML) or a built-in name (see `outcomes mapping list`) for sources not in the "
        "canonical columns.",
    ),
]


ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param", help="KEY=VALUE for a mapping's parameter, e.g. --param as_of=2026-10-31 (repeatable)."
    ),
]


@ingest_app.command("interactions")
def ingest_interactions(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON lines in the canonical columns.")],
    fmt: FormatOpt = None,
    timezone: ZoneOpt = None,
    mapping: MappingOpt = None,
    param: ParamOpt = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Ingest interactions (tickets, calls, chats). Idempotent; bad rows go to the quarantine."""
    _ingest("interactions", file, fmt, timezone, as_json, workspace, mapping, param)


@ingest_app.command("events")
def ingest_events(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON lines of customer events.")],
    fmt: FormatOpt = None,
    timezone: ZoneOpt = None,
    mapping: MappingOpt = None,
    param: ParamOpt = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Ingest customer events from the CRM (churned, renewed, saved, purchase, downgrade)."""
    _ingest("events", file, fmt, timezone, as_json, workspace, mapping, param)


@quarantine_app.command("list")
def quarantine_list(
    batch: Annotated[int | None, typer.Option(help="Only this ingest batch.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).")] = 50,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List refused rows: file, row number, field and reason."""
    with _workspace(workspace) as ws:
        rows = ws.facts().quarantine(batch)
        shown = rows if limit == 0 else rows[:limit]
        if as_json:
            _print_json(shown)
            return
        t = Table("batch", "file", "row", "field", "reason", "message")
        for r in shown:
            t.add_row(
                str(r["batch"]),
                Path(str(r["file"])).name,
                str(r["row"]),
                str(r["field"] or ""),
                r["reason"],
                str(r["message"] or ""),
            )
        out.print(t)
        if len(rows) > len(shown):
            out.print(f"{len(rows) - len(shown):,} more; use --limit 0 or --json")


@app.command()
def settle(
    contract_id: Annotated[str, typer.Argument(help="Contract id (as registered).")],
    period: Annotated[str, typer.Option("--period", "-p", help="Period: YYYY-MM, or YYYY-Qn for quarters.")],
    provisional: Annotated[
        bool, typer.Option(help="Settle before the repeat-contact windows close; the rest stays pending.")
    ] = False,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the invoice as CSV.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Compute and record the period's settlement (immutable, fingerprinted) and print the invoice."""
    from outcomes.settle import settle as run

    with _workspace(workspace) as ws:
        with err.status(f"settling {contract_id} {period}…"):
            result = run(ws.ledger(), ws.facts(), contract_id, period, provisional=provisional)
        _show_invoice(result.to_dict(), as_json, as_csv)


def _show_invoice(inv: dict[str, Any], as_json: bool, as_csv: bool) -> None:
    from outcomes.reports.invoice import invoice_csv, invoice_table

    if as_json:
        _print_json(inv)
    elif as_csv:
        sys.stdout.write(invoice_csv(inv))
    else:
        out.print(invoice_table(inv))
        for n in inv.get("notices", []):
            out.print(f"notice ({n['code']}): {n['message']}", markup=False)


@app.command()
def settlements(
    contract_id: Annotated[str | None, typer.Option("--contract", help="Only this contract.")] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List recorded settlements."""
    with _workspace(workspace) as ws:
        rows = ws.ledger().settlements(contract_id)
        if as_json:
            _print_json(
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
    from outcomes.reports.invoice import invoice_dict

    with _workspace(workspace) as ws:
        _show_invoice(invoice_dict(ws.ledger().settlement(settlement)), as_json, as_csv)


@app.command()
def explain(
    settlement: Annotated[str, typer.Argument(help="Settlement number or CONTRACT/PERIOD.")],
    line: Annotated[
        int | None, typer.Argument(help="Line number (from the invoice); all lines when omitted.")
    ] = None,
    sample: Annotated[int, typer.Option(help="Sample ids shown per fate and reason.")] = 5,
    show_sql: Annotated[
        bool, typer.Option("--sql/--no-sql", help="Show the SQL the outcome compiled to.")
    ] = True,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show how a line was computed: the contract clause, the arithmetic, counts by reason, sample ids, SQL."""
    from outcomes.explain import explain_lines, render

    with _workspace(workspace) as ws:
        parts = explain_lines(ws.ledger(), ws.facts(), settlement, line, sample=sample)
        if as_json:
            _print_json(parts)
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
    from outcomes.rerun import rerun as run

    with _workspace(workspace) as ws:
        with err.status(f"rerunning settlement {settlement}…"):
            report = run(ws.ledger(), ws.facts(), settlement)
        if as_json:
            _print_json(report.to_dict())
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
            same = "matches" if report.fingerprint_matches else "DIFFERS"
            out.print(
                f"fingerprint {same}: recorded {report.recorded_fingerprint}, recomputed {report.fingerprint}"
            )
            for name, n in report.tampered.items():
                if n:
                    out.print(
                        f"[red]{n:,} {name} rows no longer match their stored hash (edited in the database)[/red]"
                    )
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
    with _workspace(workspace) as ws:
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
            _print_json(rows)
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
    and notices such as review triggers."""
    from outcomes.status import contract_status

    with _workspace(workspace) as ws:
        ids = [contract_id] if contract_id else sorted({r.contract for r in ws.ledger().contract_versions()})
        states = [contract_status(ws.ledger(), ws.facts(), c) for c in ids]
        if as_json:
            _print_json(states)
            return
        for st in states:
            out.rule(f"{st['contract']} v{st['version']}")
            out.print(f"contacts observed up to: {st['contact_clock'] or 'nothing yet'}")
            out.print(f"customer events observed up to: {st['event_clock'] or 'nothing yet'}")
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
                )
                out.print(f"next period: {nxt['period']}, settleable {when}")
            for n in st["notices"]:
                out.print(f"notice ({n['code']}): {n['message']}", markup=False)


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOpt = None) -> None:
    """Check the audit chain: exit 0 when intact, 1 naming the first edited, removed or reordered entry."""
    with _workspace(workspace) as ws:
        report = ws.ledger().verify_audit()
        if report.ok:
            out.print(f"audit chain intact: {report.entries} entries")
            return
        err.print(f"audit chain broken at entry {report.first_bad}: {report.problem}", markup=False)
        raise typer.Exit(1)


@app.command()
def generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for interactions.parquet, events.parquet, contract.yaml.")
    ],
    contacts: Annotated[int, typer.Option(help="Contacts per month.")] = 100_000,
    months: Annotated[int, typer.Option(help="Calendar months of contacts.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2026-09",
    gaming: Annotated[
        bool,
        typer.Option(
            "--gaming",
            help="Inject every integrity pattern (docs/integrity.md) with ground truth in gaming_labels.parquet "
            "and reclassified rows in interactions_updates.parquet (ingest it after interactions.parquet).",
        ),
    ] = False,
    gaming_rate: Annotated[
        float | None,
        typer.Option(
            "--gaming-rate", help="With --gaming: share of each pattern's eligible contacts (and agents); 0.02."
        ),
    ] = None,
) -> None:
    """Write realistic synthetic interactions, CRM events and a matching sample contract."""
    from outcomes.generate import GAMING_RATE
    from outcomes.generate import generate as run

    if gaming_rate is not None and not gaming:
        err.print("error: --gaming-rate sets how much gaming --gaming injects; add --gaming", markup=False)
        raise typer.Exit(1)
    try:
        with err.status("generating…") as status:
            summary = run(
                out_dir,
                contacts=contacts,
                months=months,
                seed=seed,
                start=start,
                progress=lambda msg: status.update(msg),
                gaming=gaming,
                gaming_rate=GAMING_RATE if gaming_rate is None else gaming_rate,
            )
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    out.print(
        f"wrote {summary['interactions']:,} interactions and {summary['events']:,} events "
        f"({', '.join(summary['months'])}) and {summary['contract']} to {out_dir}"
    )
    if gaming:
        g = summary["gaming"]
        labels = ", ".join(f"{k} {v:,}" for k, v in g["labels"].items())
        out.print(f"gaming at rate {g['rate']}: labels {labels}; ground truth in {g['labels_path']}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
