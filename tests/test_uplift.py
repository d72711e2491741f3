"""Measured uplift: point lifts by hand, intervals that cover a known effect, 'not significant' without one,
difference-in-differences, the value-share option and the CLI's JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from typer.testing import CliRunner

from outcomes.cli import app
from outcomes.contract import load_contract_text
from outcomes.metrics import segments
from outcomes.metrics.library import MetricRequest, measure_metrics
from outcomes.metrics.lift import (
    Sample,
    SegmentEmptyError,
    UpliftError,
    UpliftSpec,
    compare,
    estimate_metric,
    full_window,
    measure_uplift,
    samples_of,
)
from outcomes.metrics.outcomes import Clocks
from outcomes.metrics.segments import UPLIFT_METRICS, SegmentError, parse_segment, unit_counts
from outcomes.period import Period
from uplift_data import CONTRACT as GEN_CONTRACT
from uplift_data import EVENT_CLOCK, Rates, generate
from uplift_data import HEADER as GEN_HEADER

CONTRACT = """
contract: lift
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
    retained_for: 30d
pricing:
  base_fee: "1000.00"
  outcome_fees:
    - {outcome: resolution, unit: "1.00"}
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,csat,intent,agent_id"

# April. Pilot (queue pilot): a saved; b churns; c's contact p3 is repeated by p4 two days later.
# Control (queue ctrl): d and e churn; f asks a question.
ROWS = """
p1,crm,a,chat,pilot,2026-04-01T09:00:00Z,2026-04-01T09:30:00Z,resolved,agent,5,cancel,ann
p2,crm,b,chat,pilot,2026-04-02T09:00:00Z,2026-04-02T09:30:00Z,resolved,agent,4,cancel,ann
p3,crm,c,chat,pilot,2026-04-03T09:00:00Z,2026-04-03T09:30:00Z,resolved,agent,2,question,bob
p4,crm,c,chat,pilot,2026-04-05T09:00:00Z,2026-04-05T09:30:00Z,resolved,agent,,question,bob
c1,crm,d,chat,ctrl,2026-04-01T09:00:00Z,2026-04-01T09:30:00Z,resolved,agent,3,cancel,cy
c2,crm,e,chat,ctrl,2026-04-02T09:00:00Z,2026-04-02T09:30:00Z,resolved,agent,5,cancel,cy
c3,crm,f,chat,ctrl,2026-04-03T09:00:00Z,2026-04-03T09:30:00Z,resolved,agent,1,question,dee
"""
EVENTS = """
b,churned,2026-04-07T00:00:00Z,,
d,churned,2026-04-06T00:00:00Z,,
e,churned,2026-04-20T00:00:00Z,,
zz-clock,purchase,2027-03-01T00:00:00Z,1.00,
"""

# By hand, pilot vs control:
#   save_rate    pilot 1/2 (a of a, b)        control 0/2        lift  1/2
#   churn_rate   pilot 1/3 (b of a, b, c)     control 2/3        lift -1/3
#   csat_top2box pilot 2/3 (5, 4 of 5, 4, 2)  control 1/3        lift  1/3
#   fcr_rate     pilot 3/4 (p3 repeated)      control 3/3        lift -1/4
BY_HAND = {
    "save_rate": (Fraction(1, 2), Fraction(0), Fraction(1, 2)),
    "churn_rate": (Fraction(1, 3), Fraction(2, 3), Fraction(-1, 3)),
    "csat_top2box": (Fraction(2, 3), Fraction(1, 3), Fraction(1, 3)),
    "fcr_rate": (Fraction(3, 4), Fraction(1), Fraction(-1, 4)),
}


@pytest.fixture
def small(scenario):
    s = scenario(CONTRACT)
    s.rows(ROWS, header=HEADER)
    s.events(EVENTS)
    return s


def _measure(s, pilot, period="2026-04", control=None, baseline=None, **kw):
    f = s.ws.facts()
    spec = UpliftSpec(
        pilot=parse_segment(pilot),
        period=Period.parse(period),
        control=parse_segment(control, "--control") if control else None,
        baseline=Period.parse(baseline) if baseline else None,
        **kw,
    )
    clocks = Clocks(f.contact_clock(s.contract.system_of_record), f.event_clock())
    return {m.metric: m for m in measure_uplift(s.contract, f.interactions(), f.events(), clocks, spec)}


# ------------------------------------------------------------------------------ (1) point lifts by hand


def test_point_lift_of_each_metric_by_hand(small):
    got = _measure(small, ["queue=pilot"], control=["queue=ctrl"])
    for metric, (pilot, control, lift) in BY_HAND.items():
        m = got[metric]
        p, c = m.samples
        assert (p.value, c.value) == (pilot, control), metric
        e = m.estimate("pilot_vs_control")
        assert e.lift == lift, metric
        assert e.relative == (lift / control if control else None), metric
    assert got["save_rate"].unit == "customer" and got["csat_top2box"].unit == "contact"
    # every metric resamples customers: with a cancel contact; with a rating; with a handled contact (c's two
    # contacts p3 and p4 are one customer)
    assert [s.customers for s in got["save_rate"].samples] == [2, 2]
    assert [s.customers for s in got["csat_top2box"].samples] == [3, 3]
    assert [s.customers for s in got["fcr_rate"].samples] == [3, 3]
    assert [s.denominator for s in got["fcr_rate"].samples] == [4, 3]


def test_segment_by_agent_and_customer(small, tmp_path, monkeypatch):
    ids = tmp_path / "ids.txt"
    ids.write_text("customer_id\n# the pilot's customers\na\nb\n\n", encoding="utf-8")
    monkeypatch.setattr(segments, "LITERAL_LIST_MAX", 1)  # the file's ids go through an in-memory table
    by_agent = _measure(small, ["agent=ann"], control=["agent=cy"], metrics=("save_rate",))["save_rate"]
    by_file = _measure(small, [f"customer=@{ids}"], control=["customer=d,e"], metrics=("save_rate",))
    assert by_agent.samples[0].value == by_file["save_rate"].samples[0].value == Fraction(1, 2)
    # criteria combine with AND: queue pilot handled by bob holds only c's two contacts
    both = _measure(small, ["queue=pilot", "agent=bob"], control=["queue=ctrl"], metrics=("fcr_rate",))
    assert both["fcr_rate"].samples[0].value == Fraction(1, 2)


def test_the_whole_population_is_the_metric_library(small):
    """Summed over clusters, the counts are the library's numerator and denominator (one definition)."""
    got = _measure(small, ["queue=pilot,ctrl"], control=["queue=ctrl"])
    f = small.ws.facts()
    clocks = Clocks(f.contact_clock("crm"), f.event_clock())
    window = full_window(small.contract, Period.parse("2026-04"))
    values = measure_metrics(
        small.contract, f.interactions(), f.events(), window, clocks, [MetricRequest(m) for m in UPLIFT_METRICS]
    )
    for v in values:
        s = got[v.request.name].samples[0]
        assert (s.value, s.numerator, s.denominator) == (v.value, v.numerator, v.denominator), v.request.name


def test_segments_are_written_clearly():
    seg = parse_segment(["queue=A, B", "agent=x"])
    assert seg.to_dict() == {"queue": ["A", "B"], "agent": ["x"]}
    for bad, says in [
        (["queues=A"], "CRITERION one of queue, agent, customer, workflow"),
        (["queue="], "no values"),
        (["queue=A", "queue=B"], "given twice"),
        (["customer=@/nonexistent/ids.txt"], "cannot read the file"),
        ([], "at least one criterion"),
    ]:
        with pytest.raises(SegmentError, match=says):
            parse_segment(bad)


# ------------------------------------------------------------------------------------- pure statistics


def _contacts(k: int, n: int, group: str = "pilot", role: str = "period") -> Sample:
    """n customers of one contact each, k of them with the outcome."""
    return Sample.of([(f"c:{group}{role}{i}", int(i < k), 1) for i in range(n)], group=group, role=role,
                     period="P")  # fmt: skip


def test_identical_samples_are_not_significant():
    e = compare(_contacts(30, 100), _contacts(30, 100, "control"), "pilot_vs_control", "csat_top2box",
                confidence=Decimal("0.95"), resamples=2000, seed=1)  # fmt: skip
    assert e.lift == 0 and e.ci[0] < 0 < e.ci[1]
    assert e.verdict == "not significant at 95%: the interval includes 0"
    assert not e.significant and not e.favourable


def test_churn_down_is_favourable_and_a_fall_in_saves_is_not():
    kw = {"confidence": Decimal("0.95"), "resamples": 2000, "seed": 1}

    def customers(k, n, group):
        return Sample.of([(f"c:{i}", int(i < k), 1) for i in range(n)], group=group, role="period",
                         period="P")  # fmt: skip

    churn = compare(customers(10, 100, "pilot"), customers(40, 100, "control"), "pilot_vs_control",
                    "churn_rate", **kw)  # fmt: skip
    saves = compare(customers(10, 100, "pilot"), customers(40, 100, "control"), "pilot_vs_control",
                    "save_rate", **kw)  # fmt: skip
    assert churn.significant and churn.favourable and churn.lift == Fraction(-3, 10)
    assert saves.significant and not saves.favourable
    assert "unfavourable" in saves.verdict


def test_a_handful_of_customers_is_never_significant():
    # 3 of 3 against 0 of 3: every resample gives a lift of 1, yet three customers tell nothing
    e = compare(_contacts(3, 3), _contacts(0, 3, "control"), "pilot_vs_control", "csat_top2box",
                confidence=Decimal("0.95"), resamples=1000, seed=1)  # fmt: skip
    assert e.lift == 1 and e.ci == (1.0, 1.0)
    assert not e.significant and not e.favourable and not e.shown
    assert e.verdict == (
        "too few customers to tell (3 customers in pilot P; 3 customers in control P; at least 20 each): "
        "not significant"
    )


def test_a_customer_sample_is_resampled_as_whole_customers():
    # one customer with 9 of 9 saved, nine with 0 of 1: the ratio is 9/18 but only 10 units vary
    s = Sample.of([("c:big", 9, 9)] + [(f"c:{i}", 0, 1) for i in range(9)], group="pilot", role="period",
                  period="P")  # fmt: skip
    from outcomes.metrics.lift import bootstrap

    draws = bootstrap(s, np.random.default_rng(0), 4000)
    assert s.value == Fraction(1, 2) and s.customers == 10
    # P(the big customer is never drawn) = 0.9^10 = 0.35: a contact-level resample would almost never give 0
    assert 0.30 < np.mean(draws == 0) < 0.40


def test_same_seed_same_numbers(small):
    two = ("save_rate", "csat_top2box")
    a = _measure(small, ["queue=pilot"], control=["queue=ctrl"], seed=7, metrics=two)
    b = _measure(small, ["queue=pilot"], control=["queue=ctrl"], seed=7, metrics=two)
    c = _measure(small, ["queue=pilot"], control=["queue=ctrl"], seed=8, metrics=two)
    assert [m.to_dict() for m in a.values()] == [m.to_dict() for m in b.values()]
    assert [m.to_dict() for m in a.values()] != [m.to_dict() for m in c.values()]


# --------------------------------------------------- (2)(3) generated data: known effect, and no effect

CONTROL = Rates(save=0.30, top2=0.60, repeat=0.30)
PILOT = Rates(save=0.45, top2=0.75, repeat=0.10)
SEEDS = (11, 12, 13, 14, 15)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Five seeded data sets in one store: per seed a pilot with a true effect, a control, and a group
    with the control's rates (no effect)."""
    from conftest import Scenario

    s = Scenario(tmp_path_factory.mktemp("gen"), GEN_CONTRACT)
    contacts, events = [], []
    for seed in SEEDS:
        rates = {("pilot", "2026-04"): PILOT, ("control", "2026-04"): CONTROL, ("same", "2026-04"): CONTROL}
        c, e = generate(seed, rates, customers=300, prefix=f"s{seed}-")
        contacts += c
        events += e
    s.rows("\n".join(contacts), header=GEN_HEADER)
    s.events("\n".join(events + [EVENT_CLOCK]))
    yield s
    s.close()


@pytest.fixture(scope="module")
def generated_counts(generated):
    """Every seed's three groups measured in one query (the same query `measure_uplift` runs)."""
    f = generated.ws.facts()
    clocks = Clocks(f.contact_clock("crm"), f.event_clock())
    window = full_window(generated.contract, Period.parse("2026-04"))
    groups = {f"{g}{seed}": parse_segment([f"queue=s{seed}-{g}"]) for seed in SEEDS for g in ("pilot", "control", "same")}
    got = unit_counts(generated.contract, f.interactions(), f.events(), clocks, [("period", window, groups)],
                      tuple(UPLIFT_METRICS))  # fmt: skip
    return {m: samples_of(got, m, {"period": "2026-04"}) for m in UPLIFT_METRICS}


def _versus(counts, metric: str, pilot: str, control: str, seed: int):
    samples = counts[metric]
    p, c = samples[(pilot, "period")], samples[(control, "period")]
    p, c = replace(p, group="pilot"), replace(c, group="control")
    return estimate_metric(metric, {("pilot", "period"): p, ("control", "period"): c}, seed=seed)


def test_the_interval_covers_the_true_effect(generated_counts):
    covered = {m: 0 for m in UPLIFT_METRICS}
    significant = {m: 0 for m in UPLIFT_METRICS}
    for seed in SEEDS:
        for metric in UPLIFT_METRICS:
            m = _versus(generated_counts, metric, f"pilot{seed}", f"control{seed}", seed)
            truth = PILOT.truth(metric) - CONTROL.truth(metric)
            e = m.estimate()
            assert e.kind == "pilot_vs_control" and m.samples[0].pending == 0
            assert m.samples[0].customers >= 200  # 300 customers, about 240 rated
            covered[metric] += e.ci[0] <= truth <= e.ci[1]
            significant[metric] += e.favourable
    assert all(n >= 4 for n in covered.values()), covered
    assert all(n >= 4 for n in significant.values()), significant


def test_no_effect_says_not_significant(generated_counts):
    quiet = {m: 0 for m in UPLIFT_METRICS}
    for seed in SEEDS:
        for metric in UPLIFT_METRICS:
            e = _versus(generated_counts, metric, f"same{seed}", f"control{seed}", seed).estimate()
            quiet[metric] += e.verdict == "not significant at 95%: the interval includes 0"
    assert all(n >= 4 for n in quiet.values()), quiet


def test_generated_pilot_end_to_end(generated):
    """The same comparison through measure_uplift gives the numbers of the one-query path."""
    got = _measure(generated, ["queue=s11-pilot"], control=["queue=s11-control"], seed=11, metrics=("save_rate",))
    e = got["save_rate"].estimate()
    assert e.favourable and e.ci[0] <= PILOT.save - CONTROL.save <= e.ci[1]


# ------------------------------------------------------------------- (4) difference-in-differences


def _cancel_rows(group: str, month: str, saved: int, n: int) -> tuple[list[str], list[str]]:
    rows, events = [], []
    for i in range(n):
        cust = f"{group}-{month}-{i}"
        rows.append(f"{cust},crm,{cust},chat,{group},{month}-03T09:00:00Z,{month}-03T09:30:00Z,resolved,"
                    f"agent,,cancel,x")  # fmt: skip
        if i >= saved:
            events.append(f"{cust},churned,{month}-10T00:00:00Z,,")
    return rows, events


def test_difference_in_differences_removes_a_shift_common_to_both_groups(scenario):
    # save rate: pilot 2/10 -> 6/10, control 2/10 -> 4/10; the common shift is +2/10, the pilot's own +2/10
    s = scenario(CONTRACT)
    rows, events = [], []
    for group, month, saved in [("pilot", "2026-03", 2), ("pilot", "2026-04", 6), ("ctrl", "2026-03", 2),
                                ("ctrl", "2026-04", 4)]:  # fmt: skip
        r, e = _cancel_rows(group, month, saved, 10)
        rows += r
        events += e
    s.rows("\n".join(rows), header=HEADER)
    s.events("\n".join(events + ["zz-clock,purchase,2027-03-01T00:00:00Z,1.00,"]))
    m = _measure(s, ["queue=pilot"], control=["queue=ctrl"], baseline="2026-03", metrics=("save_rate",))["save_rate"]
    assert [e.kind for e in m.estimates] == [
        "pilot_vs_control", "pilot_vs_baseline", "control_vs_baseline", "pre_period_gap",
        "difference_in_differences",
    ]  # fmt: skip
    assert m.headline == "difference_in_differences"
    assert m.estimate("pilot_vs_baseline").lift == Fraction(4, 10)  # the naive before/after
    did = m.estimate()
    assert did.lift == Fraction(2, 10) and did.reference == Fraction(4, 10) and did.relative == Fraction(1, 2)
    assert did.ci[0] <= 0.2 <= did.ci[1]
    assert did.ols["did"] == pytest.approx(0.2) and did.ols["clusters"] == 40
    assert did.ols["ci"][0] < 0.2 < did.ols["ci"][1]
    assert did.verdict.startswith("too few customers")  # 10 customers per cell cannot show anything


def test_a_comparison_is_required(small):
    with pytest.raises(UpliftError, match="control group"):
        _measure(small, ["queue=pilot"])
    with pytest.raises(UpliftError, match="the same contacts as the pilot"):
        _measure(small, ["queue=pilot,ctrl"], control=["queue=ctrl,pilot"])
    with pytest.raises(UpliftError, match="workflow 'nope'"):
        _measure(small, ["workflow=nope"], control=["queue=ctrl"])


def test_an_empty_sample_is_no_data_not_zero(small):
    # agent dee handled only a question: the control has contacts but no cancel contact
    m = _measure(small, ["queue=pilot"], control=["agent=dee"], metrics=("save_rate",))["save_rate"]
    e = m.estimate()
    assert e.lift is None and e.ci is None and not e.significant and not e.shown
    assert e.verdict == "no data: save_rate is undefined (empty denominator) for control 2026-04"


def test_a_segment_that_selects_nothing_is_an_error_naming_what_exists(small):
    with pytest.raises(SegmentEmptyError, match=r"control segment queue=ctlr selects no contact .* 2026-04; "
                       r"queue values there: ctrl, pilot; 'ctlr' \(did you mean 'ctrl'\?\)"):  # fmt: skip
        _measure(small, ["queue=pilot"], control=["queue=ctlr"])
    with pytest.raises(SegmentEmptyError, match="pilot segment agent=zed .* agent values there: ann, bob, cy, dee"):
        _measure(small, ["agent=zed"], control=["queue=ctrl"])
    with pytest.raises(SegmentEmptyError, match="none of its 2 customer ids has a contact there"):
        _measure(small, ["customer=x,y"], control=["queue=ctrl"])
    # the command line says it and exits 1
    res = CliRunner().invoke(app, ["uplift", "lift", "--period", "2026-04", "--pilot", "queue=pilot", "--control",
                                   "queue=ctlr", "-w", str(small.ws.root)])  # fmt: skip
    assert res.exit_code == 1 and "did you mean 'ctrl'" in res.stderr


def test_estimate_metric_keeps_the_roles_apart():
    samples = {("pilot", "period"): _contacts(60, 100), ("pilot", "baseline"): _contacts(40, 100, "pilot", "baseline")}
    m = estimate_metric("csat_top2box", samples, seed=3)
    assert [e.kind for e in m.estimates] == ["pilot_vs_baseline"] and m.estimate().lift == Fraction(1, 5)
    assert m.estimate().favourable


# -------------------------------------------------------------------- (5) the contract option

LIFT_CONTRACT = CONTRACT.replace(
    """pricing:
  base_fee: "1000.00"
""",
    """pricing:
  base_fee: "1000.00"
  value_share:
    metric: revenue_retained
    share: "0.10"
    require_significant_lift:
      metric: save_rate
      pilot: {queue: [pilot]}
      control: {queue: [ctrl]}
      resamples: 1000
""",
)
PLAIN_CONTRACT = LIFT_CONTRACT.split("    require_significant_lift:")[0] + """  outcome_fees:
    - {outcome: resolution, unit: "1.00"}
"""


def _saves(s, pilot_saved: int, control_saved: int, n: int = 30) -> None:
    rows, events = [], []
    for group, saved in (("pilot", pilot_saved), ("ctrl", control_saved)):
        r, e = _cancel_rows(group, "2026-04", saved, n)
        rows += r
        events += e + [f"{group}-2026-04-{i},renewed,2026-03-01T00:00:00Z,,100.00" for i in range(n)]
    s.rows("\n".join(rows), header=HEADER)
    s.events("\n".join(events + ["zz-clock,purchase,2027-03-01T00:00:00Z,1.00,"]))


def _value_share(result):
    return next(ln for ln in result.lines if ln.kind == "value_share")


def test_value_share_is_billed_when_the_lift_is_significant(scenario):
    s = scenario(LIFT_CONTRACT)
    _saves(s, pilot_saved=27, control_saved=9)  # 90% against 30%
    result = s.settle("2026-04")
    line = _value_share(result)
    # 36 saves x 100.00 retained, 10% share
    assert line.amount == Decimal("360.00") and line.details["status"] == "above_baseline"
    lift = line.details["lift"]
    assert lift["significant"] and lift["favourable"] and lift["lift"] == Fraction(3, 5)
    assert lift["estimate"] == "pilot_vs_control" and lift["verdict"].startswith("shown at 95% one-sided")
    assert lift["customers_per_arm"] == {"pilot": 30, "control": 30} and lift["shown"]
    assert lift["baseline"] == "2025-12" and lift["pre_period_gap"] is None  # the month before the term: empty
    assert not [n for n in result.notices if n["code"] == "value_share_withheld"]
    json.dumps(result.to_dict())  # the line is JSON-able as stored


def test_value_share_is_zero_with_a_notice_when_the_lift_is_not_significant(scenario):
    s = scenario(LIFT_CONTRACT)
    _saves(s, pilot_saved=16, control_saved=15)
    result = s.settle("2026-04")
    line = _value_share(result)
    assert line.amount == Decimal("0.00") and line.details["status"] == "lift_not_shown"
    assert line.details["withheld"] == Decimal("310.00")  # 31 saves x 100.00 x 10%
    (notice,) = [n for n in result.notices if n["code"] == "value_share_withheld"]
    assert "not shown at 95% one-sided (pilot_vs_control)" in notice["message"]
    assert "310.00" in notice["message"]
    # re-runnable: the same facts price the line to the same details, interval included
    assert _value_share(s.settle("2026-04")).details == line.details
    # and recorded as it is: the ledger keeps the line and the notice
    from outcomes.settlement.settle import settle

    recorded = settle(s.ws.ledger(), s.ws.facts(), "lift", "2026-04")
    row = s.ws.ledger().find_settlement("lift", "2026-04")
    assert recorded.settlement_id == row.id and "value_share_withheld" in row.notices


def test_saves_that_verify_later_bill_the_share_as_an_adjustment(scenario):
    from outcomes.settlement.settle import settle

    s = scenario(LIFT_CONTRACT)
    rows, events = [], []
    for group, saved in (("pilot", 27), ("ctrl", 9)):
        r, e = _cancel_rows(group, "2026-04", saved, 30)
        rows += r
        events += e + [f"{group}-2026-04-{i},renewed,2026-03-01T00:00:00Z,,100.00" for i in range(30)]
    s.rows("\n".join(rows), header=HEADER)
    s.events("\n".join(events))  # the CRM feed stops on April 10: every save is still pending
    april = settle(s.ws.ledger(), s.ws.facts(), "lift", "2026-04")
    line = _value_share(april)
    assert line.amount == Decimal("0.00") and line.details["lift"]["samples"][0]["numerator"] == 0
    s.events("zz-clock,purchase,2027-03-01T00:00:00Z,1.00,")  # now the saves verify
    may = settle(s.ws.ledger(), s.ws.facts(), "lift", "2026-05")
    (adj,) = [ln for ln in may.lines if ln.kind == "adjustment" and "value share" in ln.label]
    assert adj.amount == Decimal("360.00")  # 36 saves x 100.00 x 10%, the lift now significant


def test_settling_the_baseline_period_itself_withholds_the_share(scenario):
    s = scenario(LIFT_CONTRACT.replace("      control: {queue: [ctrl]}\n", "      baseline: 2026-04\n"))
    _saves(s, pilot_saved=27, control_saved=9)
    result = s.settle("2026-04")
    line = _value_share(result)
    assert line.amount == Decimal("0.00") and line.details["status"] == "lift_not_shown"
    assert "the baseline 2026-04 is the period itself" in line.details["lift_verdict"]
    assert [n["code"] for n in result.notices].count("value_share_withheld") == 1


def test_a_segment_is_a_set_in_the_canonical_form():
    from outcomes.contract import contract_hash

    one = LIFT_CONTRACT.replace("pilot: {queue: [pilot]}", "pilot: {queue: [pilot, b2, pilot]}")
    two = LIFT_CONTRACT.replace("pilot: {queue: [pilot]}", "pilot: {queue: [b2, pilot]}")
    (c1, _), (c2, _) = load_contract_text(one), load_contract_text(two)
    assert contract_hash(c1) == contract_hash(c2)
    assert contract_hash(c1) != contract_hash(load_contract_text(LIFT_CONTRACT)[0])


def test_without_the_option_the_canonical_form_is_as_before():
    """Absent, the option is written `false` as it was before it had a form: existing hashes do not move."""
    from outcomes.contract import canonical_form, contract_hash

    plain = load_contract_text(PLAIN_CONTRACT)[0]
    spelled = load_contract_text(PLAIN_CONTRACT.replace('share: "0.10"\n', 'share: "0.10"\n    require_significant_lift: false\n'))[0]
    assert '"require_significant_lift":false' in canonical_form(plain)
    assert contract_hash(plain) == contract_hash(spelled)
    assert plain.pricing.value_share.require_significant_lift is None


def test_without_the_option_the_line_is_as_before(scenario):
    s = scenario(PLAIN_CONTRACT)
    _saves(s, pilot_saved=16, control_saved=15)
    line = _value_share(s.settle("2026-04"))
    assert line.amount == Decimal("310.00") and "lift" not in line.details and "withheld" not in line.details


def _issues(yaml_text: str) -> list[tuple[str, str | None, int | None]]:
    _c, issues = load_contract_text(yaml_text)
    return [(i.code, i.field, i.line) for i in issues]


def _line(text: str, key: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), start=1) if ln.strip().startswith(key))


def test_the_option_is_validated_with_places():
    base = LIFT_CONTRACT.replace("      control: {queue: [ctrl]}\n", "")
    at = _line(base, "require_significant_lift:")
    assert ("no_comparison", "pricing.value_share.require_significant_lift", at) in _issues(base)
    same = LIFT_CONTRACT.replace("control: {queue: [ctrl]}", "control: {queue: [pilot]}")
    assert [c for c in _issues(same) if c[0] == "same_segments"] == [
        ("same_segments", "pricing.value_share.require_significant_lift.control", _line(same, "control:"))
    ]
    bad = LIFT_CONTRACT.replace("      resamples: 1000\n", "      baseline: 2026-13\n      confidence: \"1.5\"\n")
    got = {c[0]: c[1] for c in _issues(bad)}
    assert got["bad_period"] == "pricing.value_share.require_significant_lift.baseline"
    assert got["out_of_range"] == "pricing.value_share.require_significant_lift.confidence"
    empty = LIFT_CONTRACT.replace("pilot: {queue: [pilot]}", "pilot: {workflow: [nope]}")
    where = ("unknown_workflow", "pricing.value_share.require_significant_lift.pilot.workflow", _line(empty, "pilot:"))
    assert where in _issues(empty)
    true = LIFT_CONTRACT.split("    require_significant_lift:")[0] + "    require_significant_lift: true\n"
    (issue,) = [c for c in _issues(true) if c[0] == "bad_value"]
    assert issue[1] == "pricing.value_share.require_significant_lift"
    no_save = LIFT_CONTRACT.replace("  save:\n    kind: save\n    retained_for: 30d\n", "")
    assert any(c[0] == "missing_outcome" and c[1].endswith("require_significant_lift.metric")
               for c in _issues(no_save))  # fmt: skip


# --------------------------------------------------------------------------------------- (6) the CLI


def test_cli_json_shape(small):
    runner = CliRunner()
    ws = str(small.ws.root)
    res = runner.invoke(app, ["uplift", "lift", "--period", "2026-04", "--pilot", "queue=pilot", "--control",
                              "queue=ctrl", "--metric", "save_rate", "--metric", "fcr_rate", "--json", "-w", ws])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {k: data[k] for k in ("contract", "period", "baseline", "confidence", "resamples", "seed")} == {
        "contract": "lift", "period": "2026-04", "baseline": None, "confidence": "0.95", "resamples": 2000,
        "seed": 0,
    }  # fmt: skip
    assert data["pilot"] == {"text": "queue=pilot", "segment": {"queue": ["pilot"]}}
    assert [m["metric"] for m in data["metrics"]] == ["save_rate", "fcr_rate"]
    save = data["metrics"][0]
    assert save["unit"] == "customer" and save["better"] == "higher" and save["headline"] == "pilot_vs_control"
    assert [(s["group"], s["value"], s["customers"]) for s in save["samples"]] == [("pilot", "1/2", 2), ("control", "0", 2)]
    (est,) = save["estimates"]
    assert set(est) == {"kind", "method", "lift", "lift_decimal", "reference", "relative", "ci", "confidence",
                        "p_value", "significant", "favourable", "verdict", "customers", "se", "mde", "power",
                        "power_note"}  # fmt: skip
    assert est["lift"] == "1/2" and len(est["ci"]) == 2 and isinstance(est["verdict"], str)
    table = runner.invoke(app, ["uplift", "lift", "--period", "2026-04", "--pilot", "queue=pilot", "--control",
                                "queue=ctrl", "--metric", "csat_top2box", "-w", ws])  # fmt: skip
    assert table.exit_code == 0 and "csat_top2box" in table.stdout and "pilot -" in table.stdout and "(1/3)" in table.stdout


def test_cli_errors_name_the_option(small):
    runner = CliRunner()
    ws = str(small.ws.root)
    cases = [
        (["--pilot", "queue=pilot"], "give --control SEGMENT, --baseline PERIOD, or both"),
        (["--pilot", "team=x", "--control", "queue=ctrl"], "--pilot 'team=x'"),
        (["--pilot", "queue=pilot", "--baseline", "2026-13"], "is not a month"),
        (["--pilot", "queue=pilot", "--control", "queue=ctrl", "--metric", "nps"], "--metric 'nps'"),
        (["--pilot", "queue=pilot", "--control", "queue=ctrl", "--confidence", "95"], "strictly between 0 and 1"),
    ]
    for args, says in cases:
        res = runner.invoke(app, ["uplift", "lift", "--period", "2026-04", *args, "-w", ws])
        assert res.exit_code == 1, args
        assert says in res.stderr, (args, res.stderr)
