"""Value share: share x (value - baseline x proration) when positive, else a 0 line (step 2).

With `require_significant_lift` the share is paid only when the settlement measured a significant,
favourable lift (`LiftGate`, from `outcomes.settlement.value_share.lift_gate`); otherwise the line is 0 and says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.lines import VALUE_SHARE, Line, jsonable, make_line
from outcomes.pricing.money import in_context, round_money
from outcomes.pricing.proration import Proration, proration


@dataclass(frozen=True)
class LiftGate:
    """A period's answer to `require_significant_lift`: `passed` when the lift is significant at the
    contract's confidence and in the metric's good direction; `details` (JSON-able text and numbers) say
    what was measured; `verdict` says it plainly."""

    passed: bool
    verdict: str
    details: dict[str, Any] = field(default_factory=dict)


@in_context
def value_share_line(
    contract: Contract,
    period: Period,
    value: Decimal | None,
    *,
    prorate: Proration | None = None,
    lift: LiftGate | None = None,
) -> Line | None:
    """The value-share line, or None when the contract has no `pricing.value_share`.

    The line is always shown when the contract has a value share: at 0 with `details["status"]` saying
    `below_baseline` (value at or under the prorated baseline) or `no_value` (value is None: the metric had
    nothing to measure this period). When the contract sets `require_significant_lift`, `details["lift"]`
    holds the measured lift, and a share above the baseline is 0 with status `lift_not_shown` unless
    `lift.passed` (no `lift` given counts as not shown); `details["withheld"]` is the amount not billed.
    Without the option, `lift` is ignored and the line is exactly as before.
    """
    vs = contract.pricing.value_share
    if vs is None:
        return None
    if value is not None and not isinstance(value, Decimal):
        raise TypeError(f"value must be a Decimal, got {value!r}")
    prorate = prorate or proration(contract.term, period)
    baseline = prorate.apply(vs.baseline)
    details: dict = {
        "metric": vs.metric,
        "value": value,
        "share": vs.share,
        "baseline": vs.baseline,
        **prorate.details(),
        "prorated_baseline": baseline,
    }
    if value is None:
        unrounded = Decimal(0)
        details["status"] = "no_value"
    else:
        excess = value - baseline
        details["excess"] = excess
        if excess > 0:
            unrounded = vs.share * excess
            details["status"] = "above_baseline"
            if vs.require_significant_lift is not None and (lift is None or not lift.passed):
                details["withheld"] = round_money(unrounded, contract.currency)
                details["status"] = "lift_not_shown"
                unrounded = Decimal(0)
        else:
            unrounded = Decimal(0)
            details["status"] = "below_baseline"
    if vs.require_significant_lift is not None:
        details["lift"] = lift.details if lift is not None else {"verdict": "not measured"}
        details["lift_verdict"] = lift.verdict if lift is not None else "not measured"
    return make_line(VALUE_SHARE, f"value share ({vs.metric})", unrounded, contract.currency, details=details)


def lift_notices(lines: Iterable[Line]) -> list[dict[str, Any]]:
    """A notice for a value share withheld because the lift it requires was not shown."""
    out = []
    for ln in lines:
        if ln.kind == VALUE_SHARE and ln.details.get("status") == "lift_not_shown":
            out.append(
                {
                    "code": "value_share_withheld",
                    "message": f"value share of {ln.details['withheld']} not billed: the contract requires a "
                    f"significant, favourable lift of {ln.details['lift'].get('metric')}, and the measured "
                    f"one is {ln.details['lift_verdict']}",
                    "lift": jsonable(ln.details["lift"]),
                }
            )
    return out
