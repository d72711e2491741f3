"""The balanced scorecard: each group's values against hand computation, trend, baseline, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction

import pytest
import typer
from typer.testing import CliRunner

from outcomes.cli_scorecard import scorecard_command
from outcomes.scorecard import GROUPS, SCORECARD_METRICS, ScorecardError, collect, scorecard, to_csv
from outcomes.settle import settle

CONTRACT = """
contract: card
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
  containment:
    kind: containment
    repeat_contact: {within: 72h, same: [customer], channels: any}
pricing:
  base_fee: "1000.00"
  outcome_fees:
    - {outcome: resolution, unit: "10.00"}
    - {outcome: containment, unit: "1.00"}
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,csat"

# September: offered 3 (s3 abandoned), handled 2, ratings 5 and 3, no repeat, nothing contained;
# 2 counted resolutions (s1, s2).
# October: offered 7 (x1 abandoned), handled 6 (a1..a5, b1), ratings 5, 5, 4, 2; a5 repeats a4 within 7d,
# b1 is contained; counted resolutions a1, a2, a3, a5 (a4 had a repeat) = 4.
ROWS = """
s1,crm,a,chat,general,2026-09-01T09:00:00Z,2026-09-01T10:00:00Z,resolved,agent,5
s2,crm,b,chat,general,2026-09-02T09:00:00Z,2026-09-02T10:00:00Z,resolved,agent,3
s3,crm,c,chat,general,2026-09-03T09:00:00Z,2026-09-03T09:01:00Z,abandoned,agent,
a1,crm,a,chat,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent,5
a2,crm,b,chat,general,2026-10-02T09:00:00Z,2026-10-02T10:00:00Z,resolved,agent,5
a3,crm,c,chat,general,2026-10-03T09:00:00Z,2026-10-03T10:00:00Z,resolved,agent,4
a4,crm,d,chat,general,2026-10-04T09:00:00Z,2026-10-04T10:00:00Z,resolved,agent,2
a5,crm,d,chat,general,2026-10-06T09:00:00Z,2026-10-06T10:00:00Z,resolved,agent,
b1,crm,e,bot,general,2026-10-05T09:00:00Z,2026-10-05T09:05:00Z,resolved,bot,
x1,crm,f,chat,general,2026-10-07T09:00:00Z,2026-10-07T09:01:00Z,abandoned,agent,
"""


@pytest.fixture
def card_ws(scenario):
    s = scenario(CONTRACT)
    s.rows(ROWS, header=HEADER)
    return s


def _rows(card: dict) -> dict[str, dict]:
    return {m["metric"]: m for g in card["groups"] for m in g["metrics"]}


def _exact(m: dict, key: str = "exact") -> Fraction | None:
    return None if m[key] is None else Fraction(m[key])


def test_groups_hold_the_issue_metrics_in_order():
    keys = {g: [ln.key for ln in lines] for g, _, lines in GROUPS}
    assert keys["customer"] == ["csat_top2box", "csat_mean", "nps", "ces_mean", "survey_response_rate"]
    assert keys["financial"] == [
        "churn_rate",
        "save_rate",
        "revenue_retained",
        "revenue_influenced",
        "cost_per_verified_resolution",
    ]
    assert keys["operational"][0] == "fcr_rate" and keys["operational"][-1] == "right_channel_share"
    assert "right_channel_share" not in SCORECARD_METRICS


def test_values_match_hand_computation(card_ws):
    s = card_ws
    result = settle(s.ws.ledger(), s.ws.facts(), "card", "2026-10")
    assert result.total == Decimal("1041.00")  # 1000 + 4 x 10 + 1 x 1
    card = collect(s.ws, "card", "2026-10", trend=2)
    rows = _rows(card)
    # customer health
    assert _exact(rows["csat_top2box"]) == Fraction(3, 4)
    assert rows["csat_top2box"]["value"] == "0.750000"
    assert _exact(rows["csat_mean"]) == Fraction(16, 4)
    assert _exact(rows["survey_response_rate"]) == Fraction(4, 6)
    assert rows["nps"]["value"] is None and rows["nps"]["undefined"] == "no nps scores"
    # financial: cost per verified resolution = settled total / counted resolutions
    assert _exact(rows["cost_per_verified_resolution"]) == Fraction(1041, 4)
    assert rows["cost_per_verified_resolution"]["value"] == "260.250000"
    assert _exact(rows["churn_rate"]) == 0  # no churned event
    assert rows["save_rate"]["value"] is None  # no save outcome
    # operational
    assert _exact(rows["fcr_rate"]) == Fraction(5, 6)
    assert _exact(rows["repeat_contact_rate"]) == Fraction(1, 6)
    assert _exact(rows["abandonment_rate"]) == Fraction(1, 7)
    assert _exact(rows["containment_rate"]) == Fraction(1, 6)
    assert rows["aht_seconds"]["guardrail"] is True
    assert rows["right_channel_share"]["value"] is None
    assert rows["right_channel_share"]["undefined"].startswith("not defined yet")


def test_trend_and_baseline_delta(card_ws):
    s = card_ws
    settle(s.ws.ledger(), s.ws.facts(), "card", "2026-10")  # September stays unsettled
    card = collect(s.ws, "card", "2026-10", trend=2)
    assert card["trend"] == ["2026-09", "2026-10"] and card["baseline"] == "2026-09"
    rows = _rows(card)
    top2 = rows["csat_top2box"]
    assert [p["exact"] for p in top2["trend"]] == ["1/2", "3/4"]
    assert top2["baseline"]["exact"] == "1/2"
    assert _exact(top2, "change_exact") == Fraction(1, 4) and top2["change"] == "0.250000"
    ab = rows["abandonment_rate"]
    assert [p["exact"] for p in ab["trend"]] == ["1/3", "1/7"]
    assert _exact(ab, "change_exact") == Fraction(1, 7) - Fraction(1, 3)
    fcr = rows["fcr_rate"]
    assert [p["exact"] for p in fcr["trend"]] == ["1", "5/6"]
    assert _exact(fcr, "change_exact") == Fraction(-1, 6)
    cont = rows["containment_rate"]
    assert [p["exact"] for p in cont["trend"]] == ["0", "1/6"]
    cost = rows["cost_per_verified_resolution"]
    assert cost["trend"][0]["value"] is None and cost["trend"][0]["undefined"] == "the period is not settled"
    assert cost["change"] is None  # undefined on one side: no change, never a number


def test_cost_per_resolution_of_two_settled_periods(card_ws):
    s = card_ws
    settle(s.ws.ledger(), s.ws.facts(), "card", "2026-09")
    settle(s.ws.ledger(), s.ws.facts(), "card", "2026-10")
    cost = _rows(collect(s.ws, "card", "2026-10", trend=2))["cost_per_verified_resolution"]
    # September: (1000 + 2 x 10) / 2 = 510; October: 1041 / 4
    assert [p["exact"] for p in cost["trend"]] == ["510", "1041/4"]
    assert _exact(cost, "change_exact") == Fraction(1041, 4) - 510


def test_explicit_baseline_with_no_data_is_undefined_not_zero(card_ws):
    card = collect(card_ws.ws, "card", "2026-10", trend=1, baseline="2026-08")
    top2 = _rows(card)["csat_top2box"]
    assert card["trend"] == ["2026-10"]
    assert top2["baseline"] == {
        "period": "2026-08",
        "value": None,
        "exact": None,
        "undefined": "empty denominator",
    }
    assert top2["change"] is None


def test_a_workflow_is_measured_alone_and_has_no_cost_per_resolution(card_ws):
    s = card_ws
    settle(s.ws.ledger(), s.ws.facts(), "card", "2026-10")
    rows = _rows(collect(s.ws, "card", "2026-10", workflow="general", trend=1))
    assert _exact(rows["csat_top2box"]) == Fraction(3, 4)
    assert rows["cost_per_verified_resolution"]["value"] is None
    with pytest.raises(ScorecardError, match="workflow 'nope'"):
        collect(s.ws, "card", "2026-10", workflow="nope")
    with pytest.raises(ScorecardError, match="not a month"):
        collect(s.ws, "card", "October")
    with pytest.raises(ScorecardError, match="--trend"):
        collect(s.ws, "card", "2026-10", trend=0)


def test_pure_layout_and_csv():
    from outcomes.metrics.library import MetricRequest, MetricValue

    class C:  # the fields of a Contract that the layout reads
        contract, version, currency = "c", 1, "USD"

    v = {"csat_top2box": MetricValue(MetricRequest("csat_top2box"), Fraction(2, 3), 2, 3, {})}
    card = scorecard(
        C(),
        {"2026-10": v, "2026-09": "no version in effect"},
        period="2026-10",
        trend=["2026-09", "2026-10"],
        baseline="2026-09",
    )
    top2 = _rows(card)["csat_top2box"]
    assert top2["value"] == "0.666667" and top2["exact"] == "2/3"
    assert top2["trend"][0]["undefined"] == "no version in effect"
    assert top2["baseline"]["undefined"] == "no version in effect" and top2["change"] is None
    assert _rows(card)["fcr_rate"]["undefined"] == "not measured"
    rows = list(csv.DictReader(io.StringIO(to_csv(card))))
    mine = [r for r in rows if r["metric"] == "csat_top2box"]
    assert [(r["period"], r["role"], r["exact"]) for r in mine] == [
        ("2026-09", "trend", ""),
        ("2026-10", "trend", "2/3"),
        ("2026-09", "baseline", ""),
    ]
    n_lines = sum(len(lines) for _, _, lines in GROUPS)
    assert len(rows) == 3 * n_lines


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test group so that `scorecard` is a subcommand."""

    app.command("scorecard")(scorecard_command)
    return app


def test_cli_json_csv_table_and_errors(card_ws):
    s = card_ws
    settle(s.ws.ledger(), s.ws.facts(), "card", "2026-10")
    root = str(s.ws.root)
    s.ws.close()
    runner = CliRunner()
    args = ["scorecard", "card", "--period", "2026-10", "--trend", "2", "-w", root]
    r = runner.invoke(_app(), [*args, "--json"])
    assert r.exit_code == 0, r.output
    card = json.loads(r.stdout)
    assert set(card) == {
        "contract",
        "version",
        "currency",
        "workflow",
        "period",
        "trend",
        "baseline",
        "groups",
    }
    assert [g["group"] for g in card["groups"]] == ["customer", "financial", "operational"]
    m = card["groups"][0]["metrics"][0]
    assert set(m) == {
        "metric",
        "label",
        "unit",
        "guardrail",
        "value",
        "exact",
        "undefined",
        "trend",
        "baseline",
        "change",
        "change_exact",
    }
    assert m["metric"] == "csat_top2box" and m["value"] == "0.750000" and m["change"] == "0.250000"
    r = runner.invoke(_app(), [*args, "--csv"])
    assert r.exit_code == 0 and r.stdout.startswith("group,metric,period,role,value,exact,undefined,")
    r = runner.invoke(_app(), args)
    assert r.exit_code == 0, r.output
    assert "Customer health" in r.stdout and "75.0%" in r.stdout and "+25.0 pts" in r.stdout
    assert "Right-channel share: not defined yet" in r.stdout
    r = runner.invoke(_app(), [*args, "--workflow", "nope"])
    assert r.exit_code == 1 and "workflow 'nope'" in r.stderr
    r = runner.invoke(_app(), ["scorecard", "ghost", "--period", "2026-10", "-w", root])
    assert r.exit_code == 1 and "error:" in r.stderr
