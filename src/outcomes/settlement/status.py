"""`outcomes status`: where a contract stands, for both parties at a glance: the data clocks, the last
settlement, the next period, and every period of the term up to the data clock that is not settled yet."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from outcomes.ledger import Ledger
from outcomes.metrics.outcomes import Clocks
from outcomes.metrics.scope import Window
from outcomes.period import Period
from outcomes.settlement.resolve import (
    Resolution,
    latest_version,
    local_text,
    term_periods,
    today_in,
    version_for,
)
from outcomes.settlement.stages import needs_events

if TYPE_CHECKING:
    from outcomes.facts import Facts


def contract_status(
    ledger: Ledger, facts: Facts, contract_id: str, now: datetime | None = None
) -> dict[str, Any]:
    contract = latest_version(ledger, contract_id)
    zone = contract.zone
    clocks = Clocks(contacts=facts.contact_clock(contract.system_of_record), events=facts.event_clock())
    # a contract that needs customer events is not settleable while none is ingested (stages.check_events)
    missing = needs_events(contract) if clocks.events is None else []
    settled = ledger.settlements(contract_id)
    last = settled[-1] if settled else None
    done = {s.period for s in settled}

    def state(p: Period) -> dict[str, Any]:
        version, row = version_for(ledger, contract_id, p)
        res = Resolution(version, row, p, Window.of(version, p), clocks, None)
        return {
            "period": p.label,
            "settleable": res.begun(now) and res.complete and not missing,
            "settleable_after": res.local(res.settleable_after),
        }

    # Every period of the term from its first up to the one the contact clock is in (at least the first one),
    # that has begun and has no settlement: nothing is hidden behind the last settlement.
    clock_day = None if clocks.contacts is None else clocks.contacts.replace(tzinfo=UTC).astimezone(zone).date()
    periods = term_periods(contract, clock_day or contract.term.start)
    today = today_in(zone, now)
    unsettled = [state(p) for p in periods if p.label not in done and p.start <= today]
    nxt = (
        Period.parse(last.period, contract.period).next()
        if last is not None
        else Period.containing(contract.term.start, contract.period)
    )
    return {
        "contract": contract_id,
        "version": contract.version,
        "term": {"start": contract.term.start.isoformat(), "end": contract.term.end.isoformat()},
        "today": today.isoformat(),
        "contact_clock": local_text(clocks.contacts, zone),
        "event_clock": local_text(clocks.events, zone),
        "missing_events": missing,
        "last_settlement": None
        if last is None
        else {
            "settlement": last.id,
            "period": last.period,
            "status": last.status,
            "total": f"{last.total} {last.currency}",
        },
        "next_period": state(nxt) if nxt.start <= contract.term.end else None,
        "unsettled": unsettled,
        "notices": json.loads(last.notices) if last is not None else [],
    }
