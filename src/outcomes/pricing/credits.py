"""Service credits (step 4) and earn-backs (step 5), as pure functions of values.

Whether a measure met its target is decided by the caller (the service-levels code compares the unrounded
metric value with the target); here a `MeasureResult` says met / missed / no data, and this module turns the
misses into credits against the period base.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from outcomes.contract.schema import ServiceLevels, Target
from outcomes.pricing.lines import EARN_BACK, SERVICE_CREDIT, Line, make_line
from outcomes.pricing.money import in_context, round_money, total


@dataclass(frozen=True)
class MeasureResult:
    """One measure's outcome for a period. `index` is the measure's position in `service_levels.measures`."""

    index: int
    metric: str
    target: Target | str
    actual: Decimal | None  # None: the metric had no data
    met: bool | None  # None: no data (then `service_levels.no_data` decides)


def _credit_label(metric: str, workflows: Sequence[str] | None) -> str:
    scope = f" ({', '.join(workflows)})" if workflows else ""
    return f"service credit: {metric}{scope}"


@in_context
def service_credits(
    service_levels: ServiceLevels | None,
    results: Sequence[MeasureResult],
    period_base: Decimal,
    currency: str,
) -> list[Line]:
    """One negative line per missed measure, in the order of `service_levels.measures`.

    Each credit is weight x at_risk x period_base. When the credits together exceed the cap
    (at_risk x period_base) each is scaled by cap / sum, pro rata. A measure without data (`met` None) follows
    `service_levels.no_data`: `ignore` and `met` give no credit, `missed` a credit like any miss.

    Rounding: each credit is rounded half-even once. Should those rounded credits together exceed the cap
    rounded to the minor unit (possible by a few minor units when several credits round up, e.g. two
    credits of 0.035 against a cap of 0.07), the largest credit gives back the excess minor unit(s), as
    CONTRACT.md says (ties: the later measure; should it have fewer than that, the next largest gives the
    rest, so no credit turns into a charge); such a line has `details["cap_rounding"]`.
    A period base at or below 0 gives credits of 0 (a credit is never a charge).
    """
    if service_levels is None:
        return []
    measures = service_levels.measures
    at_risk = service_levels.at_risk
    base = max(period_base, Decimal(0))
    cap = at_risk * base
    seen: set[int] = set()
    missed: list[tuple[MeasureResult, str, Decimal]] = []
    for r in sorted(results, key=lambda r: r.index):
        if not 0 <= r.index < len(measures):
            raise ValueError(f"measure index {r.index} is out of range (the contract has {len(measures)})")
        if r.index in seen:
            raise ValueError(f"measure {r.index} ({r.metric}) has two results")
        seen.add(r.index)
        measure = measures[r.index]
        if measure.metric != r.metric:
            raise ValueError(f"measure {r.index} is {measure.metric!r}, the result says {r.metric!r}")
        if r.met is True:
            continue
        if r.met is None:
            if service_levels.no_data != "missed":
                continue
            status = "no_data_counted_as_missed"
        else:
            status = "missed"
        missed.append((r, status, measure.weight * at_risk * base))
    if not missed:
        return []

    uncapped = total(raw for _, _, raw in missed)
    scale = cap / uncapped if uncapped > cap else Decimal(1)
    exact = [raw * scale for _, _, raw in missed]
    rounded = [round_money(x, currency) for x in exact]
    adjust = [Decimal(0)] * len(missed)
    excess = max(total(rounded) - round_money(cap, currency), Decimal(0))
    # the largest credit gives back what rounding added beyond the cap (CONTRACT.md, step 4); only when it
    # has less than that (many credits of a fraction of a cent each) does the next largest give the rest
    for i in sorted(range(len(missed)), key=lambda i: (exact[i], i), reverse=True):
        adjust[i] = -min(excess, rounded[i])
        excess += adjust[i]

    lines = []
    for (r, status, raw), x, amount, adj in zip(missed, exact, rounded, adjust, strict=True):
        measure = measures[r.index]
        details: dict[str, Any] = {
            "measure": r.index,
            "metric": r.metric,
            "target": str(r.target),
            "actual": r.actual,
            "status": status,
            "weight": measure.weight,
            "pool": service_levels.pool,
            "at_risk": at_risk,
            "period_base": period_base,
            "cap": cap,
            "uncapped_credit": raw,
            "uncapped_total": uncapped,
            "scale": scale,
        }
        if adj:
            details["cap_rounding"] = adj
        line = make_line(
            SERVICE_CREDIT,
            _credit_label(r.metric, measure.workflows),
            -x,
            currency,
            workflows=tuple(measure.workflows or ()),
            details=details,
        )
        if adj:
            line = replace(line, amount=round_money(-(amount + adj), currency))  # 0.00, never -0.00
        lines.append(line)
    return lines


# --- earn-back --------------------------------------------------------------------------------

History = Sequence[bool | None]  # per period after the miss, in order: True met, False missed, None no data


@dataclass(frozen=True)
class EarnBackStatus:
    state: Literal["pending", "returned", "forfeited"]
    met_periods: int  # consecutive met periods counted (no-data periods pause, they do not reset)
    at: int | None = None  # index in the history where the credit was returned or forfeited


def earn_back_status(history: History, periods: int) -> EarnBackStatus:
    """Where a credit stands given its measure's history in the periods after the miss.

    The count starts with the first period after the miss; a period with no data pauses it; the credit is
    returned in the period that completes `periods` met periods running. A miss before that forfeits this
    credit's earn-back (that miss has a credit, and an earn-back chance, of its own).
    """
    if periods < 1:
        raise ValueError(f"earn_back periods must be at least 1, got {periods}")
    met = 0
    for i, h in enumerate(history):
        if h is None:
            continue
        if h is False:
            return EarnBackStatus("forfeited", met, i)
        met += 1
        if met == periods:
            return EarnBackStatus("returned", met, i)
    return EarnBackStatus("pending", met)


def _history_text(h: bool | None) -> str:
    return "no_data" if h is None else ("met" if h else "missed")


@in_context
def earn_back(
    credit_id: str,
    credit_amount: Decimal,
    history: History,
    periods: int,
    currency: str,
    *,
    metric: str | None = None,
    workflows: Sequence[str] = (),
) -> Line | None:
    """The earn-back line returning credit `credit_id` in the period being settled, else None.

    `history` holds the measure's result for every period after the miss up to and including the period
    being settled. A positive line, at the amount billed (`credit_amount`, the credit line's rounded amount;
    its sign is ignored), is returned only when the credit is earned back in that last period, so settling
    period after period returns each credit once.
    """
    status = earn_back_status(history, periods)
    if status.state != "returned" or status.at != len(history) - 1:
        return None
    amount = round_money(abs(credit_amount), currency)
    return make_line(
        EARN_BACK,
        f"earn-back of {credit_id}" + (f" ({metric})" if metric else ""),
        amount,
        currency,
        workflows=tuple(workflows),
        details={
            "credit_id": credit_id,
            "credit_amount": credit_amount,
            "metric": metric,
            "periods": periods,
            "history": [_history_text(h) for h in history],
            "met_periods": status.met_periods,
        },
    )
