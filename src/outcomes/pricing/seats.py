"""Seats (FTE pricing): agents x rate per period, x the glide-path base_fee factor, x proration (step 1).

A seat is capacity bought for the whole period, like the base fee, so it follows the base fee's glide factor
and proration. How many agents: the contract's number, or (`agents: from_data`) the number the settlement
staffed from the period's demand (`settlement/volumes.py`), passed in here as `agents`.
"""

from __future__ import annotations

from decimal import Decimal

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.glide import Phase, phase_for
from outcomes.pricing.lines import SEAT_FEE, Line, make_line
from outcomes.pricing.money import in_context
from outcomes.pricing.proration import Proration, proration


@in_context
def seat_fee_line(
    contract: Contract,
    period: Period,
    agents: int | None,
    *,
    phase: Phase | None = None,
    prorate: Proration | None = None,
    staffing: dict | None = None,
) -> Line | None:
    """The seat line, or None without `pricing.seats`. `agents`: the staffed number when the contract says
    `from_data` (ignored otherwise). unrounded = agents x rate x glide factor x term_days / period_days."""
    seats = contract.pricing.seats
    if seats is None:
        return None
    given = isinstance(seats.agents, int)
    n = seats.agents if isinstance(seats.agents, int) else agents
    if n is None or isinstance(n, bool) or n < 0:
        raise ValueError("seats with `agents: from_data` need the staffed number of agents")
    phase = phase or phase_for(contract, period)
    prorate = prorate or proration(contract.term, period)
    unit = prorate.apply(seats.rate * phase.base_fee)
    unrounded = unit * n
    details = {
        "agents": n,
        "agents_from": "contract" if given else "data",
        "rate": seats.rate,
        **prorate.details(),
        **phase.details("base_fee"),
    }
    if staffing:
        details["staffing"] = staffing
    return make_line(
        SEAT_FEE,
        f"seats ({n} agents)",
        unrounded,
        contract.currency,
        quantity=Decimal(n),
        unit_price=unit,
        details=details,
    )
