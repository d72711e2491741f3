"""The metric library (METRICS.md, docs/metrics.md), scenario by scenario: a tiny table, the value by hand.

Tables are compact CSV with only the columns a test is about; `World.rows` fills the ones left out with
source `crm`, provider `p` (the system of record, billable), channel `chat`, queue `refunds`, status `resolved`
and handler `agent`. Times are UTC instants; the contract cuts periods in Europe/London.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from conftest import SCENARIO_NOW, SHARED
from outcomes.contract import load_contract_text
from outcomes.contract import rules as contract_rules
from outcomes.facts.store import FactsStore
from outcomes.metrics import library
from outcomes.metrics.library import (
    METRIC_NAMES,
    TRANSCRIPT_METRIC_NAMES,
    MetricRequest,
    MetricValue,
    measure_metrics,
    metric_sql,
)
from outcomes.metrics.outcomes import Clocks
from outcomes.metrics.scope import Window
from outcomes.period import Period

CONTRACT = """
contract: m
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
    min_csat: 2
  containment:
    kind: containment
    repeat_contact: {within: 72h, same: [customer], channels: any}
  save:
    kind: save
    retained_for: 90d
pricing:
  base_fee: "100.00"
"""

# Without outcomes that metrics are defined through: those metrics are undefined, not 0.
BARE = CONTRACT.split("outcomes:\n")[0] + 'outcomes:\n  resolution: {kind: resolution}\npricing:\n  base_fee: "1.00"\n'

DEFAULTS = {
    "source": "crm",
    "provider": "p",
    "channel": "chat",
    "queue": "refunds",
    "status": "resolved",
    "handled_by": "agent",
}

# Every look-ahead window of the scenarios has been observed by then.
LATE = Clocks(contacts=datetime(2027, 6, 1), events=datetime(2027, 6, 1))


class World:
    def __init__(self, tmp_path, contract_yaml: str = CONTRACT):
        contract, issues = load_contract_text(textwrap.dedent(contract_yaml).strip() + "\n")
        assert contract is not None, issues
        assert not [i for i in issues if i.level == "error"], issues
        self.contract = contract
        self.dir = tmp_path
        self.facts = FactsStore(":memory:")
        self._n = 0

    def rows(self, header: str, table: str) -> None:
        cols = header.split(",")
        extra = [c for c in DEFAULTS if c not in cols]
        lines = [",".join(cols + extra)]
        for ln in textwrap.dedent(table).strip().splitlines():
            if ln.strip():
                lines.append(",".join([ln.strip()] + [DEFAULTS[c] for c in extra]))
        self._ingest("interactions", "\n".join(lines) + "\n")

    def events(self, table: str) -> None:
        body = textwrap.dedent(table).strip()
        self._ingest("events", "customer_id,event,at,amount,monthly_revenue\n" + body + "\n")

    def _ingest(self, kind: str, text: str) -> None:
        self._n += 1
        f = self.dir / f"{kind}-{self._n}.csv"
        f.write_text(text, encoding="utf-8")
        summary = self.facts.ingest(kind, f, now=SCENARIO_NOW)
        assert summary.quarantined == 0, self.facts.quarantine(summary.batch)

    def measure(self, *requests: MetricRequest, period: str = "2026-10", clocks: Clocks = LATE, **kw):
        window = Window.of(self.contract, Period.parse(period))
        return measure_metrics(
            self.contract, self.facts.interactions(), self.facts.events(), window, clocks, list(requests), **kw
        )

    def one(self, name: str, workflows=None, **kw) -> MetricValue:
        period = kw.pop("period", "2026-10")
        clocks = kw.pop("clocks", LATE)
        settled = kw.pop("settled_total", None)
        (v,) = self.measure(MetricRequest(name, workflows, **kw), period=period, clocks=clocks,
                            settled_total=settled)  # fmt: skip
        return v


@pytest.fixture
def world(tmp_path):
    made: list[World] = []

    def make(contract_yaml: str = CONTRACT) -> World:
        sub = tmp_path / f"w{len(made)}"
        sub.mkdir()
        w = World(sub, contract_yaml)
        made.append(w)
        return w

    yield make
    for w in made:
        w.facts.close()


# ------------------------------------------------------------------------------------------- the names


def test_metric_names_are_the_table_of_metrics_md():
    text = (SHARED / "METRICS.md").read_text(encoding="utf-8")
    names = re.findall(r"^\|\s*`([a-z0-9_]+)`", text, re.M)
    # METRICS.md's table, in its order, then the transcript metrics defined in docs/metrics.md
    assert METRIC_NAMES == tuple(names) + TRANSCRIPT_METRIC_NAMES
    assert set(METRIC_NAMES) == set(contract_rules.METRIC_NAMES)


def test_every_metric_is_documented():
    text = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\|\s*`([a-z0-9_]+)`", text, re.M)
    # the table of docs/metrics.md, in METRICS.md's order, then the transcript metrics' table
    assert documented == list(METRIC_NAMES)


def test_every_metric_in_one_call_is_json_able_and_nothing_is_zero_for_no_data(world):
    w = world()
    values = w.measure(*(MetricRequest(n) for n in METRIC_NAMES))
    assert [v.request.name for v in values] == list(METRIC_NAMES)
    json.dumps([v.to_dict() for v in values])
    by = {v.request.name: v for v in values}
    # no contacts at all: counts and sums are 0, every rate and mean is undefined
    assert by["offered"].value == 0 and by["handled"].value == 0
    assert by["revenue_retained"].value == Decimal("0") and by["revenue_influenced"].value == Decimal("0")
    for name in set(METRIC_NAMES) - {"offered", "handled", "revenue_retained", "revenue_influenced"}:
        assert by[name].value is None, name
        assert by[name].details["undefined"], name


def test_without_any_customer_event_the_event_metrics_have_no_data(world):
    """The event clock unknown (no event ingested): churn, saves and revenue are unknown, not 0; an event clock
    that has seen events (none of them in the window) gives 0 as before."""
    from outcomes.metrics.library import NO_EVENTS

    w = world()
    names = ("churn_rate", "save_rate", "revenue_retained", "revenue_influenced")
    unknown = Clocks(contacts=LATE.contacts, events=None)
    for v in w.measure(*(MetricRequest(n) for n in names), clocks=unknown):
        assert v.value is None and v.details["undefined"] == NO_EVENTS, v.request.name
    by = {v.request.name: v for v in w.measure(*(MetricRequest(n) for n in names))}
    assert by["revenue_influenced"].value == Decimal("0")
    # contact metrics do not depend on the events
    (handled,) = w.measure(MetricRequest("handled"), clocks=unknown)
    assert handled.value == 0


def test_requests_are_checked(world):
    w = world()
    with pytest.raises(ValueError, match="did you mean csat_mean"):
        w.one("csat_maen")
    with pytest.raises(ValueError, match="workflow 'nope' is not defined"):
        w.one("handled", ("nope",))
    with pytest.raises(ValueError, match="threshold"):
        w.one("asa_seconds", threshold=30)
    with pytest.raises(ValueError, match="window"):
        w.one("churn_rate", window=86400)


# ------------------------------------------------------------------------------------- demand metrics


def test_period_basis_opened_for_demand_closed_for_the_rest(world):
    w = world()
    # s1 opened 30 September 22:00 London (21:00Z), closed 2 October: offered in September, handled in October.
    # s2 opened 23:30Z on 30 September = 00:30 BST on 1 October: October in the contract's time zone.
    w.rows(
        "interaction_id,customer_id,opened_at,closed_at,status,wait_seconds",
        """
        s1,a,2026-09-30T21:00:00Z,2026-10-02T09:00:00Z,resolved,10
        s2,b,2026-09-30T23:30:00Z,2026-10-01T09:00:00Z,resolved,30
        s3,c,2026-09-10T09:00:00Z,2026-09-10T09:05:00Z,abandoned,40
        """,
    )
    sep = {v.request.name: v for v in w.measure(MetricRequest("offered"), MetricRequest("handled"),
                                                MetricRequest("abandonment_rate"), MetricRequest("asa_seconds"),
                                                period="2026-09")}  # fmt: skip
    oct_ = {v.request.name: v for v in w.measure(MetricRequest("offered"), MetricRequest("handled"),
                                                 MetricRequest("abandonment_rate"), MetricRequest("asa_seconds"))}  # fmt: skip
    assert sep["offered"].value == 2 and sep["offered"].details["basis"] == "opened"  # s1, s3
    assert sep["handled"].value == 0 and sep["handled"].details["basis"] == "closed"  # s3 was abandoned
    assert sep["abandonment_rate"].value == Fraction(1, 2)
    assert sep["asa_seconds"].value == 10  # s1 only: s3 was not answered
    assert oct_["offered"].value == 1  # s2
    assert oct_["handled"].value == 2  # s1, s2
    assert oct_["abandonment_rate"].value == 0
    assert oct_["asa_seconds"].value == 30


def test_offered_and_handled_count_in_scope_contacts_only(world):
    w = world()
    w.rows(
        "interaction_id,source,provider,opened_at,closed_at,status",
        """
        ok,crm,p,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        open,crm,p,2026-10-01T09:00:00Z,,open
        ab,crm,p,2026-10-01T09:00:00Z,2026-10-01T09:01:00Z,abandoned
        tr,crm,p,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred
        src,export,p,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        prov,crm,q,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        """,
    )
    offered, handled = w.measure(MetricRequest("offered"), MetricRequest("handled"))
    assert offered.value == 4 and offered.numerator == 4 and offered.denominator is None
    assert handled.value == 2  # ok, tr: closed and not abandoned; open has no closed_at


def test_abandonment_rate(world):
    w = world()
    w.rows(
        "interaction_id,channel,opened_at,closed_at,status",
        """
        a,voice,2026-10-01T09:00:00Z,2026-10-01T09:01:00Z,abandoned
        b,email,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        c,chat,2026-10-02T09:00:00Z,,open
        """,
    )
    v = w.one("abandonment_rate")
    assert (v.value, v.numerator, v.denominator) == (Fraction(1, 3), 1, 3)
    assert w.one("abandonment_rate", period="2026-11").value is None


def test_service_level_short_abandons_excluded_and_threshold(world):
    w = world()
    w.rows(
        "interaction_id,channel,opened_at,closed_at,status,wait_seconds",
        """
        a1,voice,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,5
        a2,chat,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred,20
        a3,messaging,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,25
        a4,voice,2026-10-01T09:00:00Z,,open,40
        x1,voice,2026-10-01T09:00:00Z,2026-10-01T09:00:10Z,abandoned,10
        x2,voice,2026-10-01T09:00:00Z,2026-10-01T09:00:30Z,abandoned,30
        e1,email,2026-10-01T09:00:00Z,2026-10-01T19:00:00Z,resolved,36000
        b1,bot,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,0
        n1,voice,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,
        """,
    )
    # T = 20: answered within a1, a2 (<= is within); answered after a3, a4; abandoned after x2;
    # x1 abandoned within 20 s counts on neither side; email and bot are not live channels; n1 has no wait.
    v = w.one("service_level")
    assert (v.value, v.numerator, v.denominator) == (Fraction(2, 5), 2, 5)
    assert v.details["threshold_seconds"] == 20
    assert v.details["short_abandons"] == 1 and v.details["abandoned_after"] == 1
    assert v.details["without_wait"] == 1
    # T = 30: within a1, a2, a3; after a4; x1 and x2 both abandoned within 30 s: excluded
    v30 = w.one("service_level", threshold=30)
    assert (v30.value, v30.numerator, v30.denominator) == (Fraction(3, 4), 3, 4)
    assert v30.details["short_abandons"] == 2
    # T = 5: within a1; after a2, a3, a4; abandoned after x1, x2
    assert w.one("service_level", threshold=5).value == Fraction(1, 6)
    assert w.one("service_level", period="2026-11").value is None  # no contacts


def test_service_level_with_only_short_abandons_is_undefined(world):
    w = world()
    w.rows(
        "interaction_id,channel,opened_at,closed_at,status,wait_seconds",
        "x1,voice,2026-10-01T09:00:00Z,2026-10-01T09:00:10Z,abandoned,10",
    )
    v = w.one("service_level")
    assert v.value is None and v.details["undefined"] == "empty denominator"
    assert v.details["short_abandons"] == 1


def test_asa_seconds(world):
    w = world()
    w.rows(
        "interaction_id,channel,opened_at,closed_at,status,wait_seconds",
        """
        a,voice,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,10
        b,email,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved,25.5
        c,voice,2026-10-01T09:00:00Z,2026-10-01T09:01:00Z,abandoned,60
        d,voice,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,
        """,
    )
    v = w.one("asa_seconds")
    assert v.value == Fraction(71, 4)  # (10 + 25.5) / 2: exact, abandoned and unknown waits left out
    assert v.denominator == 2 and v.details["answered"] == 3
    only_abandoned = world()
    only_abandoned.rows(
        "interaction_id,opened_at,closed_at,status,wait_seconds",
        "c,2026-10-01T09:00:00Z,2026-10-01T09:01:00Z,abandoned,60",
    )
    assert only_abandoned.one("asa_seconds").value is None


def test_aht_seconds(world):
    w = world()
    w.rows(
        "interaction_id,opened_at,closed_at,status,handled_by,handle_seconds",
        """
        a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,300
        b,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred,agent,200
        c,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,bot,50
        d,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,abandoned,agent,10
        e,2026-10-01T09:00:00Z,2026-11-01T09:10:00Z,resolved,agent,999
        """,
    )
    v = w.one("aht_seconds")
    assert (v.value, v.denominator) == (250, 2)
    assert w.one("aht_seconds", period="2026-12").value is None


# ----------------------------------------------------------------------------- resolution and repeats


def test_fcr_and_repeat_contact_rate(world):
    w = world()
    w.rows(
        "interaction_id,customer_id,provider,queue,opened_at,closed_at,status",
        """
        a1,a,p,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        a2,a,q,tech,2026-10-05T09:00:00Z,2026-10-05T09:10:00Z,abandoned
        b1,b,p,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred
        b2,b,p,refunds,2026-10-09T09:10:00Z,2026-10-09T09:20:00Z,resolved
        c1,,p,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        d1,d,p,tech,2026-10-30T09:00:00Z,2026-10-30T09:10:00Z,resolved
        d2,d,p,tech,2026-11-02T09:00:00Z,2026-11-02T09:10:00Z,resolved
        """,
    )
    # handled with a customer id, closed in October: a1, b1, b2, d1 (a2 is another provider's, and abandoned;
    # c1 has no customer id). Repeats: a1 (a2 four days later: any provider, status, workflow), d1 (d2 in
    # November). b1's next contact came 8 days later: outside 7 days.
    fcr, rep = w.measure(MetricRequest("fcr_rate"), MetricRequest("repeat_contact_rate"))
    assert (fcr.value, fcr.numerator, fcr.denominator) == (Fraction(2, 4), 2, 4)
    assert (rep.value, rep.numerator, rep.denominator) == (Fraction(2, 4), 2, 4)
    assert fcr.details["within_seconds"] == 7 * 86400
    # with the contact clock at 12 October, b2's window (to 16 October) is not observed yet: reported
    early = Clocks(contacts=datetime(2026, 10, 12), events=None)
    (v,) = w.measure(MetricRequest("fcr_rate"), clocks=early)
    assert v.details["window_not_observed"] == 1
    tech = w.one("fcr_rate", ("tech",))
    assert (tech.value, tech.denominator) == (0, 1)  # d1 only, repeated


def test_fcr_undefined_without_repeat_contact_or_handled_customers(world):
    bare = world(BARE)
    bare.rows("interaction_id,customer_id,opened_at,closed_at", "a1,a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z")
    v = bare.one("fcr_rate")
    assert v.value is None and "repeat_contact" in v.details["undefined"]
    assert bare.one("repeat_contact_rate").value is None
    w = world()
    w.rows("interaction_id,customer_id,opened_at,closed_at", "c1,,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z")
    assert w.one("fcr_rate").value is None  # no handled contact with a customer id


def test_verified_resolution_rate(world):
    w = world()
    w.rows(
        "interaction_id,customer_id,opened_at,closed_at,status,handled_by,csat,reopened",
        """
        ok,a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,false
        rep,b,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,false
        rep2,b,2026-10-03T09:00:00Z,2026-10-03T09:10:00Z,open,agent,,false
        low,c,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,1,false
        reop,d,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,true
        bot,e,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,bot,,false
        anon,,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,,false
        """,
    )
    # reached the repeat check: ok (counted), rep (repeat_contact). low_csat, reopened, not_handled_by stop
    # earlier; so does unverifiable_customer (the check before repeat_contact).
    v = w.one("verified_resolution_rate")
    assert (v.value, v.numerator, v.denominator) == (Fraction(1, 2), 1, 2)
    assert v.details["repeat_contact"] == 1 and v.details["unverifiable_customer_not_reached"] == 1
    # provisionally, with the contact clock inside the window, `ok` is pending: reached, not counted
    (p,) = w.measure(MetricRequest("verified_resolution_rate"), clocks=Clocks(datetime(2026, 10, 4), None))
    assert (p.value, p.details["pending"]) == (0, 1)
    assert w.one("verified_resolution_rate", period="2026-11").value is None
    assert world(BARE).one("verified_resolution_rate").value is None  # nothing reached the check


def test_reopen_rate(world):
    w = world()
    w.rows(
        "interaction_id,opened_at,closed_at,status,handled_by,reopened",
        """
        a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,true
        b,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,bot,false
        c,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,agent,
        d,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred,agent,true
        """,
    )
    v = w.one("reopen_rate")
    assert (v.value, v.numerator, v.denominator) == (Fraction(1, 3), 1, 3)
    assert w.one("reopen_rate", period="2026-11").value is None


def test_containment_and_bot_resolution_rate(world):
    w = world()
    w.rows(
        "interaction_id,customer_id,channel,opened_at,closed_at,status,handled_by",
        """
        b1,a,bot,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,resolved,bot
        b2,b,bot,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,resolved,bot
        b2x,b,voice,2026-10-02T09:00:00Z,2026-10-02T09:05:00Z,resolved,agent
        b3,c,bot,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,transferred,bot
        h1,d,chat,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,resolved,agent
        """,
    )
    # contained: b1 (b2 has a repeat within 72 h, b3 was not resolved); handled: all five; bot-handled: 3
    cr, br = w.measure(MetricRequest("containment_rate"), MetricRequest("bot_resolution_rate"))
    assert (cr.value, cr.numerator, cr.denominator) == (Fraction(1, 5), 1, 5)
    assert (br.value, br.numerator, br.denominator) == (Fraction(1, 3), 1, 3)
    bare = world(BARE)
    bare.rows("interaction_id,opened_at,closed_at,handled_by", "b1,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,bot")
    v = bare.one("containment_rate")
    assert v.value is None and "containment" in v.details["undefined"]
    assert w.one("bot_resolution_rate", ("tech",)).value is None  # no bot contact in tech


# -------------------------------------------------------------------------------------------- surveys


def test_csat_top2box_mean_and_survey_response_rate(world):
    w = world()
    w.rows(
        "interaction_id,opened_at,closed_at,status,csat",
        """
        a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,5
        b,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,4
        c,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred,3
        d,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,1
        e,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,
        f,2026-10-01T09:00:00Z,2026-10-01T09:01:00Z,abandoned,2
        """,
    )
    top, mean, resp = w.measure(
        MetricRequest("csat_top2box"), MetricRequest("csat_mean"), MetricRequest("survey_response_rate")
    )
    assert (top.value, top.numerator, top.denominator) == (Fraction(2, 5), 2, 5)  # every rating, f's too
    assert (mean.value, mean.numerator, mean.denominator) == (Fraction(15, 5), 15, 5)
    # rated handled contacts a, b, c, d of the five handled (f was abandoned)
    assert (resp.value, resp.numerator, resp.denominator) == (Fraction(4, 5), 4, 5)
    for name in ("csat_top2box", "csat_mean", "survey_response_rate"):
        assert w.one(name, period="2026-11").value is None


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ("10 9 8 7 6 0", Fraction(0)),  # 2 promoters, 2 passives, 2 detractors
        ("0 1 6", Fraction(-100)),
        ("9 10", Fraction(100)),
        ("10 7 3", Fraction(0)),
        ("9 9 8", Fraction(200, 3)),
        ("6 8 8", Fraction(-100, 3)),
    ],
)
def test_nps_sign_and_range(world, scores, expected):
    w = world()
    w.rows(
        "interaction_id,opened_at,closed_at,nps",
        "\n".join(
            f"n{i},2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,{s}" for i, s in enumerate(scores.split())
        ),
    )
    v = w.one("nps")
    assert v.value == expected and -100 <= v.value <= 100
    assert v.value == Fraction(v.numerator, v.denominator)
    assert v.details["promoters"] + v.details["passives"] + v.details["detractors"] == v.denominator


def test_nps_undefined_without_scores(world):
    w = world()
    w.rows("interaction_id,opened_at,closed_at,csat", "a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,5")
    assert w.one("nps").value is None


def test_ces_and_qa_mean(world):
    w = world()
    w.rows(
        "interaction_id,opened_at,closed_at,status,ces,qa_score",
        """
        a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,7,87.5
        b,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,transferred,2,90
        c,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,,
        d,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,3,70.1
        """,
    )
    ces, qa = w.measure(MetricRequest("ces_mean"), MetricRequest("qa_mean"))
    assert (ces.value, ces.denominator) == (4, 3)
    assert qa.value == Fraction(2476, 30)  # (87.5 + 90 + 70.1) / 3 = 247.6 / 3, exactly
    assert w.one("ces_mean", period="2026-11").value is None
    assert w.one("qa_mean", period="2026-11").value is None


# ------------------------------------------------------------------------------- saves, churn, revenue


SAVE_ROWS = (
    "interaction_id,customer_id,queue,opened_at,closed_at,status,intent",
    """
    s1,a,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved,cancel
    s2,b,refunds,2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,cancel
    s3,c,tech,2026-10-03T09:00:00Z,2026-10-03T09:10:00Z,resolved,cancel
    s4,c,tech,2026-10-20T09:00:00Z,2026-10-20T09:10:00Z,resolved,cancel
    s5,d,tech,2026-10-04T09:00:00Z,2026-10-04T09:10:00Z,transferred,cancel
    o1,e,tech,2026-10-04T09:00:00Z,2026-10-04T09:10:00Z,resolved,billing
    """,
)
SAVE_EVENTS = """
a,renewed,2026-09-01T00:00:00Z,,30.00
a,renewed,2026-09-20T00:00:00Z,,40.00
a,renewed,2026-10-15T00:00:00Z,,99.00
b,churned,2026-11-15T00:00:00Z,,
c,renewed,2026-08-01T00:00:00Z,,25.50
"""


def test_save_rate(world):
    w = world()
    w.rows(*SAVE_ROWS)
    w.events(SAVE_EVENTS)
    # cancel contacts: s1..s5; saves: a (s1) and c (s4; s3 is its duplicate); b churned, s5 not resolved
    v = w.one("save_rate")
    assert (v.value, v.numerator, v.denominator) == (Fraction(2, 5), 2, 5)
    tech = w.one("save_rate", ("tech",))
    assert (tech.value, tech.denominator) == (Fraction(1, 3), 3)
    assert w.one("save_rate", period="2026-11").value is None
    assert world(BARE).one("save_rate").value is None


def test_revenue_retained_with_its_evidence(world, monkeypatch):
    w = world()
    w.rows(*SAVE_ROWS)
    w.events(SAVE_EVENTS)
    v = w.one("revenue_retained")
    # a: the latest monthly_revenue at or before the contact (40.00, not the later 99.00); c: 25.50
    assert v.value == Decimal("65.50") and v.denominator is None
    assert v.details["saves"] == 2 and v.details["total"] == "65.50"
    assert v.details["customers"] == [
        {"customer_id": "a", "interaction_id": "s1", "value": "40.00"},
        {"customer_id": "c", "interaction_id": "s4", "value": "25.50"},
    ]
    assert w.one("revenue_retained", ("refunds",)).value == Decimal("40.00")
    # the list is capped; the totals are not
    monkeypatch.setattr(library, "EVIDENCE_CAP", 1)
    capped = w.one("revenue_retained")
    assert capped.details["customers"] == [{"customer_id": "a", "interaction_id": "s1", "value": "40.00"}]
    assert capped.details["saves"] == 2 and capped.value == Decimal("65.50")
    # saves wait for the CRM feed: unobserved retention windows are pending, not revenue
    (p,) = w.measure(MetricRequest("revenue_retained"), clocks=Clocks(datetime(2027, 6, 1), datetime(2026, 12, 1)))
    assert p.value == 0 and p.details["pending"] == 2 and p.details["pending_value"] == "65.50"
    assert world(BARE).one("revenue_retained").value is None


def test_churn_rate(world):
    w = world()
    w.rows(
        "interaction_id,customer_id,opened_at,closed_at,status",
        """
        a1,a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        a2,a,2026-10-05T09:00:00Z,2026-10-05T09:10:00Z,transferred
        b1,b,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,abandoned
        c1,c,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        d1,d,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        x1,,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        """,
    )
    w.events(
        """
        a,churned,2026-12-01T00:00:00Z,,
        b,churned,2026-12-30T09:10:00Z,,
        c,churned,2026-09-15T00:00:00Z,,
        d,churned,2027-01-15T00:00:00Z,,
        """
    )
    # customers a, b, c, d; churned within 90 days after a contact: a (both contacts), b (exactly 90 days
    # after, inclusive); c churned before, d 106 days after.
    v = w.one("churn_rate")
    assert (v.value, v.numerator, v.denominator) == (Fraction(2, 4), 2, 4)
    assert w.one("churn_rate", period="2026-11").value is None


def test_revenue_influenced_counts_each_purchase_once_with_its_evidence(world, monkeypatch):
    w = world()
    w.rows(
        "interaction_id,customer_id,queue,opened_at,closed_at,status",
        """
        a1,a,refunds,2026-10-01T09:00:00Z,2026-10-01T10:00:00Z,resolved
        a2,a,tech,2026-10-03T09:00:00Z,2026-10-03T10:00:00Z,resolved
        b1,b,refunds,2026-10-10T09:00:00Z,2026-10-10T10:00:00Z,resolved
        c1,c,refunds,2026-10-10T09:00:00Z,2026-10-10T10:00:00Z,transferred
        d1,d,refunds,2026-10-30T09:00:00Z,2026-10-30T10:00:00Z,resolved
        d2,d,refunds,2026-11-02T09:00:00Z,2026-11-02T10:00:00Z,resolved
        """,
    )
    w.events(
        """
        a,purchase,2026-10-04T00:00:00Z,100.00,
        a,purchase,2026-10-02T00:00:00Z,20.00,
        b,purchase,2026-11-05T00:00:00Z,50.00,
        b,purchase,2026-11-09T10:00:00Z,7.00,
        b,purchase,2026-11-09T10:00:01Z,1000.00,
        c,purchase,2026-10-11T00:00:00Z,300.00,
        d,purchase,2026-11-01T00:00:00Z,5.00,
        d,purchase,2026-11-03T00:00:00Z,8.00,
        """
    )
    # a: 100.00 after a1 and a2, counted once (on a2, the latest, in tech), 20.00 after a1 (refunds);
    # b: 50.00 and 7.00 (exactly 30 days after b1 is inside), 1000.00 one second too late;
    # c: not resolved; d: 5.00 after d1; 8.00 belongs to d2 (November).
    v = w.one("revenue_influenced")
    assert v.value == Decimal("182.00") and v.numerator == Decimal("182.00")
    d = v.details
    assert (d["purchases"], d["customers_total"], d["total"], d["window_seconds"]) == (5, 3, "182.00", 30 * 86400)
    assert d["customers"] == [
        {"customer_id": "a", "amount": "120.00", "purchases": 2, "contacts": 2},
        {"customer_id": "b", "amount": "57.00", "purchases": 2, "contacts": 1},
        {"customer_id": "d", "amount": "5.00", "purchases": 1, "contacts": 1},
    ]
    assert w.one("revenue_influenced", ("refunds",)).value == Decimal("82.00")
    assert w.one("revenue_influenced", ("tech",)).value == Decimal("100.00")
    assert w.one("revenue_influenced", period="2026-11").value == Decimal("8.00")
    # a 3-day window: a's 100.00 and 20.00 (14 h after a2, a1), d's 5.00 (38 h after d1); b's too late
    assert w.one("revenue_influenced", window=3 * 86400).value == Decimal("125.00")
    monkeypatch.setattr(library, "EVIDENCE_CAP", 2)
    capped = w.one("revenue_influenced")
    assert [e["customer_id"] for e in capped.details["customers"]] == ["a", "b"]
    assert capped.details["customers_total"] == 3 and capped.value == Decimal("182.00")


def test_cost_per_verified_resolution(world):
    w = world()
    w.rows(
        "interaction_id,customer_id,opened_at,closed_at,status",
        """
        a,a,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        b,b,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        c,c,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        """,
    )
    v = w.one("cost_per_verified_resolution", settled_total=Decimal("100.00"))
    assert (v.value, v.numerator, v.denominator) == (Fraction(100, 3), Decimal("100.00"), 3)
    (r,) = w.measure(MetricRequest("cost_per_verified_resolution", settled_total=Decimal("30")))
    assert r.value == 10
    missing = w.one("cost_per_verified_resolution")
    assert missing.value is None and missing.details["undefined"] == "no settled total given"
    assert w.one("cost_per_verified_resolution", period="2026-11", settled_total=Decimal("5")).value is None


# ---------------------------------------------------------------------------------- workflow scope


def test_workflow_scoped_request_pools_its_workflows(world):
    w = world()
    w.rows(
        "interaction_id,queue,opened_at,closed_at,status",
        """
        r1,refunds,2026-10-01T09:00:00Z,2026-10-01T09:01:00Z,abandoned
        r2,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        t1,tech,2026-10-01T09:00:00Z,2026-10-01T09:01:00Z,abandoned
        t2,tech,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        t3,tech,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        g1,other,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z,resolved
        """,
    )
    pooled, refunds, both, general = w.measure(
        MetricRequest("abandonment_rate"),
        MetricRequest("abandonment_rate", ("refunds",)),
        MetricRequest("abandonment_rate", ("refunds", "tech")),
        MetricRequest("abandonment_rate", ("general",)),
    )
    assert pooled.value == Fraction(2, 6)
    assert refunds.value == Fraction(1, 2)
    assert both.value == Fraction(2, 5)  # pooled over the two workflows, not a mean of their rates
    assert general.value == 0  # g1's queue falls to the default workflow
    assert both.request == MetricRequest("abandonment_rate", ("refunds", "tech"))


def test_contacts_without_a_workflow_are_out_of_scope(world):
    w = world(CONTRACT.replace("  general: {default: true}\n", ""))
    w.rows(
        "interaction_id,queue,opened_at,closed_at",
        """
        r1,refunds,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z
        x1,elsewhere,2026-10-01T09:00:00Z,2026-10-01T09:10:00Z
        """,
    )
    assert w.one("handled").value == 1


def test_metric_sql_is_one_query(world):
    w = world()
    window = Window.of(w.contract, Period.parse("2026-10"))
    sql = metric_sql(
        w.contract, w.facts.interactions(), w.facts.events(), window, LATE, MetricRequest("service_level")
    )
    assert sql.lstrip().upper().startswith(("SELECT", "WITH")) and '"interactions"' in sql
    assert w.facts.con.execute(sql).fetchall() == [(0, 0, 0, 0, 0)]


def test_a_settlements_evidence_gives_the_same_metrics_as_measuring_again(world):
    """The scorecard of a settled period reads the evidence the settlement wrote instead of verifying every
    outcome again: every metric must come out the same, and it must really be read from that evidence."""
    from outcomes.facts.dialect import to_sql
    from outcomes.metrics.outcomes import evidence

    w = world()
    w.rows(*SAVE_ROWS)
    w.events(SAVE_EVENTS)
    window = Window.of(w.contract, Period.parse("2026-10"))
    i, e = w.facts.interactions(), w.facts.events()
    sqls = [to_sql(evidence(w.contract, name, i, e, window, LATE)) for name in w.contract.outcomes]
    w.facts.write_evidence("evidence_t", sqls)
    requests = [MetricRequest(n) for n in METRIC_NAMES if n != "cost_per_verified_resolution"]
    fresh = w.measure(*requests)
    settled = w.measure(*requests, evidence=w.facts.ibis().table("evidence_t"))
    assert [v.to_dict() for v in settled] == [v.to_dict() for v in fresh]
    assert next(v for v in fresh if v.request.name == "save_rate").value == Fraction(2, 5)
    # a save the evidence says was counted, now excluded: the save rate read from it drops
    w.facts.con.execute(
        "CREATE TABLE evidence_u AS SELECT * REPLACE (CASE WHEN outcome = 'save' AND interaction_id = 's1' "
        "THEN 'excluded' ELSE status END AS status) FROM evidence_t"
    )
    (v,) = w.measure(MetricRequest("save_rate"), evidence=w.facts.ibis().table("evidence_u"))
    assert v.value == Fraction(1, 5)
