"""Running the detectors: `check(ctx)` is the engine-side work over a Context; `collect(ws, ...)` opens what a
workspace holds (the contract version in force, the current and versioned facts, the data clocks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import claims, closure, containment, reclassification, splits
from .context import Context
from .model import DETECTORS, DetectorRun, IntegrityError, Report, Thresholds

if TYPE_CHECKING:
    from outcomes.workspace import Workspace

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
    ws: Workspace,
    contract_id: str,
    period_label: str,
    *,
    only: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    """The integrity report of a contract's period from a workspace (latest facts, every version kept)."""
    from outcomes.settlement.resolve import resolve

    ledger = ws.ledger()
    facts = ws.facts()
    try:
        res = resolve(ledger, facts, contract_id, period_label)
    except ValueError as exc:
        raise IntegrityError(f"--period: {exc}") from None
    if not res.in_term:
        raise IntegrityError(res.outside_term())
    ctx = Context(
        contract=res.contract,
        period=res.period,
        interactions=facts.interactions(),
        events=facts.events(),
        clocks=res.clocks,
        history=facts.versions("interactions"),
        thresholds=thresholds or Thresholds(),
    )
    return check(ctx, only)
