"""No data is not zero: with no customer event ingested, churn and revenue are unknown, and a contract whose
save outcome or value share is decided by events is not settled as if they were 0 (docs/scorecard.md,
docs/contract.md)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from outcomes.analysis.scorecard import collect
from outcomes.settlement.settle import settle
from outcomes.settlement.stages import SettlementRefused

SAVES = """
contract: keep
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
  save:
    kind: save
    handled_by: [bot]
    retained_for: 30d
pricing:
  base_fee: "100.00"
  outcome_fees:
    - {outcome: resolution, unit: "10.00"}
    - {outcome: save, unit: "25.00"}
"""

# October: two agent resolutions; a and c called to cancel, and the bot talked them round (two save candidates)
ROWS = """
r1,crm,a,chat,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent,,p,false,billing,
r2,crm,b,chat,general,2026-10-02T09:00:00Z,2026-10-02T10:00:00Z,resolved,agent,,p,false,billing,
r3,crm,a,bot,general,2026-10-12T09:00:00Z,2026-10-12T09:10:00Z,resolved,bot,,p,false,cancel,
r4,crm,c,bot,general,2026-10-13T09:00:00Z,2026-10-13T09:10:00Z,resolved,bot,,p,false,cancel,
"""

# c churns 10 days after the save; the last row moves the event clock past every look-ahead
EVENTS = """
c,churned,2026-10-23T00:00:00Z,,
zz-clock,renewed,2027-03-01T00:00:00Z,,
"""

EVENT_ROWS = ("churn_rate", "save_rate", "revenue_retained", "revenue_influenced")


def _rows(card: dict) -> dict[str, dict]:
    return {m["metric"]: m for g in card["groups"] for m in g["metrics"]}


@pytest.fixture
def contacts_only(scenario):
    s = scenario(SAVES)
    s.rows(ROWS)
    return s


def test_scorecard_without_events_says_no_data_never_zero(contacts_only):
    rows = _rows(collect(contacts_only.ws, "keep", "2026-10", trend=1))
    for name in EVENT_ROWS:
        assert rows[name]["value"] is None, name
        assert rows[name]["exact"] is None and rows[name]["trend"][0]["value"] is None
        assert "no customer events ingested" in rows[name]["undefined"]
        assert "outcomes ingest events" in rows[name]["undefined"]
    # what the contacts alone decide is still measured
    assert rows["fcr_rate"]["value"] is not None


def test_scorecard_cli_text_and_json_say_no_data(contacts_only):
    from outcomes.cli import app

    root = str(contacts_only.ws.root)
    contacts_only.ws.close()
    args = ["scorecard", "keep", "--period", "2026-10", "--trend", "1", "-w", root]
    r = CliRunner().invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    rows = _rows(json.loads(r.stdout))
    for name in EVENT_ROWS:
        assert rows[name]["value"] is None and rows[name]["undefined"].startswith("no data:")
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert "Churn rate (contacting customers): no data: no customer events ingested" in " ".join(text.split())
    assert "0.000000" not in text and "0.0%" not in text.split("Churn rate")[1].splitlines()[0]


def test_settle_refuses_a_save_outcome_without_any_event_and_records_nothing(contacts_only):
    s = contacts_only
    with pytest.raises(SettlementRefused) as exc:
        settle(s.ws.ledger(), s.ws.facts(), "keep", "2026-10")
    assert "no customer events" in str(exc.value) and "the save outcome 'save'" in str(exc.value)
    assert "outcomes ingest events" in exc.value.hint
    assert s.ws.ledger().find_settlement("keep", "2026-10") is None


def test_settle_cli_without_events_exits_1_naming_the_missing_events(contacts_only):
    from outcomes.cli import app

    root = str(contacts_only.ws.root)
    contacts_only.ws.close()
    r = CliRunner().invoke(app, ["settle", "keep", "--period", "2026-10", "-w", root])
    assert r.exit_code == 1, r.output
    said = " ".join(r.stderr.split())
    assert "no customer events" in said and "outcomes ingest events" in said
    r = CliRunner().invoke(app, ["settlements", "--contract", "keep", "--json", "-w", root])
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_provisional_settles_what_contacts_verify_with_a_notice(contacts_only):
    s = contacts_only
    result = settle(s.ws.ledger(), s.ws.facts(), "keep", "2026-10", provisional=True)
    assert result.status == "provisional"  # the contacts' windows are observed, the saves are not
    assert result.total == Decimal("120.00")  # base 100 + two resolutions; the saves wait for the events
    notice = next(n for n in result.notices if n["code"] == "no_customer_events")
    assert notice["needs_events"] == ["the save outcome 'save'"]


def test_with_events_ingested_the_saves_settle_normally(contacts_only):
    s = contacts_only
    s.events(EVENTS)
    result = settle(s.ws.ledger(), s.ws.facts(), "keep", "2026-10")
    # a stayed (saved, 25.00); c churned within 30 days (not saved)
    assert result.total == Decimal("145.00")
    assert not any(n["code"] == "no_customer_events" for n in result.notices)
    rows = _rows(collect(s.ws, "keep", "2026-10", trend=1))
    assert rows["save_rate"]["exact"] == "1/2" and rows["churn_rate"]["undefined"] is None


VALUE_SHARE = SAVES.replace(
    '    - {outcome: save, unit: "25.00"}\n', '  value_share: {metric: revenue_influenced, share: "0.10"}\n'
).replace("  save:\n    kind: save\n    handled_by: [bot]\n    retained_for: 30d\n", "")


def test_a_value_share_without_events_is_refused_too(scenario):
    s = scenario(VALUE_SHARE)
    s.rows(ROWS)
    with pytest.raises(SettlementRefused, match="the value share on revenue_influenced"):
        settle(s.ws.ledger(), s.ws.facts(), "keep", "2026-10")


def test_a_contract_that_needs_no_events_settles_without_them(scenario):
    s = scenario(SAVES.replace("  save:\n    kind: save\n    handled_by: [bot]\n    retained_for: 30d\n", "")
                 .replace('    - {outcome: save, unit: "25.00"}\n', ""))
    s.rows(ROWS)
    result = settle(s.ws.ledger(), s.ws.facts(), "keep", "2026-10")
    assert result.status == "final" and not any(n["code"] == "no_customer_events" for n in result.notices)


def test_status_says_the_period_waits_for_customer_events(contacts_only):
    from outcomes.settlement.status import contract_status

    s = contacts_only
    st = contract_status(s.ws.ledger(), s.ws.facts(), "keep")
    assert st["event_clock"] is None and st["missing_events"] == ["the save outcome 'save'"]
    assert st["next_period"]["settleable"] is False
    assert not any(u["settleable"] for u in st["unsettled"])
    s.events(EVENTS)
    st = contract_status(s.ws.ledger(), s.ws.facts(), "keep")
    assert st["missing_events"] == [] and st["next_period"]["settleable"] is True
