"""The repeat-contact test (CONTRACT.md, "repeat_contact"), one definition for the outcomes' evidence, the
metric library (FCR, repeat rate) and the integrity checks (premature closure).

A contact is repeated when the next system-of-record contact of the same customer (and workflow, when the rule
says so) opened at or before `closed_at + within`. Contact order is (opened_at, closed_at nulls last,
interaction_id); the next contact in that order has the earliest opening of all later ones, so a repeat
exists exactly when the next one opened inside the window. The window is observed once the contact feed's
clock has passed its end; until then the contact's fate waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis

from outcomes.contract.schema import Contract, Outcome


@dataclass(frozen=True)
class RepeatRule:
    """Within how many seconds after a close a next contact makes it a repeat, and what must be the same."""

    within: int
    same: tuple[str, ...] = ("customer",)

    @classmethod
    def of(cls, o: Outcome) -> RepeatRule | None:
        rc = o.repeat_contact
        return None if rc is None else cls(rc.within, tuple(rc.same))

    @property
    def reach(self) -> timedelta:
        return timedelta(seconds=self.within)


def within_reach(t: ibis.Table, period_end: datetime, rule: RepeatRule) -> ibis.Value:
    """Contacts that can be the repeat of one closed before `period_end`: opened by the end plus the window."""
    return t.opened_at <= period_end + rule.reach


def with_next_contact(contract: Contract, rule: RepeatRule, t: ibis.Table) -> ibis.Table:
    """`repeat_id` and `repeat_opened_at`: the next system-of-record contact of the same customer (and
    workflow when the rule says so), in contact order. Only system-of-record contacts with a customer have a
    meaningful next contact (the others are grouped apart, and excluded for their own reason first)."""
    member = (t.source == contract.system_of_record) & t.customer_id.notnull()
    keys = [member, t.customer_id] + ([t.workflow] if "workflow" in rule.same else [])
    order = [t.opened_at, ibis.asc(t.closed_at, nulls_first=False), t.interaction_id]
    w = ibis.window(group_by=keys, order_by=order)
    return t.mutate(repeat_id=t.interaction_id.lead().over(w), repeat_opened_at=t.opened_at.lead().over(w))


def window_end(closed_at: ibis.Value, rule: RepeatRule) -> ibis.Value:
    return closed_at + ibis.interval(seconds=rule.within)


def repeated(t: ibis.Table, rule: RepeatRule) -> ibis.Value:
    """The contact's next contact (from `with_next_contact`) opened inside its repeat window."""
    return t.repeat_opened_at.notnull() & (t.repeat_opened_at <= window_end(t.closed_at, rule))


def not_observed(until: ibis.Value, clock: datetime | None) -> ibis.Value:
    """A look-ahead ending at `until` reaches past what the feed has observed (its clock); no clock means
    nothing has been observed. A contact with no look-ahead (`until` null) has nothing to wait for."""
    if clock is None:
        return until.notnull()
    return until.notnull() & (until > ibis.literal(clock, type="timestamp"))
