"""split_tickets: one problem opened as several tickets, each claimed resolved.

Among the resolved, agent-handled system-of-record contacts of one (known) customer handled by one agent for one
intent (a missing intent is one intent), taken in contact order, a *link* joins each to the previous one when it
was opened no later than `split_gap_seconds` after that one closed. Chains of links are split groups; the
finding lists every contact of every group closed in the period (contacts closed a day on either side are read
so that a group straddling a bound is seen). Money at stake: in each group the buyer owes at most one outcome;
every other counted contact of the group is billed too much (the counted ones except the most expensive).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import ibis

from .context import MARGIN, Context
from .model import DetectorRun, Finding, id_severity

NAME = "split_tickets"


def _eligible(ctx: Context) -> ibis.Table:
    t = ctx.interactions
    w = ctx.window
    return t.filter(
        ctx.sor(t),
        ctx.billable(t),
        t.handled_by.fill_null("") == "agent",
        t.status.fill_null("") == "resolved",
        t.customer_id.notnull(),
        t.agent_id.notnull(),
        t.closed_at.notnull(),
        t.closed_at >= w.start - MARGIN,
        t.closed_at < w.end + MARGIN,
    )


def detect(ctx: Context) -> DetectorRun:
    gap = ibis.interval(seconds=ctx.thresholds.split_gap_seconds)
    e = _eligible(ctx).select("interaction_id", "customer_id", "agent_id", "intent", "queue", "opened_at",
                              "closed_at")  # fmt: skip
    e = e.mutate(intent=e.intent.fill_null(""))
    keys = ["customer_id", "agent_id", "intent"]
    order = ["opened_at", "closed_at", "interaction_id"]
    w = ibis.window(group_by=keys, order_by=order)
    e = e.mutate(linked=(e.opened_at <= e.closed_at.lag().over(w) + gap).fill_null(False))
    e = e.mutate(chain=ibis.ifelse(e.linked, 0, 1).cumsum(group_by=keys, order_by=order))
    e = e.mutate(size=e.interaction_id.count().over(ibis.window(group_by=[*keys, "chain"])))
    e = e.filter((e.size > 1) & ctx.closed_in(e))
    rows = (
        e.select("interaction_id", "customer_id", "agent_id", "intent", "chain")
        .order_by(["customer_id", "agent_id", "intent", "chain", "interaction_id"])
        .to_pyarrow()
        .to_pylist()
    )
    t = ctx.interactions
    base = t.filter(
        ctx.sor(t),
        ctx.billable(t),
        t.handled_by.fill_null("") == "agent",
        t.status.fill_null("") == "resolved",
        ctx.closed_in(t),
    ).count()
    population = int(base.to_pyarrow().as_py())
    run = DetectorRun(NAME, population, "resolved agent-handled contacts closed in the period", len(rows))
    if not rows:
        return run
    ids = [r["interaction_id"] for r in rows]
    counted = ctx.counted_of(ids)
    groups: dict[tuple, list[str]] = defaultdict(list)
    for r in rows:
        groups[(r["customer_id"], r["agent_id"], r["intent"], r["chain"])].append(r["interaction_id"])
    effect = Decimal("0")
    billed_extra = 0
    for members in groups.values():
        prices = [ctx.prices.unit(*counted[i]) or Decimal("0") for i in members if i in counted]
        if len(prices) > 1:
            effect += sum(prices) - max(prices)
            billed_extra += len(prices) - 1
    effect = ctx.money(effect)
    agents = defaultdict(int)
    for r in rows:
        agents[r["agent_id"]] += 1
    message = (
        f"{len(rows)} resolved tickets in {len(groups)} groups look like one problem split into several "
        f"tickets (same customer, agent and intent, each opened within "
        f"{ctx.thresholds.split_gap_seconds // 60} min of the previous one's close); {billed_extra} extra "
        "resolutions in these groups are counted by the contract"
    )
    finding = Finding(
        detector=NAME,
        severity=id_severity(len(rows), population, effect, ctx.thresholds),
        subject=None,
        subject_kind=None,
        interaction_ids=ids,
        message=message,
        billing_effect=effect,
        details={
            "groups": len(groups),
            "counted_in_groups": sum(1 for i in ids if i in counted),
            "extra_counted": billed_extra,
            "top_agents": dict(sorted(agents.items(), key=lambda kv: (-kv[1], kv[0]))[:10]),
        },
    )
    run.findings.append(finding)
    return run
