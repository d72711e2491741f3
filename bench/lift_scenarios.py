"""An independent generator of pilot/control months for calibrating the uplift statistics (bench/lift.py).

It writes per-customer counts straight from its parameters, with none of `outcomes generate`'s code, and its
truths are computed from those parameters, never from the tool:

* a customer has m contacts: m = 1 ("single" design), or m uniform on 1..8 ("clustered");
* for a rate metric (save_rate, csat_top2box, fcr_rate) the customer draws its own propensity
  p_i ~ Beta with mean p and intra-customer correlation `icc` (clustered design; p_i = p when single), and
  its m contacts succeed as Binomial(m, p_i): numerator = successes, denominator = m;
* churn_rate is a customer outcome: numerator ~ Bernoulli(p), denominator 1, whatever m.

Because m is drawn independently of p_i, the metric's true value (sum of numerators / sum of denominators,
in expectation) is exactly p, so the true lift of a scenario is its parameters' difference: pilot - control
for a single comparison, (P1 - P0) - (C1 - C0) for a difference-in-differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The base rate of each metric and the effect a scenario with a known lift moves it by (churn down).
BASE = {"save_rate": 0.30, "churn_rate": 0.20, "csat_top2box": 0.70, "fcr_rate": 0.70}
EFFECT = {"save_rate": 0.05, "churn_rate": -0.03, "csat_top2box": 0.03, "fcr_rate": 0.03}
DESIGNS = {"single": (1, 1, 0.0), "clustered": (1, 8, 0.3)}  # contacts per customer lo..hi, icc


@dataclass(frozen=True)
class Arm:
    """One group in one period: `customers` customers whose metric's true value is `rate`."""

    metric: str
    rate: float
    customers: int
    design: str


def draw(arm: Arm, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer (numerator, denominator) of one arm."""
    lo, hi, icc = DESIGNS[arm.design]
    n = arm.customers
    if arm.metric == "churn_rate":
        return (rng.random(n) < arm.rate).astype(np.int64), np.ones(n, dtype=np.int64)
    m = rng.integers(lo, hi + 1, size=n)
    if icc > 0:
        # Beta(a, b) with mean rate and correlation icc between two contacts of one customer: a + b = 1/icc - 1
        k = 1 / icc - 1
        p = rng.beta(arm.rate * k, (1 - arm.rate) * k, size=n)
    else:
        p = np.full(n, arm.rate)
    return rng.binomial(m, p).astype(np.int64), m.astype(np.int64)


def truth(rates: dict[tuple[str, str], float], kind: str) -> float:
    """The true lift of a scenario from its parameters: `rates[(group, role)]`."""
    if kind == "difference_in_differences":
        return (rates[("pilot", "period")] - rates[("pilot", "baseline")]) - (
            rates[("control", "period")] - rates[("control", "baseline")]
        )
    return rates[("pilot", "period")] - rates[("control", "period")]
