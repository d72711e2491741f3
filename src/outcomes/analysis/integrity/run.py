"""Running the detectors: `check(ctx)` is the engine-side work over a Context; `collect(ws, ...)` opens what a
workspace holds (the contract version in force, the current and versioned facts, the data clocks)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from outcomes.metrics.outcomes import Clocks
from outcomes.period import Period

from . import claims, closure, containment, reclassification, splits
from .context import Context
from .model import DETECTORS, DetectorRun, IntegrityError, Report, Thresholds

RUNNERS: dict[str, Callable[[Context], DetectorRun]] = {
    "split_tickets": splits.detect,
    "premature_closure": closure.premature_closure,
    "containment_abandonment": containment.detect,
    "survey_selection_bias": closure.survey_selection_bias,
    "reclassification": reclassification.detect,
    "unsupported_claims": claims.detect,
}
assert tuple(RUNNERS) == DETECTORS


def check(ctx: Context, only: Sequence[str] | None = None) -> Report:
    names = list(only) if only else list(DETECTORS)
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        raise IntegrityError(
            f"unknown detector {', '.join(map(repr, unknown))}; choose from {', '.join(DETECTORS)}"
        )
    try:
        runs = [RUNNERS[n](ctx) for n in DETECTORS if n in names]
    finally:
        ctx.release()
    c = ctx.contract
    return Report(c.contract, c.version, ctx.period.label, c.currency, ctx.thresholds, runs)


def collect(
    ws: Any,
    contract_id: str,
    period_label: str,
    *,
    only: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    """The integrity report of a contract's period from a workspace (latest facts, every version kept)."""
    ledger = ws.ledger()
    facts = ws.facts()
    try:
        latest = ledger.contract_version(contract_id)
        kind = json.loads(latest.canonical)["period"]
        period = Period.parse(period_label, kind)
        contract, _row = ledger.contract_for(contract_id, period.start)
    except ValueError as exc:
        raise IntegrityError(f"--period: {exc}") from None
    if period.end <= contract.term.start or period.start > contract.term.end:
        raise IntegrityError(
            f"period {period.label} lies outside the term of {contract_id} "
            f"({contract.term.start} to {contract.term.end})"
        )
    clocks = Clocks(contacts=facts.contact_clock(contract.system_of_record), events=facts.event_clock())
    ctx = Context(
        contract=contract,
        period=period,
        interactions=facts.interactions(),
        events=facts.events(),
        clocks=clocks,
        history=facts.versions("interactions"),
        thresholds=thresholds or Thresholds(),
    )
    return check(ctx, only)
