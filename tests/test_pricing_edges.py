"""Pricing at its edges: the scenarios a wrong invoice would otherwise slip through (issue 17).

Each test here was written against a mutant that survived every other test (`make mutation`, docs/testing.md):
a boundary day of the term, a count that is not a count, a detail an auditor reads.
"""

from datetime import date
from decimal import Decimal as D

import pytest

from outcomes.contract.schema import PriceTier, Term
from outcomes.period import Period
from outcomes.pricing.base_fee import base_fee_line
from outcomes.pricing.bounds import bounds_lines
from outcomes.pricing.outcome_fee import outcome_fee_lines
from outcomes.pricing.period_total import price_period
from outcomes.pricing.proration import Proration, proration, term_overlaps
from outcomes.pricing.tiers import flat, graduated, volume
from outcomes.pricing.value_share import value_share_line
from pricing_scenarios import contract


def month(label: str) -> Period:
    return Period.parse(label)


# --- proration: the term's first and last day -----------------------------------------------------


def test_a_term_ending_on_a_periods_first_day_still_settles_that_period():
    c = contract('term: {start: 2026-01-01, end: 2026-12-01}\npricing: {base_fee: "3100.00"}')
    assert term_overlaps(c.term, month("2026-12"))
    assert proration(c.term, month("2026-12")) == Proration(1, 31)
    priced = price_period(c, month("2026-12"), {})
    assert priced.lines[0].details["proration"] == "1/31"
    assert priced.total == D("100.00")  # 3100 x 1/31
    with pytest.raises(ValueError, match="outside the term"):
        price_period(c, month("2027-01"), {})


def test_a_term_starting_on_a_periods_end_does_not_settle_the_period_before():
    c = contract('term: {start: 2026-02-01, end: 2026-12-31}\npricing: {base_fee: "3100.00"}')
    # January is [2026-01-01, 2026-02-01): the term's first day is the day after it
    assert not term_overlaps(c.term, month("2026-01"))
    assert proration(c.term, month("2026-01")) == Proration(0, 31)
    with pytest.raises(ValueError, match="outside the term"):
        price_period(c, month("2026-01"), {})
    assert price_period(c, month("2026-02"), {}).total == D("3100.00")
    assert not proration(c.term, month("2026-02")).partial


def test_proration_of_a_single_day_term_and_of_a_period_far_outside():
    term = Term.model_validate({"start": "2026-03-31", "end": "2026-03-31"})
    assert proration(term, month("2026-03")) == Proration(1, 31)
    assert proration(term, month("2026-04")) == Proration(0, 30)  # never negative days
    assert proration(term, month("2025-01")) == Proration(0, 31)
    p = Proration(17, 31)
    assert (p.text, p.decimal, p.partial) == ("17/31", D("0.548387"), True)
    assert p.apply(D("31.00")) == D("17")
    whole = Proration(30, 30)
    assert whole.apply(D("1.005")) == D("1.005") and whole.text == "30/30" and whole.decimal == D("1.000000")


# --- the defaults: each component finds the phase and proration itself ----------------------------

PRORATED_GLIDE = """
term: {start: 2026-01-15, end: 2027-12-31}
pricing:
  base_fee: "3100.00"
  outcome_fees:
    - {outcome: resolution, workflows: [card_disputes, tech], unit: "4.00"}
    - {outcome: resolution, workflows: [general], tiers: volume, prices: [{up_to: 10, unit: "3.00"}, {unit: "2.00"}]}
    - {outcome: containment, unit: "0.50"}
  minimum: "31000.00"
  value_share: {metric: revenue_retained, share: "0.10", baseline: "3100.00"}
glide_path:
  - {from: 2025-06-01, base_fee: "0.50", outcome_fees: "0.50"}
"""

PRORATION_17_31 = {
    "term_days": 17,
    "period_days": 31,
    "proration": "17/31",
    "proration_decimal": D("0.548387"),
}


def test_base_fee_line_finds_its_own_phase_and_proration():
    line = base_fee_line(contract(PRORATED_GLIDE), month("2026-01"))
    assert line is not None
    # 3100 x 0.50 (glide) x 17/31 (the term starts on 15 January)
    assert (line.label, line.amount, line.quantity, line.unit_price) == ("base fee", D("850.00"), 1, D("850"))
    assert line.details == {
        "base_fee": D("3100.00"),
        **PRORATION_17_31,
        "glide_factor": D("0.50"),
        "glide_from": date(2025, 6, 1),
    }
    assert (
        base_fee_line(
            contract('pricing: {outcome_fees: [{outcome: resolution, unit: "1"}]}'), month("2026-01")
        )
        is None
    )


def test_bounds_lines_prorate_the_minimum_themselves():
    (line,) = bounds_lines(contract(PRORATED_GLIDE), month("2026-01"), [])
    assert (line.kind, line.label, line.amount) == ("minimum", "minimum 17000.00 applied", D("17000.00"))
    assert line.details == {
        "minimum": D("31000.00"),
        **PRORATION_17_31,
        "prorated_minimum": D("17000"),
        "sum_before": D("0"),
        "sum_after": D("17000.00"),
    }


def test_value_share_line_prorates_its_baseline_itself():
    line = value_share_line(contract(PRORATED_GLIDE), month("2026-01"), D("2000.00"))
    assert line is not None
    assert line.amount == D("30.00")  # 0.10 x (2000 - 3100 x 17/31)
    assert line.details["prorated_baseline"] == D("1700")


def test_outcome_fee_lines_find_their_own_phase_and_show_every_detail():
    counts = {("resolution", "card_disputes"): 3, ("resolution", "tech"): 2, ("resolution", "general"): 4}
    flat_line, volume_line, zero_line = outcome_fee_lines(contract(PRORATED_GLIDE), month("2026-01"), counts)
    glide = {"glide_factor": D("0.50"), "glide_from": date(2025, 6, 1)}

    # a flat line: 5 x 4.00 x 0.50
    assert (flat_line.label, flat_line.amount, flat_line.quantity, flat_line.unit_price) == (
        "resolution (card_disputes, tech)", D("10.00"), 5, D("2.00"),
    )  # fmt: skip
    assert (flat_line.outcome, flat_line.workflows) == ("resolution", ("card_disputes", "tech"))
    assert flat_line.details == {
        "count": 5,
        "counts": {"card_disputes": 3, "tech": 2},
        "pricing": "flat",
        "tiers": [{"tier": 1, "from": 1, "to": None, "units": 5, "unit": D("4.00"), "amount": D("20.00")}],
        "tier_reached": 1,
        "amount_before_glide": D("20.00"),
        **glide,
        "unit": D("4.00"),
    }

    # a volume line in its first tier: 4 x 3.00 x 0.50; the unit price is the average after the glide factor
    assert (volume_line.label, volume_line.amount, volume_line.quantity, volume_line.unit_price) == (
        "resolution (general)", D("6.00"), 4, D("1.50"),
    )  # fmt: skip
    assert volume_line.details == {
        "count": 4,
        "counts": {"general": 4},
        "pricing": "volume",
        "tiers": [{"tier": 1, "from": 1, "to": 10, "units": 4, "unit": D("3.00"), "amount": D("12.00")}],
        "tier_reached": 1,
        "amount_before_glide": D("12.00"),
        **glide,
    }

    # a line with a count of 0 is shown, at 0.00, over every workflow
    assert (zero_line.label, zero_line.amount, zero_line.quantity, zero_line.unit_price) == (
        "containment (all workflows)", D("0.00"), 0, D("0.25"),
    )  # fmt: skip
    assert not zero_line.amount.is_signed()
    assert zero_line.workflows == ("card_disputes", "tech", "general")
    assert zero_line.details == {
        "count": 0,
        "counts": {"card_disputes": 0, "tech": 0, "general": 0},
        "pricing": "flat",
        "tiers": [],
        "tier_reached": None,
        "amount_before_glide": D("0"),
        **glide,
        "unit": D("0.50"),
    }
    empty_volume = outcome_fee_lines(contract(PRORATED_GLIDE), month("2026-01"), {})[1]
    assert (empty_volume.amount, empty_volume.unit_price, empty_volume.details["tiers"]) == (0, None, [])


# --- a count is a non-negative int -----------------------------------------------------------------

PRICES = [PriceTier(up_to=10, unit=D("3.00")), PriceTier(up_to=20, unit=D("2.00")), PriceTier(unit=D(1))]


@pytest.mark.parametrize("count", [-1, True, False, 2.0, D(2)])
def test_the_tier_functions_refuse_a_count_that_is_not_a_non_negative_int(count):
    for price in (lambda: graduated(count, PRICES), lambda: volume(count, PRICES), lambda: flat(count, D(1))):
        with pytest.raises(ValueError, match="non-negative integer"):
            price()


@pytest.mark.parametrize("count", [-1, True, 2.0])
def test_the_outcome_fee_refuses_a_count_that_is_not_a_non_negative_int(count):
    c = contract(PRORATED_GLIDE)
    with pytest.raises(
        ValueError, match=r"count for \('resolution', 'tech'\) must be a non-negative integer"
    ):
        outcome_fee_lines(
            c, month("2026-02"), {("resolution", "card_disputes"): 1, ("resolution", "tech"): count}
        )


# --- tiers: the breakdown an auditor reads ---------------------------------------------------------


def test_tier_breakdowns_in_full():
    v = volume(4, PRICES)
    assert (v.amount, v.reached, v.last_unit) == (D("12.00"), 1, D("3.00"))
    assert v.breakdown == [
        {"tier": 1, "from": 1, "to": 10, "units": 4, "unit": D("3.00"), "amount": D("12.00")}
    ]
    assert volume(15, PRICES).breakdown == [
        {"tier": 2, "from": 11, "to": 20, "units": 15, "unit": D("2.00"), "amount": D("30.00")}
    ]
    assert volume(21, PRICES).breakdown == [
        {"tier": 3, "from": 21, "to": None, "units": 21, "unit": D(1), "amount": D(21)}
    ]
    g = graduated(20, PRICES)
    assert g.breakdown == [
        {"tier": 1, "from": 1, "to": 10, "units": 10, "unit": D("3.00"), "amount": D("30.00")},
        {"tier": 2, "from": 11, "to": 20, "units": 10, "unit": D("2.00"), "amount": D("20.00")},
    ]
    assert (g.amount, g.reached, g.last_unit) == (D("50.00"), 2, D("2.00"))
    f = flat(3, D("0.50"))
    assert (f.amount, f.reached, f.last_unit) == (D("1.50"), 1, D("0.50"))
    for zero in (flat(0, D("0.50")), volume(0, PRICES), graduated(0, PRICES)):
        assert (zero.amount, zero.breakdown, zero.reached, zero.last_unit) == (0, [], None, None)


def test_tiers_name_what_is_wrong_with_them():
    with pytest.raises(ValueError, match="^a tiered price needs at least one tier$"):
        volume(0, [])
    with pytest.raises(TypeError, match="must be a Decimal"):
        graduated(1, [{"unit": 1.5}])
    with pytest.raises(TypeError, match="must be a Decimal"):
        volume(1, [{"up_to": 3, "unit": "2"}, {"unit": D(1)}])
    with pytest.raises(TypeError, match=r"a unit price must be a Decimal, got 0\.99"):
        flat(1, 0.99)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tier 2: up_to 3 must be greater than 5"):
        graduated(1, [{"up_to": 5, "unit": D(1)}, {"up_to": 3, "unit": D(1)}, {"unit": D(1)}])
    with pytest.raises(ValueError, match="tier 1: up_to 0 must be greater than 0"):
        graduated(0, [{"up_to": 0, "unit": D(1)}, {"unit": D(1)}])
    with pytest.raises(ValueError, match="tier 1 has no up_to but is not the last tier"):
        volume(1, [{"unit": D(1)}, {"unit": D(1)}])
    with pytest.raises(
        ValueError,
        match=r"count 11 exceeds the last tier \(up_to 10\); the contract sets no price for the units above",
    ):
        volume(11, [{"up_to": 10, "unit": D(1)}])


def test_a_minimum_above_the_maximum_is_capped_by_the_maximum_applied_last():
    # validation refuses such a contract; should one get through (a contract registered before the check),
    # the maximum wins: it is applied to the sum after the minimum's top-up
    c = contract('pricing: {base_fee: "1000.00", minimum: "1500.00", maximum: "2000.00"}')
    c = c.model_copy(update={"pricing": c.pricing.model_copy(update={"minimum": D("2500.00")})})
    priced = price_period(c, month("2026-05"), {})
    assert [(ln.kind, ln.amount) for ln in priced.lines] == [
        ("base_fee", D("1000.00")),
        ("minimum", D("1500.00")),
        ("maximum", D("-500.00")),
    ]
    assert priced.period_base == D("2000.00")
    assert priced.lines[2].details["sum_before"] == D("2500.00")


# --- value share: a share of less than one unit of excess, and its evidence -----------------------


def test_a_value_share_on_an_excess_below_one_is_billed_with_its_details():
    line = value_share_line(contract(PRORATED_GLIDE), month("2026-02"), D("3100.50"))
    assert line is not None
    # 0.10 x (3100.50 - 3100.00): fifty cents of excess still earn their share
    assert (line.kind, line.label, line.amount, line.unrounded) == (
        "value_share", "value share (revenue_retained)", D("0.05"), D("0.050"),
    )  # fmt: skip
    assert line.details == {
        "metric": "revenue_retained",
        "value": D("3100.50"),
        "share": D("0.10"),
        "baseline": D("3100.00"),
        "term_days": 28,
        "period_days": 28,
        "proration": "28/28",
        "proration_decimal": D("1.000000"),
        "prorated_baseline": D("3100.00"),
        "excess": D("0.50"),
        "status": "above_baseline",
    }
    with pytest.raises(TypeError, match=r"^value must be a Decimal, got 3100\.5$"):
        value_share_line(contract(PRORATED_GLIDE), month("2026-02"), 3100.5)  # type: ignore[arg-type]
