"""The metric catalogue: every metric by name, read by the contract rules (which names a service level or a
trigger may use, and the range of its target), the metric library (what it measures and how), uplift (which
metrics a pilot's lift is estimated for, and on which unit) and the scorecard (how a value is shown).

One entry a metric; METRICS.md defines them (docs/metrics.md adds the ones beyond it: `right_channel_share`,
which a contract cannot name, `contract=False`; and the transcript metrics, measured from the scores
`outcomes analyze` stores, `source="transcripts"`, which a contract may name).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Unit = Literal["count", "rate", "mean", "score", "seconds", "money"]

DEFAULT_THRESHOLD_SECONDS = 20  # METRICS.md: service_level threshold T, default 20 s
DEFAULT_INFLUENCE_WINDOW_SECONDS = 30 * 86400  # METRICS.md: revenue_influenced, 30 days


@dataclass(frozen=True)
class Metric:
    name: str
    unit: Unit
    low: Decimal | None = None  # the range a value can take (None: unbounded on that side)
    high: Decimal | None = None
    outcome_kind: str | None = None  # defined through an outcome of this kind of the contract
    basis: Literal["opened", "closed"] = "closed"  # counts contacts opened, or closed, in the period
    better: Literal["higher", "lower"] | None = None
    contract: bool = True  # a contract may name it (service levels, triggers, value share)
    circular: bool = False  # computed from the settled total, which credits change: no service level on it
    uplift: Literal["customer", "contact"] | None = None  # a pilot's lift is estimated, resampling this unit
    default: int | None = None  # the default of its parameter (threshold or window, in seconds)
    source: Literal["facts", "transcripts"] = "facts"  # measured from the facts, or from transcript scores
    # decided by the customer events (churn, revenue, purchases): with no event ingested it has no data, never 0
    events: bool = False

    @property
    def in_metrics_md(self) -> bool:
        """Defined by METRICS.md (the others are defined in docs/metrics.md)."""
        return self.contract and self.source == "facts"


_RATE = {"unit": "rate", "low": Decimal(0), "high": Decimal(1)}
_COUNT = {"unit": "count", "low": Decimal(0)}
_SECONDS = {"unit": "seconds", "low": Decimal(0)}
_MONEY = {"unit": "money", "low": Decimal(0)}

#: In the order of METRICS.md's table, then the metrics beyond it.
CATALOGUE: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("offered", **_COUNT, basis="opened"),
        Metric("handled", **_COUNT),
        Metric("abandonment_rate", **_RATE, basis="opened", better="lower"),
        Metric("service_level", **_RATE, basis="opened", better="higher", default=DEFAULT_THRESHOLD_SECONDS),
        Metric("asa_seconds", **_SECONDS, basis="opened", better="lower"),
        Metric("aht_seconds", **_SECONDS),
        Metric("fcr_rate", **_RATE, outcome_kind="resolution", better="higher", uplift="contact"),
        Metric("verified_resolution_rate", **_RATE, outcome_kind="resolution", better="higher"),
        Metric("reopen_rate", **_RATE, better="lower"),
        Metric("repeat_contact_rate", **_RATE, better="lower"),
        Metric("containment_rate", **_RATE, outcome_kind="containment", better="higher"),
        Metric("bot_resolution_rate", **_RATE, outcome_kind="containment", better="higher"),
        Metric("csat_top2box", **_RATE, better="higher", uplift="contact"),
        Metric("csat_mean", unit="mean", low=Decimal(1), high=Decimal(5), better="higher"),
        Metric("survey_response_rate", **_RATE, better="higher"),
        Metric("nps", unit="score", low=Decimal(-100), high=Decimal(100), better="higher"),
        Metric("ces_mean", unit="mean", low=Decimal(1), high=Decimal(7), better="lower"),
        Metric("qa_mean", unit="mean", low=Decimal(0), high=Decimal(100), better="higher"),
        Metric("save_rate", **_RATE, outcome_kind="save", better="higher", uplift="customer", events=True),
        Metric("churn_rate", **_RATE, better="lower", uplift="customer", events=True),
        Metric("revenue_retained", **_MONEY, outcome_kind="save", better="higher", events=True),
        Metric(
            "revenue_influenced",
            **_MONEY,
            better="higher",
            default=DEFAULT_INFLUENCE_WINDOW_SECONDS,
            events=True,
        ),
        Metric(
            "cost_per_verified_resolution",
            unit="money",
            outcome_kind="resolution",
            better="lower",
            circular=True,
        ),
        # beyond METRICS.md (docs/metrics.md): transcript metrics, from `outcomes analyze`'s scores
        Metric("qa_auto_mean", unit="mean", low=Decimal(0), high=Decimal(100), better="higher", source="transcripts"),
        Metric("negative_end_rate", **_RATE, better="lower", source="transcripts"),
        Metric("sentiment_shift_mean", unit="mean", low=Decimal(-2), high=Decimal(2), better="higher", source="transcripts"),
        Metric("churn_signal_rate", **_RATE, better="lower", source="transcripts"),
        Metric("upsell_after_resolution_rate", **_RATE, better="higher", source="transcripts"),
        # beyond METRICS.md (docs/metrics.md)
        Metric("right_channel_share", **_RATE, better="higher", contract=False),
    )
}

#: The metrics a contract may name, in catalogue order (METRICS.md's, then the transcript metrics).
CONTRACT_METRICS: tuple[str, ...] = tuple(n for n, m in CATALOGUE.items() if m.contract)

#: The metrics of METRICS.md's table, in its order.
METRICS_MD_METRICS: tuple[str, ...] = tuple(n for n, m in CATALOGUE.items() if m.in_metrics_md)

#: The metrics measured from transcript scores.
TRANSCRIPT_METRICS: tuple[str, ...] = tuple(n for n, m in CATALOGUE.items() if m.source == "transcripts")


def metric(name: str) -> Metric:
    return CATALOGUE[name]
