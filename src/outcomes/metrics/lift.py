"""Measured uplift: a pilot against a control group and/or a baseline period (docs/uplift.md).

The statistics are pure functions of small per-cluster arrays (`Sample`): each cluster (a customer; a contact
without customer id is its own) contributes a numerator and a denominator, so the point value of a sample is
exactly the metric library's fraction. Every interval resamples *customers*, with all their contacts: a
customer who contacts eight times and rates all eight low is one piece of evidence, not eight (resampling
contacts made CSAT and FCR intervals about 30% too narrow on clustered data).

- Each group (pilot, control) is resampled once, jointly over its periods (a customer seen in the baseline
  and in the period moves in both), with a fixed seed; every estimate is formed from those draws.
- Below `MIN_CUSTOMERS` customers in a sample the verdict is "too few customers", never significant; below
  `SMALL_CUSTOMERS` a permutation test of customers must agree with the interval.
- Every estimate carries its standard error and the minimum detectable effect at the stated power.

With both a control and a baseline the headline estimate is the difference-in-differences
(pilot now - pilot baseline) - (control now - control baseline), also fitted by weighted least squares with a
group x period interaction and cluster-robust (CR1) errors by customer (statsmodels). `measure_uplift` is the
I/O: it runs the `segments.unit_counts` query on the facts store. `gate_estimate` picks what a contract's
lift gate decides on.
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
from outcomes.metrics.segments import (
    UPLIFT_METRICS,
    Segment,
    UnitCounts,
    check_segment,
    known_values,
    unit_counts,
)
from outcomes.period import Period

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = Decimal("0.95")
#: The power at which a minimum detectable effect is stated (the usual 80%).
DEFAULT_POWER = 0.8
#: Below this many customers in a sample, the result carries a note that the interval is rough.
FEW_UNITS = 30
#: Below this many customers in any sample of an estimate, its verdict is "too few customers", never
#: significant: the bootstrap of a handful of customers is too narrow (at 10 customers per arm an A/A test came
#: out "significant and favourable" 8-13% of the time instead of 2.5%), and a permutation test that small has
#: almost no power anyway.
MIN_CUSTOMERS = 20
#: Below this many customers in any sample, the permutation test must agree before anything is significant: a
#: percentile bootstrap is too narrow at small sizes, a permutation test holds its level exactly.
SMALL_CUSTOMERS = 200
#: Resampled rows are formed in blocks of this many draws (a few MB at a time, whatever the resamples).
_BLOCK = 500

# Each group's draws come from their own seeded stream, so adding a control never changes the pilot's draws.
_GROUPS = {"pilot": 1, "control": 2}


class UpliftError(OutcomesError):
    """An uplift that cannot be estimated as asked: the message says what to change."""

    code = "uplift"


class SegmentEmptyError(UpliftError):
    """A pilot or control that selects no contact in the period (a misspelt queue, an agent not there)."""

    code = "segment"  # as a malformed segment: the server answers 422 "Not a valid segment"


# ------------------------------------------------------------------------------------------ the samples


@dataclass(frozen=True)
class Sample:
    """One group in one period: per cluster (a customer, or a contact without customer id) num and den.

    Every metric resamples clusters, with all their contacts together: a customer's contacts are not
    independent (one unhappy customer rates all eight contacts low). `pending` counts what is not observed
    yet (docs/uplift.md).
    """

    group: str
    role: str  # "period" | "baseline"
    period: str
    clusters: tuple[str, ...]
    num: np.ndarray
    den: np.ndarray
    pending: int = 0

    @classmethod
    def of(cls, counts: Sequence[tuple[str, int, int]], *, group: str, role: str, period: str,
           pending: int = 0) -> Sample:  # fmt: skip
        """From (cluster, num, den) triples; clusters with den 0 are not in the metric's population."""
        kept = sorted((c, n, d) for c, n, d in counts if d > 0)
        return cls(
            group, role, period,
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
    def customers(self) -> int:
        """How many clusters the bootstrap resamples (customers; a contact without customer id is its own)."""
        return len(self.clusters)

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
            "customers": self.customers,
            "pending": self.pending,
        }


def bootstrap(sample: Sample, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """`resamples` bootstrap values of one sample's ratio (its customers drawn with replacement)."""
    return resample_group([sample], rng, resamples)[0]


def resample_group(samples: Sequence[Sample], rng: np.random.Generator, resamples: int) -> list[np.ndarray]:
    """A cluster bootstrap of one group's samples (its period and baseline) drawn jointly: the customers of
    the union are drawn with replacement, each carrying its contacts in every sample, so a customer seen in
    both periods moves in both. Returns each sample's `resamples` ratios (NaN where a draw left a sample
    empty).

    Vectorised: customers with the same counts are interchangeable, so the distinct count rows are drawn with
    a multinomial over their frequencies (exactly drawing N customers with replacement); the cost grows with
    the number of distinct rows, not of customers."""
    if any(s.denominator == 0 for s in samples):
        raise ValueError("an empty sample cannot be resampled")
    ids = np.unique(np.concatenate([np.asarray(s.clusters, dtype=object) for s in samples]).astype(str))
    table = np.zeros((len(ids), 2 * len(samples)), dtype=np.int64)
    for k, s in enumerate(samples):
        pos = np.searchsorted(ids, np.asarray(s.clusters, dtype=str))
        table[pos, 2 * k] = s.num
        table[pos, 2 * k + 1] = s.den
    rows, freq = np.unique(table, axis=0, return_counts=True)
    p = freq / freq.sum()
    rows = rows.astype(float)  # counts are exact in floats, and a float product is BLAS's (30x faster)
    sums = np.concatenate(
        [rng.multinomial(len(ids), p, size=min(_BLOCK, resamples - i)) @ rows for i in range(0, resamples, _BLOCK)]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return [sums[:, 2 * k] / sums[:, 2 * k + 1] for k in range(len(samples))]


def permutation_draws(
    pairs: Sequence[tuple[Sample, Sample]], rng: np.random.Generator, permutations: int
) -> np.ndarray:
    """The lift under random relabelling: for each (a, b) pair the customers of a and b are pooled and
    split again at random into groups of a's and b's sizes; the result is sum over pairs of sign x (a - b),
    with signs +1, -1, ... (one pair: a - b; two pairs: (a1 - b1) - (a2 - b2), the DiD relabelled within
    each period). Only the smaller group is drawn (the other is the rest): vectorised, one argsort of random
    keys per block of relabellings when the pool is small; one draw without replacement per relabelling when
    it is large (a small pilot against a control of 100,000 customers stays cheap)."""
    total = np.zeros(permutations)
    for i, (a, b) in enumerate(pairs):
        num = np.concatenate([a.num, b.num]).astype(float)
        den = np.concatenate([a.den, b.den]).astype(float)
        size, pool = min(len(a.clusters), len(b.clusters)), len(num)
        picks = []
        if pool <= _POOL_MAX:
            for j in range(0, permutations, _BLOCK):
                keys = rng.random((min(_BLOCK, permutations - j), pool))
                picks.append(np.argsort(keys, axis=1)[:, :size])
        else:
            picks.append(np.stack([rng.choice(pool, size, replace=False) for _ in range(permutations)]))
        first = np.concatenate(picks)
        sn, sd = num[first].sum(axis=1), den[first].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            drawn, rest = sn / sd, (num.sum() - sn) / (den.sum() - sd)
        diff = drawn - rest if len(a.clusters) <= len(b.clusters) else rest - drawn
        total += (1 if i % 2 == 0 else -1) * diff
    return total


#: Pools of customers up to this size are relabelled by argsort of random keys, larger ones draw the smaller
#: group without replacement.
_POOL_MAX = 4000


# ---------------------------------------------------------------------------------------- the estimates


@dataclass(frozen=True)
class Estimate:
    """One lift: point (exact), relative change, interval, p-values, the minimum detectable effect and the
    plain verdict.

    Two decisions are read from it. `significant`/`favourable` are the two-sided verdict of `outcomes uplift`
    (the interval at `confidence` excludes 0). `shown` is a contract's lift gate: one-sided, "the lift is on
    the metric's good side" at level 1 - confidence (docs/uplift.md)."""

    kind: str  # pilot_vs_control | pilot_vs_baseline | control_vs_baseline | difference_in_differences | pre_period_gap
    method: str
    lift: Fraction | None
    reference: Fraction | None  # what the pilot is compared with (the counterfactual value)
    ci: tuple[float, float] | None
    p_value: float | None  # two-sided (bootstrap; the permutation test's when samples are small)
    confidence: Decimal
    better: str  # higher | lower
    why_none: str | None = None
    ols: dict[str, Any] | None = None
    too_few: str | None = None  # set when a sample has fewer than MIN_CUSTOMERS customers
    customers: dict[str, int] = field(default_factory=dict)  # per sample "group period" -> customers
    bound: float | None = None  # the one-sided bound at `confidence` on the unfavourable side
    p_one_sided: float | None = None  # P(lift not favourable): bootstrap, or the permutation test's when small
    permutation: dict[str, float] | None = None  # small samples: the permutation test's p-values
    se: float | None = None  # the bootstrap standard error of the lift
    power: float = DEFAULT_POWER

    @property
    def relative(self) -> Fraction | None:
        if self.lift is None or not self.reference:
            return None
        return self.lift / self.reference

    @property
    def alpha(self) -> float:
        return 1 - float(self.confidence)

    @property
    def significant(self) -> bool:
        if self.ci is None or self.too_few is not None or not (self.ci[0] > 0 or self.ci[1] < 0):
            return False
        return self.permutation is None or self.permutation["two_sided"] < self.alpha

    @property
    def favourable(self) -> bool:
        """Significant and in the metric's good direction (up for rates, down for churn)."""
        if not self.significant:
            return False
        return self.ci[0] > 0 if self.better == "higher" else self.ci[1] < 0

    @property
    def shown(self) -> bool:
        """The gate's one-sided test: the bound at `confidence` is on the good side of 0 (and, for small
        samples, the one-sided permutation test agrees), with enough customers."""
        if self.bound is None or self.too_few is not None:
            return False
        good = self.bound > 0 if self.better == "higher" else self.bound < 0
        return good and (self.permutation is None or self.permutation["one_sided"] < self.alpha)

    def mde(self, one_sided: bool = False) -> float | None:
        """The smallest true lift this sample would show with probability `power`: (z + z_power) x se."""
        if self.se is None or not np.isfinite(self.se):
            return None
        from statistics import NormalDist

        z = NormalDist().inv_cdf(1 - self.alpha if one_sided else 1 - self.alpha / 2)
        return (z + NormalDist().inv_cdf(self.power)) * self.se

    def power_note(self, one_sided: bool = False) -> str | None:
        """"with 1,500 customers per arm, a change smaller than 3.4 points cannot be shown at 95%"."""
        if not self.customers or self.lift is None:
            return None
        arm = min(self.customers.values())
        if self.too_few is not None:
            return f"with {arm:,} customers in the smallest sample nothing can be shown (at least {MIN_CUSTOMERS} each)"
        mde = self.mde(one_sided)
        if mde is None or mde == 0:
            return None
        level = f"{float(self.confidence) * 100:g}%" + (" one-sided" if one_sided else "")
        return (
            f"with {arm:,} customers in the smallest sample, a change smaller than {mde * 100:.1f} points "
            f"cannot be shown at {level} (power {self.power * 100:g}%)"
        )

    @property
    def verdict(self) -> str:
        level = f"{float(self.confidence) * 100:g}%"
        if self.lift is None:
            return f"no data: {self.why_none}"
        if self.too_few is not None:
            return f"too few customers to tell ({self.too_few}; at least {MIN_CUSTOMERS} each): not significant"
        if self.ci is None:
            return f"no interval: {self.why_none}"
        if not self.significant:
            if self.ci[0] > 0 or self.ci[1] < 0:
                return f"not significant at {level}: the permutation test does not confirm the interval"
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
            "customers": dict(self.customers),
            "se": _round(self.se),
            "mde": _round(self.mde()),
            "power": self.power,
            "power_note": self.power_note(),
            **({"permutation": self.permutation} if self.permutation is not None else {}),
            **({"ols": self.ols} if self.ols is not None else {}),
        }


def percentile_interval(draws: np.ndarray, confidence: Decimal) -> tuple[float, float]:
    a = (1 - float(confidence)) / 2
    lo, hi = np.nanquantile(draws, [a, 1 - a])
    return float(lo), float(hi)


def bootstrap_p_value(draws: np.ndarray) -> float:
    """Two-sided: twice the smaller share of resampled lifts on either side of 0 (at most 1)."""
    d = draws[np.isfinite(draws)]
    return float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))))


def _rng(seed: int, metric: str, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(metric.encode()), stream]))


def _method(resamples: int, small: bool) -> str:
    text = f"cluster bootstrap of customers (percentile, {resamples} resamples)"
    if small:
        text += (f"; a sample has fewer than {SMALL_CUSTOMERS} customers, so a permutation test of customers "
                 f"({resamples} relabellings) must agree")  # fmt: skip
    return text


def _empty_why(samples: Sequence[Sample], metric: str) -> str:
    empty = [f"{s.group} {s.period}" for s in samples if s.denominator == 0]
    return f"{metric} is undefined (empty denominator) for " + ", ".join(empty)


def _estimate(
    kind: str,
    metric: str,
    samples: Sequence[Sample],
    signs: Sequence[int],
    draws: Sequence[np.ndarray] | None,
    reference: Fraction | None,
    *,
    confidence: Decimal,
    resamples: int,
    seed: int,
    ols: dict[str, Any] | None = None,
) -> Estimate:
    """sum of sign x sample value, with its bootstrap interval from the groups' joint draws, the one-sided
    bound, the standard error and, for small samples, a permutation test (samples paired (a, b), ...)."""
    better = UPLIFT_METRICS[metric][1]
    small = any(s.customers < SMALL_CUSTOMERS for s in samples)
    method = _method(resamples, small)
    customers = {f"{s.group} {s.period}": s.customers for s in samples}
    if any(s.value is None for s in samples) or draws is None or any(x is None for x in draws):
        return Estimate(kind, method, None, reference, None, None, confidence, better, _empty_why(samples, metric),
                        customers=customers)  # fmt: skip
    few = [f"{s.customers} customers in {s.group} {s.period}" for s in samples if s.customers < MIN_CUSTOMERS]
    point = sum((sign * s.value for sign, s in zip(signs, samples, strict=True)), Fraction(0))
    d = sum(sign * x for sign, x in zip(signs, draws, strict=True))
    d = d[np.isfinite(d)]
    if len(d) < 2:  # every draw left a sample empty: only possible with a handful of customers
        return Estimate(kind, method, point, reference, None, None, confidence, better,
                        "too few customers to resample", too_few="; ".join(few) or "too few customers",
                        customers=customers)  # fmt: skip
    alpha = 1 - float(confidence)
    bound = float(np.quantile(d, alpha if better == "higher" else 1 - alpha))
    p_bad = float(np.mean(d <= 0) if better == "higher" else np.mean(d >= 0))
    perm = None
    p_two = bootstrap_p_value(d)
    if small and not few:
        pairs = [(samples[i], samples[i + 1]) for i in range(0, len(samples), 2)]
        null = permutation_draws(pairs, _rng(seed, metric, 9), resamples)
        null = null[np.isfinite(null)]
        obs = float(point)
        good = null >= obs if better == "higher" else null <= obs
        perm = {
            "two_sided": round(float((1 + np.sum(np.abs(null) >= abs(obs) - 1e-12)) / (1 + len(null))), 6),
            "one_sided": round(float((1 + np.sum(good)) / (1 + len(null))), 6),
        }
        p_two, p_bad = perm["two_sided"], perm["one_sided"]
    return Estimate(
        kind, method, point, reference, percentile_interval(d, confidence), p_two, confidence, better,
        ols=ols, too_few="; ".join(few) or None, customers=customers, bound=bound, p_one_sided=p_bad,
        permutation=perm, se=float(np.std(d, ddof=1)),
    )  # fmt: skip


def compare(
    pilot: Sample, reference: Sample, kind: str, metric: str, *, confidence: Decimal, resamples: int, seed: int
) -> Estimate:
    """pilot - reference, the two resampled as independent groups (a sample's customers drawn with
    replacement)."""
    draws = None
    if pilot.value is not None and reference.value is not None:
        draws = [bootstrap(pilot, _rng(seed, metric, 11), resamples),
                 bootstrap(reference, _rng(seed, metric, 12), resamples)]  # fmt: skip
    return _estimate(kind, metric, [pilot, reference], [1, -1], draws, reference.value,
                     confidence=confidence, resamples=resamples, seed=seed)  # fmt: skip


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
    """(pilot - pilot_base) - (control - control_base), each group's customers resampled jointly over both
    periods; the OLS fit beside it (a check for people to read: `with_ols=False` skips it where nobody reads
    it, in a settlement's lift gate)."""
    four = [pilot, pilot_base, control, control_base]
    draws = _group_draws(four, metric, resamples, seed)
    counterfactual = None
    if all(s.value is not None for s in four):
        counterfactual = pilot_base.value + (control.value - control_base.value)
    return _did(four, draws, metric, counterfactual, confidence=confidence, resamples=resamples, seed=seed,
                with_ols=with_ols)  # fmt: skip


def _did(four, draws, metric, counterfactual, *, confidence, resamples, seed, with_ols) -> Estimate:
    # the permutation pairs are (pilot, control) within each period; the signs make (P1 - C1) - (P0 - C0)
    pilot, pilot_base, control, control_base = four
    ordered = [pilot, control, pilot_base, control_base]
    d = None if draws is None else [draws[0], draws[2], draws[1], draws[3]]
    ols = ols_did(four, confidence) if with_ols and all(s.value is not None for s in four) else None
    return _estimate("difference_in_differences", metric, ordered, [1, -1, -1, 1], d, counterfactual,
                     confidence=confidence, resamples=resamples, seed=seed, ols=ols)  # fmt: skip


def _group_draws(samples: Sequence[Sample | None], metric: str, resamples: int, seed: int) -> list:
    """Draws of every sample, each group (pilot, control) resampled jointly over its non-empty samples (None
    for an absent or empty sample)."""
    out: dict[int, np.ndarray] = {}
    for group, stream in _GROUPS.items():
        mine = [(i, s) for i, s in enumerate(samples) if s is not None and s.group == group and s.value is not None]
        if mine:
            got = resample_group([s for _, s in mine], _rng(seed, metric, stream), resamples)
            out.update({i: x for (i, _), x in zip(mine, got, strict=True)})
    return [out.get(i) for i in range(len(samples))]


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
            "resampled": "customer",
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
    """Every estimate the samples allow: keys are (group, role) with group pilot|control, role period|baseline.

    Each group's customers are resampled once, jointly over its periods, and every estimate is formed from
    those draws (a customer of the pilot seen in the baseline and the period moves in both)."""
    unit, better = UPLIFT_METRICS[metric]
    kw = {"confidence": confidence, "resamples": resamples, "seed": seed}
    p = samples[("pilot", "period")]
    pb = samples.get(("pilot", "baseline"))
    c = samples.get(("control", "period"))
    cb = samples.get(("control", "baseline"))
    dp, dpb, dc, dcb = _group_draws([p, pb, c, cb], metric, resamples, seed)
    estimates = []
    if c is not None:
        estimates.append(_estimate("pilot_vs_control", metric, [p, c], [1, -1], [dp, dc], c.value, **kw))
    if pb is not None:
        estimates.append(_estimate("pilot_vs_baseline", metric, [p, pb], [1, -1], [dp, dpb], pb.value, **kw))
    if c is not None and cb is not None:
        estimates.append(_estimate("control_vs_baseline", metric, [c, cb], [1, -1], [dc, dcb], cb.value, **kw))
    if pb is not None and cb is not None:
        estimates.append(_estimate("pre_period_gap", metric, [pb, cb], [1, -1], [dpb, dcb], cb.value, **kw))
    if c is not None and pb is not None and cb is not None:
        four = [p, pb, c, cb]
        cf = pb.value + (c.value - cb.value) if all(s.value is not None for s in four) else None
        estimates.append(_did(four, [dp, dpb, dc, dcb], metric, cf, **kw, with_ols=with_ols))
    if not estimates:
        raise UpliftError("give a control group, a baseline period, or both")
    kinds = [e.kind for e in estimates]
    headline = next(k for k in ("difference_in_differences", "pilot_vs_control", "pilot_vs_baseline") if k in kinds)
    present = [s for s in (p, pb, c, cb) if s is not None]
    notes = []
    for s in present:
        if s.denominator == 0:
            notes.append(f"{s.group} {s.period}: no {unit}s in {metric}'s denominator")
        elif s.customers < MIN_CUSTOMERS:
            notes.append(f"{s.group} {s.period}: only {s.customers} customers; too few to tell (at least "
                         f"{MIN_CUSTOMERS})")  # fmt: skip
        elif s.customers < FEW_UNITS:
            notes.append(f"{s.group} {s.period}: only {s.customers} customers; the interval is rough")
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


#: A contract's `require_significant_lift.method` -> the estimate it decides on.
GATE_METHODS = {"did": "difference_in_differences", "control": "pilot_vs_control", "baseline": "pilot_vs_baseline"}


def gate_estimate(m: MetricUplift, method: str | None) -> tuple[Estimate, list[str]]:
    """The estimate a lift gate decides on, and what the reader must know beside it.

    An explicit `method` is used as written. Without one: the difference-in-differences whenever the
    baseline has data for both groups (a gap that existed before the pilot is not paid for), else the pilot
    against the control, else against its own baseline. A decision on pilot vs control reports the
    pre-period gap beside it (when a baseline was measured)."""
    by_kind = {e.kind: e for e in m.estimates}
    said: list[str] = []
    if method is not None:
        kind = GATE_METHODS[method]
        if kind not in by_kind:
            raise UpliftError(f"method {method!r} needs {'a control and a baseline' if method == 'did' else 'a ' + method}")
        chosen = by_kind[kind]
    else:
        did = by_kind.get("difference_in_differences")
        if did is not None and did.lift is not None:
            chosen = did
        elif "pilot_vs_control" in by_kind:
            chosen = by_kind["pilot_vs_control"]
            if did is not None:
                said.append("the baseline lacks data for the pilot or the control: decided on pilot vs control")
        else:
            chosen = by_kind["pilot_vs_baseline"]
    gap = by_kind.get("pre_period_gap")
    if chosen.kind == "pilot_vs_control" and gap is not None and gap.lift is not None:
        side = ""
        if gap.favourable:
            side = " (significant and favourable: part of the measured lift existed before the pilot)"
        said.append(f"pre-period gap (pilot - control in {m.samples[1].period}): "
                    f"{float(gap.lift) * 100:+.2f} points{side}")  # fmt: skip
    return chosen, said


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
    method: str | None = None  # a contract's gate method: did | control | baseline, or None (automatic)

    @classmethod
    def of(cls, req: LiftRequirement, contract: Contract, period: Period) -> UpliftSpec:
        """A contract's `require_significant_lift` for one settled period. Without a `baseline`, the period
        just before the term starts is measured as the pre-period, so that a gap between the groups that
        existed before the pilot is seen (and, with the automatic method, differenced away)."""
        baseline = Period.parse(req.baseline, contract.period) if req.baseline is not None else None
        if baseline is None and req.control is not None:
            baseline = pre_period(contract)
            if baseline == period:
                baseline = None
        return cls(
            pilot=Segment.of(req.pilot),
            period=period,
            control=Segment.of(req.control) if req.control is not None else None,
            baseline=baseline,
            metrics=(req.metric,),
            confidence=req.confidence,
            resamples=req.resamples,
            seed=req.seed,
            method=req.method,
        )


def pre_period(contract: Contract) -> Period:
    """The last settlement period before the term starts: before the pilot, when the term is the pilot's."""
    return Period.containing(contract.term.start, contract.period).previous()


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
    for uc in got:
        if uc.period == "period" and uc.contacts == 0:
            seg = groups[uc.group]
            raise SegmentEmptyError(
                f"the {uc.group} segment {seg.describe()} selects no contact of {contract.contract} closed in "
                f"{spec.period.label}; {known_values(contract, interactions, full_window(contract, spec.period), seg)}"
            )
    labels = {role: per.label for role, per in periods}
    kw = {"confidence": spec.confidence, "resamples": spec.resamples, "seed": spec.seed}
    return [estimate_metric(m, samples_of(got, m, labels), **kw, with_ols=with_ols) for m in spec.metrics]


def samples_of(got: Sequence[UnitCounts], metric: str, labels: dict[str, str]) -> dict[tuple[str, str], Sample]:
    """The query's per-cluster counts as one Sample per (group, role); `labels`: role -> period label."""
    samples = {}
    for uc in got:
        num, den, pending = uc.counts[metric]
        triples = list(zip(uc.clusters, num, den, strict=True))
        samples[(uc.group, uc.period)] = Sample.of(
            triples, group=uc.group, role=uc.period, period=labels[uc.period], pending=pending
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


# ---------------------------------------------------------------------------------------------- planning


def plan_customers(
    metric: str,
    rate: float,
    effect: float,
    *,
    confidence: Decimal = DEFAULT_CONFIDENCE,
    power: float = DEFAULT_POWER,
    contacts: float = 1.0,
    icc: float = 0.0,
    one_sided: bool = False,
) -> dict[str, Any]:
    """How many customers per arm a pilot needs to show `effect` (a change of the rate, e.g. -0.03 for
    churn 3 points down) from `rate`, at `confidence` with `power`: statsmodels' normal power of two
    independent proportions (Cohen's h), then the design effect 1 + (m - 1) x icc of m contacts per customer
    whose outcomes correlate by icc (churn counts each customer once: no design effect)."""
    import math

    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    if metric not in UPLIFT_METRICS:
        raise UpliftError(f"metric {metric!r} is not one of {', '.join(UPLIFT_METRICS)}")
    target = rate + effect
    if not (0 < rate < 1 and 0 < target < 1) or effect == 0:
        raise UpliftError(f"a rate of {rate} changed by {effect:+} must stay strictly between 0 and 1, and the "
                          "change must not be 0")  # fmt: skip
    h = abs(float(proportion_effectsize(target, rate)))
    alpha = 1 - float(confidence)
    n = NormalIndPower().solve_power(
        effect_size=h, alpha=alpha, power=power, ratio=1.0, alternative="larger" if one_sided else "two-sided"
    )
    per_customer = 1.0 if metric == "churn_rate" else contacts
    deff = 1.0 if metric == "churn_rate" else 1 + (contacts - 1) * icc
    customers = math.ceil(float(n) * deff / per_customer)
    return {
        "metric": metric,
        "rate": rate,
        "effect": effect,
        "confidence": format(confidence, "f"),
        "power": power,
        "test": "one-sided" if one_sided else "two-sided",
        "contacts_per_customer": per_customer,
        "icc": icc if metric != "churn_rate" else 0.0,
        "design_effect": round(deff, 6),
        "independent_units": math.ceil(float(n)),
        "customers_per_arm": customers,
        "method": "statsmodels NormalIndPower, Cohen's h, design effect 1 + (m - 1) x icc",
    }
