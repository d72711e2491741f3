"""Service credits, earn-backs and the productivity share: pure functions of values (steps 4-6)."""

from decimal import Decimal as D

import pytest
from ruamel.yaml import YAML

from outcomes.contract.schema import Automation, Contract, ServiceLevels
from outcomes.period import Period
from outcomes.pricing.credits import (
    EarnBackStatus,
    MeasureResult,
    earn_back,
    earn_back_status,
    service_credits,
)
from outcomes.pricing.period_total import finish_period, price_period
from outcomes.pricing.productivity import productivity_line

yaml = YAML(typ="safe")


def levels(text: str) -> ServiceLevels:
    return ServiceLevels.model_validate(yaml.load(text))


def result(sl: ServiceLevels, index: int, met: bool | None, actual: str | None = "0.5") -> MeasureResult:
    m = sl.measures[index]
    return MeasureResult(index, m.metric, m.target, None if actual is None or met is None else D(actual), met)


THREE = levels(
    """
at_risk: "0.12"
measures:
  - {metric: csat_top2box,     target: ">= 0.80", weight: "0.4"}
  - {metric: fcr_rate,         target: ">= 0.70", weight: "0.3"}
  - {metric: abandonment_rate, target: "<= 0.05", weight: "0.3", workflows: [card_disputes]}
"""
)


def test_one_missed_measure():
    results = [result(THREE, 0, False, "0.78"), result(THREE, 1, True), result(THREE, 2, True)]
    (credit,) = service_credits(THREE, results, D("25000.00"), "USD")
    assert (credit.kind, credit.label, credit.amount) == (
        "service_credit",
        "service credit: csat_top2box",
        D("-1200.00"),
    )
    assert credit.details["target"] == ">= 0.80"
    assert credit.details["actual"] == D("0.78")
    assert (credit.details["weight"], credit.details["at_risk"], credit.details["period_base"]) == (
        D("0.4"), D("0.12"), D("25000.00"),
    )  # fmt: skip
    assert credit.details["scale"] == 1


def test_scoped_measure_label_and_all_missed_exactly_at_the_cap():
    results = [result(THREE, i, False) for i in range(3)]
    credits = service_credits(THREE, results, D("25000.00"), "USD")
    assert [c.amount for c in credits] == [
        D("-1200.00"),
        D("-900.00"),
        D("-900.00"),
    ]  # = 0.12 x 25000, unscaled
    assert credits[2].label == "service credit: abandonment_rate (card_disputes)"
    assert credits[2].workflows == ("card_disputes",)


POOL = levels(
    """
at_risk: "0.10"
pool: "2.0"
measures:
  - {metric: csat_top2box, target: ">= 0.80", weight: "0.8"}
  - {metric: fcr_rate, target: ">= 0.70", weight: "0.6"}
  - {metric: abandonment_rate, target: "<= 0.05", weight: "0.6"}
"""
)


@pytest.mark.parametrize(
    ("missed", "expected", "scale"),
    [
        ([0], ["-800.00"], D(1)),
        ([0, 1], ["-571.43", "-428.57"], D(1000) / D(1400)),  # 1400 > cap 1000: each x 5/7
        ([0, 1, 2], ["-400.00", "-300.00", "-300.00"], D("0.5")),  # 2000 > 1000: each x 1/2
    ],
)
def test_pool_of_two_hits_the_cap_with_pro_rata_scaling(missed, expected, scale):
    results = [result(POOL, i, i not in missed) for i in range(3)]
    credits = service_credits(POOL, results, D("10000.00"), "USD")
    assert [c.amount for c in credits] == [D(x) for x in expected]
    assert sum(c.amount for c in credits) >= D("-1000.00")
    assert credits[0].details["scale"].quantize(D("1E-20")) == scale.quantize(D("1E-20"))
    assert credits[0].details["pool"] == D("2.0")


def test_rounded_credits_never_exceed_the_cap():
    sl = levels(
        """
at_risk: "0.10"
measures: [{metric: a, target: ">= 1", weight: "0.5"}, {metric: b, target: ">= 1", weight: "0.5"}]
"""
    )
    credits = service_credits(sl, [result(sl, 0, False), result(sl, 1, False)], D("0.70"), "USD")
    # each is 0.035, which rounds half-even to 0.04; together 0.08 would pass the cap of 0.07
    assert [c.unrounded for c in credits] == [D("-0.035000"), D("-0.035000")]
    assert [c.amount for c in credits] == [D("-0.04"), D("-0.03")]
    assert credits[1].details["cap_rounding"] == D("-0.01")


NO_DATA = """
at_risk: "0.10"
no_data: {policy}
measures:
  - {{metric: csat_top2box, target: ">= 0.80", weight: "0.5"}}
  - {{metric: qa_score, target: ">= 80", weight: "0.5"}}
"""


@pytest.mark.parametrize(("policy", "credited"), [("ignore", []), ("missed", ["-500.00"]), ("met", [])])
def test_no_data(policy, credited):
    sl = levels(NO_DATA.format(policy=policy))
    results = [result(sl, 0, True), MeasureResult(1, "qa_score", sl.measures[1].target, None, None)]
    credits = service_credits(sl, results, D("10000.00"), "USD")
    assert [c.amount for c in credits] == [D(x) for x in credited]
    if credits:
        assert credits[0].details["status"] == "no_data_counted_as_missed"
        assert credits[0].details["actual"] is None
        assert credits[0].to_dict()["details"]["actual"] is None


def test_no_data_default_is_ignore():
    assert (
        service_credits(THREE, [MeasureResult(0, "csat_top2box", ">= 0.80", None, None)], D(100), "USD") == []
    )


def test_results_must_match_the_measures():
    with pytest.raises(ValueError, match="is 'csat_top2box'"):
        service_credits(THREE, [MeasureResult(0, "fcr_rate", ">= 0.70", D(0), False)], D(100), "USD")
    with pytest.raises(ValueError, match="out of range"):
        service_credits(THREE, [MeasureResult(3, "x", ">= 1", D(0), False)], D(100), "USD")
    with pytest.raises(ValueError, match="two results"):
        service_credits(THREE, [result(THREE, 0, False), result(THREE, 0, False)], D(100), "USD")
    assert service_credits(None, [], D(100), "USD") == []


def test_dir_style_example():
    """DIR-style: pool 50% (the category's share) x allocation 40% (the measure's share in it) x at-risk 10%
    of $100,000 monthly charges = $2,000. In our terms: one measure of weight 0.5 x 0.4 = 0.20, at_risk 0.10,
    and a period base of 100,000.00."""
    c = Contract.model_validate(
        yaml.load(
            """
contract: dir-style
version: 1
parties: {buyer: Agency, provider: Vendor}
currency: USD
timezone: America/Chicago
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows: {general: {default: true}}
outcomes: {resolution: {kind: resolution}}
pricing: {base_fee: "100000.00"}
service_levels:
  at_risk: "0.10"
  measures:
    - {metric: service_level, target: ">= 0.80", weight: "0.20", threshold: 20s}
    - {metric: abandonment_rate, target: "<= 0.05", weight: "0.30"}
    - {metric: csat_top2box, target: ">= 0.85", weight: "0.50"}
"""
        )
    )
    sl = c.service_levels
    priced = price_period(c, Period.parse("2026-03"), {})
    results = [result(sl, 0, False, "0.74"), result(sl, 1, True), result(sl, 2, True)]
    credits = service_credits(sl, results, priced.period_base, c.currency)
    assert [x.amount for x in credits] == [D("-2000.00")]
    assert finish_period(priced, credits=credits).total == D("98000.00")


# --- earn-back ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "returned"),
    [
        ([True, True], False),  # N - 1 met periods
        ([True, True, True], True),  # exactly N
        ([True, None, True], False),  # a no-data period pauses: still 2
        ([True, None, True, True], True),  # ... and the third met returns it
        ([None, None, True, True, True], True),
        ([True, False, True, True], False),  # a miss before N forfeits this credit
        ([True, True, True, True], False),  # already returned in the third period, not again
        ([], False),
    ],
)
def test_earn_back_after_exactly_n_met_periods(history, returned):
    line = earn_back("2026-03/service_credit/0", D("-1200.00"), history, 3, "USD", metric="csat_top2box")
    if not returned:
        assert line is None
        return
    assert line is not None
    assert (line.kind, line.amount, line.label) == (
        "earn_back",
        D("1200.00"),
        "earn-back of 2026-03/service_credit/0 (csat_top2box)",
    )
    assert line.details["credit_id"] == "2026-03/service_credit/0"
    assert line.details["history"][-1] == "met"
    assert line.details["met_periods"] == 3


def test_earn_back_status():
    assert earn_back_status([True, None], 2).state == "pending"
    assert earn_back_status([True, None], 2).met_periods == 1
    assert earn_back_status([True, True, False], 2) == earn_back_status([True, True], 2)
    assert earn_back_status([True, False], 2).state == "forfeited"
    with pytest.raises(ValueError, match="earn_back periods must be at least 1, got 0"):
        earn_back_status([True], 0)


# --- productivity share ---------------------------------------------------------------------------

AUTOMATION = Automation.model_validate(
    {"baseline_containment": "0.20", "human_contact_cost": "6.50", "productivity_share": "0.50"}
)


@pytest.mark.parametrize(
    ("contained", "handled", "amount", "status"),
    [
        (150, 1000, "0.00", "at_or_below_baseline"),  # below the 200 expected at signing
        (200, 1000, "0.00", "at_or_below_baseline"),  # at it
        (300, 1000, "-325.00", "above_baseline"),  # (300 - 200) x 6.50 x 0.50
        (100, 333, "-108.55", "above_baseline"),  # (100 - 66.6) x 3.25
        (0, 0, "0.00", "at_or_below_baseline"),
    ],
)
def test_productivity_share(contained, handled, amount, status):
    line = productivity_line(AUTOMATION, contained, handled, "USD")
    assert line is not None
    assert (line.kind, line.amount, line.details["status"]) == ("productivity_share", D(amount), status)
    assert line.amount <= 0  # never a charge
    assert line.to_dict()["amount"] == amount


def test_productivity_share_inputs():
    assert productivity_line(None, 1, 1, "USD") is None
    line = productivity_line(AUTOMATION, 300, 1000, "USD")
    assert line.details["expected_contained"] == D("200.00")
    assert line.details["excess_contained"] == D("100.00")
    with pytest.raises(ValueError):
        productivity_line(AUTOMATION, -1, 10, "USD")


# --- scenarios a wrong credit would slip through (issue 17: mutation testing) ----------------------


def test_a_measure_without_data_does_not_stop_the_next_miss_from_being_credited():
    sl = levels(NO_DATA.format(policy="ignore"))
    results = [MeasureResult(0, "csat_top2box", sl.measures[0].target, None, None), result(sl, 1, False)]
    (credit,) = service_credits(sl, results, D("10000.00"), "USD")
    # 0.5 x 0.10 x 10000 for the missed qa_score; csat_top2box had no data and `ignore` gives it nothing
    assert (credit.amount, credit.details["measure"], credit.details["status"]) == (D("-500.00"), 1, "missed")


@pytest.mark.parametrize("base", ["0.00", "-250.00"])
def test_a_miss_on_a_period_base_of_zero_or_less_credits_nothing(base):
    results = [result(THREE, 0, False), result(THREE, 1, False), result(THREE, 2, True)]
    credits = service_credits(THREE, results, D(base), "USD")
    assert [c.amount for c in credits] == [D("0.00"), D("0.00")]
    assert not any(c.amount.is_signed() for c in credits)  # 0.00, never -0.00
    assert [c.to_dict()["amount"] for c in credits] == ["0.00", "0.00"]
    assert credits[0].details["period_base"] == D(base)  # shown as given, credited on max(base, 0)


UNTIED = levels(
    """
at_risk: "0.10"
measures:
  - {metric: a, target: ">= 1", weight: "0.26"}
  - {metric: b, target: ">= 1", weight: "0.26"}
  - {metric: c, target: ">= 1", weight: "0.48"}
"""
)


def test_the_largest_credit_gives_back_the_cent_wherever_its_measure_stands():
    sl = levels(
        """
at_risk: "0.10"
measures:
  - {metric: c, target: ">= 1", weight: "0.48", workflows: [card_disputes, tech]}
  - {metric: a, target: ">= 1", weight: "0.26"}
  - {metric: b, target: ">= 1", weight: "0.26"}
"""
    )
    credits = service_credits(sl, [result(sl, i, False) for i in range(3)], D("1.00"), "USD")
    assert [c.amount for c in credits] == [D("-0.04"), D("-0.03"), D("-0.03")]  # the first measure is largest
    assert credits[0].label == "service credit: c (card_disputes, tech)"
    assert credits[0].workflows == ("card_disputes", "tech")


def test_the_largest_credit_gives_back_the_cent_cap_rounding_added():
    credits = service_credits(UNTIED, [result(UNTIED, i, False) for i in range(3)], D("1.00"), "USD")
    # 0.026, 0.026 and 0.048 sum to the cap of 0.10 but round to 0.03 + 0.03 + 0.05 = 0.11: the largest
    # (0.048, CONTRACT.md step 4) gives the cent back, not the two that rounding raised the most
    assert [c.amount for c in credits] == [D("-0.03"), D("-0.03"), D("-0.04")]
    assert sum(c.amount for c in credits) == D("-0.10")
    assert ["cap_rounding" in c.details for c in credits] == [False, False, True]
    assert credits[2].unrounded == D("-0.048")
    assert credits[2].details == {
        "measure": 2,
        "metric": "c",
        "target": ">= 1",
        "actual": D("0.5"),
        "status": "missed",
        "weight": D("0.48"),
        "pool": D("1"),
        "at_risk": D("0.10"),
        "period_base": D("1.00"),
        "cap": D("0.10"),
        "uncapped_credit": D("0.048"),
        "uncapped_total": D("0.10"),
        "scale": D(1),
        "cap_rounding": D("-0.01"),
    }


def test_cap_rounding_never_turns_a_credit_into_a_charge():
    sl = levels(
        """
at_risk: "0.10"
measures:
"""
        + "".join(f'  - {{metric: m{i}, target: ">= 1", weight: "0.2"}}\n' for i in range(5))
    )
    credits = service_credits(sl, [result(sl, i, False) for i in range(5)], D("0.255"), "USD")
    # five credits of 0.0051 round to 0.01 each (0.05) against a cap of 0.0255 -> 0.03: two cents too many,
    # more than the largest (a tie: the last) holds, so the one before gives the second
    assert [c.amount for c in credits] == [D("-0.01"), D("-0.01"), D("-0.01"), D("0.00"), D("0.00")]
    assert not any(c.amount.is_signed() for c in credits[3:])
    assert [c.details.get("cap_rounding") for c in credits] == [None, None, None, D("-0.01"), D("-0.01")]


def test_credit_details_in_full():
    results = [result(THREE, 0, True), result(THREE, 1, False, "0.61"), result(THREE, 2, True)]
    (credit,) = service_credits(THREE, results, D("25000.00"), "USD")
    assert (credit.label, credit.amount, credit.unrounded, credit.workflows) == (
        "service credit: fcr_rate", D("-900.00"), D("-900"), (),
    )  # fmt: skip
    assert (credit.quantity, credit.unit_price, credit.outcome) == (None, None, None)
    assert credit.details == {
        "measure": 1,
        "metric": "fcr_rate",
        "target": ">= 0.70",
        "actual": D("0.61"),
        "status": "missed",
        "weight": D("0.3"),
        "pool": D("1"),
        "at_risk": D("0.12"),
        "period_base": D("25000.00"),
        "cap": D("3000"),
        "uncapped_credit": D("900"),
        "uncapped_total": D("900"),
        "scale": D(1),
    }


@pytest.mark.parametrize(
    ("history", "state", "returned"),
    [([True], "returned", True), ([False], "forfeited", False), ([None], "pending", False)],
)
def test_earn_back_after_a_single_period(history, state, returned):
    assert earn_back_status(history, 1).state == state
    line = earn_back("2026-03/service_credit/1", D("-900.00"), history, 1, "USD")
    assert (line is not None) == returned
    if line is not None:
        assert (line.kind, line.label, line.amount, line.unrounded, line.workflows) == (
            "earn_back", "earn-back of 2026-03/service_credit/1", D("900.00"), D("900.00"), (),
        )  # fmt: skip


def test_earn_back_details_in_full():
    line = earn_back(
        "2026-03/service_credit/2",
        D("-0.04"),
        [None, True, True],
        2,
        "USD",
        metric="abandonment_rate",
        workflows=["card_disputes"],
    )
    assert line is not None
    assert (line.label, line.amount, line.workflows) == (
        "earn-back of 2026-03/service_credit/2 (abandonment_rate)", D("0.04"), ("card_disputes",),
    )  # fmt: skip
    assert line.details == {
        "credit_id": "2026-03/service_credit/2",
        "credit_amount": D("-0.04"),
        "metric": "abandonment_rate",
        "periods": 2,
        "history": ["no_data", "met", "met"],
        "met_periods": 2,
    }
    assert earn_back_status([None, True, True], 2) == EarnBackStatus("returned", 2, 2)
    assert earn_back_status([True, None, False], 3) == EarnBackStatus("forfeited", 1, 2)
    assert earn_back_status([None, True], 3) == EarnBackStatus("pending", 1, None)
