"""premature_closure and survey_selection_bias: the two group detectors, per agent.

Both start from the system-of-record, billable, agent-handled contacts closed in the period, each with its
*negative outcome* flag: reopened, or followed by the customer's next system-of-record contact (any channel,
queue, handler or provider) opened within the contract's resolution repeat window after it closed
(`Context.repeat_seconds`), or (surveys only) transferred.

* premature_closure: among resolved contacts, an agent whose share of negative outcomes is higher than the rest
  of the population's in the same queues (one-sided standardised test, Holm-corrected, `alpha`), by at least
  `premature_min_ratio`, with at least `min_resolved_per_agent` resolved contacts.
* survey_selection_bias: among resolved or transferred contacts with a negative outcome, an agent whose share of
  rated contacts (csat present) is lower than the rest's in the same queues (same test, lower tail), at most
  `survey_max_ratio` of what is expected: surveys that reach customers only after good closes.
"""

from __future__ import annotations

from decimal import Decimal

import ibis

from outcomes.metrics.repeats import repeated, with_next_contact, within_reach
from outcomes.metrics.scope import with_workflow

from .context import Context
from .model import DetectorRun, Finding
from .stats import GroupTest, holm, standardised

PREMATURE = "premature_closure"
SURVEY = "survey_selection_bias"


def with_negative(ctx: Context) -> ibis.Table:
    """System-of-record, billable, agent-handled contacts closed in the period, with `repeat` and `negative`."""
    t = ctx.interactions
    rule = ctx.repeat_rule
    s = with_workflow(ctx.contract, t.filter(ctx.sor(t))).select(
        "interaction_id", "customer_id", "provider", "handled_by", "agent_id", "queue", "workflow", "source",
        "status", "reopened", "csat", "opened_at", "closed_at",
    )  # fmt: skip
    first = s.filter(ctx.closed_in(s)).opened_at.min()
    s = s.filter(s.opened_at >= first, within_reach(s, ctx.window.end, rule))
    s = with_next_contact(ctx.contract, rule, s)
    s = s.filter(
        ctx.closed_in(s), ctx.billable(s), s.handled_by.fill_null("") == "agent", s.agent_id.notnull()
    )
    repeat = s.customer_id.notnull() & repeated(s, rule)
    s = s.mutate(repeat=repeat, bad_close=s.reopened.fill_null(False) | repeat)
    return s.mutate(negative=s.bad_close | (s.status.fill_null("") == "transferred"))


def _cells(t: ibis.Table, flag: ibis.Value) -> list[tuple[str, str, int, int]]:
    g = t.group_by("agent_id", "queue").agg(n=t.count(), k=flag.cast("int64").sum())
    return [
        (r["agent_id"], r["queue"] or "", int(r["n"]), int(r["k"] or 0)) for r in g.to_pyarrow().to_pylist()
    ]


def _test(cells, tail: str, eligible) -> list[GroupTest]:
    tests = [t for t in standardised(cells, tail) if eligible(t)]
    return holm(tests)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def premature_closure(ctx: Context) -> DetectorRun:
    th = ctx.thresholds
    s = with_negative(ctx)
    resolved = s.filter(s.status.fill_null("") == "resolved")
    tests = _test(_cells(resolved, resolved.bad_close), "greater", lambda g: g.n >= th.min_resolved_per_agent)
    run = DetectorRun(PREMATURE, len(tests), "agents tested (resolved contacts >= minimum)", 0)
    flagged = [g for g in tests if g.p_adjusted < th.alpha and g.ratio >= th.premature_min_ratio]
    run.flagged = len(flagged)
    if not flagged:
        return run
    bad = resolved.filter(resolved.bad_close & resolved.agent_id.isin([g.subject for g in flagged]))
    rows = bad.select("interaction_id", "agent_id").order_by("interaction_id").to_pyarrow().to_pylist()
    counted = ctx.counted_of([r["interaction_id"] for r in rows])
    days = ctx.repeat_seconds / 86_400
    for g in flagged:
        ids = [r["interaction_id"] for r in rows if r["agent_id"] == g.subject]
        effect = ctx.money(
            sum((ctx.prices.unit(*counted[i]) or Decimal("0") for i in ids if i in counted), Decimal("0"))
        )
        severity = "critical" if g.ratio >= th.premature_critical_ratio else "warning"
        message = (
            f"agent {g.subject}: {g.observed} of {g.n} resolved contacts ({_pct(g.rate)}) were reopened or "
            f"followed by a repeat contact within {days:g} days; the rest of the population in the same queues "
            f"gives {g.expected:.1f} ({_pct(g.expected_rate)}); Holm-adjusted p = {g.p_adjusted:.2g}"
        )
        run.findings.append(
            Finding(
                detector=PREMATURE,
                severity=severity,
                subject=g.subject,
                subject_kind="agent",
                interaction_ids=ids,
                message=message,
                billing_effect=effect,
                details=_test_details(g, ids, counted),
            )
        )
    return run


def survey_selection_bias(ctx: Context) -> DetectorRun:
    th = ctx.thresholds
    s = with_negative(ctx)
    handled = s.filter(s.status.fill_null("").isin(["resolved", "transferred"]))
    neg = handled.filter(handled.negative)
    tests = _test(
        _cells(neg, neg.csat.notnull()),
        "less",
        lambda g: g.n >= th.min_negatives_per_agent and g.expected >= th.min_expected_responses,
    )
    run = DetectorRun(SURVEY, len(tests), "agents tested (negative-outcome contacts >= minimum)", 0)
    flagged = [g for g in tests if g.p_adjusted < th.alpha and g.ratio <= th.survey_max_ratio]
    run.flagged = len(flagged)
    if not flagged:
        return run
    agents = [g.subject for g in flagged]
    missing = neg.filter(neg.csat.isnull() & neg.agent_id.isin(agents))
    rows = missing.select("interaction_id", "agent_id").order_by("interaction_id").to_pyarrow().to_pylist()
    scores = handled.filter(handled.csat.notnull())
    top = scores.group_by(own=scores.agent_id.isin(agents)).agg(
        rated=scores.count(), top2=(scores.csat >= 4).cast("int64").sum()
    )
    top2 = {r["own"]: (int(r["top2"]), int(r["rated"])) for r in top.to_pyarrow().to_pylist()}
    for g in flagged:
        ids = [r["interaction_id"] for r in rows if r["agent_id"] == g.subject]
        severity = "critical" if g.ratio <= th.survey_critical_ratio else "warning"
        message = (
            f"agent {g.subject}: {g.observed} of {g.n} contacts with a negative outcome (reopened, repeated or "
            f"transferred) were rated ({_pct(g.rate)}); the rest of the population in the same queues gives "
            f"{g.expected:.1f} ({_pct(g.expected_rate)}): surveys seem to reach customers only after good "
            f"closes; Holm-adjusted p = {g.p_adjusted:.2g}"
        )
        details = _test_details(g, ids, {})
        details["csat_top2box_flagged_agents"] = _share(*top2.get(True, (0, 0)))
        details["csat_top2box_others"] = _share(*top2.get(False, (0, 0)))
        details["billing_note"] = (
            "no outcome fee depends on survey coverage; CSAT service levels and min_csat exclusions do"
        )
        run.findings.append(
            Finding(
                detector=SURVEY,
                severity=severity,
                subject=g.subject,
                subject_kind="agent",
                interaction_ids=ids,
                message=message,
                billing_effect=Decimal("0.00"),
                details=details,
            )
        )
    return run


def _share(k: int, n: int) -> float | None:
    return None if n == 0 else round(k / n, 6)


def _test_details(g: GroupTest, ids: list[str], counted: dict) -> dict:
    return {
        "contacts": g.n,
        "observed": g.observed,
        "expected": round(g.expected, 3),
        "rate": round(g.rate, 6),
        "expected_rate": round(g.expected_rate, 6),
        "ratio": None if g.ratio == float("inf") else round(g.ratio, 4),
        "z": round(g.z, 3),
        "p": g.p,
        "p_adjusted": g.p_adjusted,
        "counted_by_contract": sum(1 for i in ids if i in counted),
    }
