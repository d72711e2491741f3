"""Charge models: how a count of outcomes becomes an amount (lago's charge models, one small function each).

Every model has one signature, `(count, fee) -> TierResult` (the exact amount before the glide-path factor,
the breakdown an auditor reads, and the tier reached), and is registered by the name a contract's fee uses in
its details (`pricing`): `flat` (a `unit`), `graduated` and `volume` (`prices` with `tiers:`). A new model is
one function under `@charge_model("name")` plus the contract key that selects it (`model_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from outcomes.contract.schema import OutcomeFee
from outcomes.pricing import tiers
from outcomes.pricing.tiers import TierResult

ChargeModel = Callable[[int, OutcomeFee], TierResult]

CHARGE_MODELS: dict[str, ChargeModel] = {}


def charge_model(name: str) -> Callable[[ChargeModel], ChargeModel]:
    """Register a charge model under `name` (the `pricing` a line's details show)."""

    def register(fn: ChargeModel) -> ChargeModel:
        if name in CHARGE_MODELS:
            raise ValueError(f"charge model {name!r} is registered twice")
        CHARGE_MODELS[name] = fn
        return fn

    return register


@charge_model("flat")
def _flat(count: int, fee: OutcomeFee) -> TierResult:
    assert fee.unit is not None
    return tiers.flat(count, fee.unit)


@charge_model("graduated")
def _graduated(count: int, fee: OutcomeFee) -> TierResult:
    return tiers.graduated(count, fee.prices)


@charge_model("volume")
def _volume(count: int, fee: OutcomeFee) -> TierResult:
    return tiers.volume(count, fee.prices)


def model_of(fee: OutcomeFee) -> str:
    """The charge model a fee names: `unit` is flat; `prices` are graduated unless `tiers: volume`."""
    if fee.prices and fee.unit is not None:
        raise ValueError(f"outcome fee for {fee.outcome!r} has both `prices` and `unit`; give one")
    if fee.prices:
        return fee.tiers or "graduated"
    if fee.unit is not None:
        return "flat"
    raise ValueError(f"outcome fee for {fee.outcome!r} has neither `prices` nor `unit`")


def price_count(fee: OutcomeFee, count: int) -> tuple[str, TierResult]:
    """(charge model, result) for `count` units under the fee's prices, before the glide-path factor."""
    model = model_of(fee)
    return model, CHARGE_MODELS[model](count, fee)


def last_unit_price(fee: OutcomeFee, count: int) -> Decimal | None:
    """The unit price of the last of `count` units (at least one): one outcome more or less is worth this."""
    return price_count(fee, max(1, count))[1].last_unit
