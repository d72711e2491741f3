"""`outcomes status` and `outcomes adjustments` from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from conftest import WORKED_MONTH
from outcomes.cli import app

runner = CliRunner()


def test_status_says_what_can_be_settled_and_adjustments_say_why(tmp_path):
    ws = str(tmp_path / "ws")
    runner.invoke(app, ["init", ws])
    runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", ws])
    runner.invoke(app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", ws])
    st = json.loads(runner.invoke(app, ["status", "worked-example", "-w", ws, "--json"]).output)[0]
    assert st["last_settlement"] is None
    assert st["next_period"]["period"] == "2026-01" and st["next_period"]["settleable"] is True
    assert st["contact_clock"] == "2026-11-10T09:00+00:00"
    runner.invoke(app, ["settle", "worked-example", "-p", "2026-10", "-w", ws])
    st = json.loads(runner.invoke(app, ["status", "-w", ws, "--json"]).output)[0]
    assert st["last_settlement"]["period"] == "2026-10"
    assert st["next_period"] == {
        "period": "2026-11",
        "settleable": False,
        "settleable_after": "2026-12-06T00:00+00:00",
    }
    # a call from w5's customer two days later arrives late (an abandoned call, so not a resolution itself):
    # w5 no longer counts, tech + general drops to 1 x 4.00 and October falls under its maximum
    late = tmp_path / "late.csv"
    header = (WORKED_MONTH / "interactions.csv").read_text().splitlines()[0]
    late.write_text(
        header + "\n"
        "w15,zendesk,d,voice,devices,2026-10-15T10:00:00Z,,2026-10-15T10:05:00Z,abandoned,agent,,acme-bpo,false,300,0,,,,,\n"
    )
    # a change to a settled period needs consent (issue 15) ...
    assert runner.invoke(app, ["ingest", "interactions", str(late), "-w", ws]).exit_code == 1
    r = runner.invoke(app, ["ingest", "interactions", str(late), "-w", ws, "--allow-changes-to-settled"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["settle", "worked-example", "-p", "2026-11", "--provisional", "-w", ws, "--json"])
    assert r.exit_code == 0, r.output
    adj = json.loads(runner.invoke(app, ["adjustments", "-w", ws, "--json"]).output)
    assert [(a["corrects_period"], a["corrects_line"], a["amount"]) for a in adj] == [
        ("2026-10", 3, "-4.00"),
        ("2026-10", 5, "3.25"),
    ]
    assert "1 resolution: counted -> excluded:repeat_contact" in adj[0]["why"]
    r = runner.invoke(app, ["adjustments", "-w", ws])
    assert r.exit_code == 0 and "2026-10" in r.output
    october = json.loads(runner.invoke(app, ["show", "worked-example/2026-10", "-w", ws, "--json"]).output)
    assert october["total"] == "2030.00"  # never changed
