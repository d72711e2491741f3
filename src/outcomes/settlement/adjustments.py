"""Late data and corrections: an earlier period re-priced from today's facts, billed as the difference.

A settled period is never edited. When a later settlement is made, every earlier settled period whose facts
changed since is re-priced exactly as it would have been priced (its contract version, glide-path factor,
tiers, minimum, maximum, credits, earn-backs and productivity share), and the difference from what has been
billed for it so far (its settlement plus earlier adjustments) becomes adjustment lines, one per line that
changed, each pointing at the line it corrects and saying which contacts changed fate and why.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ibis

from outcomes.ledger import Ledger, Settlement
from outcomes.pricing.lines import ADJUSTMENT, Line
from outcomes.pricing.money import round_money
from outcomes.settlement.resolve import resolve
from outcomes.settlement.stages import price_resolved

if TYPE_CHECKING:
    from outcomes.facts import Facts

SAMPLE = 20


def line_key(kind: str, label: str) -> str:
    return f"{kind}:{label}"


def billed_so_far(ledger: Ledger, contract_id: str, period: str) -> dict[str, dict[str, Any]]:
    """Per line of `period`: what its settlement billed plus every adjustment billed for it since."""
    out: dict[str, dict[str, Any]] = {}
    settled = ledger.settlements(contract_id)  # read once: the originals first, then what adjusted them
    for s in settled:
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
    for s in settled:
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


def fate_changes(facts: Facts, before_table: str | None, after_table: str) -> list[dict[str, Any]]:
    """Contacts whose fate changed between the settled evidence and today's, by transition, with sample ids.

    An Ibis expression over the two evidence tables, run by the facts engine (DuckDB or Spark): per outcome
    and transition the number of contacts, the first SAMPLE ids (in id order) and the first SAMPLE repeat ids
    (None when there is none)."""
    if before_table is None:
        return []
    if not facts.has_table(before_table):
        return [{"note": f"the settled evidence {before_table} is no longer stored"}]
    old = facts.evidence(before_table)
    new = facts.evidence(after_table)
    o = old.select(
        o_outcome="outcome", o_source="source", o_id="interaction_id", o_status="status", o_reason="reason"
    )
    n = new.select(
        n_outcome="outcome",
        n_source="source",
        n_id="interaction_id",
        n_status="status",
        n_reason="reason",
        n_repeat="repeat_id",
    )
    j = o.outer_join(n, [o.o_outcome == n.n_outcome, o.o_source == n.n_source, o.o_id == n.n_id])
    j = j.filter(~j.o_status.identical_to(j.n_status) | ~j.o_reason.identical_to(j.n_reason))

    def fate(status: ibis.Value, reason: ibis.Value) -> ibis.Value:
        return ibis.coalesce(status + ibis.coalesce(":" + reason, ""), "not a candidate")

    j = j.select(
        outcome=ibis.coalesce(j.n_outcome, j.o_outcome),
        before=fate(j.o_status, j.o_reason),
        after=fate(j.n_status, j.n_reason),
        id=ibis.coalesce(j.n_id, j.o_id),
        repeat_id=j.n_repeat,
    )
    group = ["outcome", "before", "after"]
    counts = j.group_by(group).agg(contacts=ibis._.count())
    w = ibis.window(group_by=group, order_by="id")
    ids = j.mutate(rn=ibis.row_number().over(w)).filter(ibis._.rn < SAMPLE).select(*group, "id")
    rep = j.filter(j.repeat_id.notnull())
    rep = (
        rep.mutate(rn=ibis.row_number().over(w)).filter(ibis._.rn < SAMPLE).select(*group, "id", "repeat_id")
    )
    out: dict[tuple, dict[str, Any]] = {}
    for r in counts.to_pyarrow().to_pylist():
        key = (r["outcome"], r["before"], r["after"])
        out[key] = {**r, "ids": [], "repeat_ids": None}
    for r in sorted(ids.to_pyarrow().to_pylist(), key=lambda r: r["id"]):
        out[(r["outcome"], r["before"], r["after"])]["ids"].append(r["id"])
    for r in sorted(rep.to_pyarrow().to_pylist(), key=lambda r: r["id"]):
        entry = out[(r["outcome"], r["before"], r["after"])]
        entry["repeat_ids"] = (entry["repeat_ids"] or []) + [r["repeat_id"]]
    return [
        {
            "outcome": k[0],
            "before": k[1],
            "after": k[2],
            "contacts": int(v["contacts"]),
            "ids": v["ids"],
            "repeat_ids": v["repeat_ids"],
        }
        for k, v in sorted(out.items())
    ]


def adjustments_for(
    ledger: Ledger, facts: Facts, settled: Settlement, repriced_lines: list[Line], evidence_table: str, digest: str
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
                    # an outcome's line lists its own outcome's changes; a line of no outcome (base, minimum,
                    # maximum, credits) moved with all of them
                    "fate_changes": relevant if new is not None and new.outcome else changes,
                    "facts_digest": digest,
                },
            )
        )
    return out


def reprice(ledger: Ledger, facts: Facts, settled: Settlement, batch: int, digest: str) -> list[Line]:
    """One earlier settled period priced again from the facts as of `batch`, under its own contract version
    (measure, value inputs and price, as provisional: no refusal for open windows), and billed as the
    difference from what was billed for it so far."""
    table = f"evidence_adj_{uuid.uuid4().hex[:12]}"
    try:
        res = resolve(ledger, facts, settled.contract, settled.period, as_of_batch=batch, version=settled.version)
        again = price_resolved(ledger, facts, res, table).finished(res.contract, [])
        return adjustments_for(ledger, facts, settled, again.lines, table, digest)
    finally:
        facts.drop_table(table)


def adjustment_lines(
    ledger: Ledger, facts: Facts, contract_id: str, before: str, batch: int, digest: str
) -> list[Line]:
    """Every earlier settled period whose facts changed since, re-priced and billed as a difference."""
    lines: list[Line] = []
    for s in ledger.settlements(contract_id):
        if s.period >= before or s.input_digest == digest:
            continue
        lines += reprice(ledger, facts, s, batch, digest)
    return lines


def dispute_line(d, currency: str) -> Line:
    """An accepted dispute billed as an adjustment of the line it disputed, at the amount agreed.

    A dispute accepted without an amount is corrected through the data (the re-priced period bills it); its
    line is then 0 and only records that the dispute was settled here.
    """
    amount = d.claimed_adjustment if d.claimed_adjustment is not None else Decimal("0")
    return Line(
        kind="adjustment",
        label=f"dispute {d.id} accepted: {d.period} line {d.line_seq} ({d.line_label})",
        amount=round_money(amount, currency),
        unrounded=amount,
        details={
            "adjusts": {
                "settlement": d.settlement_id,
                "period": d.period,
                "line": d.line_seq,
                "kind": d.line_kind,
                "label": d.line_label,
            },
            "dispute": d.id,
            "opened_by": d.opened_by,
            "reason": d.reason,
            "interaction_ids": list(d.interaction_ids),
            "amount_claimed": d.amount_claimed,
        },
    )


