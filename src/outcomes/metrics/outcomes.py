"""Verified outcomes (CONTRACT.md, "Which contacts are candidates, and why one is excluded").

Each outcome compiles to one Ibis expression: a row per candidate contact with its fate (`counted`,
`excluded` with exactly one reason, or `pending` while its look-ahead window is still open). That table is the
evidence of the invoice line; its SQL is what `outcomes explain` shows, so an auditor can rerun it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis

from outcomes.contract.schema import Contract, Outcome
from outcomes.metrics.repeats import (
    RepeatRule,
    not_observed,
    repeated,
    window_end,
    with_next_contact,
    within_reach,
)
from outcomes.metrics.scope import Window, billable, closed_in, with_workflow

# The order matters: a candidate is excluded for the first reason that applies.
REASONS = (
    "wrong_source",
    "other_provider",
    "no_workflow",
    "not_handled_by",
    "not_resolved",
    "reopened",
    "low_csat",
    "unverifiable_customer",
    "repeat_contact",
    "churned",
    "duplicate_save",
)

# Narrow on purpose: writing evidence dominates a settlement's cost. Everything else about a contact is one
# join away in the facts store, on (source, interaction_id).
EVIDENCE_COLUMNS = (
    "outcome",
    "source",
    "interaction_id",
    "customer_id",
    "workflow",
    "closed_at",
    "status",
    "reason",
    "repeat_id",
    "churn_at",
    "value",
    "pending_until",
)

# The facts an outcome reads; projecting early keeps the window's sort narrow.
_FACT_COLUMNS = (
    "interaction_id",
    "source",
    "customer_id",
    "channel",
    "queue",
    "opened_at",
    "closed_at",
    "status",
    "handled_by",
    "provider",
    "reopened",
    "csat",
    "intent",
)

# The types of the evidence, whatever the outcome: the nulls of the columns an outcome does not use are cast
# here once (one schema for every outcome, so the evidence of all outcomes can live in one table).
EVIDENCE_TYPES = {
    "repeat_id": "string",
    "closed_at": "timestamp",
    "churn_at": "timestamp",
    "pending_until": "timestamp",
    "value": "decimal(18, 2)",
}


@dataclass(frozen=True)
class Clocks:
    """How far each feed has been observed (naive UTC); None means nothing observed yet."""

    contacts: datetime | None
    events: datetime | None


def _seconds(n: int) -> ibis.Value:
    return ibis.interval(seconds=n)


def _needs_customer(o: Outcome) -> bool:
    return o.repeat_contact is not None or o.kind == "save"


def _candidate_filter(o: Outcome, t: ibis.Table) -> ibis.Value:
    # only ever used in a filter, where a null handler or intent compares as not a candidate
    if o.kind == "containment":
        return t.handled_by == "bot"
    if o.kind == "save":
        return t.intent == "cancel"
    return ibis.literal(True)


def _base_reason(contract: Contract, o: Outcome, t: ibis.Table) -> ibis.Value:
    checks: list[tuple[ibis.Value, str]] = [
        (t.source != contract.system_of_record, "wrong_source"),
        (~billable(contract, t.provider), "other_provider"),
        (t.workflow.isnull(), "no_workflow"),
        (~t.handled_by.fill_null("").isin(list(o.handlers())), "not_handled_by"),
        (t.status.fill_null("") != "resolved", "not_resolved"),
    ]
    if o.reopened == "exclude":
        checks.append((t.reopened.fill_null(False), "reopened"))
    if o.min_csat is not None:
        checks.append((t.csat.notnull() & (t.csat < o.min_csat), "low_csat"))
    if _needs_customer(o):
        checks.append((t.customer_id.isnull(), "unverifiable_customer"))
    rule = RepeatRule.of(o)
    if rule is not None:
        checks.append((repeated(t, rule), "repeat_contact"))
    return ibis.cases(*checks)  # no reason: null


def evidence(
    contract: Contract,
    name: str,
    interactions: ibis.Table,
    events: ibis.Table,
    window: Window,
    clocks: Clocks,
) -> ibis.Table:
    """One row per candidate of outcome `name` in `window`, with its fate and the ids that decide it."""
    o = contract.outcomes[name]
    rule = RepeatRule.of(o)
    t = with_workflow(contract, interactions.select(*_FACT_COLUMNS))
    if rule is not None:
        # A later contact can only be a repeat if it opened by the period end plus the window; and as a
        # candidate's next contact comes after it in contact order, contacts opened before every contact
        # closed in the period can be no candidate's next one: the window sorts one period, not the history.
        first = t.filter(closed_in(t, window)).opened_at.min()
        t = t.filter(within_reach(t, window.end, rule), t.opened_at >= first)
        if o.kind == "containment":
            # A candidate's next contact is one of its own customer's: when candidates are few (bot contacts),
            # the window need only sort the contacts of customers who have one. Contacts without a customer
            # stay (they may be candidates; no window decides them).
            cand = t.filter(closed_in(t, window) & _candidate_filter(o, t) & t.customer_id.notnull())
            t = t.filter(t.customer_id.isnull() | t.customer_id.isin(cand.customer_id))
        t = with_next_contact(contract, rule, t)
    else:
        t = t.mutate(repeat_id=None)
    t = t.filter(closed_in(t, window) & _candidate_filter(o, t))
    t = t.mutate(reason=_base_reason(contract, o, t))
    t = t.mutate(repeat_id=ibis.ifelse(t.reason == "repeat_contact", t.repeat_id, None))
    if rule is not None:
        pending_until = window_end(t.closed_at, rule)
        t = t.mutate(pending_until=ibis.ifelse(t.reason.isnull(), pending_until, None))
        t = t.mutate(waiting=not_observed(t.pending_until, clocks.contacts))
    else:
        t = t.mutate(pending_until=None, waiting=ibis.literal(False))
    if o.kind == "save":
        t = _save_fate(o, t, events, clocks)
    else:
        t = t.mutate(churn_at=None, value=None)
    status = ibis.cases(
        (t.reason.notnull(), "excluded"),
        (t.waiting, "pending"),
        else_="counted",
    )
    t = t.mutate(
        outcome=ibis.literal(name),
        status=status,
        pending_until=ibis.ifelse(status == "pending", t.pending_until, None),
    )
    # One schema for every outcome, so the evidence of all outcomes can live in one table.
    return t.select(*EVIDENCE_COLUMNS).cast(EVIDENCE_TYPES)


def _save_fate(o: Outcome, t: ibis.Table, events: ibis.Table, clocks: Clocks) -> ibis.Table:
    retained = _seconds(o.retained_for)
    c = t.filter(t.reason.isnull()).select("interaction_id", "customer_id", "closed_at")
    churn = events.filter(events.event == "churned").select(churn_customer="customer_id", churn_event_at="at")
    j = c.join(
        churn,
        (c.customer_id == churn.churn_customer)
        & (churn.churn_event_at > c.closed_at)
        & (churn.churn_event_at <= c.closed_at + retained),
    )
    first_churn = j.group_by(churn_id="interaction_id").agg(churn_at=j.churn_event_at.min())
    rev = events.filter(events.monthly_revenue.notnull()).select(
        rev_customer="customer_id", rev_at="at", rev_value="monthly_revenue"
    )
    jr = c.join(rev, (c.customer_id == rev.rev_customer) & (rev.rev_at <= c.closed_at))
    latest_rev = jr.group_by(rev_id="interaction_id").agg(value=jr.rev_value.argmax(jr.rev_at))

    t = t.left_join(first_churn, t.interaction_id == first_churn.churn_id).drop("churn_id")
    t = t.left_join(latest_rev, t.interaction_id == latest_rev.rev_id).drop("rev_id")
    t = t.mutate(reason=ibis.coalesce(t.reason, ibis.ifelse(t.churn_at.notnull(), "churned", None)))
    # Retention is decided by the CRM feed: until it has passed closed_at + retained_for the save waits.
    saved_until = t.closed_at + retained
    t = t.mutate(
        waiting=t.waiting | not_observed(saved_until, clocks.events),
        pending_until=ibis.ifelse(
            t.pending_until.isnull() | (saved_until > t.pending_until), saved_until, t.pending_until
        ),
    )
    # A customer is saved once per period, on their last qualifying contact.
    alive = t.reason.isnull()
    w = ibis.window(
        group_by=[alive, t.customer_id],
        order_by=[ibis.desc(t.closed_at), ibis.desc(t.opened_at), ibis.desc(t.interaction_id)],
    )
    t = t.mutate(rank=ibis.row_number().over(w))
    t = t.mutate(reason=ibis.ifelse(alive & (t.rank > 0), "duplicate_save", t.reason))
    return t.drop("rank")
