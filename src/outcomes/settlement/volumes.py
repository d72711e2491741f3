"""The work a period's contacts took: handled contacts and billed minutes per workflow, handler and channel.

Volume fees (per contact, per handled minute) are priced on it, seats staffed from the data are sized from it,
and the simulator starts its scenarios from it. A contact is *handled* as in METRICS.md's `handled`: closed in
the period (contract time zone, clipped to the term), status not `abandoned`, from the system of record and a
billable provider, in a workflow. Its billed minutes are its `handle_seconds` rounded up to the whole minute
(a missing handle time bills 0).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis

from outcomes.contract import Contract
from outcomes.errors import OutcomesError
from outcomes.metrics.scope import Window, billable, closed_in, with_workflow


@dataclass(frozen=True)
class WorkRow:
    workflow: str
    handler: str
    channel: str
    contacts: int
    minutes: int  # billed minutes: each contact's handle time rounded up to the whole minute
    handle_seconds: float


def work_expression(contract: Contract, interactions: ibis.Table, window: Window) -> ibis.Table:
    t = interactions
    t = t.filter(
        (t.source == contract.system_of_record)
        & billable(contract, t.provider)
        & closed_in(t, window)
        & (t.status != "abandoned")
        & t.handled_by.isin(["agent", "bot"])
    )
    t = with_workflow(contract, t).filter(lambda r: r.workflow.notnull())
    seconds = t.handle_seconds.fill_null(0)
    return t.group_by(["workflow", "handled_by", "channel"]).aggregate(
        contacts=t.count(),
        minutes=(seconds / 60).ceil().cast("int64").sum(),
        handle_seconds=seconds.sum(),
    )


def measure_work(contract: Contract, interactions: ibis.Table, window: Window) -> list[WorkRow]:
    expr = work_expression(contract, interactions, window)
    rows: list[dict[str, Any]] = expr.get_backend().to_pyarrow(expr).to_pylist()
    out = [
        WorkRow(
            r["workflow"],
            r["handled_by"],
            r["channel"] or "unknown",
            int(r["contacts"]),
            int(r["minutes"] or 0),
            float(r["handle_seconds"] or 0),
        )
        for r in rows
    ]
    return sorted(out, key=lambda w: (w.workflow, w.handler, w.channel))


def volumes_of(work: list[WorkRow]) -> dict[tuple[str, str, str], int]:
    """(basis, workflow, handler) -> quantity, as `pricing.volume_fee` reads it."""
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for w in work:
        out[("contact", w.workflow, w.handler)] += w.contacts
        out[("handled_minute", w.workflow, w.handler)] += w.minutes
    return dict(out)


class StaffingUnavailable(OutcomesError):
    code = "staffing_unavailable"


#: Staffing intervals: the demand of each half hour is staffed on its own (Erlang C assumes a steady rate).
INTERVAL_SECONDS = 1800


def demand_expression(
    contract: Contract, interactions: ibis.Table, window: Window
) -> tuple[ibis.Table, ibis.Table]:
    """(arrivals per interval, the mean agent handle time): contacts offered to agents, opened in the period."""
    t = interactions
    offered = t.filter(
        (t.source == contract.system_of_record)
        & billable(contract, t.provider)
        & t.opened_at.notnull()
        & (t.opened_at >= window.start)
        & (t.opened_at < window.end)
        & (t.handled_by.fill_null("agent") != "bot")
    )
    offered = with_workflow(contract, offered).filter(lambda r: r.workflow.notnull())
    arrivals = (
        offered.mutate(interval=(offered.opened_at.epoch_seconds() // INTERVAL_SECONDS).cast("int64"))
        .group_by("interval")
        .aggregate(arrivals=lambda r: r.count())
    )
    handled = t.filter(
        (t.source == contract.system_of_record)
        & billable(contract, t.provider)
        & closed_in(t, window)
        & (t.status != "abandoned")
        & (t.handled_by == "agent")
        & t.handle_seconds.notnull()
    )
    handled = with_workflow(contract, handled).filter(lambda r: r.workflow.notnull())
    aht = handled.aggregate(n=handled.count(), seconds=handled.handle_seconds.sum())
    return arrivals, aht


def required_agents(
    contract: Contract, interactions: ibis.Table, window: Window
) -> tuple[int, dict[str, Any]]:
    """The agents `seats: {agents: from_data}` bills, staffed from the period's demand (docs/contract.md):
    per 30-minute interval the fewest agents that meet the service level (Erlang C, `pricing/staffing.py`) at
    the period's mean agent handle time; hours on the phones / (1 - shrinkage) / agent_hours, rounded up."""
    import math

    from outcomes.contract.schema import default_agent_hours
    from outcomes.pricing.staffing import Demand, Target, required

    seats = contract.pricing.seats
    assert seats is not None
    arrivals_expr, aht_expr = demand_expression(contract, interactions, window)
    backend = arrivals_expr.get_backend()
    arrivals = [int(r["arrivals"]) for r in backend.to_pyarrow(arrivals_expr).to_pylist()]
    [aht_row] = backend.to_pyarrow(aht_expr).to_pylist()
    if not aht_row["n"]:
        if not arrivals:
            return 0, {"model": "erlang_c", "intervals": 0, "note": "no contacts offered to agents"}
        raise StaffingUnavailable(
            f"{contract.contract}: seats `from_data` need the agents' handle time, and no agent-handled contact "
            f"closed in {window.period.label} has `handle_seconds`",
            hint="map handle_seconds from the source, or give `agents` as a number",
        )
    aht = float(aht_row["seconds"]) / int(aht_row["n"])
    target = Target(
        service_level=float(seats.service_level), answer_within_seconds=float(seats.answer_within)
    )
    needed: dict[int, int] = {}
    for n in set(arrivals):
        needed[n] = required(Demand(n, INTERVAL_SECONDS, aht), target).agents
    on_phones = Decimal(sum(needed[n] for n in arrivals) * INTERVAL_SECONDS) / Decimal(3600)
    paid = on_phones / (1 - seats.shrinkage)
    hours = seats.agent_hours if seats.agent_hours is not None else default_agent_hours(contract.period)
    agents = math.ceil(paid / hours)
    return agents, {
        "model": "erlang_c",
        "interval": f"{INTERVAL_SECONDS // 60}m",
        "intervals_with_demand": len(arrivals),
        "offered": sum(arrivals),
        "aht_seconds": Decimal(str(round(aht, 3))),
        "service_level": seats.service_level,
        "answer_within_seconds": seats.answer_within,
        "hours_on_phones": on_phones,
        "shrinkage": seats.shrinkage,
        "paid_hours": paid.quantize(Decimal("0.01")),
        "agent_hours": hours,
        "busiest_interval_agents": max((needed[n] for n in arrivals), default=0),
    }
