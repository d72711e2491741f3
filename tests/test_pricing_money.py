"""Money and lines: Decimal only, half-even to the currency's minor unit, JSON-ready evidence."""

import json
from datetime import date
from decimal import Decimal as D
from fractions import Fraction

import pytest

from outcomes.pricing.lines import Line, jsonable, make_line, sum_amounts
from outcomes.pricing.money import minor_unit, money_text, round_money


@pytest.mark.parametrize(
    ("currency", "places"),
    [("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("CLP", 0), ("ISK", 0), ("VND", 0),
     ("XOF", 0), ("XAF", 0), ("UGX", 0), ("BHD", 3), ("KWD", 3), ("OMR", 3), ("JOD", 3), ("TND", 3),
     ("IQD", 3), ("LYD", 3), ("ZZZ", 2), ("jpy", 0)],
)  # fmt: skip
def test_minor_unit(currency, places):
    assert minor_unit(currency) == places


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "USD", "0.12"),  # half-even: to the even neighbour
        ("0.135", "USD", "0.14"),
        ("0.1250001", "USD", "0.13"),
        ("-0.125", "USD", "-0.12"),
        ("2.5", "JPY", "2"),
        ("3.5", "JPY", "4"),
        ("54838.709677", "JPY", "54839"),
        ("1.2345", "KWD", "1.234"),
        ("1.2355", "KWD", "1.236"),
        ("7", "USD", "7.00"),
        ("-0.001", "USD", "0.00"),  # never -0.00
    ],
)
def test_round_money_half_even(amount, currency, expected):
    result = round_money(D(amount), currency)
    assert result == D(expected)
    assert money_text(result) == expected


def test_round_money_refuses_floats():
    with pytest.raises(TypeError):
        round_money(0.125, "USD")  # type: ignore[arg-type]


def test_money_text():
    assert money_text(D("1E+3")) == "1000"
    assert money_text(D("-0.00")) == "0.00"
    assert money_text(D("0.125"), "USD") == "0.12"
    assert money_text(None) is None


def test_line_rounds_once_and_serialises():
    line = make_line(
        "outcome_fee",
        "resolution (card_disputes)",
        D("0.375"),
        "USD",
        quantity=D(3),
        unit_price=D("0.125"),
        outcome="resolution",
        workflows=("card_disputes",),
        details={"on": date(2026, 1, 1), "share": Fraction(17, 31), "tiers": [{"unit": D("0.125")}], "n": 3},
    )
    assert line.amount == D("0.38")
    assert line.unrounded == D("0.375")
    d = line.to_dict()
    assert d == {
        "kind": "outcome_fee",
        "label": "resolution (card_disputes)",
        "amount": "0.38",
        "unrounded": "0.375",
        "quantity": "3",
        "unit_price": "0.125",
        "outcome": "resolution",
        "workflows": ["card_disputes"],
        "details": {"on": "2026-01-01", "share": "17/31", "tiers": [{"unit": "0.125"}], "n": 3},
    }
    json.dumps(d)


def test_line_checks_kind_and_decimal():
    with pytest.raises(ValueError, match="unknown line kind"):
        Line("tip", "tip", D(1), D(1))
    with pytest.raises(TypeError):
        Line("base_fee", "base fee", 1.0, D(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floats are not money"):
        jsonable({"x": 0.1})


def test_sum_amounts_uses_rounded_amounts():
    lines = [
        make_line("outcome_fee", "a", D("0.125"), "USD"),
        make_line("outcome_fee", "b", D("0.125"), "USD"),
    ]
    assert sum_amounts(lines) == D("0.24")  # not round(0.25)


@pytest.mark.parametrize(("amount", "currency"), [("-0.001", "USD"), ("-0.4", "JPY"), ("-0.0004", "KWD")])
def test_a_negative_amount_that_rounds_to_zero_loses_its_sign(amount, currency):
    result = round_money(D(amount), currency)
    assert result.is_zero() and not result.is_signed()  # D("-0.00") == D("0.00"): compare the sign itself
    assert (
        str(result) == money_text(result) == ("0" if currency == "JPY" else "0." + "0" * minor_unit(currency))
    )


def test_money_text_of_a_negative_zero_without_currency():
    assert money_text(D("-0.000")) == "0.000"
    assert money_text(D("-0.0001"), "USD") == "0.00"
    assert money_text(D("-1.005"), "USD") == "-1.00"  # a real negative keeps its sign


def test_total_is_exact_at_the_pricing_precision():
    from outcomes.pricing.money import total

    assert total([]) == 0
    assert str(total([D("0.1"), D("0.2"), D("-0.05")])) == "0.25"
    many = [D("1E-40"), D(10) ** 9]  # 50 digits keep both
    assert total(many) - D(10) ** 9 == D("1E-40")


def test_quantum_is_the_smallest_amount_of_the_currency():
    from outcomes.pricing.money import quantum

    assert [quantum(c) for c in ("USD", "JPY", "KWD")] == [D("0.01"), D("1"), D("0.001")]
    assert [str(quantum(c)) for c in ("USD", "JPY", "KWD")] == ["0.01", "1", "0.001"]


def test_round_money_says_what_it_was_given():
    with pytest.raises(TypeError, match=r"money must be a Decimal, got float 0\.125"):
        round_money(0.125, "USD")  # type: ignore[arg-type]


def test_round_money_ignores_the_callers_decimal_context():
    from decimal import ROUND_DOWN, localcontext

    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 3, ROUND_DOWN
        assert round_money(D("12345.675"), "USD") == D("12345.68")  # 7 digits, half-even: not 1.23E+4
        assert round_money(D("0.125"), "USD") == D("0.12")
        assert round_money(D("0.135"), "USD") == D("0.14")
