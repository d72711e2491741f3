"""A priced line: one step of a period's total, with the arithmetic that produced it kept as evidence.

Like lago's charge models, every component returns an amount plus `details`: the inputs and intermediate
values a reader needs to redo the sum by hand. `amount` is rounded once (half-even, to the currency's minor
unit); `unrounded` is what the arithmetic gave before that rounding. Later steps only ever use `amount`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any

from outcomes.pricing.money import money_text, round_money, total

BASE_FEE = "base_fee"
OUTCOME_FEE = "outcome_fee"
VOLUME_FEE = "volume_fee"  # per contact or per handled minute (docs/contract.md, "Pricing models")
SEAT_FEE = "seat_fee"  # FTE / seats: agents x rate
VALUE_SHARE = "value_share"
MINIMUM = "minimum"
MAXIMUM = "maximum"
SERVICE_CREDIT = "service_credit"
EARN_BACK = "earn_back"
PRODUCTIVITY_SHARE = "productivity_share"
ADJUSTMENT = "adjustment"

#: Kinds in the order CONTRACT.md builds a period's total (steps 1-7).
KINDS: tuple[str, ...] = (
    BASE_FEE, SEAT_FEE, OUTCOME_FEE, VOLUME_FEE, VALUE_SHARE, MINIMUM, MAXIMUM,
    SERVICE_CREDIT, EARN_BACK, PRODUCTIVITY_SHARE, ADJUSTMENT,
)  # fmt: skip


@dataclass(frozen=True)
class Line:
    """One line of a period's invoice.

    - `amount`: rounded half-even to the currency's minor unit, once; the total is the sum of these.
    - `unrounded`: the exact result of the line's arithmetic before that rounding.
    - `quantity` / `unit_price`: for an outcome fee, the count and the price per unit. For a flat price the
      unit price is the contract's unit times the glide-path factor. For a tiered line (graduated or volume)
      it is the *average* price, `unrounded / quantity` (unrounded, so quantity x unit_price == unrounded;
      None when the quantity is 0); the per-tier breakdown is in `details["tiers"]`. For the base fee the
      quantity is 1 and the unit price is the unrounded amount (after glide factor and proration). Lines
      that are not "so many at so much" (value share, minimum, maximum, credits) leave both None.
    - `outcome` / `workflows`: what the line is about (an outcome fee's outcome and workflows, a service
      credit's workflow scope).
    - `details`: the evidence, as plain values (Decimal, int, str, date, lists, dicts); see `to_dict`.
    """

    kind: str
    label: str
    amount: Decimal
    unrounded: Decimal
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    outcome: str | None = None
    workflows: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown line kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        for name in ("amount", "unrounded"):
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"Line.{name} must be a Decimal, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: amounts as decimal strings, dates as ISO text, tuples as lists."""
        return {
            "kind": self.kind,
            "label": self.label,
            "amount": money_text(self.amount),
            "unrounded": money_text(self.unrounded),
            "quantity": money_text(self.quantity),
            "unit_price": money_text(self.unit_price),
            "outcome": self.outcome,
            "workflows": list(self.workflows),
            "details": jsonable(self.details),
        }


def make_line(kind: str, label: str, unrounded: Decimal, currency: str, **fields: Any) -> Line:
    """A Line whose amount is `unrounded` rounded half-even to the currency's minor unit, once."""
    return Line(
        kind=kind, label=label, amount=round_money(unrounded, currency), unrounded=unrounded, **fields
    )


def sum_amounts(lines: Iterable[Line]) -> Decimal:
    """The sum of the rounded amounts: the only sum any later step may use."""
    return total(line.amount for line in lines)


def fraction_text(f: Fraction | tuple[int, int]) -> str:
    """'17/31' (not reduced when given as a pair, so the day counts stay readable)."""
    if isinstance(f, tuple):
        return f"{f[0]}/{f[1]}"
    return f"{f.numerator}/{f.denominator}"


def jsonable(value: Any) -> Any:
    """Evidence as JSON values: Decimal -> '1.25', date -> '2026-10-01', Fraction -> '17/31'."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, Fraction):
        return fraction_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v) for v in items]
    if isinstance(value, float):
        raise TypeError(f"floats are not money: {value!r} in line details")
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)
