"""What a value share needs from the facts before it can be priced: the contract's lift gate
(`require_significant_lift`), measured with the metric library's lift estimates."""

from __future__ import annotations

from outcomes.contract.schema import Contract
from outcomes.metrics.lift import UpliftError, UpliftSpec, measure_uplift
from outcomes.metrics.outcomes import Clocks
from outcomes.period import Period
from outcomes.pricing.value_share import LiftGate


def lift_gate(contract: Contract, period: Period, interactions, events, clocks: Clocks) -> LiftGate:
    """The contract's `require_significant_lift` measured for one period, as the pricing core wants it."""
    req = contract.pricing.value_share.require_significant_lift
    spec = UpliftSpec.of(req, contract, period)
    try:
        (m,) = measure_uplift(contract, interactions, events, clocks, spec, with_ols=False)
    except UpliftError as exc:  # e.g. settling the baseline period itself: nothing to compare
        why = f"not measured: {exc}"
        return LiftGate(passed=False, verdict=why, details={"metric": req.metric, "verdict": why})
    e = m.estimate()
    details = {
        "metric": m.metric,
        "better": m.better,
        "estimate": e.kind,
        "pilot": spec.pilot.describe(),
        "control": spec.control.describe() if spec.control is not None else None,
        "baseline": spec.baseline.label if spec.baseline is not None else None,
        "lift": e.lift,
        "ci": None if e.ci is None else [_stat(e.ci[0]), _stat(e.ci[1])],
        "confidence": e.confidence,
        "p_value": _stat(e.p_value),
        "significant": e.significant,
        "favourable": e.favourable,
        "verdict": e.verdict,
        "method": e.method,
        "resamples": spec.resamples,
        "seed": spec.seed,
        "samples": [
            {"group": s.group, "period": s.period, "value": s.value, "numerator": s.numerator,
             "denominator": s.denominator, "units": s.units, "unit": s.unit}
            for s in m.samples
        ],  # fmt: skip
    }
    return LiftGate(passed=e.favourable, verdict=e.verdict, details=details)


def _stat(v: float | None) -> str | None:
    """A statistic as text with 6 decimals (line details hold no floats)."""
    return None if v is None else f"{v:.6f}"
