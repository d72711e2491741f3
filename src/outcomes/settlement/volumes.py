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


def required_agents(
    contract: Contract, interactions: ibis.Table, window: Window
) -> tuple[int, dict[str, Any]]:
    """The agents `seats: {agents: from_data}` bills: staffed from the period's demand.

    TODO(h-staffing): call the Erlang C staffing module (`outcomes staffing`) once it is merged; until then a
    seat contract must give `agents` as a number, and no tested figure depends on this function.
    """
    raise StaffingUnavailable(
        f"{contract.contract}: `pricing.seats.agents: from_data` needs the staffing model, which this build "
        "does not have yet",
        hint="give `agents` as a number of agents for now",
    )
