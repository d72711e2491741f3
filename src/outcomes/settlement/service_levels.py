"""Service levels: which measures met their targets, the credits and earn-backs that follow, review triggers.

The metric values come from the metric library (exact fractions); this module decides met / missed / no data
exactly (a target compares the unrounded value: `>= 0.80` is met by 0.8 exactly) and hands money to the pure
pricing components.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from outcomes.contract.schema import Contract
from outcomes.ledger import Ledger
from outcomes.metrics.library import MetricRequest, MetricValue
from outcomes.pricing.credits import MeasureResult, earn_back
from outcomes.pricing.lines import Line


def as_decimal(value: Fraction | Decimal | int | None, places: int = 6) -> Decimal | None:
    """For showing and storing: an exact fraction rounded to `places` decimals (comparisons use the fraction)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    f = Fraction(value)
    return (Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal(1).scaleb(-places))


def measureMetricRequest(m) -> MetricRequest:
    return MetricRequest(
        m.metric, tuple(m.workflows) if m.workflows else None, threshold=m.threshold, window=m.window
    )


def requests(contract: Contract) -> list[MetricRequest]:
    """Every metric value a period's settlement needs: measures, triggers, containment and value share."""
    out: list[MetricRequest] = []
    if contract.service_levels is not None:
        out += [measureMetricRequest(m) for m in contract.service_levels.measures]
    if contract.automation is not None:
        out += [MetricRequest("handled")]
        out += [MetricRequest(t.metric) for t in contract.automation.review_triggers]
    vs = contract.pricing.value_share
    if vs is not None and vs.metric == "revenue_influenced":
        out.append(MetricRequest("revenue_influenced", window=vs.window))
    unique: list[MetricRequest] = []
    for r in out:
        if r not in unique:
            unique.append(r)
    return unique


def _met(target, value: Fraction | Decimal) -> bool:
    actual = Fraction(value)
    goal = Fraction(target.value)
    return actual >= goal if target.op == ">=" else actual <= goal


def assess(contract: Contract, values: Mapping[MetricRequest, MetricValue]) -> list[MeasureResult]:
    if contract.service_levels is None:
        return []
    results = []
    for i, m in enumerate(contract.service_levels.measures):
        v = values[measureMetricRequest(m)].value
        results.append(
            MeasureResult(
                index=i,
                metric=m.metric,
                target=m.target,
                actual=as_decimal(v),
                met=None if v is None else _met(m.target, v),
            )
        )
    return results


def results_json(results: Sequence[MeasureResult]) -> list[dict[str, Any]]:
    return [
        {
            "measure": r.index,
            "metric": r.metric,
            "target": str(r.target),
            "actual": None if r.actual is None else format(r.actual, "f"),
            "met": r.met,
        }
        for r in results
    ]


@dataclass(frozen=True)
class SettledPeriod:
    """What an earlier settlement recorded that later periods build on: measure results and credits."""

    settlement: int
    period: str
    measures: list[dict[str, Any]]
    credits: list[tuple[int, int, Decimal, str]]  # (line seq, measure index, amount billed, metric)


def earn_backs(
    contract: Contract,
    period_label: str,
    current: Sequence[MeasureResult],
    earlier: Sequence[SettledPeriod],
) -> list[Line]:
    """Credits of earlier periods returned in this one: their measure met target `earn_back.periods`
    consecutive periods counted from the first period after the miss (periods with no data pause)."""
    sl = contract.service_levels
    if sl is None or sl.earn_back is None:
        return []
    lines = []
    ordered = sorted(earlier, key=lambda s: s.period)
    for k, s in enumerate(ordered):
        if s.period >= period_label:
            continue
        for seq, index, amount, metric in s.credits:
            history: list[bool | None] = []
            for later in ordered[k + 1 :]:
                if later.period >= period_label:
                    break
                history.append(next((r["met"] for r in later.measures if r["measure"] == index), None))
            history.append(next((r.met for r in current if r.index == index), None))
            line = earn_back(
                f"settlement {s.settlement} line {seq}",
                amount,
                history,
                sl.earn_back.periods,
                contract.currency,
                metric=metric,
                workflows=tuple(sl.measures[index].workflows or ()) if index < len(sl.measures) else (),
            )
            if line is not None:
                details = dict(line.details)
                details.update(
                    {"credit_settlement": s.settlement, "credit_period": s.period, "credit_line": seq}
                )
                lines.append(replace(line, details=details))
    return lines


def trigger_notices(contract: Contract, values: Mapping[MetricRequest, MetricValue]) -> list[dict[str, Any]]:
    """Review triggers: a notice (never money) when a metric crosses its threshold."""
    if contract.automation is None:
        return []
    notices = []
    for t in contract.automation.review_triggers:
        v = values[MetricRequest(t.metric)].value
        if v is None:
            continue
        crossed = (t.above is not None and Fraction(v) > Fraction(t.above)) or (
            t.below is not None and Fraction(v) < Fraction(t.below)
        )
        if crossed:
            bound = (
                f"above {t.above}"
                if t.above is not None and Fraction(v) > Fraction(t.above)
                else f"below {t.below}"
            )
            notices.append(
                {
                    "code": "review_trigger",
                    "metric": t.metric,
                    "value": format(as_decimal(v), "f"),
                    "threshold": bound,
                    "message": f"{t.metric} is {as_decimal(v, 4)}, {bound}: the contract calls for a price review",
                }
            )
    return notices


def settled_periods(ledger: Ledger, contract_id: str) -> list[SettledPeriod]:
    """Earlier settlements' measure results and credits: what earn-backs count on."""
    out = []
    for s in ledger.settlements(contract_id):
        credits = []
        for ln in s.lines:
            if ln.kind == "service_credit":
                d = json.loads(ln.details)
                credits.append((ln.seq, int(d["measure"]), Decimal(ln.amount), d.get("metric", "")))
        out.append(SettledPeriod(s.id, s.period, json.loads(s.measures or "[]"), credits))
    return out
