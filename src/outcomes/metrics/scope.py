"""What every outcome and metric shares: which rows are in scope and which workflow a contact belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis

from outcomes.contract.schema import Contract
from outcomes.period import Period, local_midnight_utc


@dataclass(frozen=True)
class Window:
    """A period as the facts store sees it: naive UTC bounds, half-open, clipped to the term."""

    period: Period
    start: datetime
    end: datetime

    @classmethod
    def of(cls, contract: Contract, period: Period) -> Window:
        zone = contract.zone
        start, end = period.utc_bounds(zone)
        # Contacts closed outside the term are not candidates: clip the period to the term's local days.
        term_start = local_midnight_utc(contract.term.start, zone)
        term_end = local_midnight_utc(contract.term.end + timedelta(days=1), zone)
        return cls(period, max(start, term_start), min(end, term_end))


def workflow_of(contract: Contract, queue: ibis.Value) -> ibis.Value:
    """The workflow whose queue list holds the contact's queue, else the default workflow (else null)."""
    branches = [(queue.isin(wf.queues), name) for name, wf in contract.workflows.items() if wf.queues]
    default = contract.default_workflow()
    fallback = ibis.literal(default, type="string") if default else ibis.null("string")
    if not branches:
        return fallback
    return ibis.cases(*branches, else_=fallback)


def with_workflow(contract: Contract, t: ibis.Table) -> ibis.Table:
    return t.mutate(workflow=workflow_of(contract, t.queue))


def billable(contract: Contract, provider: ibis.Value) -> ibis.Value:
    """Rows whose provider is billed under this contract (all when `billable_providers` is absent)."""
    if contract.billable_providers is None:
        return ibis.literal(True)
    return provider.fill_null("").isin(contract.billable_providers)


def closed_in(t: ibis.Table, w: Window) -> ibis.Value:
    return t.closed_at.notnull() & (t.closed_at >= w.start) & (t.closed_at < w.end)
