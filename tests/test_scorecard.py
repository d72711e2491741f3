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

from outcomes.analysis.right_channels import RightChannelsError, parse_right_channels
from outcomes.analysis.scorecard import GROUPS, SCORECARD_METRICS, ScorecardError, collect, scorecard, to_csv
from outcomes.settlement.settle import settle

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
    assert keys["operational"] == [
        "fcr_rate",
        "reopen_rate",
        "repeat_contact_rate",
        "containment_rate",
        "abandonment_rate",
        "service_level",
        "asa_seconds",
        "aht_seconds",
        "qa_mean",
        "right_channel_share",
    ]
    assert "right_channel_share" in SCORECARD_METRICS


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
    # no customer event ingested at all: churn and revenue are unknown, not 0 (no data, with the reason)
    for name in ("churn_rate", "revenue_influenced"):
        assert rows[name]["value"] is None and rows[name]["exact"] is None
        assert rows[name]["undefined"].startswith("no data: no customer events ingested")
    assert rows["save_rate"]["value"] is None  # no save outcome
    # operational
    assert _exact(rows["fcr_rate"]) == Fraction(5, 6)
    assert _exact(rows["repeat_contact_rate"]) == Fraction(1, 6)
    assert _exact(rows["abandonment_rate"]) == Fraction(1, 7)
    assert _exact(rows["containment_rate"]) == Fraction(1, 6)
    assert rows["aht_seconds"]["guardrail"] is True
    # no mapping given: not measured, said plainly (never a made-up default)
    assert rows["right_channel_share"]["value"] is None
    assert rows["right_channel_share"]["undefined"] == "not measured: no right-channel mapping"


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
    """The real command line: errors are reported by its root group, as for a user."""
    from outcomes.cli import app

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
        "right_channels",
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
    assert "Right-channel share: not measured: no right-channel mapping" in r.stdout
    r = runner.invoke(_app(), [*args, "--workflow", "nope"])
    assert r.exit_code == 1 and "workflow 'nope'" in r.stderr
    r = runner.invoke(_app(), ["scorecard", "ghost", "--period", "2026-10", "-w", root])
    assert r.exit_code == 1 and "error:" in r.stderr


# ---------------------------------------------------------------- every metric of the three groups by hand

RICH = """
contract: rich
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: EUR
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
  save:
    kind: save
    retained_for: 30d
pricing:
  base_fee: "100.00"
  outcome_fees:
    - {outcome: resolution, unit: "10.00"}
"""

RICH_HEADER = (
    "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,reopened,"
    "wait_seconds,handle_seconds,csat,nps,ces,qa_score,intent"
)

# October 2026, every contact opened and closed in it. r7 (bot) is customer a's repeat of r1 within 7 days.
# r5 abandons after 50 s, r6 within 5 s (a short abandon). r2 is reopened.
RICH_ROWS = """
r1,crm,a,voice,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent,false,10,300,5,10,6,90,billing
r2,crm,b,voice,general,2026-10-02T09:00:00Z,2026-10-02T10:00:00Z,resolved,agent,true,30,600,4,9,5,70,tech_issue
r3,crm,c,chat,general,2026-10-03T09:00:00Z,2026-10-03T10:00:00Z,resolved,agent,false,20,200,2,3,2,,cancel
r4,crm,d,email,general,2026-10-04T09:00:00Z,2026-10-04T10:00:00Z,resolved,agent,false,3600,100,,,,80,cancel
r5,crm,e,chat,general,2026-10-05T09:00:00Z,2026-10-05T09:01:00Z,abandoned,agent,false,50,,,,,,billing
r6,crm,f,chat,general,2026-10-06T09:00:00Z,2026-10-06T09:00:05Z,abandoned,agent,false,5,,,,,,
r7,crm,a,bot,general,2026-10-07T09:00:00Z,2026-10-07T09:05:00Z,resolved,bot,false,0,60,,,,,billing
"""

# c and d have a monthly revenue before they called to cancel; d churns 16 days after; a buys 3 days after
# r7 (within 30 days of a resolved contact), b buys 74 days after r2 (outside the 30 days). The last row moves
# the event clock past every look-ahead.
RICH_EVENTS = """
c,renewed,2026-09-01T00:00:00Z,,50.00
d,renewed,2026-09-01T00:00:00Z,,80.00
d,churned,2026-10-20T00:00:00Z,,
a,purchase,2026-10-10T00:00:00Z,120.00,
b,purchase,2026-12-15T00:00:00Z,40.00,
zz-clock,renewed,2027-03-01T00:00:00Z,,
"""

RIGHT = "billing: [voice, bot]\ncancel: chat\n"


@pytest.fixture
def rich_ws(scenario):
    s = scenario(RICH)
    s.rows(RICH_ROWS, header=RICH_HEADER)
    s.events(RICH_EVENTS)
    return s


def test_every_metric_against_hand_computation(rich_ws):
    s = rich_ws
    result = settle(s.ws.ledger(), s.ws.facts(), "rich", "2026-10")
    # counted resolutions: r3, r4 (r1 has the repeat r7, r2 is reopened, r7 is a bot, r5 r6 abandoned)
    assert result.total == Decimal("120.00")
    card = collect(s.ws, "rich", "2026-10", trend=1, right_channels=parse_right_channels(RIGHT))
    got = {k: _exact(m) for k, m in _rows(card).items()}
    handled = 5  # r1 r2 r3 r4 r7
    assert got == {
        # customer health: ratings 5, 4, 2; nps 10, 9, 3; ces 6, 5, 2
        "csat_top2box": Fraction(2, 3),
        "csat_mean": Fraction(5 + 4 + 2, 3),
        "nps": Fraction(100 * (2 - 1), 3),
        "ces_mean": Fraction(6 + 5 + 2, 3),
        "survey_response_rate": Fraction(3, handled),
        # financial: contacting customers a..f, d churned; cancels r3 (saved) and r4 (churned);
        # c's revenue 50.00 retained; a's purchase of 120.00 follows the resolved r7 within 30 days
        "churn_rate": Fraction(1, 6),
        "save_rate": Fraction(1, 2),
        "revenue_retained": Fraction(50),
        "revenue_influenced": Fraction(120),
        "cost_per_verified_resolution": Fraction(120, 2),
        # operational
        "fcr_rate": Fraction(4, handled),  # r1 is repeated by r7
        "reopen_rate": Fraction(1, 5),  # r2 of five resolved
        "repeat_contact_rate": Fraction(1, handled),
        "containment_rate": Fraction(1, handled),  # r7: bot, resolved, no repeat within 72 h
        "abandonment_rate": Fraction(2, 7),
        # live (voice, chat): within 20 s r1 (10), r3 (20); after r2 (30); abandoned after r5 (50);
        # r6 abandoned within 20 s counts on neither side; r4 (email) and r7 (bot) are not live
        "service_level": Fraction(2, 2 + 1 + 1),
        "asa_seconds": Fraction(10 + 30 + 20 + 3600 + 0, 5),  # answered, all channels
        "aht_seconds": Fraction(300 + 600 + 200 + 100, 4),  # agent-handled only (not the bot's 60)
        "qa_mean": Fraction(90 + 70 + 80, 3),
        # intents with a mapping: r1 billing/voice, r3 cancel/chat, r4 cancel/email, r7 billing/bot;
        # r2 (tech_issue) has no mapping and is in neither side
        "right_channel_share": Fraction(3, 4),
    }
    assert card["right_channels"] == {"billing": ["bot", "voice"], "cancel": ["chat"]}
    assert _rows(card)["revenue_retained"]["value"] == "50.00"  # money as stored


def test_right_channel_share_is_per_workflow_and_ignores_abandoned(scenario):
    s = scenario(
        CONTRACT.replace("  general: {default: true}", "  web: {queues: [web]}\n  general: {default: true}")
    )
    s.rows(
        """
        w1,crm,a,chat,web,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent,,reset
        w2,crm,b,voice,web,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent,,reset
        w3,crm,c,voice,web,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,abandoned,agent,,reset
        g1,crm,d,bot,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,bot,,reset
        g2,crm,e,voice,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,transferred,agent,,other
        """,
        header=HEADER + ",intent",
    )
    mapping = parse_right_channels("reset: [chat, bot]")
    share = {
        wf: _rows(collect(s.ws, "card", "2026-10", workflow=wf, trend=1, right_channels=mapping))[
            "right_channel_share"
        ]
        for wf in ("web", "general", None)
    }
    assert _exact(share["web"]) == Fraction(1, 2)  # w1 right, w2 wrong, w3 abandoned: not handled
    assert _exact(share["general"]) == 1  # g1 right; g2's intent has no mapping
    assert _exact(share[None]) == Fraction(2, 3)  # pooled: one numerator, one denominator
    assert share["web"]["trend"][0]["exact"] == "1/2"
    none_mapped = parse_right_channels("password_reset: [bot]")
    rc = _rows(collect(s.ws, "card", "2026-10", trend=1, right_channels=none_mapped))["right_channel_share"]
    assert rc["value"] is None and rc["undefined"] == "empty denominator"  # a mapping, but no such intent


def test_a_right_channel_mapping_with_a_mistake_names_the_file_line_and_fix():
    with pytest.raises(RightChannelsError, match=r"^rc.yaml:2: intent 'cancel': unknown channel 'phone'"):
        parse_right_channels("billing: [bot]\ncancel: [chat, phone]\n", "rc.yaml")
    with pytest.raises(RightChannelsError, match=r"rc.yaml:1: intent 'billing': give at least one channel"):
        parse_right_channels("billing: []\n", "rc.yaml")
    with pytest.raises(RightChannelsError, match=r"rc.yaml: expected a mapping from intent"):
        parse_right_channels("- billing\n", "rc.yaml")
    # YAML is read as contracts are: the line, the problem and the fix
    with pytest.raises(RightChannelsError, match=r'(?s)^rc.yaml:2: found duplicate key "billing".*hint: write each key once'):
        parse_right_channels("billing: [bot]\nbilling: [chat]\n", "rc.yaml")
    with pytest.raises(RightChannelsError, match=r"(?s)^rc.yaml:2: expected ',' or '\]'.*\[yaml_syntax\]\n  hint: "):
        parse_right_channels("billing: [bot\n", "rc.yaml")
    # a merge key is read, not a traceback
    merged = parse_right_channels("a: [bot]\n<<: {b: [chat]}\n", "rc.yaml")
    assert merged.by_intent == (("a", ("bot",)), ("b", ("chat",)))
    ok = parse_right_channels("b: [voice, bot, voice]\na: email\n")
    assert ok.by_intent == (("a", ("email",)), ("b", ("bot", "voice")))


# --------------------------------------------------------------------------------------------- charts


def _card_of_three_months() -> dict:
    from outcomes.metrics.library import MetricRequest, MetricValue

    class C:
        contract, version, currency = "c", 1, "EUR"

    def v(name, value):
        return MetricValue(
            MetricRequest(name), value, None, None, {} if value is not None else {"undefined": "no ratings"}
        )

    values = {
        "2026-08": {
            "csat_top2box": v("csat_top2box", Fraction(1, 2)),
            "asa_seconds": v("asa_seconds", Fraction(30)),
        },
        "2026-09": {"csat_top2box": v("csat_top2box", None), "asa_seconds": v("asa_seconds", Fraction(45))},
        "2026-10": {
            "csat_top2box": v("csat_top2box", Fraction(3, 4)),
            "asa_seconds": v("asa_seconds", Fraction(81, 2)),
            "revenue_retained": v("revenue_retained", Decimal("1234.50")),
        },
    }
    return scorecard(
        C(), values, period="2026-10", trend=["2026-08", "2026-09", "2026-10"], baseline="2026-08"
    )


def test_chart_of_a_group_has_one_panel_per_metric_each_on_its_own_axis():
    from outcomes.analysis.charts import chart_rows, group_chart

    card = _card_of_three_months()
    spec = group_chart(card, "customer").to_dict()
    assert spec["facet"]["field"] == "metric"
    # the scorecard's order; rates say they are in percent
    assert spec["facet"]["sort"] == [
        "CSAT top-2-box (%)",
        "CSAT mean",
        "NPS",
        "CES mean",
        "Survey response rate (%)",
    ]
    assert spec["resolve"]["scale"]["y"] == "independent"
    rows = [r for r in chart_rows(card, "customer") if r["metric"] == "CSAT top-2-box (%)"]
    # rates in percent; the undefined September is None (a gap), the baseline its own row
    assert [(r["period"], r["role"], r["value"]) for r in rows] == [
        ("2026-08", "trend", 50.0),
        ("2026-09", "trend", None),
        ("2026-10", "trend", 75.0),
        ("2026-08", "baseline", 50.0),
    ]
    assert rows[1]["shown"] == "undefined: no ratings"
    money = [r for r in chart_rows(card, "financial") if r["metric"] == "Revenue retained (EUR)"]
    assert money[-2]["value"] == 1234.5 and money[-2]["unit"] == "EUR" and money[-2]["shown"] == "1234.50"
    with pytest.raises(ValueError, match="no scorecard group 'nope'"):
        group_chart(card, "nope")


def test_charts_are_valid_deterministic_svg_and_png(tmp_path):
    import xml.etree.ElementTree as ET

    from outcomes.analysis.charts import write_charts

    card = _card_of_three_months()
    paths = write_charts(card, tmp_path / "a", "svg")
    assert [p.name for p in paths] == [
        f"scorecard-c-2026-10-all-{g}.svg" for g in ("customer", "financial", "operational")
    ]
    svg = paths[0].read_text(encoding="utf-8")
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    for text in (
        "Customer health",
        "CSAT top-2-box",
        "Survey response rate",
        "50.0%",
        "75.0%",
        "baseline 2026-08",
    ):
        assert text in svg, text
    ops = paths[2].read_text(encoding="utf-8")
    assert "ASA (seconds)" in ops and "40.5" in ops and "Right-channel share" in ops
    again = write_charts(card, tmp_path / "b", "svg")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]  # same data, same bytes
    png = write_charts(card, tmp_path / "c", "png")[0].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_cli_writes_charts_and_reads_a_right_channel_mapping(rich_ws, tmp_path):
    s = rich_ws
    root = str(s.ws.root)
    s.ws.close()
    mapping = tmp_path / "right.yaml"
    mapping.write_text(RIGHT, encoding="utf-8")
    runner = CliRunner()
    args = ["scorecard", "rich", "--period", "2026-10", "--trend", "1", "-w", root]
    charts = tmp_path / "charts"
    r = runner.invoke(
        _app(),
        [*args, "--json", "--right-channels", str(mapping), "--chart", str(charts), "--chart-format", "png"],
    )
    assert r.exit_code == 0, r.output
    card = json.loads(r.stdout)  # the chart paths go to stderr, stdout stays JSON
    assert _rows(card)["right_channel_share"]["exact"] == "3/4"
    written = sorted(p.name for p in charts.iterdir())
    assert written == sorted(
        f"scorecard-rich-2026-10-all-{g}.png" for g in ("customer", "financial", "operational")
    )
    assert all(f"chart: {charts / name}" in r.stderr for name in written)
    bad = tmp_path / "bad.yaml"
    bad.write_text("billing: [phone]\n", encoding="utf-8")
    r = runner.invoke(_app(), [*args, "--right-channels", str(bad)])
    assert r.exit_code == 1 and f"error: {bad}:1: intent 'billing': unknown channel 'phone'" in r.stderr
    r = runner.invoke(_app(), [*args, "--chart", str(tmp_path / "svg")])
    assert r.exit_code == 0 and "chart: " in r.stdout and len(list((tmp_path / "svg").glob("*.svg"))) == 3


def test_right_channel_share_is_not_a_contract_metric():
    from outcomes.contract import load_contract_text

    measure = '    - {metric: right_channel_share, target: ">= 0.5", weight: "1"}\n'
    text = CONTRACT + 'service_levels:\n  at_risk: "0.10"\n  measures:\n' + measure
    contract, issues = load_contract_text(text, "c.yaml")
    assert contract is None
    assert [i.code for i in issues] == ["unknown_metric"]
