"""A small generated month in a workspace, shared by the simulator's tests (generate, init, ingest)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from outcomes.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "simulator"

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def generated_workspace(folder: Path, contacts: int = 3000, months: int = 1) -> Path:
    data, ws = folder / "data", folder / "ws"
    run(
        "generate",
        "--out",
        str(data),
        "--contacts",
        str(contacts),
        "--months",
        str(months),
        "--seed",
        "7",
        "--start",
        "2026-06",
    )
    run("init", str(ws))
    run("ingest", "interactions", str(data / "interactions.parquet"), "-w", str(ws))
    run("ingest", "events", str(data / "events.parquet"), "-w", str(ws))
    return ws
