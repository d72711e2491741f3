"""The transcript commands end to end: redact (stdin to stdout), score-text --json, ingest transcripts,
analyze, topics with a chart; bad input is one clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcomes.cli import app

runner = CliRunner()

CONTRACT = """contract: talk
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows:
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
pricing:
  base_fee: "100.00"
"""


def test_redact_reads_stdin_and_writes_stdout_line_by_line() -> None:
    r = runner.invoke(
        app, ["redact", "--name", "Dana Whitfield"], input="mail dana@example.com\nDana called +1 (415) 555-2671\n"
    )
    assert r.exit_code == 0, r.output
    assert r.stdout == "mail [EMAIL]\n[NAME] called [PHONE]\n"


def test_score_text_prints_one_json_object_a_line() -> None:
    r = runner.invoke(
        app,
        ["score-text", "--json"],
        input="I'm going to cancel my subscription and switch to Verizon\n\nno problem, thanks!\n",
    )
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == 2  # the blank line is skipped
    assert rows[0]["churn_signal"] is True and "switch to Verizon" in rows[0]["phrases"]["churn"]
    assert rows[1]["sentiment"] > 0.05 and not any(rows[1][k] for k in ("churn_signal", "upsell_signal", "effort_signal"))
    assert set(rows[0]) == {"sentiment", "churn_signal", "upsell_signal", "effort_signal", "phrases", "text"}


@pytest.fixture
def ws(tmp_path: Path) -> str:
    w = str(tmp_path / "ws")
    assert runner.invoke(app, ["init", w]).exit_code == 0
    (tmp_path / "c.yaml").write_text(CONTRACT)
    assert runner.invoke(app, ["contract", "add", str(tmp_path / "c.yaml"), "-w", w]).exit_code == 0
    (tmp_path / "i.csv").write_text(
        "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by\n"
        + "".join(
            f"x{i},crm,c{i % 7},chat,general,2026-06-{1 + i % 27:02d}T09:00:00Z,2026-06-{1 + i % 27:02d}T09:20:00Z,resolved,agent\n"
            for i in range(40)
        )
    )
    assert runner.invoke(app, ["ingest", "interactions", str(tmp_path / "i.csv"), "-w", w]).exit_code == 0
    topics = [
        "my internet is down again and the router keeps blinking red",
        "I was charged twice on my bill this month, please refund the charge",
        "how do I upgrade my plan to unlimited data",
        "the app crashes when I open it on my phone",
    ]
    with open(tmp_path / "t.jsonl", "w") as fh:
        for i in range(40):
            fh.write(json.dumps({"interaction_id": f"x{i}", "source": "crm", "turn": 1, "speaker": "agent", "text": "Hi, how can I help?"}) + "\n")
            fh.write(json.dumps({"interaction_id": f"x{i}", "source": "crm", "turn": 2, "speaker": "customer", "text": topics[i % 4]}) + "\n")
    r = runner.invoke(app, ["ingest", "transcripts", str(tmp_path / "t.jsonl"), "--json", "-w", w])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["accepted"] == 80
    return w


@pytest.mark.slow
def test_ingest_analyze_and_topics_from_the_command_line(ws: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["analyze", "talk", "--period", "2026-06", "--workers", "1", "--json", "-w", ws])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert (s["in_scope"], s["with_transcript"], s["scored"], s["coverage"]) == (40, 40, 40, 1.0)
    again = json.loads(runner.invoke(app, ["analyze", "talk", "--period", "2026-06", "--json", "-w", ws]).stdout)
    assert (again["scored"], again["unchanged"]) == (0, 40)
    chart = tmp_path / "topics.svg"
    r = runner.invoke(app, ["topics", "talk", "--period", "2026-06", "-k", "4", "--chart", str(chart), "--json", "-w", ws])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert sorted(t["contacts"] for t in report["topics"]) == [10, 10, 10, 10]
    assert chart.read_bytes().startswith(b"<svg")
    table = runner.invoke(app, ["topics", "talk", "--period", "2026-06", "-k", "4", "-w", ws])
    assert table.exit_code == 0 and "router" in table.stdout


@pytest.mark.slow
def test_bad_input_is_one_message(ws: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["analyze", "talk", "--period", "2026-13", "-w", ws])
    assert r.exit_code == 1 and r.output.startswith("error: ") and "Traceback" not in r.output
    r = runner.invoke(app, ["analyze", "talk", "--period", "2026-06", "--scorer", "nope", "-w", ws])
    assert r.exit_code == 1 and "no scorer named 'nope'" in r.output
    bad = tmp_path / "rubric.yaml"
    bad.write_text("name: x\nversion: 1\nitems:\n  - {id: a, weight: 5, any: ['(unclosed']}\n")
    r = runner.invoke(app, ["analyze", "talk", "--period", "2026-06", "--rubric", str(bad), "-w", ws])
    assert r.exit_code == 1 and "item 'a': any: '(unclosed' is not a valid regular expression" in r.output
    r = runner.invoke(app, ["ingest", "transcripts", str(tmp_path / "missing.csv"), "-w", ws])
    assert r.exit_code == 1 and "file not found" in r.output
    r = runner.invoke(app, ["topics", "talk", "--period", "2026-06", "--chart", str(tmp_path / "c.gif"), "-w", ws])
    assert r.exit_code == 1 and "svg or png" in r.output
