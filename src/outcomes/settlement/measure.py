"""The measure stage: every outcome's evidence (one row per candidate contact with its fate) written once by
the facts store, and the counts by workflow, fate and reason that pricing reads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ibis

from outcomes.contract import Contract
from outcomes.metrics.outcomes import Clocks, evidence
from outcomes.metrics.scope import Window
from outcomes.pricing.lines import Line

if TYPE_CHECKING:
    from outcomes.facts import Facts


@dataclass
class OutcomeMeasure:
    """What one outcome measured in the period: counts by workflow, fate and reason, and the SQL behind them."""

    name: str
    kind: str
    sql: str
    rows: list[dict[str, Any]]  # {workflow, status, reason, n, value}
    evidence_table: str

    def counted(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in self.rows:
            if r["status"] == "counted":
                out[r["workflow"]] += r["n"]
        return dict(out)

    def value(self) -> Decimal:
        return sum(
            (Decimal(str(r["value"])) for r in self.rows if r["status"] == "counted" and r["value"]),
            Decimal("0"),
        )

    def summary(self, workflows: list[str] | None = None) -> dict[str, Any]:
        """Counts by fate and reason, over the given workflows (all when None)."""
        rows = [r for r in self.rows if workflows is None or r["workflow"] in workflows]
        excluded: dict[str, int] = defaultdict(int)
        for r in rows:
            if r["status"] == "excluded":
                excluded[r["reason"]] += r["n"]
        return {
            "candidates": sum(r["n"] for r in rows),
            "counted": sum(r["n"] for r in rows if r["status"] == "counted"),
            "pending": sum(r["n"] for r in rows if r["status"] == "pending"),
            "excluded": dict(sorted(excluded.items())),
        }


def measure(
    facts: Facts,
    contract: Contract,
    window: Window,
    interactions: ibis.Table,
    events: ibis.Table,
    clocks: Clocks,
    table: str,
) -> list[OutcomeMeasure]:
    """Run every outcome's evidence query into one evidence table; return the counts and SQL per outcome.

    Each outcome's expression is compiled by the facts store in its own dialect (DuckDB or Spark SQL): that
    SQL is what the store runs and what `outcomes explain` shows."""
    sqls = {
        name: facts.compile(evidence(contract, name, interactions, events, window, clocks))
        for name in contract.outcomes
    }
    # Each outcome's SQL is compiled once: the evidence table is their UNION ALL (one schema for all).
    grouped = facts.write_evidence(table, list(sqls.values()))
    out = []
    for name, sql in sqls.items():
        rows = [
            {k: r[k] for k in ("workflow", "status", "reason", "n", "value")}
            for r in grouped
            if r["outcome"] == name
        ]
        rows.sort(key=lambda r: (str(r["workflow"]), r["status"], str(r["reason"])))
        out.append(OutcomeMeasure(name, contract.outcomes[name].kind, sql, rows, table))
    return out



def with_evidence(ln: Line, contract: Contract, measures: list[OutcomeMeasure]) -> Line:
    """Attach to an outcome-fee line the fate of its candidates (counts by reason) and where the ids are."""
    if ln.kind != "outcome_fee" or ln.outcome is None:
        return ln
    m = next((m for m in measures if m.name == ln.outcome), None)
    if m is None:
        return ln
    details = dict(ln.details)
    details["verification"] = m.summary(list(ln.workflows))
    details["evidence_table"] = m.evidence_table
    return replace(ln, details=details)


