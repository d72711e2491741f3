"""Terminal output in an 80-column terminal or a pipe (issue 10, item 9): tables fit the width, no number
is cut to '…', `explain` prints SQL only with --sql, and `mapping list` reads as a list.

The commands run as a separate process with COLUMNS=80 and their output piped (not a terminal)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import WORKED_MONTH
from outcomes.cli import app

runner = CliRunner()
pytestmark = pytest.mark.slow  # ten command-line processes

# a number cut short: digits (with separators) running into '…' at the start of a word
CUT_NUMBER = re.compile(r"(?:^|[\s│┃|(\[])[-+]?\d[\d,.]*…")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = tmp_path_factory.mktemp("terminal") / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["settle", "worked-example", "--period", "2026-10", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    return ws


def _piped(*args: str, columns: int = 80) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "outcomes"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _fits(text: str, columns: int = 80) -> None:
    """Table lines fit; other lines may be longer (a full fingerprint stays on one line, to be copied)."""
    for line in text.splitlines():
        if line[:1] in "┏┃┡│├└┗╇┣┠":
            assert len(line) <= columns, f"{len(line)} > {columns}: {line}"
        assert not CUT_NUMBER.search(line), f"a number is cut: {line}"


def test_the_invoice_fits_and_every_amount_is_whole(ws):
    text = _piped("show", "worked-example/2026-10", "-w", str(ws), columns=60)
    _fits(text, 60)
    invoice = json.loads(_piped("show", "worked-example/2026-10", "--json", "-w", str(ws)))
    amounts = [line["amount"] for line in invoice["lines"]] + [invoice["total"]]
    for amount in amounts:
        assert re.search(rf"(?<![\d.]){re.escape(str(amount))}(?![\d])", text), f"{amount} is not shown whole"


def test_lists_and_reports_fit_80_columns(ws):
    for args in (
        ["contract", "list"],
        ["scorecard", "worked-example", "--period", "2026-10"],
        ["integrity", "worked-example", "--period", "2026-10"],
    ):
        _fits(_piped(*args, "-w", str(ws)))
    settlements = _piped("settlements", "-w", str(ws))
    _fits(settlements)
    total = json.loads(_piped("settlements", "--json", "-w", str(ws)))[0]["total"]
    assert str(total) in settlements


def test_explain_shows_sql_only_when_asked(ws):
    plain = _piped("explain", "worked-example/2026-10", "2", "-w", str(ws))
    _fits(plain)
    with_sql = _piped("explain", "worked-example/2026-10", "2", "--sql", "-w", str(ws))
    assert "SELECT" not in plain.upper().replace("SELECTED", "") and "SQL" not in plain
    assert "SQL" in with_sql and "SELECT" in with_sql.upper()
    assert plain.splitlines()[0] == with_sql.splitlines()[0]


def test_mapping_list_reads_as_a_list_when_piped():
    text = _piped("mapping", "list")
    _fits(text)
    assert "┃" not in text and "│" not in text  # not a squeezed table
    from outcomes.connectors import builtin_names

    names = [ln.split()[0] for ln in text.splitlines() if ln and not ln.startswith(" ")]
    assert names[: len(builtin_names())] == builtin_names()
    # each description starts whole on the line after its name
    assert "    Per-call logs of an Israeli bank's call center:" in text
