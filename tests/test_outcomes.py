"""Verified outcomes, scenario by scenario: a few lines of contract, a tiny table, each row's fate."""

from __future__ import annotations

import pytest

from outcomes.settlement.settle import SettlementRefused

CONTRACT = """
contract: t
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: Europe/London
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: crm
billable_providers: [p]
workflows:
  refunds: {queues: [refunds]}
  tech: {queues: [tech]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
    min_csat: 3
  containment:
    kind: containment
    repeat_contact: {within: 72h, same: [customer], channels: any}
pricing:
  base_fee: "100.00"
  outcome_fees:
    - {outcome: resolution, unit: "5.00"}
    - {outcome: containment, unit: "1.00"}
"""


def test_every_resolution_reason_in_contract_order(scenario):
    s = scenario(CONTRACT)
    s.rows("""
        ok,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        src,export,b,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,1,p,true,,
        prov,crm,c,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,1,q,true,,
        bot,crm,d,bot,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,bot,,p,false,,
        aband,crm,e,voice,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,abandoned,agent,,p,false,,
        transf,crm,e2,voice,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred,agent,,p,false,,
        reop,crm,f,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,1,p,true,,
        low,crm,g,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,2,p,false,,
        csat3,crm,g2,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,3,p,false,,
        anon,crm,,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,p,false,,
        first,crm,h,chat,general,2026-10-03T09:00:00Z,2026-10-03T09:10:00Z,resolved,agent,,p,false,,
        again,crm,h,email,general,2026-10-05T09:00:00Z,2026-10-05T10:00:00Z,resolved,agent,,p,false,,
    """)
    f = s.fates("2026-10")
    r = {k[1]: v for k, v in f.items() if k[0] == "resolution"}
    assert r["ok"] == ("counted", None, None, "refunds")
    assert r["src"][:2] == ("excluded", "wrong_source")  # also reopened and low CSAT: the first reason wins
    assert r["prov"][:2] == ("excluded", "other_provider")
    assert r["bot"][:2] == ("excluded", "not_handled_by")
    assert r["aband"][:2] == ("excluded", "not_resolved")
    assert r["transf"][:2] == ("excluded", "not_resolved")
    assert r["reop"][:2] == ("excluded", "reopened")
    assert r["low"][:2] == ("excluded", "low_csat")
    assert r["csat3"][:2] == ("counted", None)  # min_csat is a floor: 3 meets 3
    assert r["anon"][:2] == ("excluded", "unverifiable_customer")
    assert r["first"] == ("excluded", "repeat_contact", "again", "general")
    assert r["again"][:2] == ("counted", None)
    assert "clock" not in r  # not closed: not a candidate
    # the bot contact is containment's candidate; containment has its own fate
    c = {k[1]: v for k, v in f.items() if k[0] == "containment"}
    assert set(c) == {"bot"} and c["bot"][0] == "counted"


def test_no_workflow_when_there_is_no_default(scenario):
    s = scenario(CONTRACT.replace("  general: {default: true}\n", ""))
    s.rows("""
        x,crm,a,chat,unknown_queue,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        y,crm,b,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
    """)
    f = s.fates("2026-10")
    assert f[("resolution", "x")] == ("excluded", "no_workflow", None, None)
    assert f[("resolution", "y")][0] == "counted"


def test_split_tickets_only_the_last_counts_even_in_the_same_second(scenario):
    s = scenario(CONTRACT)
    # B1 and a1: same customer, same opening and closing second; ids compare as UTF-8 bytes ('B' < 'a').
    s.rows("""
        a1,crm,k,chat,refunds,2026-10-10T09:00:00Z,2026-10-10T09:05:00Z,resolved,agent,,p,false,,
        B1,crm,k,chat,refunds,2026-10-10T09:00:00Z,2026-10-10T09:05:00Z,resolved,agent,,p,false,,
        s1,crm,m,email,refunds,2026-10-11T09:00:00Z,2026-10-11T09:30:00Z,resolved,agent,,p,false,,
        s2,crm,m,email,refunds,2026-10-11T09:00:00Z,2026-10-11T09:20:00Z,resolved,agent,,p,false,,
        s3,crm,m,email,refunds,2026-10-11T09:00:05Z,2026-10-11T09:40:00Z,resolved,agent,,p,false,,
    """)
    f = s.fates("2026-10")
    assert f[("resolution", "B1")] == ("excluded", "repeat_contact", "a1", "refunds")
    assert f[("resolution", "a1")][:2] == ("counted", None)
    # same opening: the one closed first comes first in contact order
    assert f[("resolution", "s2")][:3] == ("excluded", "repeat_contact", "s1")
    assert f[("resolution", "s1")][:3] == ("excluded", "repeat_contact", "s3")
    assert f[("resolution", "s3")][0] == "counted"


def test_an_open_ticket_sorts_after_a_closed_one_opened_the_same_second(scenario):
    s = scenario(CONTRACT)
    s.rows("""
        done,crm,k,chat,refunds,2026-10-10T09:00:00Z,2026-10-10T09:05:00Z,resolved,agent,,p,false,,
        still,crm,k,chat,refunds,2026-10-10T09:00:00Z,,open,agent,,p,false,,
    """)
    f = s.fates("2026-10")
    assert f[("resolution", "done")] == ("excluded", "repeat_contact", "still", "refunds")


def test_repeat_on_another_channel_of_any_status_handler_or_provider(scenario):
    s = scenario(CONTRACT)
    s.rows("""
        c1,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        c2,crm,a,voice,refunds,2026-10-02T09:00:00Z,2026-10-02T09:01:00Z,abandoned,agent,,q,false,,
        d1,crm,b,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        d2,other,b,voice,refunds,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,p,false,,
        e1,crm,c,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        e2,crm,c,bot,tech,2026-10-03T09:00:00Z,2026-10-03T09:10:00Z,resolved,bot,,p,false,,
    """)
    f = s.fates("2026-10")
    assert f[("resolution", "c1")][:3] == ("excluded", "repeat_contact", "c2")  # abandoned, other provider
    assert f[("resolution", "d1")][0] == "counted"  # a non-system-of-record contact is never a repeat
    assert f[("resolution", "e1")][:3] == ("excluded", "repeat_contact", "e2")  # bot, other workflow


def test_same_customer_and_workflow_ignores_other_workflows(scenario):
    s = scenario(
        CONTRACT.replace(
            "same: [customer], channels: any}\n    min_csat",
            "same: [customer, workflow], channels: any}\n    min_csat",
        )
    )
    s.rows("""
        w1,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        w2,crm,a,chat,tech,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,p,false,,
        w3,crm,a,chat,refunds,2026-10-04T09:00:00Z,2026-10-04T09:10:00Z,resolved,agent,,p,false,,
    """)
    f = s.fates("2026-10")
    assert f[("resolution", "w1")][:3] == ("excluded", "repeat_contact", "w3")
    assert f[("resolution", "w2")][0] == "counted"


def test_window_is_inclusive_elapsed_time_and_crosses_the_period_end(scenario):
    s = scenario(CONTRACT)
    s.rows("""
        edge,crm,a,chat,refunds,2026-10-28T09:00:00Z,2026-10-28T10:00:00Z,resolved,agent,,p,false,,
        edge2,crm,a,chat,refunds,2026-11-04T10:00:00Z,2026-11-04T10:30:00Z,resolved,agent,,p,false,,
        past,crm,b,chat,refunds,2026-10-28T09:00:00Z,2026-10-28T10:00:00Z,resolved,agent,,p,false,,
        past2,crm,b,chat,refunds,2026-11-04T10:00:01Z,2026-11-04T10:30:00Z,resolved,agent,,p,false,,
    """)
    f = s.fates("2026-10")
    # exactly 7 x 86,400 s later (across the DST change on 25 October): still a repeat
    assert f[("resolution", "edge")][:3] == ("excluded", "repeat_contact", "edge2")
    assert f[("resolution", "past")][0] == "counted"
    assert ("resolution", "edge2") not in f  # closed in November: not October's candidate


@pytest.mark.parametrize(
    ("zone", "closed_at", "period"),
    [
        ("Europe/London", "2026-09-30T23:30:00Z", "2026-10"),  # 00:30 BST on 1 October
        ("Europe/London", "2026-10-31T23:59:59Z", "2026-10"),  # GMT after 25 October
        ("Europe/London", "2026-11-01T00:00:00Z", "2026-11"),  # midnight belongs to the next period
        ("America/New_York", "2026-11-01T03:59:59Z", "2026-10"),  # 23:59:59 EDT on 31 October
        ("America/New_York", "2026-11-01T04:00:00Z", "2026-11"),
        ("Asia/Tokyo", "2026-09-30T15:00:00Z", "2026-10"),  # 00:00 JST on 1 October
    ],
)
def test_period_is_cut_at_local_midnight(scenario, zone, closed_at, period):
    s = scenario(CONTRACT.replace("Europe/London", zone))
    s.rows(f"""
        tz,crm,a,chat,refunds,2026-09-30T12:00:00Z,{closed_at},resolved,agent,,p,false,,
    """)
    other = {"2026-10": "2026-11", "2026-11": "2026-10"}[period]
    assert s.fates(period)[("resolution", "tz")][0] == "counted"
    assert ("resolution", "tz") not in s.fates(other)


def test_containment_needs_no_return_on_any_channel(scenario):
    s = scenario(CONTRACT)
    s.rows("""
        b1,crm,a,bot,general,2026-10-05T09:00:00Z,2026-10-05T09:04:00Z,resolved,bot,,p,false,,
        b2,crm,b,bot,general,2026-10-05T09:00:00Z,2026-10-05T09:04:00Z,resolved,bot,,p,false,,
        b2c,crm,b,voice,general,2026-10-08T09:03:59Z,2026-10-08T09:10:00Z,resolved,agent,,p,false,,
        b3,crm,c,bot,general,2026-10-05T09:00:00Z,2026-10-05T09:04:00Z,abandoned,bot,,p,false,,
        b4,crm,d,bot,general,2026-10-05T09:00:00Z,2026-10-05T09:04:00Z,resolved,bot,,p,false,,
        b4c,crm,d,chat,general,2026-10-08T09:04:01Z,2026-10-08T09:10:00Z,resolved,agent,,p,false,,
    """)
    f = s.fates("2026-10")
    c = {k[1]: v for k, v in f.items() if k[0] == "containment"}
    assert set(c) == {"b1", "b2", "b3", "b4"}  # only bot-handled contacts are candidates
    assert c["b1"][0] == "counted"
    assert c["b2"][:3] == ("excluded", "repeat_contact", "b2c")
    assert c["b3"][:2] == ("excluded", "not_resolved")
    assert c["b4"][0] == "counted"  # came back 72 h and 1 s later


SAVE_CONTRACT = """
contract: t
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: Europe/London
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: crm
workflows:
  retention: {queues: [retention]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
  save:
    kind: save
    retained_for: 90d
pricing:
  base_fee: "100.00"
  outcome_fees:
    - {outcome: resolution, workflows: [general], unit: "5.00"}
    - {outcome: save, workflows: [retention], unit: "10.00"}
"""


def test_saves_need_no_churn_in_the_window_and_count_a_customer_once(scenario):
    s = scenario(SAVE_CONTRACT)
    s.rows("""
        k1,crm,a,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        k2,crm,b,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        k3,crm,c,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        k4,crm,c,voice,retention,2026-10-20T09:00:00Z,2026-10-20T09:10:00Z,resolved,agent,,,false,cancel,
        k5,crm,e,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,billing,
    """)
    s.events("""
        a,renewed,2026-01-01T00:00:00Z,,50.00
        a,renewed,2026-09-01T00:00:00Z,,60.00
        a,renewed,2026-11-01T00:00:00Z,,70.00
        b,renewed,2026-01-01T00:00:00Z,,40.00
        b,churned,2026-12-01T00:00:00Z,,
        c,renewed,2026-01-01T00:00:00Z,,30.00
        z,renewed,2027-03-01T00:00:00Z,,1.00
    """)
    f = s.fates("2026-10")
    saves = {k[1]: v for k, v in f.items() if k[0] == "save"}
    assert set(saves) == {"k1", "k2", "k3", "k4"}  # only cancel intents are candidates
    assert saves["k1"][:2] == ("counted", None)
    assert saves["k2"][:2] == ("excluded", "churned")
    assert saves["k3"][:2] == ("excluded", "duplicate_save")
    assert saves["k4"][:2] == ("counted", None)
    value = (
        s.ws.facts()
        .con.execute(
            f'SELECT interaction_id, value FROM "{s.settle("2026-10").measures[0].evidence_table}" '
            "WHERE outcome = 'save' AND status = 'counted' ORDER BY 1"
        )
        .fetchall()
    )
    assert [(i, str(v)) for i, v in value] == [
        ("k1", "60.00"),
        ("k4", "30.00"),
    ]  # latest known at the contact


def test_a_save_waits_for_the_crm_feed_to_pass_its_window(scenario):
    s = scenario(SAVE_CONTRACT)
    s.rows("""
        k1,crm,a,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
    """)
    s.events("""
        a,renewed,2026-12-01T00:00:00Z,,70.00
    """)
    f = s.fates("2026-10")
    assert f[("save", "k1")][0] == "pending"


def test_settling_before_the_windows_close_is_refused_with_the_date(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        a1,crm,a,chat,refunds,2026-10-30T09:00:00Z,2026-10-31T09:10:00Z,resolved,agent,,p,false,,
        late,crm,b,chat,refunds,2026-11-06T09:00:00Z,,open,agent,,p,false,,
    """,
        clock=False,
    )
    with pytest.raises(SettlementRefused, match=r"2026-11-08T00:00\+00:00"):
        s.settle("2026-10")
    result = s.settle("2026-10", provisional=True)
    assert result.status == "provisional"
    f = s.fates("2026-10", provisional=True)
    assert f[("resolution", "a1")][0] == "pending"  # its 7 days have not been observed yet


# --- scenarios a wrong count would slip through (issue 17: mutation testing) ----------------------


def test_save_candidates_excluded_for_status_handler_and_customer(scenario):
    # the save outcome has no repeat_contact: it still needs a customer (CRM events decide a save);
    # saves may be handled by agent or bot unless `handled_by` says otherwise
    s = scenario(SAVE_CONTRACT.replace("retained_for: 90d\n", "retained_for: 90d\n    handled_by: [agent]\n"))
    s.rows("""
        ok,crm,a,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        open,crm,b,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,open,agent,,,false,cancel,
        bot,crm,c,bot,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,bot,,,false,cancel,
        anon,crm,,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        blank,crm,d,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,,,,false,cancel,
    """)
    s.events("""
        z,renewed,2027-03-01T00:00:00Z,,1.00
    """)
    saves = {k[1]: v[:2] for k, v in s.fates("2026-10").items() if k[0] == "save"}
    assert saves == {
        "ok": ("counted", None),
        "open": ("excluded", "not_resolved"),
        "bot": ("excluded", "not_handled_by"),
        "anon": ("excluded", "unverifiable_customer"),
        "blank": ("excluded", "not_handled_by"),
    }


def test_a_blank_handler_is_not_handled_by_and_a_blank_reopened_is_no_reopen(scenario):
    s = scenario(CONTRACT)
    s.rows("""
        nohandler,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,,,p,false,,
        noreopen,crm,b,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,,,
    """)
    f = s.fates("2026-10")
    assert f[("resolution", "nohandler")][:2] == ("excluded", "not_handled_by")
    assert f[("resolution", "noreopen")][:2] == ("counted", None)
    assert ("containment", "nohandler") not in f  # a blank handler is not the bot either


def test_churn_at_the_edges_of_the_retention_window_and_revenue_dated_at_the_contact(scenario):
    # saves need no churn in (closed_at, closed_at + 90 days]; the value is the revenue known at closed_at
    s = scenario(SAVE_CONTRACT)
    s.rows("""
        same,crm,a,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        last,crm,b,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        after,crm,c,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
    """)
    s.events("""
        a,churned,2026-10-02T09:10:00Z,,
        a,renewed,2026-10-02T09:10:00Z,,45.00
        a,renewed,2026-10-02T09:10:01Z,,99.00
        b,churned,2026-12-31T09:10:00Z,,
        c,churned,2026-12-31T09:10:01Z,,
        z,renewed,2027-03-01T00:00:00Z,,1.00
    """)
    f = s.fates("2026-10")
    assert f[("save", "same")][:2] == ("counted", None)  # churned at the contact itself: not after it
    assert f[("save", "last")][:2] == ("excluded", "churned")  # exactly 90 x 24 h later: inside the window
    assert f[("save", "after")][:2] == ("counted", None)  # a second later: outside
    table = s.settle("2026-10").measures[0].evidence_table
    rows = (
        s.ws.facts()
        .con.execute(
            f"SELECT interaction_id, value, churn_at FROM \"{table}\" WHERE outcome = 'save' ORDER BY 1"
        )
        .fetchall()
    )
    values = {i: (None if v is None else str(v), None if c is None else c.isoformat()) for i, v, c in rows}
    assert values["same"] == ("45.00", None)  # revenue dated exactly closed_at is known at the contact
    assert values["last"][1] == "2026-12-31T09:10:00"


def test_a_window_ending_exactly_at_the_data_clock_is_decided(scenario):
    s = scenario(CONTRACT)
    # the contact feed's clock is the latest opening: exactly 7 days after a1 closed
    s.rows(
        """
        a1,crm,a,chat,refunds,2026-10-30T09:00:00Z,2026-10-31T09:10:00Z,resolved,agent,,p,false,,
        clock,crm,zz,chat,other,2026-11-07T09:10:00Z,,open,agent,,p,false,,
    """,
        clock=False,
    )
    # the period as a whole waits for 8 November; a1's own window is observed and decided
    f = s.fates("2026-10", provisional=True)
    assert f[("resolution", "a1")][:2] == ("counted", None)


def test_a_later_contact_ingested_before_an_earlier_one_still_repeats_it(scenario):
    s = scenario(CONTRACT)
    s.rows("""
        second,crm,a,chat,refunds,2026-10-05T09:00:00Z,2026-10-05T09:10:00Z,resolved,agent,,p,false,,
    """)
    s.rows(
        """
        first,crm,a,chat,refunds,2026-10-03T09:00:00Z,2026-10-03T09:10:00Z,resolved,agent,,p,false,,
    """,
        clock=False,
    )
    f = s.fates("2026-10")
    assert f[("resolution", "first")][:3] == ("excluded", "repeat_contact", "second")
    assert f[("resolution", "second")][:2] == ("counted", None)


@pytest.mark.parametrize(
    ("save_keys", "pending_until"),
    [
        # no contact window: the save waits for the CRM feed to pass closed_at + retained_for
        ("retained_for: 90d", "2026-12-31 09:10:00"),
        # a repeat window longer than the retention: the later of the two
        (
            "retained_for: 2d\n    repeat_contact: {within: 7d, same: [customer], channels: any}",
            "2026-10-09 09:10:00",
        ),
        # a retention longer than the repeat window
        (
            "retained_for: 90d\n    repeat_contact: {within: 7d, same: [customer], channels: any}",
            "2026-12-31 09:10:00",
        ),
    ],
)
def test_a_pending_save_says_until_when_it_waits(scenario, save_keys, pending_until):
    s = scenario(SAVE_CONTRACT.replace("retained_for: 90d", save_keys))
    s.rows(
        """
        k1,crm,a,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        later,crm,zz,chat,general,2026-10-03T09:00:00Z,,open,agent,,,false,,
    """,
        clock=False,
    )
    s.events("""
        a,renewed,2026-10-03T00:00:00Z,,70.00
    """)
    result = s.settle("2026-10", provisional=True)
    rows = (
        s.ws.facts()
        .con.execute(
            f'SELECT status, reason, CAST(pending_until AS VARCHAR) FROM "{result.measures[0].evidence_table}" '
            "WHERE outcome = 'save'"
        )
        .fetchall()
    )
    assert rows == [("pending", None, pending_until)]


def test_a_customer_is_saved_on_the_last_qualifying_contact_by_close_then_opening_then_id(scenario):
    s = scenario(SAVE_CONTRACT)
    s.rows("""
        a1,crm,a,voice,retention,2026-10-02T08:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        a2,crm,a,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        b2,crm,b,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        b1,crm,b,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        c1,crm,c,voice,retention,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,,false,cancel,
        c2,crm,c,voice,retention,2026-10-05T09:00:00Z,2026-10-05T09:10:00Z,abandoned,agent,,,false,cancel,
    """)
    s.events("""
        z,renewed,2027-03-01T00:00:00Z,,1.00
    """)
    saves = {k[1]: v[:2] for k, v in s.fates("2026-10").items() if k[0] == "save"}
    assert saves == {
        "a1": ("excluded", "duplicate_save"),  # closed the same second as a2, opened earlier
        "a2": ("counted", None),
        "b1": ("excluded", "duplicate_save"),  # same opening and close: the larger id is the last
        "b2": ("counted", None),
        "c1": ("counted", None),  # c's later contact does not qualify, so it takes nothing from c1
        "c2": ("excluded", "not_resolved"),
    }


def test_only_a_pending_row_says_until_when_and_the_evidence_has_one_schema(scenario):
    s = scenario(CONTRACT)
    s.rows(
        """
        done,crm,a,chat,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,p,false,,
        wait,crm,b,chat,refunds,2026-10-30T09:00:00Z,2026-10-30T09:10:00Z,resolved,agent,,p,false,,
        late,crm,c,chat,refunds,2026-11-02T09:00:00Z,,open,agent,,p,false,,
    """,
        clock=False,
    )
    table = s.settle("2026-10", provisional=True).measures[0].evidence_table
    con = s.ws.facts().con
    rows = con.execute(
        f'SELECT interaction_id, status, CAST(pending_until AS VARCHAR) FROM "{table}" '
        "WHERE outcome = 'resolution' ORDER BY 1"
    ).fetchall()
    # done's window ended 8 October, observed (the clock is 2 November): counted, nothing to wait for
    assert rows == [("done", "counted", None), ("wait", "pending", "2026-11-06 09:10:00")]
    types = dict(con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{table}")').fetchall())
    assert {k: types[k] for k in ("closed_at", "churn_at", "pending_until", "value")} == {
        "closed_at": "TIMESTAMP",
        "churn_at": "TIMESTAMP",
        "pending_until": "TIMESTAMP",
        "value": "DECIMAL(18,2)",
    }
