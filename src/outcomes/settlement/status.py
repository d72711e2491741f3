"""`outcomes status`: where a contract stands, for both parties at a glance."""

from __future__ import annotations

import json
from datetime import UTC, date
from typing import Any

from outcomes.ledger import Ledger, load_version
from outcomes.metrics.scope import Window
from outcomes.period import Period
from outcomes.settlement.settle import settleable_after


def _local(dt, zone) -> str | None:
    return None if dt is None else dt.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="minutes")


def contract_status(ledger: Ledger, facts, contract_id: str) -> dict[str, Any]:
    contract = load_version(ledger.contract_version(contract_id))
    zone = contract.zone
    contacts = facts.contact_clock(contract.system_of_record)
    events = facts.event_clock()
    settled = ledger.settlements(contract_id)
    last = settled[-1] if settled else None
    if last is not None:
        nxt = Period.parse(last.period, contract.period).next()
    else:
        nxt = Period.containing(contract.term.start, contract.period)
    next_info = None
    if nxt.start <= contract.term.end:
        version, _ = ledger.contract_for(contract_id, nxt.start)
        needed = settleable_after(version, Window.of(version, nxt))
        next_info = {
            "period": nxt.label,
            "settleable": contacts is not None and contacts > needed,
            "settleable_after": _local(needed, zone),
        }
    notices = json.loads(last.notices) if last is not None else []
    return {
        "contract": contract_id,
        "version": contract.version,
        "term": {"start": contract.term.start.isoformat(), "end": contract.term.end.isoformat()},
        "today": date.today().isoformat(),
        "contact_clock": _local(contacts, zone),
        "event_clock": _local(events, zone),
        "last_settlement": None
        if last is None
        else {
            "settlement": last.id,
            "period": last.period,
            "status": last.status,
            "total": f"{last.total} {last.currency}",
        },
        "next_period": next_info,
        "notices": notices,
    }
