"""Pricing a period, scenario style: a few lines of contract YAML, the period's counts, the expected lines."""

import json
from decimal import ROUND_DOWN, localcontext
from decimal import Decimal as D
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.glide import phase_for
from outcomes.pricing.lines import make_line
from outcomes.pricing.money import CONTEXT
from outcomes.pricing.period_total import finish_period, price_period
from pricing_scenarios import contract


def div(a, b) -> D:
    """a / b at the pricing precision (50 digits, whatever this thread's decimal context is)."""
    return CONTEXT.divide(D(a), D(b))


def month(label: str) -> Period:
    return Period.parse(label)


def amounts(priced) -> list[tuple[str, str, D]]:
    return [(line.kind, line.label, line.amount) for line in priced.lines]


# --- the worked month (examples/worked-month/README.md) -------------------------------------------

WORKED = """
contract: worked-example
version: 1
parties: {buyer: Example Retail, provider: Acme BPO}
currency: GBP
timezone: Europe/London
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: zendesk
workflows:
  refunds: {queues: [refunds]}
  tech:    {queues: [tech, devices]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    handled_by: [agent]
    repeat_contact: {within: 5d, same: [customer], channels: any}
    reopened: exclude
    min_csat: 3
  containment:
    kind: containment
    repeat_contact: {within: 48h, same: [customer], channels: any}
pricing:
  base_fee: "2000.00"
  outcome_fees:
    - outcome: resolution
      workflows: [refunds]
      tiers: volume
      prices: [{up_to: 3, unit: "8.00"}, {unit: "6.00"}]
    - outcome: resolution
      workflows: [tech, general]
      unit: "4.00"
    - outcome: containment
      unit: "1.25"
  maximum: "2030.00"
"""


def test_worked_month_invoice():
    c = Contract.model_validate(YAML(typ="safe").load(WORKED))
    counts = {
        ("resolution", "refunds"): 4,
        ("resolution", "tech"): 1,
        ("resolution", "general"): 1,
        ("containment", "general"): 1,
    }
    priced = price_period(c, month("2026-10"), counts)
    rows = [(ln.kind, ln.label, ln.quantity, ln.unit_price, ln.amount) for ln in priced.lines]
    assert rows == [
        ("base_fee", "base fee", D(1), D("2000.00"), D("2000.00")),
        ("outcome_fee", "resolution (refunds)", D(4), D("6.00"), D("24.00")),
        ("outcome_fee", "resolution (tech, general)", D(2), D("4.00"), D("8.00")),
        ("outcome_fee", "containment (all workflows)", D(1), D("1.25"), D("1.25")),
        ("maximum", "maximum 2030.00 applied", None, None, D("-3.25")),
    ]
    refunds = priced.lines[1]
    assert refunds.details["pricing"] == "volume"
    assert refunds.details["tiers"] == [
        {"tier": 2, "from": 4, "to": None, "units": 4, "unit": D("6.00"), "amount": D("24.00")}
    ]
    assert priced.lines[2].details["counts"] == {"tech": 1, "general": 1}
    assert priced.lines[2].workflows == ("tech", "general")
    assert priced.lines[4].details["sum_before"] == D("2033.25")
    assert priced.subtotal == D("2033.25")
    assert priced.period_base == priced.total == D("2030.00")
    assert priced.notes == []
    out = priced.to_dict()
    assert out["total"] == "2030.00"
    assert [ln["amount"] for ln in out["lines"]] == ["2000.00", "24.00", "8.00", "1.25", "-3.25"]
    json.dumps(out)


# --- outcome fees ---------------------------------------------------------------------------------

TIERED = """
pricing:
  outcome_fees:
    - outcome: resolution
      workflows: [card_disputes]
      tiers: {tiers}
      prices: [{{up_to: 5000, unit: "7.50"}}, {{unit: "5.00"}}]
    - outcome: resolution
      workflows: [tech, general]
      unit: "4.00"
    - outcome: containment
      unit: "0.99"
"""


@pytest.mark.parametrize(
    ("tiers", "count", "amount", "unit_price"),
    [
        ("graduated", 5000, "37500.00", "7.5"),
        ("graduated", 5001, "37505.00", div("37505.00", 5001)),
        ("volume", 5000, "37500.00", "7.5"),
        ("volume", 5001, "25005.00", "5"),
    ],
)
def test_tiered_line_at_and_across_the_edge(tiers, count, amount, unit_price):
    c = contract(TIERED.format(tiers=tiers))
    line = price_period(c, month("2026-03"), {("resolution", "card_disputes"): count}).lines[0]
    assert line.label == "resolution (card_disputes)"
    assert line.amount == D(amount)
    assert line.quantity == count
    assert line.unit_price == D(unit_price)  # the average price, unrounded


def test_one_count_for_all_workflows_of_a_line_and_zero_lines_shown():
    c = contract(
        """
pricing:
  outcome_fees:
    - {outcome: resolution, workflows: [card_disputes, tech], tiers: graduated,
       prices: [{up_to: 2, unit: "10.00"}, {unit: "1.00"}]}
    - {outcome: containment, unit: "0.99"}
"""
    )
    priced = price_period(
        c, month("2026-03"), {("resolution", "card_disputes"): 2, ("resolution", "tech"): 2}
    )
    line = priced.lines[0]
    assert line.details["count"] == 4 and line.amount == D("22.00")  # 2 x 10 + 2 x 1, not 2 x (2 x 10)
    assert line.details["counts"] == {"card_disputes": 2, "tech": 2}
    assert (priced.lines[1].amount, priced.lines[1].quantity, priced.lines[1].unit_price) == (0, 0, D("0.99"))
    empty = price_period(c, month("2026-03"), {})
    assert empty.lines[0].unit_price is None and empty.total == 0


def test_counts_no_fee_covers_are_noted_not_priced():
    c = contract('pricing: {outcome_fees: [{outcome: resolution, workflows: [tech], unit: "1.00"}]}')
    priced = price_period(c, month("2026-03"), {("resolution", "tech"): 2, ("resolution", "general"): 3})
    assert priced.total == D("2.00")
    assert priced.notes == ["3 resolution in general not priced: no outcome fee covers them"]


# --- proration ------------------------------------------------------------------------------------

PRORATED = """
term: {start: 2026-01-15, end: 2027-12-10}
pricing:
  base_fee: "3100.00"
"""


@pytest.mark.parametrize(
    ("label", "fraction", "amount"),
    [
        ("2026-01", "17/31", "1700.00"),  # 15..31 January: the start day counts
        ("2026-02", "28/28", "3100.00"),
        ("2027-12", "10/31", "1000.00"),  # 1..10 December: the end day counts
    ],
)
def test_base_fee_prorated_in_first_and_last_period(label, fraction, amount):
    line = price_period(contract(PRORATED), month(label), {}).lines[0]
    assert line.amount == D(amount)
    assert line.details["proration"] == fraction


def test_proration_that_does_not_divide_evenly_rounds_once():
    c = contract('term: {start: 2026-01-15, end: 2027-12-31}\npricing: {base_fee: "1000.00"}')
    line = price_period(c, month("2026-01"), {}).lines[0]
    assert line.unrounded == div(17000, 31)
    assert line.amount == D("548.39")
    assert line.details["proration_decimal"] == D("0.548387")


def test_quarter_proration():
    c = contract(
        'period: quarter\nterm: {start: 2026-02-15, end: 2027-12-31}\npricing: {base_fee: "9000.00"}'
    )
    priced = price_period(c, Period.parse("2026-Q1", "quarter"), {})
    assert priced.lines[0].details["proration"] == "45/90"  # 14 days of February + 31 of March, of 90
    assert priced.total == D("4500.00")


@pytest.mark.parametrize(
    ("label", "floor", "top_up"),
    [("2026-01", "1700.00", "1600.00"), ("2026-02", "3100.00", "3000.00"), ("2027-12", "1000.00", "900.00")],
)
def test_minimum_prorated(label, floor, top_up):
    c = contract(
        """
term: {start: 2026-01-15, end: 2027-12-10}
pricing: {outcome_fees: [{outcome: resolution, unit: "1.00"}], minimum: "3100.00"}
"""
    )
    priced = price_period(c, month(label), {("resolution", "general"): 100})
    assert amounts(priced)[-1] == ("minimum", f"minimum {floor} applied", D(top_up))
    assert priced.subtotal == D("100.00")
    assert priced.period_base == priced.total == D(floor)


@pytest.mark.parametrize(
    ("label", "cap", "cut"),
    [
        ("2026-01", "1700.00", "-3300.00"),
        ("2026-02", "3100.00", "-1900.00"),
        ("2027-12", "1000.00", "-4000.00"),
    ],
)
def test_maximum_prorated(label, cap, cut):
    c = contract(
        """
term: {start: 2026-01-15, end: 2027-12-10}
pricing: {outcome_fees: [{outcome: resolution, unit: "10.00"}], maximum: "3100.00"}
"""
    )
    priced = price_period(c, month(label), {("resolution", "general"): 500})
    assert amounts(priced)[-1] == ("maximum", f"maximum {cap} applied", D(cut))
    assert priced.period_base == priced.total == D(cap)


def test_prorated_bound_rounds_once():
    c = contract(
        """
term: {start: 2026-01-15, end: 2027-12-31}
pricing: {outcome_fees: [{outcome: resolution, unit: "1.00"}], minimum: "1000.00"}
"""
    )
    priced = price_period(c, month("2026-01"), {("resolution", "general"): 1})
    minimum = priced.lines[-1]
    assert minimum.unrounded == CONTEXT.subtract(div(17000, 31), D("1.00"))
    assert minimum.amount == D("547.39")
    assert priced.period_base == D("548.39")


# --- minimum / maximum ----------------------------------------------------------------------------

BOUNDED = """
pricing:
  base_fee: "1000.00"
  outcome_fees: [{outcome: resolution, unit: "10.00"}]
  minimum: "1500.00"
  maximum: "2000.00"
"""


@pytest.mark.parametrize(
    ("count", "bound_line", "base"),
    [
        (0, ("minimum", "minimum 1500.00 applied", D("500.00")), "1500.00"),
        (49, ("minimum", "minimum 1500.00 applied", D("10.00")), "1500.00"),
        (50, None, "1500.00"),  # exactly the floor: not binding
        (75, None, "1750.00"),
        (100, None, "2000.00"),  # exactly the cap: not binding
        (101, ("maximum", "maximum 2000.00 applied", D("-10.00")), "2000.00"),
    ],
)
def test_minimum_and_maximum(count, bound_line, base):
    priced = price_period(contract(BOUNDED), month("2026-05"), {("resolution", "tech"): count})
    bounds = [row for row in amounts(priced) if row[0] in ("minimum", "maximum")]
    assert bounds == ([bound_line] if bound_line else [])
    assert priced.period_base == priced.total == D(base)


# --- glide path -----------------------------------------------------------------------------------

GLIDE = """
pricing:
  base_fee: "25000.00"
  outcome_fees: [{outcome: resolution, unit: "4.00"}]
glide_path:
  - {from: 2026-01-01, base_fee: "1.00", outcome_fees: "0.50"}
  - {from: 2026-07-01, base_fee: "0.60", outcome_fees: "0.80"}
"""


@pytest.mark.parametrize(
    ("label", "base", "fees", "phase"),
    [
        ("2026-06", "25000.00", "200.00", "2026-01-01"),  # before the switch
        ("2026-07", "15000.00", "320.00", "2026-07-01"),  # at it
        ("2026-08", "15000.00", "320.00", "2026-07-01"),  # after it
    ],
)
def test_glide_path_switch(label, base, fees, phase):
    priced = price_period(contract(GLIDE), month(label), {("resolution", "general"): 100})
    base_line, fee_line = priced.lines
    assert (base_line.amount, fee_line.amount) == (D(base), D(fees))
    assert base_line.details["glide_from"].isoformat() == phase
    assert fee_line.details["amount_before_glide"] == D("400.00")
    assert fee_line.unit_price == D(fees) / 100


def test_glide_phase_is_the_one_in_force_when_the_term_starts():
    c = contract(
        """
term: {start: 2026-07-15, end: 2027-12-31}
pricing: {base_fee: "25000.00"}
glide_path:
  - {from: 2026-01-01, base_fee: "1.00"}
  - {from: 2026-07-10, base_fee: "0.60"}
  - {from: 2026-07-20, base_fee: "0.30"}
"""
    )
    phase = phase_for(c, month("2026-07"))
    assert (str(phase.from_), phase.base_fee, phase.on.isoformat()) == ("2026-07-10", D("0.60"), "2026-07-15")
    line = price_period(c, month("2026-07"), {}).lines[0]
    assert line.unrounded == div(15000 * 17, 31)  # the 0.60 phase, for the whole (prorated) period
    assert line.amount == D("8225.81")
    assert price_period(c, month("2026-08"), {}).lines[0].amount == D("7500.00")


def test_no_glide_phase_started_means_factor_one():
    c = contract(
        """
pricing: {base_fee: "1000.00"}
glide_path: [{from: 2026-03-01, base_fee: "0.50"}]
"""
    )
    assert phase_for(c, month("2026-01")).from_ is None
    assert price_period(c, month("2026-01"), {}).total == D("1000.00")
    assert price_period(c, month("2026-03"), {}).total == D("500.00")


# --- rounding -------------------------------------------------------------------------------------


def test_each_line_rounded_half_even_once_and_total_is_the_sum_of_rounded_lines():
    c = contract(
        """
pricing:
  outcome_fees:
    - {outcome: resolution, workflows: [card_disputes], unit: "0.125"}
    - {outcome: resolution, workflows: [tech], unit: "0.135"}
    - {outcome: resolution, workflows: [general], unit: "0.125"}
"""
    )
    counts = {("resolution", "card_disputes"): 1, ("resolution", "tech"): 1, ("resolution", "general"): 3}
    priced = price_period(c, month("2026-02"), counts)
    assert [ln.amount for ln in priced.lines] == [
        D("0.12"),
        D("0.14"),
        D("0.38"),
    ]  # 0.375 -> 0.38, not 3 x 0.12
    assert [ln.unrounded for ln in priced.lines] == [D("0.125"), D("0.135"), D("0.375")]
    assert priced.total == D("0.64")  # 0.12 + 0.14 + 0.38
    two = price_period(
        c, month("2026-02"), {("resolution", "card_disputes"): 1, ("resolution", "general"): 1}
    )
    assert two.total == D("0.24")  # 0.12 + 0.12, not round(0.125 + 0.125) = 0.25


def test_glide_factor_applies_before_the_one_rounding():
    c = contract(
        """
pricing: {outcome_fees: [{outcome: resolution, unit: "0.25"}]}
glide_path: [{from: 2026-01-01, outcome_fees: "0.50"}]
"""
    )
    line = price_period(c, month("2026-02"), {("resolution", "tech"): 1}).lines[0]
    assert (line.unrounded, line.amount) == (D("0.1250"), D("0.12"))


def test_jpy_has_no_decimals():
    c = contract(
        """
currency: JPY
term: {start: 2026-01-15, end: 2027-12-31}
pricing:
  base_fee: "100000"
  outcome_fees: [{outcome: resolution, unit: "0.5"}]
"""
    )
    priced = price_period(c, month("2026-01"), {("resolution", "tech"): 5})
    assert [ln.amount for ln in priced.lines] == [D("54839"), D("2")]  # 54838.709..., 2.5 -> 2
    assert priced.to_dict()["total"] == "54841"
    assert price_period(c, month("2026-02"), {("resolution", "tech"): 3}).lines[1].amount == D("2")  # 1.5


# --- value share ----------------------------------------------------------------------------------

VALUE = """
term: {start: 2026-01-15, end: 2027-12-31}
pricing:
  base_fee: "1000.00"
  value_share: {metric: revenue_retained, share: "0.10", baseline: "31000.00"}
"""


def test_value_share_above_prorated_baseline():
    priced = price_period(contract(VALUE), month("2026-01"), {}, value=D("20000.00"))
    line = priced.lines[1]
    assert line.kind == "value_share" and line.label == "value share (revenue_retained)"
    assert line.details["prorated_baseline"] == D("17000.00")  # 31000 x 17/31
    assert line.amount == D("300.00")  # 0.10 x (20000 - 17000)


@pytest.mark.parametrize(
    ("value", "status"),
    [(D("31000.00"), "below_baseline"), (D("20000.00"), "below_baseline"), (None, "no_value")],
)
def test_value_share_at_or_below_baseline_is_a_zero_line(value, status):
    priced = price_period(contract(VALUE), month("2026-02"), {}, value=value)
    line = priced.lines[1]
    assert (line.amount, line.details["status"]) == (D("0.00"), status)
    assert priced.total == D("1000.00")


# --- steps 4-7 and errors -------------------------------------------------------------------------


def test_finish_period_appends_later_steps_and_allows_a_credit_note():
    priced = price_period(contract('pricing: {base_fee: "100.00"}'), month("2026-02"), {})
    credit = make_line("service_credit", "service credit: csat", D("-12.00"), "USD")
    back = make_line("earn_back", "earn-back of s-1", D("5.00"), "USD")
    prod = make_line("productivity_share", "productivity share", D("-3.25"), "USD")
    adjustment = make_line("adjustment", "2026-01 re-priced", D("-200.00"), "USD")
    done = finish_period(
        priced, credits=[credit], earn_backs=[back], productivity=prod, adjustments=[adjustment]
    )
    assert [ln.kind for ln in done.lines] == [
        "base_fee", "service_credit", "earn_back", "productivity_share", "adjustment",
    ]  # fmt: skip
    assert done.period_base == D("100.00")
    assert done.total == D("-110.25") and done.credit_note
    assert priced.total == D("100.00")  # the input is not changed
    with pytest.raises(ValueError, match="finish it once"):
        finish_period(done)
    with pytest.raises(ValueError, match="must be 'service_credit'"):
        finish_period(priced, credits=[back])


def test_refuses_a_period_of_the_wrong_kind_or_outside_the_term():
    c = contract('pricing: {base_fee: "100.00"}')
    with pytest.raises(ValueError, match="settles by month"):
        price_period(c, Period.parse("2026-Q1", "quarter"), {})
    with pytest.raises(ValueError, match="outside the term"):
        price_period(c, month("2028-01"), {})


def test_refuses_bad_counts_and_unpriced_units():
    c = contract(
        'pricing: {outcome_fees: [{outcome: resolution, tiers: volume, prices: [{up_to: 3, unit: "1"}]}]}'
    )
    with pytest.raises(ValueError, match="non-negative integer"):
        price_period(c, month("2026-02"), {("resolution", "tech"): -1})
    with pytest.raises(ValueError, match="exceeds the last tier"):
        price_period(c, month("2026-02"), {("resolution", "tech"): 4})


def test_results_do_not_depend_on_the_callers_decimal_context():
    c = contract(PRORATED)
    expected = price_period(c, month("2026-01"), {}).to_dict()
    with localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = ROUND_DOWN
        assert price_period(c, month("2026-01"), {}).to_dict() == expected


def test_inline_worked_month_matches_the_shared_example():
    shared = Path("/work/shared/examples/worked-month/contract.yaml")
    if not shared.exists():
        pytest.skip("the shared worked example is not on this machine")
    yaml = YAML(typ="safe")
    assert yaml.load(shared.read_text()) == yaml.load(WORKED)
