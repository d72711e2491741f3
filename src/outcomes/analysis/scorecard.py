"""The balanced scorecard: customer health, financial and operational metrics side by side (docs/scorecard.md).

`scorecard(contract, values_by_period, ...)` is pure: it lays out metric values that were already measured
(one `MetricValue` per metric and period) as three groups, with the trend over the last periods and the change
against a baseline period. `collect(...)` is the I/O: it measures those values from a workspace with the metric
library (one query per period) and reads the settled totals from the ledger.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from outcomes.analysis.right_channels import RightChannels
from outcomes.contract.metrics import CATALOGUE
from outcomes.contract.schema import Contract
from outcomes.errors import OutcomesError
from outcomes.metrics.library import MetricRequest, MetricValue
from outcomes.period import Period
from outcomes.settlement.service_levels import as_decimal

if TYPE_CHECKING:
    from outcomes.facts import Facts
    from outcomes.workspace import Workspace


class ScorecardError(OutcomesError):
    """A scorecard that cannot be made as asked (bad period, workflow or trend length)."""

    code = "scorecard"


@dataclass(frozen=True)
class Line:
    """One row of the scorecard: a library metric (`metric`), shown under `label` in `unit`."""

    key: str
    label: str
    metric: str
    guardrail: bool = False

    @property
    def unit(self) -> str:
        """rate | mean | score | seconds | money: how the value is shown (the metric catalogue's unit)."""
        return CATALOGUE[self.metric].unit


#: The three groups, in order, each with its rows in order (definitions: docs/scorecard.md).
GROUPS: tuple[tuple[str, str, tuple[Line, ...]], ...] = (
    (
        "customer",
        "Customer health",
        (
            Line("csat_top2box", "CSAT top-2-box", "csat_top2box"),
            Line("csat_mean", "CSAT mean", "csat_mean"),
            Line("nps", "NPS", "nps"),
            Line("ces_mean", "CES mean", "ces_mean"),
            Line("survey_response_rate", "Survey response rate", "survey_response_rate"),
        ),
    ),
    (
        "financial",
        "Financial",
        (
            Line("churn_rate", "Churn rate (contacting customers)", "churn_rate"),
            Line("save_rate", "Save rate", "save_rate"),
            Line("revenue_retained", "Revenue retained", "revenue_retained"),
            Line("revenue_influenced", "Revenue influenced", "revenue_influenced"),
            Line(
                "cost_per_verified_resolution",
                "Cost per verified resolution",
                "cost_per_verified_resolution",
            ),
        ),
    ),
    (
        "operational",
        "Operational",
        (
            Line("fcr_rate", "Verified FCR", "fcr_rate"),
            Line("reopen_rate", "Reopen rate", "reopen_rate"),
            Line("repeat_contact_rate", "Repeat-contact rate", "repeat_contact_rate"),
            Line("containment_rate", "Containment", "containment_rate"),
            Line("abandonment_rate", "Abandonment", "abandonment_rate"),
            Line("service_level", "Service level", "service_level"),
            Line("asa_seconds", "ASA (seconds)", "asa_seconds"),
            Line("aht_seconds", "AHT (seconds, guardrail)", "aht_seconds", guardrail=True),
            Line("qa_mean", "QA mean", "qa_mean"),
            Line("right_channel_share", "Right-channel share", "right_channel_share"),
        ),
    ),
)

#: The library metrics a scorecard measures, in order.
SCORECARD_METRICS: tuple[str, ...] = tuple(ln.metric for _, _, lines in GROUPS for ln in lines)

#: A fourth group, shown when the workspace holds transcript scores (`outcomes analyze`; docs/analytics.md).
CONVERSATION_GROUP: tuple[str, str, tuple[Line, ...]] = (
    "conversations",
    "Conversations (transcript analytics)",
    (
        Line("qa_auto_mean", "Automatic QA mean", "qa_auto_mean"),
        Line("negative_end_rate", "Negative end rate", "negative_end_rate"),
        Line("sentiment_shift_mean", "Sentiment shift mean", "sentiment_shift_mean"),
        Line("churn_signal_rate", "Churn-signal rate", "churn_signal_rate"),
        Line("upsell_after_resolution_rate", "Upsell after resolution", "upsell_after_resolution_rate"),
    ),
)
CONVERSATION_METRICS: tuple[str, ...] = tuple(ln.metric for ln in CONVERSATION_GROUP[2])

DEFAULT_TREND = 3  # the --trend help says so
MAX_TREND = 24

#: A period's values: metric name -> MetricValue, or a text saying why the whole period has no values.
PeriodValues = Mapping[str, MetricValue] | str


# ------------------------------------------------------------------------------------------------- periods


def trend_periods(period: Period, n: int) -> list[Period]:
    """The last `n` periods ending with `period`, oldest first."""
    if not 1 <= n <= MAX_TREND:
        raise ScorecardError(f"--trend must be between 1 and {MAX_TREND} periods, not {n}")
    out = [period]
    while len(out) < n:
        out.append(out[-1].previous())
    return out[::-1]


def requests(
    contract: Contract,
    workflow: str | None,
    right_channels: RightChannels | None = None,
    conversations: bool = False,
) -> list[MetricRequest]:
    """The scorecard's metric requests for one workflow (None: all of the contract's workflows, pooled).

    service_level uses the contract's own threshold when a service-level measure sets one, and
    revenue_influenced the value share's window when it has one; else the library's defaults.
    right_channel_share uses `right_channels` (None: not measured, the value says so). `conversations`: also
    the transcript metrics of CONVERSATION_GROUP.
    """
    wfs = (workflow,) if workflow is not None else None
    threshold = window = None
    if contract.service_levels is not None:
        threshold = next(
            (
                m.threshold
                for m in contract.service_levels.measures
                if m.metric == "service_level" and m.threshold
            ),
            None,
        )
        window = next(
            (
                m.window
                for m in contract.service_levels.measures
                if m.metric == "revenue_influenced" and m.window
            ),
            None,
        )
    vs = contract.pricing.value_share
    if vs is not None and vs.metric == "revenue_influenced" and vs.window:
        window = vs.window
    out = []
    for name in SCORECARD_METRICS + (CONVERSATION_METRICS if conversations else ()):
        out.append(
            MetricRequest(
                name,
                wfs,
                threshold=threshold if name == "service_level" else None,
                window=window if name == "revenue_influenced" else None,
                right_channels=(
                    right_channels.by_intent
                    if right_channels is not None and name == "right_channel_share"
                    else None
                ),
            )
        )
    return out


# ---------------------------------------------------------------------------------------- the pure layout


def _text(v: Fraction | Decimal | None) -> str | None:
    if v is None:
        return None
    d = as_decimal(v)
    return str(d)


def _exact(v: Fraction | Decimal | None) -> str | None:
    if v is None:
        return None
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    return str(v)


def _diff(a: Fraction | Decimal | None, b: Fraction | Decimal | None) -> Fraction | Decimal | None:
    if a is None or b is None:
        return None
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a - b
    return Fraction(a) - Fraction(b)


def _cell(line: Line, values: PeriodValues | None) -> tuple[Fraction | Decimal | None, str | None]:
    """(value, why undefined) of one row in one period."""
    if values is None:
        return None, "not measured"
    if isinstance(values, str):
        return None, values
    mv = values.get(line.metric)
    if mv is None:
        return None, "not measured"
    if mv.value is None:
        return None, str(mv.details.get("undefined", "undefined"))
    return mv.value, None


def scorecard(
    contract: Contract,
    values_by_period: Mapping[str, PeriodValues],
    *,
    period: str,
    trend: Sequence[str] | None = None,
    baseline: str | None = None,
    workflow: str | None = None,
    right_channels: RightChannels | None = None,
) -> dict[str, Any]:
    """The scorecard as a JSON-able dict, from values already measured.

    `right_channels` is the mapping right_channel_share was measured with; the card shows it (None: none).

    `values_by_period` maps a period label to its values (metric -> MetricValue) or to a text saying why it
    has none. `trend` lists the periods shown, oldest first, ending with `period` (default: `period` alone).
    The change is value(period) - value(baseline), exact, in the metric's own unit (a rate's change is a
    difference of fractions: 0.05 is five points). Values are 6-place decimals (as_decimal) with the exact
    value beside them; an undefined value is None with its reason, never 0.
    """
    shown = list(trend) if trend else [period]
    if shown[-1] != period:
        raise ScorecardError(f"the trend must end with the period {period}, not {shown[-1]}")
    groups = []
    measured = values_by_period.get(period)
    shown_groups = GROUPS
    if isinstance(measured, Mapping) and "qa_auto_mean" in measured:
        shown_groups = (*GROUPS, CONVERSATION_GROUP)
    for key, title, lines in shown_groups:
        rows = []
        for ln in lines:
            value, why = _cell(ln, values_by_period.get(period))
            points = []
            for p in shown:
                v, w = _cell(ln, values_by_period.get(p))
                points.append({"period": p, "value": _text(v), "exact": _exact(v), "undefined": w})
            row: dict[str, Any] = {
                "metric": ln.key,
                "label": ln.label,
                "unit": ln.unit,
                "guardrail": ln.guardrail,
                "value": _text(value),
                "exact": _exact(value),
                "undefined": why,
                "trend": points,
                "baseline": None,
                "change": None,
                "change_exact": None,
            }
            if baseline is not None:
                b, bwhy = _cell(ln, values_by_period.get(baseline))
                change = _diff(value, b)
                row["baseline"] = {
                    "period": baseline,
                    "value": _text(b),
                    "exact": _exact(b),
                    "undefined": bwhy,
                }
                row["change"] = _text(change)
                row["change_exact"] = _exact(change)
            rows.append(row)
        groups.append({"group": key, "title": title, "metrics": rows})
    return {
        "contract": contract.contract,
        "version": contract.version,
        "currency": contract.currency,
        "workflow": workflow,
        "period": period,
        "trend": shown,
        "baseline": baseline,
        "right_channels": right_channels.as_dict() if right_channels is not None else None,
        "groups": groups,
    }


CSV_COLUMNS = ("group", "metric", "period", "role", "value", "exact", "undefined", "change_vs_baseline")


def show(value: str | None, unit: str) -> str:
    """A 6-place decimal text as a reader sees it: rates in percent, money and means to 2 places."""
    if value is None:
        return "-"
    d = Decimal(value)
    if unit == "rate":
        return f"{d * 100:.1f}%"
    if unit in ("seconds", "score"):
        return f"{d:.1f}"
    return f"{d:.2f}"


def show_change(value: str | None, unit: str) -> str:
    """A change as a reader sees it: a rate's in percentage points, signed."""
    if value is None:
        return "-"
    d = Decimal(value)
    if unit == "rate":
        return f"{d * 100:+.1f} pts"
    if unit in ("seconds", "score"):
        return f"{d:+.1f}"
    return f"{d:+.2f}"


def to_csv(card: Mapping[str, Any]) -> str:
    """One row per metric and period shown (role `trend`; the scorecard's period is the last) and one per
    metric for the baseline (role `baseline`); `change_vs_baseline` is filled on the scorecard period's row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for g in card["groups"]:
        for m in g["metrics"]:
            for pt in m["trend"]:
                change = m["change"] if pt["period"] == card["period"] else None
                w.writerow(
                    [
                        g["group"],
                        m["metric"],
                        pt["period"],
                        "trend",
                        pt["value"],
                        pt["exact"],
                        pt["undefined"],
                        change,
                    ]
                )
            b = m["baseline"]
            if b is not None:
                w.writerow(
                    [
                        g["group"],
                        m["metric"],
                        b["period"],
                        "baseline",
                        b["value"],
                        b["exact"],
                        b["undefined"],
                        None,
                    ]
                )
    return buf.getvalue()


def to_json(card: Mapping[str, Any]) -> str:
    return json.dumps(card, indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------------ the I/O


def _has_transcript_scores(facts: Any) -> bool:
    """Whether `outcomes analyze` has stored scores in this facts store (then the conversations group shows)."""
    try:
        if not facts.has_table("transcript_scores"):
            return False
        return bool(facts.con.execute("SELECT count(*) FROM transcript_scores").fetchone()[0])
    except AttributeError:  # a facts engine without transcripts (Spark)
        return False


def _settled_evidence(facts: Facts, settled: Any, contract: Contract) -> Any:
    """The evidence a settlement of the period wrote, when the facts and the contract version are the ones it
    measured (same digest): the scorecard reads it instead of verifying every outcome again."""
    if settled is None or not settled.outcomes or settled.version != contract.version:
        return None
    if settled.input_digest != facts.digest():
        return None
    try:
        return facts.evidence(settled.outcomes[0].evidence_table)
    except Exception:  # the evidence is gone (retention): measure again
        return None


def collect(
    ws: Workspace,
    contract_id: str,
    period_label: str,
    *,
    workflow: str | None = None,
    trend: int = DEFAULT_TREND,
    baseline: str | None = None,
    right_channels: RightChannels | None = None,
) -> dict[str, Any]:
    """Measure the scorecard of a contract from a workspace (latest facts) and lay it out.

    Each period is measured under the contract version in effect at its start; a period before the first
    version has no values. The baseline defaults to the period before the scorecard's period.
    cost_per_verified_resolution divides the period's settled total (the ledger) by the counted resolutions;
    it is undefined when the period is not settled, and for a single workflow (the total is the contract's).
    """
    from outcomes.ledger import LedgerError
    from outcomes.metrics.library import measure_metrics
    from outcomes.settlement.resolve import latest_version, period_of, resolve

    ledger = ws.ledger()
    facts = ws.facts()
    latest = latest_version(ledger, contract_id)
    try:
        period = period_of(ledger, contract_id, period_label)
        base = period_of(ledger, contract_id, baseline) if baseline is not None else period.previous()
    except ValueError as exc:
        raise ScorecardError(str(exc)) from None
    if workflow is not None and workflow not in latest.workflows:
        raise ScorecardError(
            f"workflow {workflow!r} is not defined in {contract_id} (workflows: {', '.join(latest.workflows)})"
        )
    shown = trend_periods(period, trend)
    wanted = {p.label: p for p in [*shown, base]}
    interactions = facts.interactions()
    events = facts.events()
    values: dict[str, PeriodValues] = {}
    contracts: dict[str, Contract] = {}
    for label, p in wanted.items():
        try:
            res = resolve(ledger, facts, contract_id, p)
        except LedgerError as exc:
            values[label] = str(exc)
            continue
        contract = res.contract
        contracts[label] = contract
        if workflow is not None and workflow not in contract.workflows:
            values[label] = f"workflow {workflow!r} is not in version {contract.version} of {contract_id}"
            continue
        if not res.in_term:
            values[label] = (
                f"outside the term of {contract_id} ({contract.term.start} to {contract.term.end})"
            )
            continue
        settled = ledger.find_settlement(contract_id, label)
        total = Decimal(settled.total) if settled is not None and workflow is None else None
        measured = measure_metrics(
            contract,
            interactions,
            events,
            res.window,
            res.clocks,
            requests(contract, workflow, right_channels, conversations=_has_transcript_scores(facts)),
            settled_total=total,
            evidence=_settled_evidence(facts, settled, contract),
        )
        by_name = {v.request.name: v for v in measured}
        cost = by_name["cost_per_verified_resolution"]
        if workflow is not None:
            why = "the settled total is the contract's, not a workflow's"
            by_name["cost_per_verified_resolution"] = MetricValue(
                cost.request, None, None, cost.denominator, {**cost.details, "undefined": why}
            )
        elif settled is None:
            by_name["cost_per_verified_resolution"] = MetricValue(
                cost.request,
                None,
                None,
                cost.denominator,
                {**cost.details, "undefined": "the period is not settled"},
            )
        values[label] = by_name
    contract = contracts.get(period.label, latest)
    return scorecard(
        contract,
        values,
        period=period.label,
        trend=[p.label for p in shown],
        baseline=base.label,
        workflow=workflow,
        right_channels=right_channels,
    )
