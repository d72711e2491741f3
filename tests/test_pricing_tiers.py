"""Tiers: up_to inclusive; graduated prices each unit by its tier, volume all units at the tier reached."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.contract.schema import PriceTier
from outcomes.pricing.tiers import flat, graduated, volume

PRICES = [PriceTier(up_to=5000, unit=D("7.50")), PriceTier(unit=D("5.00"))]


@pytest.mark.parametrize(
    ("count", "graduated_amount", "volume_amount"),
    [
        (0, "0", "0"),
        (1, "7.50", "7.50"),
        (4999, "37492.50", "37492.50"),
        (5000, "37500.00", "37500.00"),  # up_to is inclusive: unit 5000 is still in tier 1
        (5001, "37505.00", "25005.00"),  # graduated: 5000 x 7.50 + 1 x 5.00; volume: 5001 x 5.00
        (6000, "42500.00", "30000.00"),
    ],
)
def test_graduated_vs_volume_at_and_across_the_edge(count, graduated_amount, volume_amount):
    assert graduated(count, PRICES).amount == D(graduated_amount)
    assert volume(count, PRICES).amount == D(volume_amount)


def test_breakdowns():
    g = graduated(5001, PRICES)
    assert g.breakdown == [
        {"tier": 1, "from": 1, "to": 5000, "units": 5000, "unit": D("7.50"), "amount": D("37500.00")},
        {"tier": 2, "from": 5001, "to": None, "units": 1, "unit": D("5.00"), "amount": D("5.00")},
    ]
    assert g.reached == 2
    assert graduated(5000, PRICES).reached == 1
    v = volume(5001, PRICES)
    assert v.breakdown == [
        {"tier": 2, "from": 5001, "to": None, "units": 5001, "unit": D("5.00"), "amount": D("25005.00")}
    ]
    assert volume(5000, PRICES).reached == 1
    assert graduated(0, PRICES).breakdown == [] and volume(0, PRICES).reached is None


def test_three_tiers_graduated():
    prices = [{"up_to": 10, "unit": D("3")}, {"up_to": 20, "unit": D("2")}, {"unit": D("1")}]
    assert graduated(25, prices).amount == D(10 * 3 + 10 * 2 + 5 * 1)
    assert [row["units"] for row in graduated(25, prices).breakdown] == [10, 10, 5]
    assert volume(20, prices).amount == D(40)
    assert volume(21, prices).amount == D(21)


def test_flat():
    r = flat(7, D("0.99"))
    assert r.amount == D("6.93")
    assert r.breakdown == [
        {"tier": 1, "from": 1, "to": None, "units": 7, "unit": D("0.99"), "amount": D("6.93")}
    ]
    assert flat(0, D("0.99")).amount == 0


def test_bad_tiers_and_counts():
    with pytest.raises(ValueError, match="greater than"):
        graduated(1, [{"up_to": 10, "unit": D(1)}, {"up_to": 10, "unit": D(1)}, {"unit": D(1)}])
    with pytest.raises(ValueError, match="not the last"):
        volume(1, [{"unit": D(1)}, {"up_to": 10, "unit": D(1)}])
    with pytest.raises(ValueError, match="exceeds the last tier"):
        graduated(11, [{"up_to": 10, "unit": D(1)}])
    assert graduated(10, [{"up_to": 10, "unit": D(1)}]).amount == 10
    with pytest.raises(ValueError, match="non-negative"):
        volume(-1, PRICES)
    with pytest.raises(ValueError, match="at least one tier"):
        graduated(1, [])
    with pytest.raises(TypeError):
        flat(1, 0.99)  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------------

units = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw):
    edges = sorted(draw(st.sets(st.integers(min_value=1, max_value=500), max_size=4)))
    prices = [{"up_to": e, "unit": draw(units)} for e in edges]
    prices.append({"unit": draw(units)})
    return prices


@given(tier_lists(), st.integers(min_value=0, max_value=1000))
def test_graduated_is_monotone_in_count(prices, count):
    assert graduated(count + 1, prices).amount >= graduated(count, prices).amount


@given(tier_lists(), st.integers(min_value=0, max_value=1000))
def test_graduated_adds_the_price_of_the_next_unit(prices, count):
    # losing one unit in a graduated tier is worth the price of the last unit (CONTRACT.md, adjustments)
    nxt = next(p for p in prices if p.get("up_to") is None or count + 1 <= p["up_to"])
    assert graduated(count + 1, prices).amount - graduated(count, prices).amount == nxt["unit"]


@given(tier_lists(), st.integers(min_value=1, max_value=1000))
def test_volume_is_count_times_the_reached_tier(prices, count):
    reached = next(p for p in prices if p.get("up_to") is None or count <= p["up_to"])
    result = volume(count, prices)
    assert result.amount == count * reached["unit"]
    assert result.breakdown[0]["unit"] == reached["unit"]
    assert sum(row["amount"] for row in graduated(count, prices).breakdown) == graduated(count, prices).amount


def test_each_fee_names_one_registered_charge_model():
    from outcomes.contract.schema import OutcomeFee
    from outcomes.pricing.charge_models import CHARGE_MODELS, last_unit_price, model_of, price_count

    assert set(CHARGE_MODELS) >= {"flat", "graduated", "volume"}
    tiers = [{"up_to": 10, "unit": "5.00"}, {"unit": "3.00"}]
    graduated_fee = OutcomeFee.model_validate({"outcome": "r", "prices": tiers})
    volume_fee = OutcomeFee.model_validate({"outcome": "r", "prices": tiers, "tiers": "volume"})
    flat_fee = OutcomeFee.model_validate({"outcome": "r", "unit": "4.00"})
    assert [model_of(f) for f in (graduated_fee, volume_fee, flat_fee)] == ["graduated", "volume", "flat"]
    # 12 units: graduated 10 x 5 + 2 x 3; volume all 12 at the tier reached; flat 12 x 4
    assert price_count(graduated_fee, 12)[1].amount == D("56.00")
    assert price_count(volume_fee, 12)[1].amount == D("36.00")
    assert price_count(flat_fee, 12)[1].amount == D("48.00")
    # one outcome more or less is worth the unit of the tier the last unit falls in
    assert last_unit_price(graduated_fee, 10) == D("5.00")
    assert last_unit_price(graduated_fee, 11) == D("3.00")
    assert last_unit_price(volume_fee, 0) == D("5.00")
    assert last_unit_price(flat_fee, 0) == D("4.00")
