"""The buyer's audit right: recompute a recorded settlement from the stored facts and contract version.

A rerun reads the facts as of the settlement's ingest batch, so later corrections do not disturb it, and
compares every line and the total. The fingerprint is recomputed from the digest of the rows it actually read
(summed from the rows as stored now, never from the running sums the ingest kept), so a fact deleted or
added behind the ingest's back changes it even when it changes no line (an excluded interaction). Every
stored row's hash is recomputed from its content, so a fact edited in place is caught even when it changes no
count; and the settlement's own ledger rows are checked against what the audit chain recorded for them (a
total edited in the ledger file). It says "matches" only when all of that holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outcomes.ledger import Ledger
from outcomes.settlement.invoice import invoice_dict
from outcomes.settlement.settle import compute, fingerprint

if TYPE_CHECKING:
    from outcomes.facts import Facts

LINE_FIELDS = ("kind", "label", "quantity", "unit_price", "amount")


@dataclass
class RerunReport:
    settlement: int
    contract: str
    period: str
    recorded_fingerprint: str
    fingerprint: str
    tampered: dict[str, int]
    lines: list[dict[str, Any]] = field(default_factory=list)
    recorded_total: str = ""
    total: str = ""
    recorded_digest: str = ""
    digest: str = ""
    ledger_rows: list[str] = field(default_factory=list)  # the settlement's rows edited in the ledger

    @property
    def fingerprint_matches(self) -> bool:
        return self.fingerprint == self.recorded_fingerprint

    @property
    def total_matches(self) -> bool:
        return self.total == self.recorded_total

    @property
    def ok(self) -> bool:
        return (
            self.fingerprint_matches
            and all(ln["match"] for ln in self.lines)
            and self.total_matches
            and not any(self.tampered.values())
            and not self.ledger_rows
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "settlement": self.settlement,
            "contract": self.contract,
            "period": self.period,
            "ok": self.ok,
            "fingerprint_matches": self.fingerprint_matches,
            "recorded_fingerprint": self.recorded_fingerprint,
            "fingerprint": self.fingerprint,
            "recorded_input_digest": self.recorded_digest,
            "input_digest": self.digest,
            "total_matches": self.total_matches,
            "recorded_total": self.recorded_total,
            "total": self.total,
            "tampered_rows": self.tampered,
            "ledger_rows": self.ledger_rows,
            "lines": self.lines,
        }


class LedgerAsOf:
    """The ledger as a settlement saw it when it was made: only the settlements recorded before it, and the
    accepted disputes it adjusted. Everything else (contract versions) is read through."""

    def __init__(self, ledger: Ledger, settlement_id: int):
        self._ledger = ledger
        self._id = settlement_id

    def __getattr__(self, name: str):
        return getattr(self._ledger, name)

    def settlements(self, contract_id: str | None = None):
        return [s for s in self._ledger.settlements(contract_id) if s.id < self._id]

    def accepted_unadjusted_disputes(self, contract_id: str):
        return [d for d in self._ledger.disputes(contract_id) if d.adjusted_in == self._id]


def rerun(ledger: Ledger, facts: Facts, ref: str) -> RerunReport:
    row = ledger.settlement(ref)
    recorded = invoice_dict(row)
    table = f"evidence_rerun_{row.id}"
    try:
        result = compute(
            LedgerAsOf(ledger, row.id),
            facts,
            row.contract,
            row.period,
            provisional=row.status == "provisional",
            as_of_batch=row.facts_batch,
            evidence_table=table,
            version=row.version,
        )
    finally:  # a failed rerun leaves no evidence behind either
        facts.drop_table(table)
    # the digest of the rows this rerun read, recounted from the rows themselves
    recount = getattr(facts, "recounted_digests", None)
    read = recount(row.facts_batch).get(row.facts_batch, result.input_digest) if recount else result.input_digest
    again_inv = result.to_dict()
    again = again_inv["lines"]
    lines = []
    for i in range(max(len(recorded["lines"]), len(again))):
        was = recorded["lines"][i] if i < len(recorded["lines"]) else None
        now = again[i] if i < len(again) else None
        lines.append(
            {
                "line": i + 1,
                "label": (was or now)["label"],
                "recorded": None if was is None else {k: was[k] for k in LINE_FIELDS},
                "recomputed": None if now is None else {k: now[k] for k in LINE_FIELDS},
                "match": was is not None and now is not None and all(was[k] == now[k] for k in LINE_FIELDS),
            }
        )
    return RerunReport(
        settlement=row.id,
        contract=row.contract,
        period=row.period,
        recorded_fingerprint=row.fingerprint,
        fingerprint=fingerprint(result.contract, result.period, read),
        tampered=facts.tampered_rows(row.facts_batch),
        lines=lines,
        recorded_total=row.total,
        total=again_inv["total"],
        recorded_digest=row.input_digest,
        digest=read,
        ledger_rows=ledger.settlement_row_problems(row),
    )
