"""Tiered, package and flat prices for a count of outcomes (CONTRACT.md, "Pricing a period").

`up_to` is inclusive and tiers are sorted; the last tier is open (no `up_to`). `graduated` prices each unit
by the tier it falls in; `volume` prices all units at the tier the count reaches. A tier may carry a `flat`
fee for being reached (lago's flat amount): graduated charges the flat fee of every tier the count reaches,
volume only that of the tier it reaches. A count of 0 reaches no tier, so it charges nothing (no flat fee
either). `package` prices whole packages of `size` units after `free` units (a started package is paid in
full). Each function returns the amount (exact, before any glide-path factor or rounding) and a breakdown of
{tier (1-based), from (first unit, 1-based), to (last unit, None = open), units, unit, amount}, with `flat`
in the rows of a tier that has a flat fee (`amount` includes it) and the package's terms in a package's row.
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
    flat: Decimal | None = None


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
        up_to, unit, flat = t.get("up_to"), t["unit"], t.get("flat")
    else:
        up_to, unit, flat = t.up_to, t.unit, getattr(t, "flat", None)
    if not isinstance(unit, Decimal):
        raise TypeError(f"a tier's unit price must be a Decimal, got {unit!r}")
    if flat is not None and not isinstance(flat, Decimal):
        raise TypeError(f"a tier's flat fee must be a Decimal, got {flat!r}")
    return TierPrice(up_to, unit, flat)


def _row(i: int, start: int, t: TierPrice, units: int) -> dict[str, Any]:
    """One breakdown row: the units priced in tier `i`, plus its flat fee when it has one."""
    amount = t.unit * units
    row: dict[str, Any] = {"tier": i, "from": start, "to": t.up_to, "units": units, "unit": t.unit}
    if t.flat is not None:
        row["flat"] = t.flat
        amount += t.flat
    row["amount"] = amount
    return row


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
        row = _row(i, start, t, end - start + 1)
        amount += row["amount"]
        breakdown.append(row)
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
            row = _row(i, start, t, count)
            return TierResult(row["amount"], [row], i)
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


@in_context
def package(count: int, size: int, price: Decimal, free: int = 0) -> TierResult:
    """Whole packages of `size` units at `price` each, for the units above the first `free`: a started package
    is paid in full (lago's package charge model: 121 units in packages of 10 at 100 are 13 packages, 1,300;
    with 10 free, 12 packages, 1,200)."""
    if not isinstance(price, Decimal):
        raise TypeError(f"a package price must be a Decimal, got {price!r}")
    for name, value, least in (("size", size, 1), ("free", free, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"a package's {name} must be an integer >= {least}, got {value!r}")
    _check_count(count, [TierPrice(None, price)])
    if count == 0:
        return TierResult(Decimal(0), [], None)
    billed = max(0, count - free)
    packages = -(-billed // size)  # ceiling division: a started package is a whole one
    amount = price * packages
    row = {
        "tier": 1,
        "from": 1,
        "to": None,
        "units": count,
        # the price of one unit more inside a package, on average: what one outcome more or less is worth
        "unit": price / size,
        "amount": amount,
        "package_size": size,
        "package_price": price,
        "free": free,
        "billed_units": billed,
        "packages": packages,
    }
    return TierResult(amount, [row], 1)
