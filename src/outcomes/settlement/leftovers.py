"""Leftovers of settlements that never recorded (`outcomes doctor`).

A settlement writes its evidence first and records itself in the ledger last. A settle killed in between
(SIGKILL, power loss), a rerun or an adjustment check killed before it dropped its scratch table, or a version
of outcomes older than the temporary-name writes, can leave evidence that no recorded settlement refers to:
a view or table named `evidence…` in the facts store, its Parquet file, or a `.partial` file cut off mid-write.
None of it is read by anything (evidence is found through the ledger's `settlement_outcomes.evidence_table`),
but it takes space and looks like evidence. `find` lists it, `remove` deletes it; both run under the workspace
lock, so no settlement is being written meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outcomes.ledger import Ledger


@dataclass(frozen=True)
class Leftover:
    kind: str  # table | file | partial
    name: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "why": self.why}


def referenced(ledger: Ledger) -> set[str]:
    return {o.evidence_table for s in ledger.settlements() for o in s.outcomes}


def find(ledger: Ledger, store: Any) -> list[Leftover]:
    keep = referenced(ledger)
    names = store.evidence_names()
    out = [
        Leftover("table", t, "no recorded settlement refers to it")
        for t in names["tables"]
        if t not in keep
    ]
    tables = set(names["tables"])
    out += [
        Leftover("file", f"{f}.parquet", "no recorded settlement refers to it")
        for f in names["files"]
        if f not in keep and f not in tables  # a table's file goes with it
    ]
    out += [Leftover("partial", p, "an evidence write that never finished") for p in names["partial"]]
    return out


def remove(store: Any, leftovers: list[Leftover]) -> None:
    for left in leftovers:
        if left.kind == "table":
            store.drop_table(left.name)
        elif left.kind == "file":
            store.drop_table(left.name.removesuffix(".parquet"))
        else:
            store.remove_partial(left.name)
