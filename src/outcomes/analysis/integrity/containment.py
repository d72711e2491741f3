"""containment_abandonment: bot sessions recorded as resolved that were abandonment.

A *claim* is a system-of-record, billable, bot-handled contact with status `resolved` closed in the period. It
is flagged when the same (known) customer opened a system-of-record contact on another channel than `bot` at or
after the session's opening and no later than `containment_return_seconds` after it closed: the customer left
the bot unanswered and came back to a human. Money at stake: the containment fees of flagged sessions the
contract counts (usually none: the contract's own repeat check catches a return this quick); the abandonment
rate is understated by the flagged sessions either way.
"""

from __future__ import annotations

from decimal import Decimal

import ibis

from .context import MARGIN, Context
from .model import DetectorRun, Finding, id_severity

NAME = "containment_abandonment"


def detect(ctx: Context) -> DetectorRun:
    t = ctx.interactions
    w = ctx.window
    within = ibis.interval(seconds=ctx.thresholds.containment_return_seconds)
    claims = t.filter(
        ctx.sor(t),
        ctx.billable(t),
        t.handled_by.fill_null("") == "bot",
        t.status.fill_null("") == "resolved",
        ctx.closed_in(t),
    )
    population = int(claims.count().to_pyarrow().as_py())
    c = claims.filter(claims.customer_id.notnull()).select(
        "interaction_id", "customer_id", "opened_at", "closed_at"
    )
    r = t.filter(
        ctx.sor(t),
        t.customer_id.notnull(),
        t.channel.fill_null("") != "bot",
        t.opened_at >= w.start - MARGIN,
        t.opened_at < w.end + MARGIN,
    ).select(r_id="interaction_id", r_customer="customer_id", r_opened="opened_at", r_channel="channel")
    j = c.inner_join(
        r,
        (c.customer_id == r.r_customer) & (r.r_opened >= c.opened_at) & (r.r_opened <= c.closed_at + within),
    )
    hits = j.group_by("interaction_id").agg(
        return_id=j.r_id.argmin(j.r_opened), return_channel=j.r_channel.argmin(j.r_opened)
    )
    rows = hits.order_by("interaction_id").to_pyarrow().to_pylist()
    run = DetectorRun(NAME, population, "bot sessions recorded as resolved, closed in the period", len(rows))
    if not rows:
        return run
    ids = [x["interaction_id"] for x in rows]
    counted = ctx.counted_of(ids)
    effect = ctx.money(sum((ctx.prices.unit(*counted[i]) or Decimal("0") for i in counted), Decimal("0")))
    channels: dict[str, int] = {}
    for x in rows:
        channels[x["return_channel"]] = channels.get(x["return_channel"], 0) + 1
    message = (
        f"{len(rows)} of {population} bot sessions recorded as resolved were followed within "
        f"{ctx.thresholds.containment_return_seconds // 60} min by the customer on another channel: abandonment "
        f"recorded as containment; {len(counted)} of them are counted by the contract"
    )
    run.findings.append(
        Finding(
            detector=NAME,
            severity=id_severity(len(rows), population, effect, ctx.thresholds),
            subject=None,
            subject_kind=None,
            interaction_ids=ids,
            message=message,
            billing_effect=effect,
            details={
                "counted_by_contract": len(counted),
                "return_channels": dict(sorted(channels.items())),
                "returns": {x["interaction_id"]: x["return_id"] for x in rows},
            },
        )
    )
    return run
