"""Glide path: the phase in force at the later of the period's start and the term's start applies to the
whole period; its factors multiply the unrounded base-fee and outcome-fee amounts. No `glide_path`, or a
day before its first phase, means factors of 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.proration import effective_day

ONE = Decimal(1)


@dataclass(frozen=True)
class Phase:
    """The glide-path factors for a period; `from_` is None when no phase applies (factors of 1)."""

    from_: date | None
    base_fee: Decimal = ONE
    outcome_fees: Decimal = ONE
    on: date | None = None  # the day the phase was looked up for

    def details(self, factor: str) -> dict[str, Any]:
        return {
            "glide_factor": getattr(self, factor),
            "glide_from": self.from_,
        }


def phase_for(contract: Contract, period: Period) -> Phase:
    """The phase in force on max(period.start, term.start): the latest phase starting on or before it."""
    day = effective_day(contract.term, period)
    started = [p for p in contract.glide_path if p.from_ <= day]
    if not started:
        return Phase(None, on=day)
    phase = max(started, key=lambda p: p.from_)
    return Phase(phase.from_, phase.base_fee, phase.outcome_fees, on=day)
