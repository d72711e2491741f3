"""The values of an integrity check: thresholds, findings, per-detector summaries and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from outcomes.errors import OutcomesError
from outcomes.pricing.money import money_text

SEVERITIES = ("info", "warning", "critical")

#: The detectors, in the order they run and are shown (definitions: docs/integrity.md).
DETECTORS = (
    "split_tickets",
    "premature_closure",
    "containment_abandonment",
    "survey_selection_bias",
    "reclassification",
    "unsupported_claims",
)


class IntegrityError(OutcomesError):
    """An integrity check that cannot run as asked (unknown contract, period or detector)."""

    code = "integrity"


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of every detector, with its default (docs/integrity.md explains each)."""

    # group detectors (premature_closure, survey_selection_bias): Holm-corrected one-sided tests
    alpha: float = 0.01  # family-wise error rate per detector and period
    min_resolved_per_agent: int = 30  # premature_closure: resolved contacts an agent needs to be tested
    premature_min_ratio: float = 1.5  # observed / expected bad closes for a finding
    premature_critical_ratio: float = 2.0
    min_negatives_per_agent: int = 20  # survey_selection_bias: negative-outcome contacts to be tested
    min_expected_responses: float = 5.0  # survey_selection_bias: expected ratings among them
    survey_max_ratio: float = 0.5  # observed / expected ratings on negative outcomes for a finding
    survey_critical_ratio: float = 0.25
    # id detectors
    split_gap_seconds: int = 1_800  # split_tickets: next ticket opened at most this long after the last closed
    containment_return_seconds: int = 600  # containment_abandonment: back on another channel within this
    # containment_abandonment, the slow return: a human contact within this horizon (or the contract's own
    # containment window when longer) after a paid bot resolution, when bot sessions are followed by one more
    # often than agent resolutions of the same queues (significant at `alpha`, at least this ratio)
    containment_horizon_seconds: int = 72 * 3_600
    containment_min_ratio: float = 1.5
    default_repeat_seconds: int = 7 * 86_400  # when the contract's resolution outcome has no repeat window
    critical_share: float = 0.01  # id detectors: share of the population that makes a billed pattern critical

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class Finding:
    """One pattern found: where (subject), which contacts, how bad, and the money it moves under the contract."""

    detector: str
    severity: str
    subject: str | None
    subject_kind: str | None  # agent | workflow | None
    interaction_ids: list[str]
    message: str
    billing_effect: Decimal
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    @property
    def count(self) -> int:
        return len(self.interaction_ids)

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "severity": self.severity,
            "subject": self.subject,
            "subject_kind": self.subject_kind,
            "count": self.count,
            "message": self.message,
            "billing_effect": money_text(self.billing_effect, currency),
            "currency": currency,
            "details": self.details,
            "interaction_ids": self.interaction_ids,
        }


@dataclass
class DetectorRun:
    """What one detector looked at and what it found: `population` is the number of contacts (or, for group
    detectors, of subjects tested) it judged; `flagged` how many of them it flagged."""

    detector: str
    population: int
    population_label: str
    flagged: int
    findings: list[Finding] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # what the detector measured beside its findings

    @property
    def firing_rate(self) -> float | None:
        return None if self.population == 0 else self.flagged / self.population

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "population": self.population,
            "population_label": self.population_label,
            "flagged": self.flagged,
            "firing_rate": None if self.firing_rate is None else round(self.firing_rate, 6),
            "findings": len(self.findings),
            "details": self.details,
        }


@dataclass
class Report:
    contract: str
    version: int
    period: str
    currency: str
    thresholds: Thresholds
    runs: list[DetectorRun]

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.runs for f in r.findings]

    def billing_effect(self) -> Decimal:
        return sum((f.billing_effect for f in self.findings), Decimal("0"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "version": self.version,
            "period": self.period,
            "currency": self.currency,
            "billing_effect": money_text(self.billing_effect(), self.currency),
            "thresholds": self.thresholds.to_dict(),
            "detectors": [r.to_dict() for r in self.runs],
            "findings": [f.to_dict(self.currency) for f in self.findings],
        }


def id_severity(count: int, population: int, billing_effect: Decimal, t: Thresholds) -> str:
    """Severity of an id detector's finding: `critical` when the pattern is billed (billing_effect > 0) and
    touches at least `critical_share` of the population; `warning` when it is billed, or touches that share
    unbilled; `info` otherwise (rare, and the contract's own checks already keep it off the invoice)."""
    share = count / population if population else 0.0
    billed = billing_effect > 0
    if billed and share >= t.critical_share:
        return "critical"
    if billed or share >= t.critical_share:
        return "warning"
    return "info"
