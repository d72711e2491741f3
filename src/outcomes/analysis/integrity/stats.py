"""The statistics of the group detectors: an indirectly standardised one-sided test per subject, and Holm's
correction over the subjects tested in a period.

A subject (an agent) is compared with the rest of the population *in the same strata* (queues): its expected
count is the sum, over its contacts, of the rate among everybody else's contacts of the same queue (with half a
contact added to each side so that a rate of 0 or 1 keeps some variance). z = (observed - expected) /
sqrt(sum n p (1 - p)); the p-value is the normal tail on the side the detector looks at.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()  # the standard normal of the z-test (the standard library's: no scipy to import)


@dataclass(frozen=True)
class GroupTest:
    subject: str
    n: int  # contacts of the subject
    observed: int  # of which showed the pattern
    expected: float  # from the rest of the population, queue by queue
    z: float
    p: float
    p_adjusted: float = 1.0

    @property
    def rate(self) -> float:
        return self.observed / self.n if self.n else 0.0

    @property
    def expected_rate(self) -> float:
        return self.expected / self.n if self.n else 0.0

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else math.inf


def standardised(rows: Iterable[tuple[str, str, int, int]], tail: str) -> list[GroupTest]:
    """rows: (subject, stratum, n, k). tail: 'greater' (the subject shows the pattern more often than the rest)
    or 'less'. Returns one unadjusted test per subject."""
    if tail not in ("greater", "less"):
        raise ValueError(f"tail must be 'greater' or 'less', not {tail!r}")
    rows = list(rows)
    n_s: dict[str, int] = defaultdict(int)
    k_s: dict[str, int] = defaultdict(int)
    by_subject: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for subject, stratum, n, k in rows:
        n_s[stratum] += n
        k_s[stratum] += k
        by_subject[subject].append((stratum, n, k))
    out = []
    for subject, cells in sorted(by_subject.items()):
        n = sum(c[1] for c in cells)
        observed = sum(c[2] for c in cells)
        expected = variance = 0.0
        for stratum, nn, kk in cells:
            p = (k_s[stratum] - kk + 0.5) / (n_s[stratum] - nn + 1.0)
            expected += nn * p
            variance += nn * p * (1 - p)
        z = (observed - expected) / math.sqrt(variance) if variance > 0 else 0.0
        p_value = _NORMAL.cdf(-z) if tail == "greater" else _NORMAL.cdf(z)
        out.append(GroupTest(subject, n, observed, expected, z, p_value))
    return out


def holm(tests: list[GroupTest]) -> list[GroupTest]:
    """Holm's step-down adjustment of the p-values (controls the family-wise error rate)."""
    m = len(tests)
    order = sorted(range(m), key=lambda i: tests[i].p)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * tests[i].p))
        adjusted[i] = running
    return [
        GroupTest(t.subject, t.n, t.observed, t.expected, t.z, t.p, adj)
        for t, adj in zip(tests, adjusted, strict=True)
    ]
