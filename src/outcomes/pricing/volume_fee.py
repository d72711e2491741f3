"""Volume fees: per handled contact or per handled minute, one line per `pricing.volume_fees` entry (step 1).

The quantity is one count for all the line's workflows and handlers: contacts closed in the period that were
handled (status not `abandoned`), or the sum of their handle times, each rounded up to the whole minute. It is
priced by the same charge models as an outcome fee (flat `unit`, graduated or volume tiers). Volume fees are
not on the glide path: its factors name the base fee and outcome fees only (docs/contract.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from outcomes.contract.schema import Contract, VolumeFee
from outcomes.pricing.charge_models import price_count
from outcomes.pricing.lines import VOLUME_FEE, Line, make_line
from outcomes.pricing.money import in_context

#: (basis, workflow, handler) -> quantity: handled contacts ("contact") or billed minutes ("handled_minute").
Volumes = Mapping[tuple[str, str, str], int]

BASIS_WORDS = {"contact": "handled contacts", "handled_minute": "handled minutes"}


def volume_label(fee: VolumeFee) -> str:
    scope = ", ".join(fee.workflows) if fee.workflows is not None else "all workflows"
    return f"{BASIS_WORDS[fee.basis]} ({scope})"


@in_context
def volume_fee_line(contract: Contract, fee: VolumeFee, volumes: Volumes) -> Line:
    workflows = contract.fee_workflows(fee)
    handlers = sorted(set(fee.handled_by))
    per_workflow: dict[str, int] = {}
    for wf in workflows:
        n = 0
        for h in handlers:
            q = volumes.get((fee.basis, wf, h), 0)
            if isinstance(q, bool) or not isinstance(q, int) or q < 0:
                raise ValueError(f"volume for ({fee.basis!r}, {wf!r}, {h!r}) must be a non-negative integer")
            n += q
        per_workflow[wf] = n
    count = sum(per_workflow.values())
    model, priced = price_count(fee, count)  # same price shape as an outcome fee
    unit_price = fee.unit if model == "flat" else (priced.amount / count if count else None)
    return make_line(
        VOLUME_FEE,
        volume_label(fee),
        priced.amount,
        contract.currency,
        quantity=Decimal(count),
        unit_price=unit_price,
        workflows=tuple(workflows),
        details={
            "basis": fee.basis,
            "count": count,
            "counts": per_workflow,
            "handled_by": handlers,
            "pricing": model,
            "tiers": priced.breakdown,
            "tier_reached": priced.reached,
            **({"unit": fee.unit} if model == "flat" else {}),
        },
    )


def volume_fee_lines(contract: Contract, volumes: Volumes) -> list[Line]:
    """One line per volume fee entry, in contract order (shown even when its quantity is 0)."""
    return [volume_fee_line(contract, fee, volumes) for fee in contract.pricing.volume_fees]
