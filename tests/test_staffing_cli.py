"""`outcomes staffing`: one interval from the options, or every interval of a period from the facts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from outcomes.cli import app

runner = CliRunner()

CONTRACT = """
contract: t
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: crm
billable_providers: [p]
workflows:
  refunds: {queues: [refunds], default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
pricing:
  base_fee: "100.00"
  outcome_fees:
    - {outcome: resolution, unit: "5.00"}
"""

HEADER = (
    "interaction_id,source,customer_id,channel,queue,opened_at,first_response_at,closed_at,status,handled_by,"
    "agent_id,provider,handle_seconds"
)


def run(*args: str) -> dict:
    res = runner.invoke(app, ["staffing", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_the_classic_half_hour_from_the_command_line():
    r = run(
        *"--calls 100 --interval-minutes 30 --aht 180 --service-level 0.8 --answer-within 20".split(),
        "--shrinkage",
        "0.3",
        "--max-occupancy",
        "0.85",
    )
    assert (r["model"], r["agents"], r["agents_after_shrinkage"]) == ("erlang_c", 14, 20)
    assert round(r["service_level"], 3) == 0.888 and round(r["wait_probability"], 3) == 0.174
    assert round(r["asa_seconds"], 1) == 7.8 and round(r["occupancy"], 3) == 0.714
    assert r["abandon_probability"] is None


def test_patience_is_erlang_a_and_names_the_abandonment():
    r = run(*"--calls 100 --interval-minutes 30 --aht 180 --patience 120 --shrinkage 0.3".split())
    assert r["model"] == "erlang_a" and 0 < r["abandon_probability"] < 0.2
    assert r["agents"] <= 14 and r["service_level"] >= 0.8


@pytest.fixture
def world(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        a1,crm,c1,chat,refunds,2026-10-05T09:05:00Z,2026-10-05T09:06:00Z,2026-10-05T09:16:00Z,resolved,agent,ag1,p,600
        a2,crm,c2,voice,refunds,2026-10-05T09:40:00Z,2026-10-05T09:50:00Z,2026-10-05T10:10:00Z,resolved,agent,ag2,p,1200
        bot,crm,c3,chat,refunds,2026-10-05T09:59:00Z,,2026-10-05T10:00:00Z,resolved,bot,,p,
        src,export,c4,chat,refunds,2026-10-05T09:30:00Z,,2026-10-05T09:40:00Z,resolved,agent,ag8,p,300
        a5,crm,c5,chat,refunds,2026-10-05T10:15:00Z,2026-10-05T10:20:00Z,2026-10-05T10:30:00Z,resolved,agent,ag1,p,
        other,crm,c6,chat,refunds,2026-10-05T10:30:00Z,2026-10-05T10:31:00Z,2026-10-05T10:40:00Z,resolved,agent,ag9,q,300
        """,
        header=HEADER,
    )
    return s


def test_every_interval_of_a_period_from_the_facts(world, tmp_path):
    ws = str(world.root / "ws")
    r = run("--from-facts", "t", "--period", "2026-10", "--interval-minutes", "60", "-w", ws)
    assert r["totals"]["intervals"] == 31 * 24 and r["totals"]["arrivals"] == 3
    by_start = {iv["start"]: iv for iv in r["intervals"]}
    nine, ten = by_start["2026-10-05T09:00+00:00"], by_start["2026-10-05T10:00+00:00"]
    # 09:00: a1 and a2 arrive (the bot's contact, the other source's and the other provider's do not), their
    # handle times average 900 s; ag1 and ag2 work then
    assert (nine["arrivals"], nine["handle_seconds"], nine["present"]) == (2, 900.0, 2)
    # 10:00: a5 arrives without a handle time and takes the period's mean; ag2 still works a2 until 10:10,
    # ag1 answers a5 at 10:20 (ag9 works for another provider)
    assert (ten["arrivals"], ten["handle_seconds"], ten["present"]) == (1, 900.0, 2)
    assert by_start["2026-10-05T08:00+00:00"] == {
        "start": "2026-10-05T08:00+00:00",
        "end": "2026-10-05T09:00+00:00",
        "arrivals": 0,
        "handle_seconds": None,
        "present": 0,
        "required": 0,
        "required_after_shrinkage": 0,
    }
    # each interval is staffed as the one-interval command staffs the same demand
    one = run("--calls", "2", "--interval-minutes", "60", "--aht", "900")
    assert (nine["required"], nine["service_level"]) == (one["agents"], one["service_level"])


def test_the_chart_is_saved_as_html_or_png(world, tmp_path):
    ws = str(world.root / "ws")
    for name, magic in (("staffing.html", b"<!DOCTYPE html>"), ("staffing.png", b"\x89PNG")):
        res = runner.invoke(
            app,
            [
                "staffing",
                "--from-facts",
                "t",
                "--period",
                "2026-10",
                "--interval-minutes",
                "1440",
                "--chart",
                str(tmp_path / name),
                "-w",
                ws,
            ],
        )
        assert res.exit_code == 0, res.output
        assert f"chart: {tmp_path / name}" in res.output
        assert (tmp_path / name).read_bytes().lstrip().startswith(magic)
    html = (tmp_path / "staffing.html").read_text()
    assert "present (in the facts)" in html and "required after shrinkage" in html


@pytest.mark.parametrize(
    "args,message",
    [
        (["--calls", "100"], "give --calls and --aht"),
        (["--period", "2026-10", "--calls", "1", "--aht", "1"], "go with --from-facts"),
        (["--from-facts", "t"], "needs --period"),
        (["--from-facts", "t", "--period", "2026-10", "--calls", "3"], "does not go with --from-facts"),
        (["--from-facts", "t", "--period", "2026-10", "--chart", "x.txt"], "a chart is saved as"),
        (["--calls", "100", "--aht", "180", "--max-abandon", "0.05"], "needs patience"),
        (["--from-facts", "t", "--period", "2026-13"], "2026-13"),
    ],
)
def test_questions_it_cannot_answer_are_one_clean_error(world, args, message):
    res = runner.invoke(app, ["staffing", *args, "-w", str(world.root / "ws")])
    assert res.exit_code == 1, res.output
    assert message in res.output and "Traceback" not in res.output


def test_intervals_follow_the_contracts_clock_across_a_change_of_time(scenario):
    # Europe/London leaves summer time on 25 October 2026: that day has 25 hours, the month 745
    s = scenario(CONTRACT.replace("timezone: UTC", "timezone: Europe/London"))
    s.rows(
        """
        a1,crm,c1,chat,refunds,2026-10-25T00:30:00Z,2026-10-25T00:31:00Z,2026-10-25T00:40:00Z,resolved,agent,ag1,p,300
        a2,crm,c2,chat,refunds,2026-10-25T01:30:00Z,2026-10-25T01:31:00Z,2026-10-25T01:40:00Z,resolved,agent,ag2,p,300
        """,
        header=HEADER,
    )
    r = run("--from-facts", "t", "--period", "2026-10", "--interval-minutes", "60", "-w", str(s.root / "ws"))
    assert r["totals"]["intervals"] == 745
    busy = [(iv["start"], iv["arrivals"]) for iv in r["intervals"] if iv["arrivals"]]
    # 00:30 UTC is 01:30 summer time; 01:30 UTC is 01:30 winter time: the same wall-clock hour, twice
    assert busy == [("2026-10-25T01:00+01:00", 1), ("2026-10-25T01:00+00:00", 1)]
    assert r["intervals"][0]["start"] == "2026-10-01T00:00+01:00"
