"""Measured uplift: a pilot against a control group and/or a baseline period (docs/uplift.md).

The statistics are pure functions of small per-unit arrays (`Sample`): each unit (a customer for save and
churn rates, a contact for CSAT and FCR) contributes a numerator and a denominator, so the point value of a
sample is exactly the metric library's fraction. Intervals are percentile bootstraps with a fixed seed:

- a *customer* sample is resampled as whole customers: the distinct (numerator, denominator) pairs are drawn
  with a multinomial over their frequencies, which is the same as drawing N customers with replacement;
- a *contact* sample of 0/1 outcomes is resampled as contacts: k successes out of n redrawn is Binomial(n, k/n).

With both a control and a baseline the headline estimate is the difference-in-differences
(pilot now - pilot baseline) - (control now - control baseline), bootstrapped the same way, and also fitted by
weighted least squares with a group x period interaction and cluster-robust (CR1) errors by customer
(statsmodels). `measure_uplift` is the I/O: it runs the `segments.unit_counts` query on the facts store.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from outcomes.contract.schema import Contract, LiftRequirement
from outcomes.errors import OutcomesError
from outcomes.metrics.outcomes import Clocks
from outcomes.metrics.scope import Window
from outcomes.metrics.segments import UPLIFT_METRICS, Segment, UnitCounts, check_segment, unit_counts
from outcomes.period import Period

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = Decimal("0.95")
#: Below this many units in a sample, the result carries a note that the interval is rough.
FEW_UNITS = 30
#: Below this many units in any sample of an estimate, it is never called significant: a bootstrap of a
#: handful of units can give a degenerate interval (1 saved customer against 1 churned one is [1, 1]).
MIN_UNITS = 10

# Each sample's draws come from their own seeded stream, keyed by its role, so adding a control or a baseline
# never changes the draws of the others.
_ROLES = {("pilot", "period"): 1, ("pilot", "baseline"): 2, ("control", "period"): 3, ("control", "baseline"): 4}


class UpliftError(OutcomesError):
    """An uplift that cannot be estimated as asked: the message says what to change."""

    code = "uplift"


# ------------------------------------------------------------------------------------------ the samples


@dataclass(frozen=True)
class Sample:
    """One group in one period: per cluster (customer, or a contact without customer) num and den.

    `unit` is what the bootstrap resamples: "customer" (each cluster is one unit) or "contact" (each of
    the den contacts is a unit with outcome 0/1). `pending` counts what is not observed yet (docs/uplift.md).
    """

    group: str
    role: str  # "period" | "baseline"
    period: str
    unit: str
    clusters: tuple[str, ...]
    num: np.ndarray
    den: np.ndarray
    pending: int = 0

    @classmethod
    def of(cls, counts: Sequence[tuple[str, int, int]], *, group: str, role: str, period: str, unit: str,
           pending: int = 0) -> Sample:  # fmt: skip
        """From (cluster, num, den) triples; clusters with den 0 are not in the metric's population."""
        kept = sorted((c, n, d) for c, n, d in counts if d > 0)
        return cls(
            group, role, period, unit,
            tuple(c for c, _, _ in kept),
            np.array([n for _, n, _ in kept], dtype=np.int64),
            np.array([d for _, _, d in kept], dtype=np.int64),
            pending,
        )  # fmt: skip

    @property
    def numerator(self) -> int:
        return int(self.num.sum())

    @property
    def denominator(self) -> int:
        return int(self.den.sum())

    @property
    def units(self) -> int:
        """How many units the bootstrap resamples (customers or contacts)."""
        return len(self.clusters) if self.unit == "customer" else self.denominator

    @property
    def value(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "role": self.role,
            "period": self.period,
            "value": _frac_text(self.value),
            "value_decimal": _round(self.value),
            "numerator": self.numerator,
            "denominator": self.denominator,
            "units": self.units,
            "unit": self.unit,
            "customers": len([c for c in self.clusters if c.startswith("c:")]),
            "pending": self.pending,
        }


def bootstrap(sample: Sample, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """`resamples` bootstrap values of the sample's ratio (sum num / sum den over resampled units)."""
    if sample.denominator == 0:
        raise ValueError("an empty sample cannot be resampled")
    if sample.unit == "contact":
        n, k = sample.denominator, sample.numerator
        return rng.binomial(n, k / n, size=resamples) / n
    pairs, freq = np.unique(np.stack([sample.num, sample.den], axis=1), axis=0, return_counts=True)
    draws = rng.multinomial(len(sample.clusters), freq / freq.sum(), size=resamples)
    return (draws @ pairs[:, 0]) / (draws @ pairs[:, 1])


# ---------------------------------------------------------------------------------------- the estimates


@dataclass(frozen=True)
class Estimate:
    """One lift: point (exact), relative change, interval, p-value and the plain verdict."""

    kind: str  # pilot_vs_control | pilot_vs_baseline | control_vs_baseline | difference_in_differences
    method: str
    lift: Fraction | None
    reference: Fraction | None  # what the pilot is compared with (the counterfactual value)
    ci: tuple[float, float] | None
    p_value: float | None
    confidence: Decimal
    better: str  # higher | lower
    why_none: str | None = None
    ols: dict[str, Any] | None = None
    too_few: str | None = None  # set when a sample has fewer than MIN_UNITS units

    @classmethod
    def checked(cls, samples: Sequence[Sample], *args: Any, **kw: Any) -> Estimate:
        small = [f"{s.units} {s.unit}s in {s.group} {s.period}" for s in samples if 0 < s.units < MIN_UNITS]
        return cls(*args, **kw, too_few="; ".join(small) or None)

    @property
    def relative(self) -> Fraction | None:
        if self.lift is None or not self.reference:
            return None
        return self.lift / self.reference

    @property
    def significant(self) -> bool:
        return self.ci is not None and self.too_few is None and (self.ci[0] > 0 or self.ci[1] < 0)

    @property
    def favourable(self) -> bool:
        """Significant and in the metric's good direction (up for rates, down for churn)."""
        if not self.significant:
            return False
        return self.ci[0] > 0 if self.better == "higher" else self.ci[1] < 0

    @property
    def verdict(self) -> str:
        level = f"{float(self.confidence) * 100:g}%"
        if self.lift is None:
            return f"no data: {self.why_none}"
        if self.ci is None:
            return f"no interval: {self.why_none}"
        if self.too_few is not None:
            return f"not significant at {level}: too few units to tell ({self.too_few}; at least {MIN_UNITS} each)"
        if not self.significant:
            return f"not significant at {level}: the interval includes 0"
        side = "favourable" if self.favourable else "unfavourable"
        return f"significant at {level}: the interval excludes 0 ({side}, {self.better} is better)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "method": self.method,
            "lift": _frac_text(self.lift),
            "lift_decimal": _round(self.lift),
            "reference": _round(self.reference),
            "relative": _round(self.relative),
            "ci": None if self.ci is None else [_round(self.ci[0]), _round(self.ci[1])],
            "confidence": format(self.confidence, "f"),
            "p_value": _round(self.p_value),
            "significant": self.significant,
            "favourable": self.favourable,
            "verdict": self.verdict,
            **({"ols": self.ols} if self.ols is not None else {}),
        }


def percentile_interval(draws: np.ndarray, confidence: Decimal) -> tuple[float, float]:
    a = (1 - float(confidence)) / 2
    lo, hi = np.quantile(draws, [a, 1 - a])
    return float(lo), float(hi)


def bootstrap_p_value(draws: np.ndarray) -> float:
    """Two-sided: twice the smaller share of resampled lifts on either side of 0 (at most 1)."""
    return float(min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0))))


def _rng(seed: int, metric: str, group: str, role: str) -> np.random.Generator:
    key = [seed, zlib.crc32(metric.encode()), _ROLES[(group, role)]]
    return np.random.default_rng(np.random.SeedSequence(key))


def _method(unit: str, resamples: int) -> str:
    return f"percentile bootstrap, {resamples} resamples of {unit}s"


def _empty_why(samples: Sequence[Sample], metric: str) -> str:
    empty = [f"{s.group} {s.period}" for s in samples if s.denominator == 0]
    return f"{metric} is undefined (empty denominator) for " + ", ".join(empty)


def compare(
    pilot: Sample, reference: Sample, kind: str, metric: str, *, confidence: Decimal, resamples: int, seed: int
) -> Estimate:
    """pilot - reference, with a bootstrap interval (the two samples resampled independently)."""
    better = UPLIFT_METRICS[metric][1]
    method = _method(pilot.unit, resamples)
    if pilot.value is None or reference.value is None:
        return Estimate(kind, method, None, reference.value, None, None, confidence, better,
                        _empty_why([pilot, reference], metric))  # fmt: skip
    d = bootstrap(pilot, _rng(seed, metric, pilot.group, pilot.role), resamples) - bootstrap(
        reference, _rng(seed, metric, reference.group, reference.role), resamples
    )
    return Estimate.checked(
        [pilot, reference], kind, method, pilot.value - reference.value, reference.value,
        percentile_interval(d, confidence), bootstrap_p_value(d), confidence, better,
    )  # fmt: skip


def difference_in_differences(
    pilot: Sample,
    pilot_base: Sample,
    control: Sample,
    control_base: Sample,
    metric: str,
    *,
    confidence: Decimal,
    resamples: int,
    seed: int,
    with_ols: bool = True,
) -> Estimate:
    """(pilot - pilot_base) - (control - control_base): bootstrap interval, and the OLS fit beside it (a check
    for people to read: `with_ols=False` skips it where nobody reads it, in a settlement's lift gate)."""
    better = UPLIFT_METRICS[metric][1]
    four = [pilot, pilot_base, control, control_base]
    method = _method(pilot.unit, resamples) + " (four samples)"
    if any(s.value is None for s in four):
        return Estimate("difference_in_differences", method, None, None, None, None, confidence, better,
                        _empty_why(four, metric))  # fmt: skip
    point = (pilot.value - pilot_base.value) - (control.value - control_base.value)
    counterfactual = pilot_base.value + (control.value - control_base.value)
    boots = [bootstrap(s, _rng(seed, metric, s.group, s.role), resamples) for s in four]
    d = (boots[0] - boots[1]) - (boots[2] - boots[3])
    return Estimate.checked(
        four, "difference_in_differences", method, point, counterfactual,
        percentile_interval(d, confidence), bootstrap_p_value(d), confidence, better,
        ols=ols_did(four, confidence) if with_ols else None,
    )  # fmt: skip


def ols_did(four: Sequence[Sample], confidence: Decimal) -> dict[str, Any] | None:
    """WLS of the per-cluster ratio on pilot, period and pilot x period, weights = denominators, with
    cluster-robust (CR1) standard errors by customer: the interaction coefficient is the DiD."""
    import statsmodels.api as sm

    ids: list[str] = []
    rows = []
    for s in four:
        pilot = 1.0 if s.group == "pilot" else 0.0
        post = 1.0 if s.role == "period" else 0.0
        for c, n, d in zip(s.clusters, s.num, s.den, strict=True):
            ids.append(c)
            rows.append((n / d, d, pilot, post))
    _, groups = np.unique(np.array(ids, dtype=object).astype(str), return_inverse=True)
    if groups.max() < 2:
        return None
    a = np.array(rows, dtype=float)
    x = np.column_stack([np.ones(len(a)), a[:, 2], a[:, 3], a[:, 2] * a[:, 3]])
    fit = sm.WLS(a[:, 0], x, weights=a[:, 1]).fit(cov_type="cluster", cov_kwds={"groups": groups})
    lo, hi = fit.conf_int(alpha=1 - float(confidence))[3]
    return {
        "method": "WLS, group x period interaction, cluster-robust (CR1) by customer",
        "did": _round(float(fit.params[3])),
        "se": _round(float(fit.bse[3])),
        "ci": [_round(float(lo)), _round(float(hi))],
        "p_value": _round(float(fit.pvalues[3])),
        "clusters": int(groups.max() + 1),
        "significant": bool(lo > 0 or hi < 0),
    }


# ------------------------------------------------------------------------------------------ the result


@dataclass
class MetricUplift:
    metric: str
    unit: str
    better: str
    samples: list[Sample]
    estimates: list[Estimate]
    headline: str
    notes: list[str] = field(default_factory=list)

    def estimate(self, kind: str | None = None) -> Estimate:
        kind = kind or self.headline
        return next(e for e in self.estimates if e.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "unit": self.unit,
            "better": self.better,
            "headline": self.headline,
            "samples": [s.to_dict() for s in self.samples],
            "estimates": [e.to_dict() for e in self.estimates],
            "notes": list(self.notes),
        }


def estimate_metric(
    metric: str,
    samples: dict[tuple[str, str], Sample],
    *,
    confidence: Decimal = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    with_ols: bool = True,
) -> MetricUplift:
    """Every estimate the samples allow: keys are (group, role) with group pilot|control, role period|baseline."""
    unit, better = UPLIFT_METRICS[metric]
    kw = {"confidence": confidence, "resamples": resamples, "seed": seed}
    p = samples[("pilot", "period")]
    pb = samples.get(("pilot", "baseline"))
    c = samples.get(("control", "period"))
    cb = samples.get(("control", "baseline"))
    estimates = []
    if c is not None:
        estimates.append(compare(p, c, "pilot_vs_control", metric, **kw))
    if pb is not None:
        estimates.append(compare(p, pb, "pilot_vs_baseline", metric, **kw))
    if c is not None and cb is not None:
        estimates.append(compare(c, cb, "control_vs_baseline", metric, **kw))
        estimates.append(difference_in_differences(p, pb, c, cb, metric, **kw, with_ols=with_ols))
    if not estimates:
        raise UpliftError("give a control group, a baseline period, or both")
    headline = estimates[-1].kind
    present = [s for s in (p, pb, c, cb) if s is not None]
    notes = []
    for s in present:
        if s.denominator == 0:
            notes.append(f"{s.group} {s.period}: no {unit}s in {metric}'s denominator")
        elif s.units < FEW_UNITS:
            notes.append(f"{s.group} {s.period}: only {s.units} {unit}s; the interval is rough")
        if s.pending:
            notes.append(
                f"{s.group} {s.period}: {s.pending} not observed yet ({_PENDING[metric]}); "
                "the value may still change"
            )
    if c is not None:
        overlap = (set(p.clusters) & set(c.clusters)) - {x for x in p.clusters if x.startswith("i:")}
        if overlap:
            notes.append(
                f"{len(overlap)} customers are in both the pilot and the control; the groups are "
                "resampled as if independent"
            )
    return MetricUplift(metric, unit, better, present, estimates, headline, notes)


_PENDING = {
    "save_rate": "saves whose retention window the CRM feed has not passed are not counted",
    "churn_rate": "customers whose 90-day churn window the CRM feed has not passed",
    "fcr_rate": "contacts whose repeat window the contact feed has not passed count as not repeated",
    "csat_top2box": "",
}


# ----------------------------------------------------------------------------------------------- the I/O


@dataclass(frozen=True)
class UpliftSpec:
    """What to compare: the pilot, and a control and/or a baseline period; which metrics; how."""

    pilot: Segment
    period: Period
    control: Segment | None = None
    baseline: Period | None = None
    metrics: tuple[str, ...] = tuple(UPLIFT_METRICS)
    confidence: Decimal = DEFAULT_CONFIDENCE
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0

    @classmethod
    def of(cls, req: LiftRequirement, contract: Contract, period: Period) -> UpliftSpec:
        """A contract's `require_significant_lift` for one settled period."""
        return cls(
            pilot=Segment.of(req.pilot),
            period=period,
            control=Segment.of(req.control) if req.control is not None else None,
            baseline=Period.parse(req.baseline, contract.period) if req.baseline is not None else None,
            metrics=(req.metric,),
            confidence=req.confidence,
            resamples=req.resamples,
            seed=req.seed,
        )


def full_window(contract: Contract, period: Period) -> Window:
    """The period's naive-UTC bounds, not clipped to the term: a baseline usually precedes the contract."""
    start, end = period.utc_bounds(contract.zone)
    return Window(period, start, end)


def measure_uplift(
    contract: Contract, interactions, events, clocks: Clocks, spec: UpliftSpec, *, with_ols: bool = True
) -> list[MetricUplift]:
    """Query the per-unit counts of every sample (one query per period) and estimate each metric's lift."""
    if spec.control is None and spec.baseline is None:
        raise UpliftError("give a control group (--control), a baseline period (--baseline), or both")
    if not 0 < spec.confidence < 1:
        raise UpliftError(f"confidence {spec.confidence} is outside (0, 1); e.g. 0.95")
    if spec.control is not None and spec.control.criteria == spec.pilot.criteria:
        raise UpliftError("the control selects the same contacts as the pilot; the lift would always be 0")
    if spec.baseline is not None and spec.baseline == spec.period:
        raise UpliftError(f"the baseline {spec.baseline.label} is the period itself; pick an earlier period")
    for name in spec.metrics:
        if name not in UPLIFT_METRICS:
            raise UpliftError(f"uplift metric {name!r} is not one of {', '.join(UPLIFT_METRICS)}")
    try:
        check_segment(contract, spec.pilot, "pilot")
        if spec.control is not None:
            check_segment(contract, spec.control, "control")
    except ValueError as exc:
        raise UpliftError(str(exc)) from None
    groups = {"pilot": spec.pilot, **({"control": spec.control} if spec.control is not None else {})}
    periods = [("period", spec.period)] + ([("baseline", spec.baseline)] if spec.baseline is not None else [])
    got: list[UnitCounts] = unit_counts(
        contract,
        interactions,
        events,
        clocks,
        [(role, full_window(contract, per), groups) for role, per in periods],
        spec.metrics,
    )
    labels = {role: per.label for role, per in periods}
    kw = {"confidence": spec.confidence, "resamples": spec.resamples, "seed": spec.seed}
    return [estimate_metric(m, samples_of(got, m, labels), **kw, with_ols=with_ols) for m in spec.metrics]


def samples_of(got: Sequence[UnitCounts], metric: str, labels: dict[str, str]) -> dict[tuple[str, str], Sample]:
    """The query's per-cluster counts as one Sample per (group, role); `labels`: role -> period label."""
    unit = UPLIFT_METRICS[metric][0]
    samples = {}
    for uc in got:
        num, den, pending = uc.counts[metric]
        triples = list(zip(uc.clusters, num, den, strict=True))
        samples[(uc.group, uc.period)] = Sample.of(
            triples, group=uc.group, role=uc.period, period=labels[uc.period], unit=unit, pending=pending
        )
    return samples


# ---------------------------------------------------------------------------------------------- helpers


def _frac_text(v: Fraction | None) -> str | None:
    if v is None:
        return None
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _round(v: Fraction | float | None, places: int = 6) -> float | None:
    if v is None:
        return None
    return round(float(v), places)
