"""Late data and corrections: an earlier period re-priced from today's facts, billed as the difference.

A settled period is never edited. When a later settlement is made, every earlier settled period whose facts
changed since is re-priced exactly as it would have been priced (its contract version, glide-path factor,
tiers, minimum, maximum, credits, earn-backs and productivity share), and the difference from what has been
billed for it so far (its settlement plus earlier adjustments) becomes adjustment lines, one per line that
changed, each pointing at the line it corrects and saying which contacts changed fate and why.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from outcomes.ledger import Ledger, Settlement
from outcomes.pricing.lines import ADJUSTMENT, Line

SAMPLE = 20


def line_key(kind: str, label: str) -> str:
    return f"{kind}:{label}"


def billed_so_far(ledger: Ledger, contract_id: str, period: str) -> dict[str, dict[str, Any]]:
    """Per line of `period`: what its settlement billed plus every adjustment billed for it since."""
    out: dict[str, dict[str, Any]] = {}
    for s in ledger.settlements(contract_id):
        if s.period == period:
            for ln in s.lines:
                if ln.kind == ADJUSTMENT:
                    continue
                out[line_key(ln.kind, ln.label)] = {
                    "settlement": s.id,
                    "line": ln.seq,
                    "kind": ln.kind,
                    "label": ln.label,
                    "amount": Decimal(ln.amount),
                    "quantity": ln.quantity,
                }
    for s in ledger.settlements(contract_id):
        for ln in s.lines:
            if ln.kind != ADJUSTMENT:
                continue
            d = json.loads(ln.details)
            adj = d.get("adjusts", {})
            if adj.get("period") != period or "key" not in adj:
                continue
            entry = out.setdefault(
                adj["key"],
                {
                    "settlement": adj.get("settlement"),
                    "line": adj.get("line"),
                    "kind": adj.get("kind"),
                    "label": adj.get("label"),
                    "amount": Decimal(0),
                    "quantity": None,
                },
            )
            entry["amount"] += Decimal(ln.amount)
            if d.get("quantity_after") is not None:
                entry["quantity"] = d["quantity_after"]
    return out


def fate_changes(facts, before_table: str | None, after_table: str) -> list[dict[str, Any]]:
    """Contacts whose fate changed between the settled evidence and today's, by transition, with sample ids."""
    if before_table is None:
        return []
    exists = facts.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [before_table]
    ).fetchone()[0]
    if not exists:
        return [{"note": f"the settled evidence {before_table} is no longer stored"}]
    sql = f"""
        SELECT coalesce(n.outcome, o.outcome) AS outcome,
               coalesce(o.status || coalesce(':' || o.reason, ''), 'not a candidate') AS before,
               coalesce(n.status || coalesce(':' || n.reason, ''), 'not a candidate') AS after,
               count(*) AS contacts,
               list(coalesce(n.interaction_id, o.interaction_id) ORDER BY coalesce(n.interaction_id, o.interaction_id))[1:{SAMPLE}] AS ids,
               list(n.repeat_id ORDER BY coalesce(n.interaction_id, o.interaction_id))
                   FILTER (WHERE n.repeat_id IS NOT NULL)[1:{SAMPLE}] AS repeat_ids
        FROM "{before_table}" o
        FULL JOIN "{after_table}" n
          ON o.outcome = n.outcome AND o.source = n.source AND o.interaction_id = n.interaction_id
        WHERE o.status IS DISTINCT FROM n.status OR o.reason IS DISTINCT FROM n.reason
        GROUP BY ALL ORDER BY ALL
    """
    cur = facts.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def adjustments_for(
    ledger: Ledger, facts, settled: Settlement, repriced_lines: list[Line], evidence_table: str, digest: str
) -> list[Line]:
    """Adjustment lines for one earlier period, given its lines re-priced from today's facts."""
    billed = billed_so_far(ledger, settled.contract, settled.period)
    now = {line_key(ln.kind, ln.label): ln for ln in repriced_lines if ln.kind != ADJUSTMENT}
    before_table = settled.outcomes[0].evidence_table if settled.outcomes else None
    changes: list[dict[str, Any]] | None = None
    out = []
    for key in list(billed) + [k for k in now if k not in billed]:
        was = billed.get(key)
        new = now.get(key)
        old_amount = was["amount"] if was else Decimal(0)
        new_amount = new.amount if new else Decimal(0)
        diff = new_amount - old_amount
        if diff == 0:
            continue
        if changes is None:
            changes = fate_changes(facts, before_table, evidence_table)
        label = (was or {}).get("label") or new.label
        kind = (was or {}).get("kind") or new.kind
        relevant = [c for c in changes if new is not None and new.outcome and c.get("outcome") == new.outcome]
        out.append(
            Line(
                kind=ADJUSTMENT,
                label=f"adjustment {settled.period}: {label}",
                amount=diff,
                unrounded=diff,
                outcome=new.outcome if new else None,
                workflows=new.workflows if new else (),
                details={
                    "adjusts": {
                        "settlement": settled.id,
                        "period": settled.period,
                        "line": (was or {}).get("line"),
                        "kind": kind,
                        "label": label,
                        "key": key,
                    },
                    "billed_so_far": old_amount,
                    "repriced": new_amount,
                    "quantity_before": (was or {}).get("quantity"),
                    "quantity_after": None
                    if new is None or new.quantity is None
                    else format(new.quantity, "f"),
                    "repriced_details": new.details if new else None,
                    "fate_changes": relevant or changes,
                    "facts_digest": digest,
                },
            )
        )
    return out
