"""One error shape on the command line: a known problem is one message and exit 1; a bug is one line naming a
saved traceback and exit 70, never a wall of frames."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from outcomes.cli import app

runner = CliRunner()


def test_a_known_problem_is_one_message_with_exit_code_1(tmp_path):
    r = runner.invoke(app, ["status", "-w", str(tmp_path / "nowhere")])
    assert r.exit_code == 1
    assert r.output.startswith("error: ") and "Traceback" not in r.output
    assert "outcomes init" in r.output  # the message says what to do


def test_a_bad_period_is_refused_cleanly(tmp_path):
    from conftest import WORKED_MONTH

    ws = str(tmp_path / "ws")
    runner.invoke(app, ["init", ws])
    runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", ws])
    r = runner.invoke(app, ["settle", "worked-example", "--period", "2026-13", "-w", ws])
    assert r.exit_code == 1
    assert r.output.strip() == "error: period '2026-13' is not a month: write it as YYYY-MM, e.g. 2026-10"


def test_a_bug_prints_one_line_and_saves_the_traceback(tmp_path, monkeypatch):
    import outcomes.workspace

    def broken(path, **options):
        raise RuntimeError("something the code did not expect")

    monkeypatch.setattr(outcomes.workspace, "find_workspace", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("OUTCOMES_TRACEBACK", raising=False)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    r = runner.invoke(app, ["status"])
    assert r.exit_code == 70
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    assert lines[0].startswith("internal error: RuntimeError: something the code did not expect")
    saved = Path(re.search(r"the traceback is in (\S+);", lines[0]).group(1))
    assert saved.is_relative_to(tmp_path)
    assert "Traceback (most recent call last)" in saved.read_text() and "broken" in saved.read_text()
