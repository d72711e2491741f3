"""Tiered and flat prices for a count of outcomes (CONTRACT.md, "Pricing a period").

`up_to` is inclusive and tiers are sorted; the last tier is open (no `up_to`). `graduated` prices each unit
by the tier it falls in; `volume` prices all units at the tier the count reaches. Each function returns the
amount (exact, before any glide-path factor or rounding) and a breakdown of
{tier (1-based), from (first unit, 1-based), to (last unit, None = open), units, unit, amount}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from outcomes.pricing.money import in_context


@dataclass(frozen=True)
class TierPrice:
    up_to: int | None
    unit: Decimal


@dataclass(frozen=True)
class TierResult:
    amount: Decimal
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    reached: int | None = None  # 1-based tier the count reaches (volume) or ends in (graduated); None for 0

    @property
    def last_unit(self) -> Decimal | None:
        """The unit price of the tier the last unit is priced in (None for a count of 0)."""
        return self.breakdown[-1]["unit"] if self.breakdown else None


def _as_tier(t: Any) -> TierPrice:
    if isinstance(t, Mapping):
        up_to, unit = t.get("up_to"), t["unit"]
    else:
        up_to, unit = t.up_to, t.unit
    if not isinstance(unit, Decimal):
        raise TypeError(f"a tier's unit price must be a Decimal, got {unit!r}")
    return TierPrice(up_to, unit)


def normalise(prices: Sequence[Any]) -> list[TierPrice]:
    """Check the tiers: non-empty, `up_to` strictly increasing, only the last one open."""
    tiers = [_as_tier(t) for t in prices]
    if not tiers:
        raise ValueError("a tiered price needs at least one tier")
    previous = 0
    for i, t in enumerate(tiers, start=1):
        if t.up_to is None:
            if i != len(tiers):
                raise ValueError(f"tier {i} has no up_to but is not the last tier")
            continue
        if t.up_to <= previous:
            raise ValueError(f"tier {i}: up_to {t.up_to} must be greater than {previous}")
        previous = t.up_to
    return tiers


def _check_count(count: int, tiers: list[TierPrice]) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"a count must be a non-negative integer, got {count!r}")
    last = tiers[-1].up_to
    if last is not None and count > last:
        raise ValueError(
            f"count {count} exceeds the last tier (up_to {last}); "
            "the contract sets no price for the units above"
        )


@in_context
def graduated(count: int, prices: Sequence[Any]) -> TierResult:
    """Each unit priced by the tier it falls in (units 1..up_to of tier 1, up_to+1.. of tier 2, ...)."""
    tiers = normalise(prices)
    _check_count(count, tiers)
    amount = Decimal(0)
    breakdown: list[dict[str, Any]] = []
    reached = None
    start = 1
    for i, t in enumerate(tiers, start=1):
        if start > count:
            break
        end = count if t.up_to is None else min(t.up_to, count)
        units = end - start + 1
        part = t.unit * units
        amount += part
        breakdown.append(
            {"tier": i, "from": start, "to": t.up_to, "units": units, "unit": t.unit, "amount": part}
        )
        reached = i
        start = end + 1
    return TierResult(amount, breakdown, reached)


@in_context
def volume(count: int, prices: Sequence[Any]) -> TierResult:
    """All units priced at the tier the count reaches (the first whose up_to >= count, else the open tier)."""
    tiers = normalise(prices)
    _check_count(count, tiers)
    if count == 0:
        return TierResult(Decimal(0), [], None)
    start = 1
    for i, t in enumerate(tiers, start=1):
        if t.up_to is None or count <= t.up_to:
            amount = t.unit * count
            row = {"tier": i, "from": start, "to": t.up_to, "units": count, "unit": t.unit, "amount": amount}
            return TierResult(amount, [row], i)
        start = t.up_to + 1
    raise AssertionError("unreachable: _check_count guarantees a tier")  # pragma: no cover


@in_context
def flat(count: int, unit: Decimal) -> TierResult:
    """count x unit, as a single open tier."""
    if not isinstance(unit, Decimal):
        raise TypeError(f"a unit price must be a Decimal, got {unit!r}")
    _check_count(count, [TierPrice(None, unit)])
    amount = unit * count
    if count == 0:
        return TierResult(amount, [], None)
    return TierResult(
        amount, [{"tier": 1, "from": 1, "to": None, "units": count, "unit": unit, "amount": amount}], 1
    )
