"""unsupported_claims: the provider's feed says resolved, the buyer's system of record does not.

The provider's feed is every source other than the contract's `system_of_record`. A *claim* is a row of that
feed with status `resolved` and `closed_at` in the period. It is matched to system-of-record rows by the same
`interaction_id`, and also by the same (customer_id, channel, opened_at) - an empty customer matching an empty
one - since a provider's ticketing system usually has its own ids. A claim is supported when a matched
system-of-record row has status `resolved`; it is flagged when no row matches (`no_record`) or none of the
matches is resolved (`not_resolved`). Money at stake: what the claim would bill if the provider's feed were
believed - the unit price of the outcome it could earn (resolution or containment by `handled_by`) in the
workflow of its queue, when its provider is billable.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import ibis

from .context import Context
from .model import DetectorRun, Finding, id_severity

NAME = "unsupported_claims"


def detect(ctx: Context) -> DetectorRun:
    t = ctx.interactions
    sor = ctx.contract.system_of_record
    p = t.filter(t.source != sor, t.status.fill_null("") == "resolved", ctx.closed_in(t))
    p = p.select("source", "interaction_id", "customer_id", "channel", "opened_at", "queue", "handled_by",
                 "provider", "agent_id")  # fmt: skip
    population = int(p.count().to_pyarrow().as_py())
    run = DetectorRun(NAME, population, "resolutions claimed by other feeds, closed in the period", 0)
    if population == 0:
        return run
    s = t.filter(t.source == sor).select(
        s_id="interaction_id", s_customer="customer_id", s_channel="channel", s_opened="opened_at",
        s_status="status",
    )  # fmt: skip
    keys = p.select(p_source="source", p_id="interaction_id", p_customer="customer_id", p_channel="channel",
                    p_opened="opened_at")  # fmt: skip
    by_id = keys.inner_join(s, keys.p_id == s.s_id).select("p_source", "p_id", "s_id", "s_status")
    by_key = keys.inner_join(
        s,
        (keys.p_customer.fill_null("") == s.s_customer.fill_null(""))
        & (keys.p_channel.fill_null("") == s.s_channel.fill_null(""))
        & (keys.p_opened == s.s_opened),
    ).select("p_source", "p_id", "s_id", "s_status")
    m = ibis.union(by_id, by_key, distinct=True)
    agg = m.group_by("p_source", "p_id").agg(
        supported=(m.s_status.fill_null("") == "resolved").any(),
        s_ids=m.s_id.collect(),
        s_statuses=m.s_status.fill_null("missing").collect(),
    )
    j = p.left_join(agg, (p.source == agg.p_source) & (p.interaction_id == agg.p_id))
    j = j.filter(j.supported.isnull() | ~j.supported)
    rows = (
        j.select("source", "interaction_id", "queue", "handled_by", "provider", "s_ids", "s_statuses")
        .order_by(["source", "interaction_id"])
        .to_pyarrow()
        .to_pylist()
    )
    run.flagged = len(rows)
    if not rows:
        return run
    providers = ctx.contract.billable_providers
    effect = Decimal("0")
    reasons: dict[str, int] = defaultdict(int)
    statuses: dict[str, int] = defaultdict(int)
    matches = {}
    for r in rows:
        if r["s_ids"]:
            reasons["not_resolved"] += 1
            for st in set(r["s_statuses"]):
                statuses[st] += 1
            matches[r["interaction_id"]] = sorted(r["s_ids"])
        else:
            reasons["no_record"] += 1
        if providers is None or (r["provider"] or "") in providers:
            wf = ctx.workflow(r["queue"])
            effect += ctx.prices.unit(ctx.prices.outcome_for(r["handled_by"], wf), wf) or Decimal("0")
    effect = ctx.money(effect)
    ids = [r["interaction_id"] for r in rows]
    message = (
        f"{len(ids)} of {population} resolutions claimed by the provider's feed are not resolved in {sor} "
        f"({reasons['not_resolved']} recorded there with another status, {reasons['no_record']} not found)"
    )
    run.findings.append(
        Finding(
            detector=NAME,
            severity=id_severity(len(ids), population, effect, ctx.thresholds),
            subject=None,
            subject_kind=None,
            interaction_ids=ids,
            message=message,
            billing_effect=effect,
            details={
                "reasons": dict(sorted(reasons.items())),
                "system_of_record_statuses": dict(sorted(statuses.items())),
                "sources": sorted({r["source"] for r in rows}),
                "system_of_record_ids": matches,
            },
        )
    )
    return run
