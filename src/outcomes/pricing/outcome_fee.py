"""Outcome fees: one line per `pricing.outcome_fees` entry (step 1).

The count is one count for all the line's workflows (`workflows` None: every contract workflow), priced by
its tiers (graduated or volume) or its flat `unit`, then multiplied by the glide-path outcome_fees factor.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from outcomes.contract.schema import Contract, OutcomeFee
from outcomes.period import Period
from outcomes.pricing.charge_models import price_count
from outcomes.pricing.glide import Phase, phase_for
from outcomes.pricing.lines import OUTCOME_FEE, Line, make_line
from outcomes.pricing.money import in_context

Counts = Mapping[tuple[str, str], int]


def fee_label(contract: Contract, fee: OutcomeFee) -> str:
    """'resolution (card_disputes)', 'resolution (tech, general)', 'containment (all workflows)'."""
    scope = ", ".join(fee.workflows) if fee.workflows is not None else "all workflows"
    return f"{fee.outcome} ({scope})"


@in_context
def outcome_fee_line(contract: Contract, fee: OutcomeFee, counts: Counts, phase: Phase) -> Line:
    """The line of one outcome fee entry for the period's `counts` ((outcome, workflow) -> count)."""
    workflows = contract.fee_workflows(fee)
    per_workflow: dict[str, int] = {}
    for wf in workflows:
        n = counts.get((fee.outcome, wf), 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"count for ({fee.outcome!r}, {wf!r}) must be a non-negative integer, got {n!r}")
        per_workflow[wf] = n
    count = sum(per_workflow.values())
    model, priced = price_count(fee, count)
    factor = phase.outcome_fees
    unrounded = priced.amount * factor
    if model == "flat":
        assert fee.unit is not None
        unit_price: Decimal | None = fee.unit * factor
    else:
        unit_price = unrounded / count if count else None
    details = {
        "count": count,
        "counts": per_workflow,
        "pricing": model,
        "tiers": priced.breakdown,
        "tier_reached": priced.reached,
        "amount_before_glide": priced.amount,
        **phase.details("outcome_fees"),
    }
    if model == "flat":
        details["unit"] = fee.unit
    return make_line(
        OUTCOME_FEE,
        fee_label(contract, fee),
        unrounded,
        contract.currency,
        quantity=Decimal(count),
        unit_price=unit_price,
        outcome=fee.outcome,
        workflows=tuple(workflows),
        details=details,
    )


def outcome_fee_lines(
    contract: Contract, period: Period, counts: Counts, *, phase: Phase | None = None
) -> list[Line]:
    """One line per outcome fee entry, in contract order (a line is shown even when its count is 0)."""
    phase = phase or phase_for(contract, period)
    return [outcome_fee_line(contract, fee, counts, phase) for fee in contract.pricing.outcome_fees]
