"""reclassification: contacts moved after the fact to a queue of a higher-priced workflow.

The facts store keeps every version of a contact (an update of the same (source, interaction_id) closes the
old version). For each system-of-record contact whose current version closed in the period, the *first*
version (lowest ingest batch) is compared with the current one: a different workflow whose unit price for the
outcome the contact could earn (resolution or containment, by `handled_by`; Prices.outcome_for) is higher is a
reclassification upward. Moves to a cheaper or equally priced workflow are counted in the details but not
flagged. One finding per target workflow. Money at stake: for every moved contact the contract counts, the
price of its outcome in the new workflow minus the price in the old one.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from .context import Context
from .model import DetectorRun, Finding, id_severity

NAME = "reclassification"


def detect(ctx: Context) -> DetectorRun:
    t = ctx.interactions
    population = int(t.filter(ctx.sor(t), ctx.closed_in(t)).count().to_pyarrow().as_py())
    run = DetectorRun(NAME, population, "system-of-record contacts closed in the period", 0)
    h = ctx.history
    if h is None:
        return run
    h = h.filter(h.source == ctx.contract.system_of_record)
    versions = h.group_by("interaction_id").agg(first_batch=h._batch.min(), n=h.count())
    moved_keys = versions.filter(versions.n > 1)
    first = h.inner_join(
        moved_keys, (h.interaction_id == moved_keys.interaction_id) & (h._batch == moved_keys.first_batch)
    ).select(f_id=h.interaction_id, f_queue=h.queue, f_batch=h._batch)
    cur = h.filter(h._until.isnull())
    cur = cur.filter(ctx.closed_in(cur))
    j = cur.inner_join(first, cur.interaction_id == first.f_id)
    j = j.filter(j.queue.fill_null("") != j.f_queue.fill_null(""))
    rows = (
        j.select("interaction_id", "queue", "f_queue", "handled_by", "agent_id", "_batch", "f_batch")
        .order_by("interaction_id")
        .to_pyarrow()
        .to_pylist()
    )
    up: dict[str, list[dict]] = defaultdict(list)
    down = same = 0
    for r in rows:
        new_wf, old_wf = ctx.workflow(r["queue"]), ctx.workflow(r["f_queue"])
        if new_wf == old_wf:
            same += 1
            continue
        outcome = ctx.prices.outcome_for(r["handled_by"], new_wf) or ctx.prices.outcome_for(
            r["handled_by"], old_wf
        )
        new_p = ctx.prices.unit(outcome, new_wf) or Decimal("0")
        old_p = ctx.prices.unit(outcome, old_wf) or Decimal("0")
        if new_p > old_p:
            up[new_wf].append({**r, "from_workflow": old_wf})
        else:
            down += 1
    run.flagged = sum(len(v) for v in up.values())
    if not up:
        return run
    counted = ctx.counted_of([r["interaction_id"] for v in up.values() for r in v])
    for wf, moved in sorted(up.items()):
        effect = Decimal("0")
        origins: dict[str, int] = defaultdict(int)
        for r in moved:
            origins[r["from_workflow"] or "none"] += 1
            if r["interaction_id"] in counted:
                outcome, _ = counted[r["interaction_id"]]
                new_p = ctx.prices.unit(outcome, wf) or Decimal("0")
                old_p = ctx.prices.unit(outcome, r["from_workflow"]) or Decimal("0")
                effect += new_p - old_p
        effect = ctx.money(effect)
        ids = [r["interaction_id"] for r in moved]
        n_counted = sum(1 for i in ids if i in counted)
        message = (
            f"{len(ids)} contacts were moved after the fact into workflow {wf} (from "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(origins.items()))}), which pays more; {n_counted} of "
            f"them are counted at the higher price ({down} moves went to a cheaper or equal price)"
        )
        run.findings.append(
            Finding(
                detector=NAME,
                severity=id_severity(len(ids), population, effect, ctx.thresholds),
                subject=wf,
                subject_kind="workflow",
                interaction_ids=ids,
                message=message,
                billing_effect=effect,
                details={
                    "from_workflows": dict(sorted(origins.items())),
                    "counted_by_contract": n_counted,
                    "moves_down_or_equal_price": down,
                    "moves_within_workflow": same,
                },
            )
        )
    return run
