"""Late data: a settled period is never changed; the next settlement carries the difference."""

from __future__ import annotations

from decimal import Decimal

from conftest import SCENARIO_NOW
from outcomes.settlement.settle import settle

CONTRACT = """
contract: late
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
  outcome_fees:
    - outcome: resolution
      tiers: graduated
      prices: [{up_to: 2, unit: "10.00"}, {unit: "4.00"}]
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by"


def _lines(result):
    return [(ln.kind, ln.label, str(ln.amount)) for ln in result.lines]


def test_a_late_repeat_contact_is_a_negative_adjustment_at_the_last_units_price(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        r1,crm,a,chat,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent
        r2,crm,b,chat,general,2026-10-02T09:00:00Z,2026-10-02T10:00:00Z,resolved,agent
        r3,crm,c,chat,general,2026-10-03T09:00:00Z,2026-10-03T10:00:00Z,resolved,agent
        n1,crm,z,chat,general,2026-11-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    october = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-10")
    assert _lines(october) == [
        ("base_fee", "base fee", "100.00"),
        ("outcome_fee", "resolution (all workflows)", "24.00"),  # 10 + 10 + 4
    ]
    # a repeat contact by customer a, opened 3 days after r1 closed, arrives after October was settled
    s.rows(
        """
        r1b,crm,a,voice,general,2026-10-04T09:00:00Z,2026-10-04T09:30:00Z,resolved,agent
        n2,crm,y,chat,general,2026-12-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    november = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-11")
    adj = [ln for ln in november.lines if ln.kind == "adjustment"]
    # r1 no longer counts, r1b does: the count stays 3 and nothing changes...
    assert adj == []
    # ...but a correction of r3 (it was abandoned) loses one unit: the last unit's price (4.00), not the first's
    s.rows(
        """
        r3,crm,c,chat,general,2026-10-03T09:00:00Z,2026-10-03T10:00:00Z,abandoned,agent
        n3,crm,x,chat,general,2027-01-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    december = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-12")
    adj = [ln for ln in december.lines if ln.kind == "adjustment"]
    assert len(adj) == 1
    (a,) = adj
    assert a.amount == Decimal("-4.00")
    assert a.details["adjusts"]["period"] == "2026-10"
    assert a.details["adjusts"]["settlement"] == october.settlement_id
    assert a.details["adjusts"]["line"] == 2
    assert a.details["billed_so_far"] == Decimal("24.00") and a.details["repriced"] == Decimal("20.00")
    changes = {(c["before"], c["after"]): c["ids"] for c in a.details["fate_changes"]}
    assert changes[("counted", "excluded:not_resolved")] == ["r3"]
    # the settled periods themselves are untouched
    assert s.ws.ledger().settlement("late/2026-10").total == "124.00"


def test_an_adjustment_is_billed_once(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        r1,crm,a,chat,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent
        n1,crm,z,chat,general,2026-11-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    settle(s.ws.ledger(), s.ws.facts(), "late", "2026-10")
    s.rows(
        """
        r1c,crm,a,voice,general,2026-10-05T09:00:00Z,,open,agent
        n2,crm,y,chat,general,2026-12-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    november = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-11")
    (a,) = [ln for ln in november.lines if ln.kind == "adjustment"]
    assert a.amount == Decimal("-10.00")
    s.rows(
        """
        n3,crm,x,chat,general,2027-01-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    december = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-12")
    assert [ln for ln in december.lines if ln.kind == "adjustment"] == []  # billed so far already says -10


def test_provisional_pending_outcomes_are_billed_late_when_they_verify(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        r1,crm,a,chat,general,2026-10-30T09:00:00Z,2026-10-30T10:00:00Z,resolved,agent
        n1,crm,z,chat,general,2026-11-02T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    october = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-10", provisional=True)
    assert october.status == "provisional" and october.lines[1].quantity == 0
    s.rows(
        """
        n2,crm,y,chat,general,2026-12-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    november = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-11")
    (a,) = [ln for ln in november.lines if ln.kind == "adjustment"]
    assert a.amount == Decimal("10.00")
    changes = {(c["before"], c["after"]) for c in a.details["fate_changes"]}
    assert ("pending", "counted") in changes


def test_after_the_term_only_adjustments_are_settled(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        r1,crm,a,chat,general,2026-12-01T09:00:00Z,2026-12-01T10:00:00Z,resolved,agent
        n1,crm,z,chat,general,2027-01-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    settle(s.ws.ledger(), s.ws.facts(), "late", "2026-12")
    s.rows(
        """
        r1b,crm,a,chat,general,2026-12-03T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    january = settle(s.ws.ledger(), s.ws.facts(), "late", "2027-01", now=SCENARIO_NOW)
    assert [ln.kind for ln in january.lines] == ["adjustment"]
    assert january.total == Decimal("-10.00")
    assert "credit_note" in {n["code"] for n in january.notices}  # shown, never hidden


def test_an_accepted_dispute_becomes_an_adjustment_in_the_next_settlement(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        r1,crm,a,chat,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent
        n1,crm,z,chat,general,2026-11-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    october = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-10")
    ledger = s.ws.ledger()
    d = ledger.open_dispute(
        october.settlement_id,
        2,
        party="buyer",
        reason="r1 was a duplicate",
        interaction_ids=["r1"],
        amount="10.00",
    )
    rejected = ledger.open_dispute(october.settlement_id, 1, party="buyer", reason="base fee too high")
    ledger.answer_dispute(d.id, party="provider", note="checking")
    ledger.accept_dispute(d.id, note="agreed")
    ledger.reject_dispute(rejected.id, note="per contract")
    s.rows("n2,crm,y,chat,general,2026-12-20T09:00:00Z,,open,agent", clock=False, header=HEADER)
    november = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-11")
    (a,) = [ln for ln in november.lines if ln.kind == "adjustment"]
    assert a.amount == Decimal("-10.00") and a.details["dispute"] == d.id
    assert a.details["adjusts"] == {
        "settlement": october.settlement_id,
        "period": "2026-10",
        "line": 2,
        "kind": "outcome_fee",
        "label": "resolution (all workflows)",
    }
    assert ledger.dispute(d.id).adjusted_in == november.settlement_id
    assert ledger.dispute(rejected.id).state == "rejected"
    s.rows("n3,crm,x,chat,general,2027-01-20T09:00:00Z,,open,agent", clock=False, header=HEADER)
    december = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-12")
    assert not [ln for ln in december.lines if ln.kind == "adjustment"]  # billed once
    assert ledger.verify_audit().ok


EARN_BACK = (
    CONTRACT
    + """
service_levels:
  at_risk: "0.10"
  measures:
    - {metric: csat_top2box, target: ">= 0.80", weight: "1"}
  earn_back: {periods: 2}
"""
)


def test_a_credit_is_earned_back_after_exactly_n_met_periods(scenario):
    s = scenario(EARN_BACK)
    header = HEADER + ",csat"
    rows = {
        "2026-07": ("1", "1"),  # missed: top-2-box 0
        "2026-08": ("5", "5"),  # met (1 of 2)
        "2026-09": ("5", "4"),  # met (2 of 2): the July credit comes back
        "2026-10": ("5", "5"),
    }
    results = {}
    for i, (month, (c1, c2)) in enumerate(rows.items()):
        s.rows(
            f"""
            {month}a,crm,a{i},chat,general,{month}-05T09:00:00Z,{month}-05T10:00:00Z,resolved,agent,{c1}
            {month}b,crm,b{i},chat,general,{month}-06T09:00:00Z,{month}-06T10:00:00Z,resolved,agent,{c2}
            {month}z,crm,z{i},chat,general,{_next(month)}-20T09:00:00Z,,open,agent,
            """,
            clock=False,
            header=header,
        )
        results[month] = settle(s.ws.ledger(), s.ws.facts(), "late", month)
    july = results["2026-07"]
    (credit,) = [ln for ln in july.lines if ln.kind == "service_credit"]
    assert credit.amount == Decimal("-12.00")  # 10% of 100 + 2 x 10
    assert not [ln for ln in results["2026-08"].lines if ln.kind == "earn_back"]  # N-1 periods: not yet
    (back,) = [ln for ln in results["2026-09"].lines if ln.kind == "earn_back"]
    assert back.amount == Decimal("12.00") and back.details["credit_period"] == "2026-07"
    assert not [ln for ln in results["2026-10"].lines if ln.kind == "earn_back"]  # returned once


def _next(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y + m // 12}-{m % 12 + 1:02d}"


def test_a_settlement_with_adjustments_reruns_to_the_same_lines(scenario):
    from outcomes.settlement.rerun import rerun

    s = scenario(CONTRACT)
    s.rows(
        """
        r1,crm,a,chat,general,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,agent
        n1,crm,z,chat,general,2026-11-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    october = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-10")
    d = s.ws.ledger().open_dispute(
        october.settlement_id, 1, party="provider", reason="base fee", amount="5.00"
    )
    s.ws.ledger().accept_dispute(d.id)
    s.rows(
        """
        r1c,crm,a,voice,general,2026-10-05T09:00:00Z,,open,agent
        n2,crm,y,chat,general,2026-12-20T09:00:00Z,,open,agent
        """,
        clock=False,
        header=HEADER,
    )
    november = settle(s.ws.ledger(), s.ws.facts(), "late", "2026-11")
    assert sorted(str(ln.amount) for ln in november.lines if ln.kind == "adjustment") == ["-10.00", "5.00"]
    s.rows("n3,crm,x,chat,general,2027-01-20T09:00:00Z,,open,agent", clock=False, header=HEADER)
    settle(s.ws.ledger(), s.ws.facts(), "late", "2026-12")  # later settlements do not disturb the rerun
    report = rerun(s.ws.ledger(), s.ws.facts(), str(november.settlement_id))
    assert report.ok, report.to_dict()
