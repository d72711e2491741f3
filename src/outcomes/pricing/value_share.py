"""Value share: share x (value - baseline x proration) when positive, else a 0 line (step 2)."""

from __future__ import annotations

from decimal import Decimal

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.lines import VALUE_SHARE, Line, make_line
from outcomes.pricing.money import in_context
from outcomes.pricing.proration import Proration, proration


@in_context
def value_share_line(
    contract: Contract, period: Period, value: Decimal | None, *, prorate: Proration | None = None
) -> Line | None:
    """The value-share line, or None when the contract has no `pricing.value_share`.

    The line is always shown when the contract has a value share: at 0 with `details["status"]` saying
    `below_baseline` (value at or under the prorated baseline) or `no_value` (value is None: the metric had
    nothing to measure this period).
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
        else:
            unrounded = Decimal(0)
            details["status"] = "below_baseline"
    return make_line(VALUE_SHARE, f"value share ({vs.metric})", unrounded, contract.currency, details=details)
