"""Money: Decimal only, rounded half-even to the currency's minor unit, once per line.

Every pricing function computes in `CONTEXT` (50 significant digits, half-even), so a result never depends on
the caller's thread-local decimal context. Unrounded amounts keep that precision; only `round_money` rounds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ParamSpec, TypeVar

CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


P = ParamSpec("P")
R = TypeVar("R")


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit (ISO 4217): JPY 0, USD 2, KWD 3; 2 when unknown.

    The table is the one contracts are validated against (`outcomes.contract.currency`), so a contract's
    amounts and its rounding agree; 2 serves codes outside it (a contract registered before currencies were
    checked)."""
    from outcomes.contract.currency import minor_unit as iso_minor_unit

    places = iso_minor_unit(currency.upper())
    return 2 if places is None else places


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-even to the currency's minor unit (0.125 -> 0.12, 0.135 -> 0.14). Never returns -0."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, got {type(amount).__name__} {amount!r}")
    rounded = amount.quantize(quantum(currency), context=CONTEXT)  # CONTEXT rounds half-even
    return rounded.copy_abs() if rounded.is_zero() else rounded


def money_text(d: Decimal | None, currency: str | None = None) -> str | None:
    """A decimal as plain text ('2030.00', never exponent notation or '-0.00'); None stays None.

    With a currency the amount is first rounded to its minor unit.
    """
    if d is None:
        return None
    if currency is not None:
        d = round_money(d, currency)
    if d.is_zero():
        d = d.copy_abs()
    return format(d, "f")


def total(amounts: Iterable[Decimal]) -> Decimal:
    """Exact sum of Decimals (Decimal('0') for none)."""
    result = Decimal(0)
    for a in amounts:
        result = CONTEXT.add(result, a)
    return result


def in_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` in the pricing decimal context, whatever the caller's context is."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(CONTEXT):
            return fn(*args, **kwargs)

    return wrapper
