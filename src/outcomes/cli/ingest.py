"""`outcomes ingest interactions|events` and `outcomes quarantine list`: facts in, refused rows out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, errors, open_workspace, out, print_json

app = typer.Typer()
ingest_app = typer.Typer(
    help="Load interaction data and CRM events into the facts store.", no_args_is_help=True
)
quarantine_app = typer.Typer(
    help="Rows that were refused at ingest, with their reasons.", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(quarantine_app, name="quarantine")


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
    allow_changes: bool = False,
) -> None:
    with open_workspace(workspace) as ws:
        from outcomes.settlement.settled_facts import SettledFactsCheck

        check = SettledFactsCheck(ws.ledger(), allow=allow_changes)
        if not file.exists():
            from outcomes.facts import IngestError

            with errors():
                raise IngestError(f"{file}: no such file")
        with _progress() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"{stage} {file.name}", total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            if mapping is None:
                summary = ws.facts().ingest(
                    kind, file, fmt=fmt, timezone=timezone, progress=progress, check=check
                )
            else:
                from outcomes.cli.mapping import parse_params
                from outcomes.connectors import ingest_with_mapping
                from outcomes.facts import IngestError

                if fmt is not None:
                    raise IngestError(
                        f"{file}: give --format or --mapping, not both: the mapping says how to read it"
                    )
                summary = ingest_with_mapping(
                    ws,
                    kind,
                    file,
                    mapping,
                    timezone=timezone,
                    params=parse_params(params),
                    progress=progress,
                    check=check,
                )
        data = summary.to_dict()
        if summary.batch is not None:
            ws.ledger().record_ingest(data)
        if as_json:
            print_json(
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
                | {"changes_to_settled": [c.to_dict() for c in check.found]}
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
        if check.found:
            out.print("changed facts of settled periods (allowed; the next settlement adjusts them):")
            for c in check.found:
                out.print(f"  {c.line()}", markup=False)


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


AllowOpt = Annotated[
    bool,
    typer.Option(
        "--allow-changes-to-settled",
        help="Ingest even when it changes facts of settled periods (the next settlement bills the difference "
        "as adjustments); without it such an ingest is refused and says what it would change.",
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
    allow_changes_to_settled: AllowOpt = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Ingest interactions (tickets, calls, chats). Idempotent; bad rows go to the quarantine."""
    _ingest("interactions", file, fmt, timezone, as_json, workspace, mapping, param, allow_changes_to_settled)


@ingest_app.command("events")
def ingest_events(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON lines of customer events.")],
    fmt: FormatOpt = None,
    timezone: ZoneOpt = None,
    mapping: MappingOpt = None,
    param: ParamOpt = None,
    allow_changes_to_settled: AllowOpt = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Ingest customer events from the CRM (churned, renewed, saved, purchase, downgrade)."""
    _ingest("events", file, fmt, timezone, as_json, workspace, mapping, param, allow_changes_to_settled)


@quarantine_app.command("list")
def quarantine_list(
    batch: Annotated[int | None, typer.Option(help="Only this ingest batch.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).", min=0)] = 50,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """List refused rows: file, row number, field and reason."""
    with open_workspace(workspace) as ws:
        if batch is not None and batch not in {b["batch"] for b in ws.facts().batches()}:
            from outcomes.facts import IngestError

            raise IngestError(f"no ingest batch {batch}", hint="`outcomes quarantine list` lists every batch's rows")
        rows = ws.facts().quarantine(batch)
        shown = rows if limit == 0 else rows[:limit]
        if as_json:
            print_json(shown)
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


@ingest_app.command("transcripts")
def ingest_transcripts(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or JSON lines with interaction_id, turn, speaker, text (source, at, speaker_name), or a "
            "source file read through --mapping."
        ),
    ],
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", help="A built-in transcript mapping: twcs, abcd, intercom, zendesk."),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv | jsonl | json (default: from the extension).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="The source system of rows that do not name one.")
    ] = None,
    timezone: ZoneOpt = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact", help="Redact PII before storing (always on when transcripts.redact_before_store is set)."
        ),
    ] = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Ingest conversation transcripts, one row a turn. Idempotent; bad rows go to the quarantine."""
    from outcomes.transcripts.ingest import ingest_file
    from outcomes.transcripts.settings import transcript_settings

    with open_workspace(workspace) as ws:
        settings = transcript_settings(ws.settings.raw, ws.settings.root)
        with _progress() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"{stage} {file.name}", total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            summary = ingest_file(
                ws.duckdb_facts(),
                file,
                mapping=mapping,
                fmt=fmt,
                source=source,
                timezone=timezone,
                settings=settings,
                redact=redact,
                progress=progress,
            )
        data = summary.to_dict()
        ws.ledger().record_ingest(data)
        if as_json:
            print_json(data)
            return
        out.print(
            f"{file}: {data['rows']:,} turns · {data['accepted']:,} accepted · {data['duplicates']:,} duplicates · "
            f"{data['updated']:,} updated · {data['quarantined']:,} quarantined · {data['skipped']:,} skipped · "
            f"{data['interactions']:,} interactions" + (" · redacted before storing" if data["redacted"] else "")
            + f" (batch {data['batch']})"
        )
        for reason, n in sorted(data["reasons"].items()):
            out.print(f"  {reason}: {n:,}")
        if data["quarantined"]:
            out.print("  see `outcomes quarantine list` for each refused row and why")
