"""Base fee: base_fee x glide-path base_fee factor x proration (step 1)."""

from __future__ import annotations

from decimal import Decimal

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.glide import Phase, phase_for
from outcomes.pricing.lines import BASE_FEE, Line, make_line
from outcomes.pricing.money import in_context
from outcomes.pricing.proration import Proration, proration


@in_context
def base_fee_line(
    contract: Contract,
    period: Period,
    *,
    phase: Phase | None = None,
    prorate: Proration | None = None,
) -> Line | None:
    """The period's base-fee line, or None when the contract has no `base_fee`.

    unrounded = base_fee x glide factor x term_days / period_days (one division, after the products).
    """
    base = contract.pricing.base_fee
    if base is None:
        return None
    phase = phase or phase_for(contract, period)
    prorate = prorate or proration(contract.term, period)
    unrounded = prorate.apply(base * phase.base_fee)
    return make_line(
        BASE_FEE,
        "base fee",
        unrounded,
        contract.currency,
        quantity=Decimal(1),
        unit_price=unrounded,
        details={
            "base_fee": base,
            **prorate.details(),
            **phase.details("base_fee"),
        },
    )
