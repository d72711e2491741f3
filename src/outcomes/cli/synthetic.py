"""`outcomes generate`: synthetic interactions, CRM events and a matching contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outcomes.cli.console import err, out

app = typer.Typer()


@app.command()
def generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for interactions.parquet, events.parquet, contract.yaml.")
    ],
    contacts: Annotated[int, typer.Option(help="Contacts per month.", min=1, max=100_000_000)] = 100_000,
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
    from outcomes.synthetic.generate import GAMING_RATE
    from outcomes.synthetic.generate import generate as run

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
