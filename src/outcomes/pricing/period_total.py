"""A period's priced lines and total, in CONTRACT.md's order.

`price_period` does steps 1-3 (base fee and outcome fees, value share, minimum / maximum: the period base).
`finish_period` is the seam for steps 4-7, which need more than one period's values: the settlement computes
service credits against `priced.period_base` (`credits.service_credits`), earn-backs (`credits.earn_back`),
the productivity share (`productivity.productivity_line`) and adjustments, and appends them here. The total is
always the sum of the rounded lines; below zero it is a credit note, shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.base_fee import base_fee_line
from outcomes.pricing.bounds import bounds_lines
from outcomes.pricing.glide import Phase, phase_for
from outcomes.pricing.lines import (
    ADJUSTMENT,
    BASE_FEE,
    EARN_BACK,
    MAXIMUM,
    MINIMUM,
    OUTCOME_FEE,
    PRODUCTIVITY_SHARE,
    SEAT_FEE,
    SERVICE_CREDIT,
    VALUE_SHARE,
    VOLUME_FEE,
    Line,
    jsonable,
    sum_amounts,
)
from outcomes.pricing.money import in_context, money_text
from outcomes.pricing.outcome_fee import outcome_fee_lines
from outcomes.pricing.proration import Proration, proration, term_overlaps
from outcomes.pricing.seats import seat_fee_line
from outcomes.pricing.value_share import LiftGate, value_share_line
from outcomes.pricing.volume_fee import Volumes, volume_fee_lines

_STEPS_1_TO_3 = frozenset({BASE_FEE, SEAT_FEE, OUTCOME_FEE, VOLUME_FEE, VALUE_SHARE, MINIMUM, MAXIMUM})


@dataclass(frozen=True)
class PricedPeriod:
    contract: str
    version: int
    period: Period
    currency: str
    lines: list[Line]
    subtotal: Decimal  # sum of the rounded lines of steps 1-2 (fees and value share)
    period_base: Decimal  # subtotal after minimum / maximum (step 3): what service credits are computed on
    total: Decimal  # sum of all the rounded lines; negative = credit note
    proration: Proration
    phase: Phase
    finished: bool = False  # True once finish_period has appended steps 4-7
    notes: list[str] = field(default_factory=list)

    @property
    def credit_note(self) -> bool:
        return self.total < 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "version": self.version,
            "period": self.period.label,
            "currency": self.currency,
            "lines": [line.to_dict() for line in self.lines],
            "subtotal": money_text(self.subtotal),
            "period_base": money_text(self.period_base),
            "total": money_text(self.total),
            "proration": self.proration.text,
            "glide_from": jsonable(self.phase.from_),
            "finished": self.finished,
            "notes": list(self.notes),
        }


def _unpriced_notes(contract: Contract, counts: Mapping[tuple[str, str], int]) -> list[str]:
    covered = {
        (fee.outcome, wf) for fee in contract.pricing.outcome_fees for wf in contract.fee_workflows(fee)
    }
    return [
        f"{n} {outcome} in {workflow} not priced: no outcome fee covers them"
        for (outcome, workflow), n in sorted(counts.items())
        if n and (outcome, workflow) not in covered
    ]


@in_context
def price_period(
    contract: Contract,
    period: Period,
    counts: Mapping[tuple[str, str], int],
    *,
    value: Decimal | None = None,
    lift: LiftGate | None = None,
    volumes: Volumes | None = None,
    agents: int | None = None,
    staffing: Mapping[str, Any] | None = None,
) -> PricedPeriod:
    """Steps 1-3 of a period: base fee, outcome fees (contract order), value share, minimum / maximum.

    `counts`: (outcome name, workflow name) -> counted outcomes in the period. `value`: the value-share
    metric's value for the period (ignored without `pricing.value_share`). `lift`: the measured lift when the
    value share requires one (`value_share.LiftGate`). `volumes`: (basis, workflow, handler) -> handled
    contacts or billed minutes, for `volume_fees`. `agents`: the staffed agents for `seats: {agents:
    from_data}` (`staffing`: how they were staffed, kept in the line's details). Counts that no fee line covers
    are not priced and are listed in `notes`.
    """
    if period.kind != contract.period:
        raise ValueError(f"contract {contract.contract} settles by {contract.period}, not by {period.kind}")
    if not term_overlaps(contract.term, period):
        raise ValueError(
            f"period {period.label} is outside the term {contract.term.start} to {contract.term.end}"
        )
    phase = phase_for(contract, period)
    prorate = proration(contract.term, period)

    lines: list[Line] = []
    base = base_fee_line(contract, period, phase=phase, prorate=prorate)
    if base is not None:
        lines.append(base)
    seats = seat_fee_line(
        contract, period, agents, phase=phase, prorate=prorate, staffing=dict(staffing or {})
    )
    if seats is not None:
        lines.append(seats)
    lines.extend(outcome_fee_lines(contract, period, counts, phase=phase))
    lines.extend(volume_fee_lines(contract, volumes or {}))
    share = value_share_line(contract, period, value, prorate=prorate, lift=lift)
    if share is not None:
        lines.append(share)
    subtotal = sum_amounts(lines)
    lines.extend(bounds_lines(contract, period, lines, prorate=prorate))
    period_base = sum_amounts(lines)
    return PricedPeriod(
        contract=contract.contract,
        version=contract.version,
        period=period,
        currency=contract.currency,
        lines=lines,
        subtotal=subtotal,
        period_base=period_base,
        total=period_base,
        proration=prorate,
        phase=phase,
        notes=_unpriced_notes(contract, counts),
    )


def _check_kind(lines: Iterable[Line], kind: str, step: str) -> list[Line]:
    out = list(lines)
    for line in out:
        if line.kind != kind:
            raise ValueError(f"{step} must be {kind!r} lines, got {line.kind!r} ({line.label})")
    return out


@in_context
def finish_period(
    priced: PricedPeriod,
    *,
    credits: Iterable[Line] = (),
    earn_backs: Iterable[Line] = (),
    productivity: Line | None = None,
    adjustments: Iterable[Line] = (),
) -> PricedPeriod:
    """Append steps 4-7 (service credits, earn-backs, productivity share, adjustments) in that order.

    Each group must hold lines of its own kind, except adjustments (any kind: an adjustment may restate an
    earlier period's lines; by convention kind 'adjustment'). `period_base` and `subtotal` do not change;
    `total` is the sum of every rounded line and may be negative (a credit note). A period is finished once.
    """
    if priced.finished or any(line.kind not in _STEPS_1_TO_3 for line in priced.lines):
        raise ValueError(f"period {priced.period.label} already has steps 4-7; finish it once")
    added = [
        *_check_kind(credits, SERVICE_CREDIT, "credits"),
        *_check_kind(earn_backs, EARN_BACK, "earn_backs"),
        *(
            _check_kind([productivity], PRODUCTIVITY_SHARE, "productivity")
            if productivity is not None
            else []
        ),
        *adjustments,
    ]
    lines = [*priced.lines, *added]
    return replace(priced, lines=lines, total=sum_amounts(lines), finished=True)


__all__ = ["ADJUSTMENT", "PricedPeriod", "finish_period", "price_period"]
