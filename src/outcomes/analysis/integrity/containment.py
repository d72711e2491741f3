"""containment_abandonment: bot sessions recorded as resolved that were abandonment.

A *claim* is a system-of-record, billable, bot-handled contact with status `resolved` closed in the period. Its
*return* is the first system-of-record contact of the same (known) customer on another channel than `bot`,
opened at or after the session's opening (a human contact). Two patterns are judged:

* **the quick return**: a return no later than `containment_return_seconds` (10 min) after the session closed:
  the customer left the bot unanswered and came straight to a human. Every such session is flagged.
* **the slow return**: a customer who gives up on the bot and phones hours later. One session cannot tell it
  from an ordinary repeat, so the detector measures the *return curve*: the share of claims with a return
  within 10 min, 1 h, 24 h, 72 h (and the horizon), against the same share after agent-resolved contacts of
  the same queues (indirectly standardised, queue by queue: the bot's queues weigh the agents' rates). Only
  contacts whose look-ahead the contact clock has passed count at each point. The sessions with a return
  after the quick window and within the horizon (`containment_horizon_seconds`, 72 h, or the contract's own
  containment window when longer) are flagged when (a) bot sessions return significantly more often than the
  agents' baseline (one-sided z-test at `alpha`, observed / expected at least `containment_min_ratio`) and (b)
  the contract paid some of them: a return the contract's own repeat window already catches is not billed,
  and the curve shows the rate either way.

Money at stake: the containment fees the contract counts for the flagged sessions, at the contract's price.
The curve, the test and the paid sessions followed by a human within the horizon are in the run's `details`
whether or not a finding is raised (docs/integrity.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import ibis

from outcomes.metrics.repeats import RepeatRule
from outcomes.pricing.money import money_text

from .context import MARGIN, Context
from .model import DetectorRun, Finding, id_severity

NAME = "containment_abandonment"

#: The points of the return curve, in seconds after the session closed (the horizon is added when longer).
CURVE_SECONDS = (600, 3_600, 86_400, 259_200)

_NORMAL = NormalDist()


def label(seconds: int) -> str:
    """10 min, 1 h, 72 h, 7 d: a look-ahead as a reader says it."""
    if seconds % 86_400 == 0 and seconds >= 7 * 86_400:
        return f"{seconds // 86_400} d"
    if seconds % 3_600 == 0:
        return f"{seconds // 3_600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def p_text(p: float) -> str:
    """A p-value as a reader reads it (a tail below double precision is not 0)."""
    return "p<1e-12" if p < 1e-12 else f"p={p:.2g}"


def horizon(ctx: Context) -> tuple[int, int | None]:
    """(the horizon of the slow return, the contract's containment window or None): the horizon is the
    threshold's (72 h) or the contract's own window when that is longer."""
    from outcomes.metrics.library import outcome_of_kind

    found = outcome_of_kind(ctx.contract, "containment")
    rule = RepeatRule.of(found[1]) if found is not None else None
    window = rule.within if rule is not None else None
    return max(ctx.thresholds.containment_horizon_seconds, window or 0), window


def _returns(ctx: Context, h: int, points: list[int]) -> tuple[ibis.Table, ibis.Table]:
    """(per who and queue, the contacts observed at each point and those with a return within it; the bot
    claims with a return within the horizon `h`, with the delay, the return and its channel)."""
    t = ctx.interactions
    w = ctx.window
    resolved = t.filter(
        ctx.sor(t),
        ctx.billable(t),
        t.status.fill_null("") == "resolved",
        ctx.closed_in(t),
        t.customer_id.notnull(),
        t.handled_by.fill_null("").isin(["bot", "agent"]),
    )
    c = resolved.select(
        "interaction_id",
        "customer_id",
        "opened_at",
        "closed_at",
        who=resolved.handled_by,
        queue=resolved.queue.fill_null(""),
    )
    r = t.filter(
        ctx.sor(t),
        t.customer_id.notnull(),
        t.channel.fill_null("") != "bot",
        t.opened_at >= w.start - MARGIN,
        t.opened_at < w.end + timedelta(seconds=h) + MARGIN,
    ).select(r_id="interaction_id", r_customer="customer_id", r_opened="opened_at", r_channel="channel")
    j = c.inner_join(
        r,
        (c.customer_id == r.r_customer)
        & (r.r_opened >= c.opened_at)
        & (r.r_opened <= c.closed_at + ibis.interval(seconds=h))
        & (r.r_id != c.interaction_id),
    )
    first = j.group_by(f_id=j.interaction_id).agg(
        first_at=j.r_opened.min(),
        return_id=j.r_id.argmin(j.r_opened),
        return_channel=j.r_channel.argmin(j.r_opened),
    )
    m = c.left_join(first, c.interaction_id == first.f_id)
    # a return during the session counts as at once (delay 0)
    raw = m.first_at.epoch_seconds() - m.closed_at.epoch_seconds()
    m = m.mutate(delay=ibis.ifelse(raw < 0, 0, raw))
    clock = ctx.clocks.contacts

    def observed(p: int) -> ibis.Value:
        if clock is None:
            return ibis.literal(False)
        return m.closed_at + ibis.interval(seconds=p) <= ibis.literal(clock, type="timestamp")

    aggs: dict[str, Any] = {}
    for p in points:
        aggs[f"n_{p}"] = ibis.coalesce(m.count(where=observed(p)), 0)
        aggs[f"k_{p}"] = ibis.coalesce(m.count(where=observed(p) & m.delay.notnull() & (m.delay <= p)), 0)
    curve = m.group_by("who", "queue").agg(**aggs)
    hits = m.filter((m.who == "bot") & m.delay.notnull()).select(
        "interaction_id", "queue", "delay", "return_id", "return_channel"
    )
    return curve, hits


def _curve(rows: list[dict[str, Any]], points: list[int]) -> tuple[list[dict[str, Any]], dict[int, tuple]]:
    """The curve at each point: the bot's rate, the agents' of the same queues (pooled) and the bot's expected
    rate at the agents' rates, queue by queue; and per point (observed, expected, variance, queues without an
    agent baseline)."""
    cells: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for row in rows:
        cells[row["queue"]][row["who"]] = row
    out, tests = [], {}
    for p in points:
        nb = kb = na = ka = 0
        obs = exp = var = 0.0
        orphan = 0
        for cell in cells.values():
            b = cell.get("bot")
            if b is None or not b[f"n_{p}"]:
                continue
            a = cell.get("agent")
            n, k = int(b[f"n_{p}"]), int(b[f"k_{p}"])
            nb, kb = nb + n, kb + k
            if a is None or not a[f"n_{p}"]:
                orphan += n
                continue
            an, ak = int(a[f"n_{p}"]), int(a[f"k_{p}"])
            na, ka = na + an, ka + ak
            rate = (ak + 0.5) / (an + 1.0)  # half a contact each side keeps a rate of 0 or 1 some variance
            obs += k
            exp += n * rate
            var += n * rate * (1 - rate)
        tests[p] = (obs, exp, var, orphan)
        compared = nb - orphan
        out.append(
            {
                "within_seconds": p,
                "within": label(p),
                "bot_sessions": nb,
                "bot_returned": kb,
                "bot_rate": None if not nb else round(kb / nb, 6),
                "agent_contacts": na,
                "agent_returned": ka,
                "agent_rate": None if not na else round(ka / na, 6),
                "expected_rate": None if not compared else round(exp / compared, 6),
                "ratio": None if not exp else round(obs / exp, 4),
            }
        )
    return out, tests


def detect(ctx: Context) -> DetectorRun:
    t = ctx.interactions
    th = ctx.thresholds
    h, window = horizon(ctx)
    quick = th.containment_return_seconds
    points = sorted({*CURVE_SECONDS, quick, h, *([window] if window else [])})
    claims = t.filter(
        ctx.sor(t),
        ctx.billable(t),
        t.handled_by.fill_null("") == "bot",
        t.status.fill_null("") == "resolved",
        ctx.closed_in(t),
    )
    population = int(claims.count().to_pyarrow().as_py())
    run = DetectorRun(NAME, population, "bot sessions recorded as resolved, closed in the period", 0)
    if population == 0:
        return run
    curve_t, hits_t = _returns(ctx, h, points)
    curve, tests = _curve(curve_t.to_pyarrow().to_pylist(), points)
    hits = sorted(hits_t.to_pyarrow().to_pylist(), key=lambda x: x["interaction_id"])
    fast = [x for x in hits if x["delay"] <= quick]
    slow = [x for x in hits if quick < x["delay"] <= h]
    counted = ctx.counted_of([x["interaction_id"] for x in hits])

    def price(i: str) -> Decimal:
        """What the contract pays for this session (0: not counted, or counted by no fee line)."""
        if i not in counted:
            return Decimal("0")
        return ctx.prices.unit(*counted[i]) or Decimal("0")

    paid = [x["interaction_id"] for x in hits if price(x["interaction_id"]) > 0]
    paid_amount = ctx.money(sum((price(i) for i in paid), Decimal("0")))
    obs, exp, var, orphan = tests[h]
    z = (obs - exp) / math.sqrt(var) if var > 0 else 0.0
    p_value = _NORMAL.cdf(-z)
    ratio = obs / exp if exp > 0 else None
    significant = p_value < th.alpha and ratio is not None and ratio >= th.containment_min_ratio
    run.details = {
        "quick_seconds": quick,
        "horizon_seconds": h,
        "contract_window_seconds": window,
        "curve": curve,
        "test": {
            "within_seconds": h,
            "observed": int(obs),
            "expected": round(exp, 2),
            "ratio": None if ratio is None else round(ratio, 4),
            "z": round(z, 4),
            "p": p_value,
            "significant": significant,
            "sessions_without_agent_baseline": orphan,
        },
        "paid_followed_by_human": {
            "within_seconds": h,
            "count": len(paid),
            "amount": money_text(paid_amount, ctx.currency),
            "currency": ctx.currency,
        },
    }
    if fast:
        run.findings.append(_quick_finding(ctx, fast, population, counted, price))
    slow_paid = [x["interaction_id"] for x in slow if price(x["interaction_id"]) > 0]
    if slow and significant and slow_paid:
        run.findings.append(_slow_finding(ctx, slow, slow_paid, population, price, run.details))
    run.flagged = sum(f.count for f in run.findings)
    return run


def _quick_finding(ctx: Context, rows: list[dict], population: int, counted: dict, price) -> Finding:
    ids = [x["interaction_id"] for x in rows]
    effect = ctx.money(sum((price(i) for i in ids), Decimal("0")))
    channels: dict[str, int] = {}
    for x in rows:
        channels[x["return_channel"]] = channels.get(x["return_channel"], 0) + 1
    n_counted = sum(1 for i in ids if i in counted)
    message = (
        f"{len(rows)} of {population} bot sessions recorded as resolved were followed within "
        f"{ctx.thresholds.containment_return_seconds // 60} min by the customer on another channel: abandonment "
        f"recorded as containment; {n_counted} of them are counted by the contract"
    )
    return Finding(
        detector=NAME,
        severity=id_severity(len(rows), population, effect, ctx.thresholds),
        subject=None,
        subject_kind=None,
        interaction_ids=ids,
        message=message,
        billing_effect=effect,
        details={
            "pattern": "quick_return",
            "counted_by_contract": n_counted,
            "return_channels": dict(sorted(channels.items())),
            "returns": {x["interaction_id"]: x["return_id"] for x in rows},
        },
    )


def _slow_finding(
    ctx: Context, rows: list[dict], paid: list[str], population: int, price, details: dict[str, Any]
) -> Finding:
    ids = [x["interaction_id"] for x in rows]
    effect = ctx.money(sum((price(i) for i in paid), Decimal("0")))
    h, window = details["horizon_seconds"], details["contract_window_seconds"]
    test = details["test"]
    point = next(c for c in details["curve"] if c["within_seconds"] == h)
    unit = {price(i) for i in paid}
    at = f"{money_text(unit.pop(), ctx.currency)} each" if len(unit) == 1 else "the contract's prices"
    why = f"the contract's containment window is {label(window)}" if window else "the contract has no window"
    message = (
        f"{len(rows)} of {population} bot sessions recorded as resolved were followed by the customer on a human "
        f"channel after {label(ctx.thresholds.containment_return_seconds)} and within {label(h)}: bot sessions "
        f"return {point['bot_rate']:.1%} of the time within {label(h)}, against {point['expected_rate']:.1%} "
        f"expected at the agents' rate in the same queues ({test['ratio']:.2f}x, {p_text(test['p'])}); "
        f"{len(paid)} of them were paid as containments ({why}): {money_text(effect, ctx.currency)} "
        f"{ctx.currency} at {at}"
    )
    return Finding(
        detector=NAME,
        severity=id_severity(len(rows), population, effect, ctx.thresholds),
        subject=None,
        subject_kind=None,
        interaction_ids=ids,
        message=message,
        billing_effect=effect,
        details={
            "pattern": "return_within_horizon",
            "horizon_seconds": h,
            "paid": paid,
            "delays_seconds": {x["interaction_id"]: int(x["delay"]) for x in rows},
            "returns": {x["interaction_id"]: x["return_id"] for x in rows},
        },
    )
