"""The workspace's whole trail checked at once (`outcomes audit verify`): the ledger's audit chain with every
row it covers, and the facts the ledger's entries and settlements commit to.

The facts live in another file than the ledger, so the ledger vouches for them by digest: each `facts.ingest`
entry records the digest of the facts as of its batch (and the facts chain's value), and each settlement
records the digest of the facts it read (`input_digest`, as of `facts_batch`). Here every one of those digests
is recomputed from the fact rows as stored now (`FactsStore.recounted_digests`, never the running sums the
ingest kept, which an editor could adjust too), and every stored row's hash from its content. A fact row
deleted, inserted or edited behind the ingest's back changes the digest of its batch and of every batch after
it: the first entry or settlement it contradicts is named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from outcomes.ledger import Ledger
from outcomes.ledger.audit import ChainReport
from outcomes.ledger.heads import Head


@dataclass
class TrailReport:
    chain: ChainReport
    facts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.facts

    def to_dict(self) -> dict[str, Any]:
        c = self.chain
        return {
            "ok": self.ok,
            "entries": c.entries,
            "head": None if c.head is None else f"{c.head[0]} {c.head[1]}",
            "chain_ok": c.ok,
            "first_bad": c.first_bad,
            "problem": c.problem,
            "ledger_rows": list(c.rows),
            "facts": self.facts,
            "notes": self.notes,
        }


def verify(ledger: Ledger, store: Any | None, against: Head | None = None, keys: tuple[str, ...] = ()) -> TrailReport:
    """`store`: the DuckDB facts store (None: the ledger only)."""
    report = TrailReport(ledger.verify_audit(against, keys))
    if store is not None:
        report.facts, report.notes = facts_problems(ledger, store)
    return report


def facts_problems(ledger: Ledger, store: Any) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    notes: list[str] = []
    for name, n in store.tampered_rows(None).items():
        if n:
            problems.append(f"{n:,} {name} rows no longer match their stored hash (edited in the facts store)")
    latest = store.latest_batch()
    digests = store.recounted_digests(latest)
    recorded: set[int] = set()
    for seq, payload in ledger.audit_payloads("facts.ingest"):
        d = _json(payload)
        batch, digest = d.get("batch"), d.get("digest")
        if not isinstance(batch, int) or not isinstance(digest, str):
            continue  # an entry written before ingests recorded their digest
        recorded.add(batch)
        if batch > latest:
            problems.append(
                f"batch {batch} (audit entry {seq}) is missing from the facts store: it has batches up to {latest}"
            )
        elif digests[batch] != digest:
            problems.append(
                f"the facts as of batch {batch} no longer give the digest audit entry {seq} recorded: fact rows "
                "were deleted, inserted or edited behind the ingest"
            )
    for s in ledger.settlements():
        if s.facts_batch > latest:
            problems.append(f"settlement {s.id} ({s.contract}/{s.period}) read batch {s.facts_batch}, which is missing")
        elif s.facts_batch > 0 and digests[s.facts_batch] != s.input_digest:
            problems.append(
                f"settlement {s.id} ({s.contract}/{s.period}) read facts with digest {s.input_digest} as of batch "
                f"{s.facts_batch}; as stored now they give {digests[s.facts_batch]}: facts it read were deleted, "
                "inserted or edited"
            )
    for batch, digest, _chain in store.chain():
        if batch <= latest and digests[batch] != digest and batch not in recorded:
            problems.append(f"the facts as of batch {batch} no longer give the digest its ingest kept")
    unrecorded = [b for b, _d, _c in store.chain() if b not in recorded]
    if unrecorded:
        notes.append(
            f"{len(unrecorded)} batch(es) have no facts.ingest entry in the ledger (e.g. batch {unrecorded[-1]}): "
            "checked against the digest their ingest kept in the facts store only"
        )
    return problems, notes


def _json(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
