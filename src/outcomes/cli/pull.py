"""`outcomes pull zendesk|freshdesk|intercom`: read a helpdesk's API straight into the facts store."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

app = typer.Typer()


class Helpdesk(enum.StrEnum):
    zendesk = "zendesk"
    freshdesk = "freshdesk"
    intercom = "intercom"


def _since(text: str | None) -> Any:
    if text is None:
        return None
    from datetime import date

    from outcomes.errors import OutcomesError

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise OutcomesError(
            f"--since {text!r} is not a date", code="usage", hint="write it YYYY-MM-DD, e.g. --since 2026-10-01"
        ) from None


@app.command("pull")
def pull_command(
    helpdesk: Annotated[Helpdesk, typer.Argument(help="The helpdesk to read: zendesk, freshdesk or intercom.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="YYYY-MM-DD (00:00 UTC): the first pull reads what changed from then on; later pulls resume from "
            "the cursor kept in the workspace and ignore it.",
        ),
    ] = None,
    allow_changes_to_settled: Annotated[
        bool,
        typer.Option(
            "--allow-changes-to-settled",
            help="Ingest even when it changes facts of settled periods (as `outcomes ingest`).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Pull changed tickets or conversations from the helpdesk's API through its built-in mapping (validation and
    quarantine as for a file). Credentials come from the environment (docs/connectors.md); the cursor is kept in
    the workspace, so a rerun resumes and reads nothing twice."""
    start = _since(since)
    with open_workspace(workspace) as ws:
        from outcomes.connectors import ingest_with_mapping
        from outcomes.connectors.pull import pull
        from outcomes.settlement.settled_facts import SettledFactsCheck

        check = SettledFactsCheck(ws.ledger(), allow=allow_changes_to_settled)
        name = helpdesk.value
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
        ) as bar:
            task = bar.add_task(f"{name}: connecting", total=None)

            def progress(what: str, pages: int, records: int) -> None:
                bar.update(task, description=f"{name}: {what} · {pages:,} page(s) · {records:,} record(s)")

            def ingest(file: Any, mapping: str) -> Any:
                summary = ingest_with_mapping(ws, "interactions", file, mapping, check=check)
                if summary.batch is not None:
                    ws.ledger().record_ingest(summary.to_dict())
                return summary

            result = pull(name, ws.root / "pulls", ingest, since=start, progress=progress)
    data = result.to_dict()
    data["changes_to_settled"] = [c.to_dict() for c in check.found]
    if as_json:
        print_json(data)
        return
    t = result.totals
    how = "resumed from its cursor" if result.resumed else f"since {start}"
    out.print(
        f"{name} ({how}): {result.pages:,} page(s), {result.records:,} record(s) read, {result.written:,} ingested "
        f"in {len(result.batches)} batch(es) with mapping {result.mapping}"
    )
    if result.batches:
        out.print(
            f"  {t['accepted']:,} accepted · {t['duplicates']:,} duplicates · {t['updated']:,} updated · "
            f"{t['quarantined']:,} quarantined · {t['skipped']:,} skipped"
        )
        for reason, n in t["reasons"].items():
            out.print(f"  {reason}: {n:,}")
        if t["quarantined"]:
            out.print("  see `outcomes quarantine list` for each refused row and why")
    if result.rate_limited:
        out.print(f"  rate limited {result.rate_limited} time(s): waited {result.waited_seconds:,.0f} s (Retry-After)")
    if result.resumed and since is not None:
        out.print("  --since was not used: the pull resumed from the cursor kept in the workspace")
    if check.found:
        out.print("changed facts of settled periods (allowed; the next settlement adjusts them):")
        for c in check.found:
            out.print(f"  {c.line()}", markup=False)
