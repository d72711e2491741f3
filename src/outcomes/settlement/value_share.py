"""What a value share needs from the facts before it can be priced: the contract's lift gate
(`require_significant_lift`), measured with the metric library's lift estimates.

The gate decides with a one-sided test at the contract's level on the estimate `gate_estimate` picks (the
difference-in-differences whenever the baseline has data for both groups, unless the contract names a
`method`), resampling customers; its details carry the interval, the method, the customers per arm, the
minimum detectable effect and, for a decision on pilot vs control, the pre-period gap (docs/uplift.md)."""

from __future__ import annotations

from outcomes.contract.schema import Contract
from outcomes.metrics.lift import UpliftError, UpliftSpec, gate_estimate, measure_uplift
from outcomes.metrics.outcomes import Clocks
from outcomes.period import Period
from outcomes.pricing.value_share import LiftGate


def lift_gate(contract: Contract, period: Period, interactions, events, clocks: Clocks) -> LiftGate:
    """The contract's `require_significant_lift` measured for one period, as the pricing core wants it."""
    req = contract.pricing.value_share.require_significant_lift
    spec = UpliftSpec.of(req, contract, period)
    try:
        (m,) = measure_uplift(contract, interactions, events, clocks, spec, with_ols=False)
        e, said = gate_estimate(m, spec.method)
    except UpliftError as exc:  # e.g. settling the baseline period itself, a segment that selects nothing
        why = f"not measured: {exc}"
        return LiftGate(passed=False, verdict=why, details={"metric": req.metric, "verdict": why})
    level = f"{float(e.confidence) * 100:g}%"
    if e.shown:
        verdict = f"shown at {level} one-sided ({e.kind}): the lift is on the good side ({m.better} is better)"
    elif e.lift is None or e.too_few is not None:
        verdict = e.verdict
    else:
        verdict = f"not shown at {level} one-sided ({e.kind}): the lift may be 0 or unfavourable"
    by_group: dict[str, int] = {}
    for s in m.samples:
        if s.role == "period":
            by_group[s.group] = s.customers
    gap = next((x for x in m.estimates if x.kind == "pre_period_gap"), None)
    details = {
        "metric": m.metric,
        "better": m.better,
        "estimate": e.kind,
        "method": spec.method or "automatic",
        "test": f"one-sided at {level}: shown when the {level} one-sided bound is on the good side of 0",
        "pilot": spec.pilot.describe(),
        "control": spec.control.describe() if spec.control is not None else None,
        "baseline": spec.baseline.label if spec.baseline is not None else None,
        "lift": e.lift,
        "ci": None if e.ci is None else [_stat(e.ci[0]), _stat(e.ci[1])],
        "one_sided_bound": _stat(e.bound),
        "confidence": e.confidence,
        "p_value": _stat(e.p_value),
        "p_one_sided": _stat(e.p_one_sided),
        "shown": e.shown,
        "significant": e.significant,
        "favourable": e.favourable,
        "verdict": verdict,
        "two_sided_verdict": e.verdict,
        "interval_method": e.method,
        "customers_per_arm": by_group,
        "mde": _stat(e.mde(one_sided=True)),
        "power_note": e.power_note(one_sided=True),
        "pre_period_gap": None if gap is None or gap.lift is None else {
            "period": spec.baseline.label, "lift": gap.lift,
            "ci": None if gap.ci is None else [_stat(gap.ci[0]), _stat(gap.ci[1])],
            "favourable": gap.favourable,
        },
        "notes": said + list(m.notes),
        "resamples": spec.resamples,
        "seed": spec.seed,
        "samples": [
            {"group": s.group, "period": s.period, "value": s.value, "numerator": s.numerator,
             "denominator": s.denominator, "customers": s.customers}
            for s in m.samples
        ],
    }  # fmt: skip
    if said:
        verdict += "; " + "; ".join(said)
    return LiftGate(passed=e.shown, verdict=verdict, details=details)


def _stat(v: float | None) -> str | None:
    """A statistic as text with 6 decimals (line details hold no floats)."""
    return None if v is None else f"{v:.6f}"
