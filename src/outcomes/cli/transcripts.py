"""`outcomes redact`, `outcomes score-text`, `outcomes analyze` and `outcomes topics`: transcript analytics."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

app = typer.Typer()


@app.command("redact")
def redact_command(
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="A person's name to redact wherever it appears (repeatable)."),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            help="Region where a bare digit run must be a valid phone number (repeatable; default US GB IN NG CA AU).",
        ),
    ] = None,
) -> None:
    """Redact PII from text on stdin, line by line, to stdout: [EMAIL], [PHONE], [CARD], [IBAN], [NATIONAL_ID],
    [ADDRESS], [POSTCODE], [NAME]."""
    from outcomes.transcripts.redact import DEFAULT_REGIONS, Redactor

    redactor = Redactor(regions=tuple(r.upper() for r in region) if region else DEFAULT_REGIONS)
    names = tuple(name or ())
    write = sys.stdout.write
    for line in sys.stdin:
        end = "\n" if line.endswith("\n") else ""
        write(redactor(line[: len(line) - len(end)], names).text + end)


@app.command("score-text")
def score_text_command(as_json: JsonOpt = False) -> None:
    """Score customer messages read from stdin, one a line: sentiment (-1..1), churn, upsell and effort
    signals and the phrases that fired. With --json, one JSON object a line (for pipelines)."""
    import json

    from outcomes.transcripts.scoring import score_text

    table = None if as_json else Table("sentiment", "churn", "upsell", "effort", "phrases", "text")
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        s = score_text(text)
        if as_json:
            sys.stdout.write(json.dumps(s | {"text": text}, ensure_ascii=False) + "\n")
            continue
        phrases = "; ".join(f"{k}: {', '.join(v)}" for k, v in s["phrases"].items() if v)
        assert table is not None
        table.add_row(
            f"{s['sentiment']:+.3f}",
            "yes" if s["churn_signal"] else "",
            "yes" if s["upsell_signal"] else "",
            "yes" if s["effort_signal"] else "",
            phrases,
            text[:80],
        )
    if table is not None:
        out.print(table)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _contract_period(ws, contract_id: str, period_label: str):
    import json

    from outcomes.metrics.scope import Window
    from outcomes.period import Period
    from outcomes.transcripts.errors import TranscriptError

    ledger = ws.ledger()
    latest = ledger.contract_version(contract_id)
    kind = json.loads(latest.canonical)["period"]
    try:
        period = Period.parse(period_label, kind)
    except ValueError as exc:
        raise TranscriptError(str(exc)) from None
    contract, _row = ledger.contract_for(contract_id, period.start)
    return contract, period, Window.of(contract, period)


@app.command("analyze")
def analyze_command(
    contract_id: Annotated[str, typer.Argument(metavar="CONTRACT", help="The contract id.")],
    period: Annotated[str, typer.Option("--period", help="The period, e.g. 2026-06.")],
    scorer: Annotated[
        list[str] | None,
        typer.Option(
            "--scorer",
            help="Run this scorer (repeatable): sentiment, signals, qa or a plugged-in one (default: "
            "[transcripts] scorers in outcomes.toml, else the three built-in scorers).",
        ),
    ] = None,
    rubric: Annotated[
        Path | None, typer.Option("--rubric", help="The QA rubric YAML (default: the workspace's, else built-in).")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Processes to score with (0: one per core).", min=0, max=256)
    ] = 0,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Score every in-scope interaction's transcript of a period (redacted first) and store the scores with
    the scorer versions. Resumable; scores only what changed since the last run."""
    from outcomes.transcripts.analyze import analyze
    from outcomes.transcripts.rubric import load_rubric
    from outcomes.transcripts.settings import transcript_settings

    with open_workspace(workspace) as ws:
        settings = transcript_settings(ws.settings.raw, ws.settings.root)
        contract, p, window = _contract_period(ws, contract_id, period)
        chosen = rubric or settings.rubric
        loaded = load_rubric(chosen) if chosen else None
        with _bar() as bar:
            task = bar.add_task(f"scoring {contract_id} {p.label}", total=1)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=max(total, 1))

            summary = analyze(
                ws.duckdb_facts(),
                contract,
                p,
                window,
                scorer_names=scorer or settings.scorers or None,
                rubric=loaded,
                regions=settings.regions,
                workers=workers or None,
                progress=progress,
            )
        data = summary.to_dict()
        if as_json:
            print_json(data)
            return
        cov = "n/a" if summary.coverage is None else f"{summary.coverage:.1%}"
        out.print(
            f"{contract_id} {p.label}: {summary.in_scope:,} contacts in scope · {summary.with_transcript:,} with a "
            f"transcript ({cov}) · {summary.scored:,} scored · {summary.unchanged:,} unchanged"
        )
        out.print("scorers: " + ", ".join(f"{k} {v}" for k, v in summary.scorers.items()))


@app.command("topics")
def topics_command(
    contract_id: Annotated[str, typer.Argument(metavar="CONTRACT", help="The contract id.")],
    period: Annotated[str, typer.Option("--period", help="The period, e.g. 2026-06.")],
    k: Annotated[int, typer.Option("--topics", "-k", help="How many topics to find.", min=2, max=100)] = 12,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed, same topics).", min=0, max=2**32 - 1)
    ] = 7,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write the topic chart here (.svg or .png).")
    ] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Friction topics of a period: customer turns clustered into recurring topics, labelled by their top
    terms and three redacted examples, ranked by volume, repeat-contact rate and cost, with growth since the
    previous period."""
    from outcomes.metrics.scope import Window
    from outcomes.transcripts.friction import friction_report, render_chart
    from outcomes.transcripts.settings import transcript_settings

    with open_workspace(workspace) as ws:
        contract, p, window = _contract_period(ws, contract_id, period)
        # the previous period under the same contract version: its contacts are sorted into this period's topics
        prev_window = Window.of(contract, p.previous())
        settings = transcript_settings(ws.settings.raw, ws.settings.root)
        report = friction_report(
            ws.duckdb_facts(), contract, window, prev_window, k=k, seed=seed, regions=settings.regions
        )
        if chart is not None:
            fmt = chart.suffix.lstrip(".").lower()
            chart.write_bytes(render_chart(report, fmt))
        if as_json:
            print_json(report)
            return
        t = Table("rank", "topic", "contacts", "repeat rate", "cost", "growth", "example")
        for i, topic in enumerate(report["topics"], 1):
            growth = topic["growth"]
            t.add_row(
                str(i),
                ", ".join(topic["terms"][:5]),
                f"{topic['contacts']:,}",
                "n/a" if topic["repeat_rate"] is None else f"{topic['repeat_rate']:.1%}",
                "n/a" if topic["cost"] is None else topic["cost"],
                "new" if growth is None else f"{growth:+.0%}",
                (topic["examples"] or [""])[0][:70],
            )
        out.print(t)
        out.print(
            f"{report['turns']:,} customer turns of {report['contacts']:,} contacts; "
            f"previous period {report['previous']['period']}: {report['previous']['contacts']:,} contacts"
        )
        if chart is not None:
            out.print(f"chart: {chart}")
