"""Charge models: how a count of outcomes becomes an amount (lago's charge models, one small function each).

Every model has one signature, `(count, fee) -> TierResult` (the exact amount before the glide-path factor,
the breakdown an auditor reads, and the tier reached), and is registered by the name a contract's fee uses in
its details (`pricing`): `flat` (a `unit`), `graduated` and `volume` (`prices` with `tiers:`, each tier with
an optional `flat` fee) and `package` (a `package:`). A new model is one function under `@charge_model("name")`
plus the contract key that selects it (`model_of`). Lago's specs of the same models are the tests' cases
(tests/test_charge_models_lago.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from outcomes.contract.schema import OutcomeFee, VolumeFee
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


@charge_model("package")
def _package(count: int, fee: OutcomeFee) -> TierResult:
    assert fee.package is not None
    p = fee.package
    return tiers.package(count, p.size, p.price, p.free)


def model_of(fee: OutcomeFee | VolumeFee) -> str:
    """The charge model a fee names: `unit` is flat; `prices` are graduated unless `tiers: volume`; `package`
    (outcome fees only) is package."""
    given = [key for key in ("unit", "prices", "package") if getattr(fee, key, None) not in (None, [])]
    what = f"outcome fee for {fee.outcome!r}" if isinstance(fee, OutcomeFee) else "volume fee"
    if len(given) > 1:
        raise ValueError(f"{what} has {' and '.join(f'`{k}`' for k in given)}; give one")
    if "package" in given:
        return "package"
    if fee.prices:
        return fee.tiers or "graduated"
    if fee.unit is not None:
        return "flat"
    raise ValueError(f"{what} has none of `unit`, `prices` or `package`")


def price_count(fee: OutcomeFee | VolumeFee, count: int) -> tuple[str, TierResult]:
    """(charge model, result) for `count` units under the fee's prices, before the glide-path factor."""
    model = model_of(fee)
    return model, CHARGE_MODELS[model](count, fee)


def last_unit_price(fee: OutcomeFee, count: int) -> Decimal | None:
    """The unit price of the last of `count` units (at least one): one outcome more or less is worth this."""
    return price_count(fee, max(1, count))[1].last_unit
