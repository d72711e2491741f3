"""A period measured and priced under a contract exactly as a settlement would, recording nothing.

`measure_basis` runs the settlement's own stages (`settlement.stages.price_resolved`, then steps 4-6 by
`Priced.finished`) for a contract that need not be registered, so its total is the one `outcomes settle` gives
for the same contract, period and facts, less adjustments for earlier periods (which correct the past, and are
no part of what a structure costs). It also keeps what the scenarios start from: the work of the period
(contacts, handle time by workflow, handler and channel) and its first-contact resolution. The evidence table
the measuring writes is dropped; the ledger is only read (earn-backs of a registered contract's settlements).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from outcomes.contract import Contract
from outcomes.errors import OutcomesError
from outcomes.ledger import Ledger
from outcomes.metrics.library import MetricRequest, MetricValue, measure_metrics
from outcomes.period import Period
from outcomes.pricing.period_total import PricedPeriod
from outcomes.pricing.value_share import LiftGate
from outcomes.settlement.measure import OutcomeMeasure
from outcomes.settlement.resolve import resolve_contract
from outcomes.settlement.stages import check_clock, price_resolved
from outcomes.settlement.volumes import WorkRow, measure_work

if TYPE_CHECKING:
    from outcomes.facts import Facts


class SimulationRefused(OutcomesError):
    code = "simulation_refused"


@dataclass
class Basis:
    """One contract's period: its priced lines (steps 1-6) and the inputs the scenarios transform."""

    contract: Contract
    source: str  # the contract file (or id) as given
    period: Period
    status: str  # final | provisional, as a settlement would be
    priced: PricedPeriod
    measures: list[OutcomeMeasure]
    values: dict[MetricRequest, MetricValue]
    lift: LiftGate | None
    work: list[WorkRow]
    fcr: Fraction | None  # fcr_rate of the period (None: undefined, or no resolution outcome)

    @property
    def total(self) -> Decimal:
        return self.priced.total

    def counted(self, kind: str) -> int:
        return sum(n for m in self.measures if m.kind == kind for n in m.counted().values())

    @property
    def seat_agents(self) -> int:
        """The agents the period's seat line billed (given, or staffed from the data); 0 without seats."""
        return sum(int(ln.quantity or 0) for ln in self.priced.lines if ln.kind == "seat_fee")

    @property
    def verified_resolutions(self) -> int:
        return self.counted("resolution")

    def contacts(self, handler: str | None = None) -> int:
        return sum(w.contacts for w in self.work if handler is None or w.handler == handler)

    def handle_seconds(self, handler: str = "agent") -> float:
        return sum(w.handle_seconds for w in self.work if w.handler == handler)


def measure_basis(
    ledger: Ledger,
    facts: Facts,
    contract: Contract,
    period_label: str,
    *,
    source: str,
    provisional: bool = False,
) -> Basis:
    batch = facts.latest_batch()
    res = resolve_contract(facts, contract, period_label, as_of_batch=batch)
    if not res.in_term:
        raise SimulationRefused(
            f"{source}: {res.outside_term()}",
            hint="compare contracts whose terms hold the period (edit `term` in the file)",
        )
    status = check_clock(res, provisional=provisional)
    table = f"evidence_{uuid.uuid4().hex[:12]}"
    try:
        p = price_resolved(ledger, facts, res, table)
        priced = p.finished(contract, [])
        work = measure_work(contract, facts.interactions(as_of_batch=batch), res.window)
        fcr = None
        if any(o.kind == "resolution" for o in contract.outcomes.values()):
            [v] = measure_metrics(
                contract,
                facts.interactions(as_of_batch=batch),
                facts.events(as_of_batch=batch),
                res.window,
                res.clocks,
                [MetricRequest("fcr_rate")],
                evidence=facts.evidence(table),
            )
            fcr = None if v.value is None else Fraction(v.value)
    finally:
        if facts.has_table(table):
            facts.drop_table(table)
    return Basis(contract, source, res.period, status, priced, p.measures, p.values, p.lift, work, fcr)


def structure_of(contract: Contract) -> str:
    """The pricing structure in the buyer's words: 'seats', 'per contact', 'base + per outcome', ..."""
    p = contract.pricing
    parts: list[str] = []
    if p.seats is not None:
        parts.append("seats (FTE)")
    if p.base_fee is not None:
        parts.append("base fee")
    bases = {f.basis for f in p.volume_fees}
    if "contact" in bases:
        parts.append("per contact")
    if "handled_minute" in bases:
        parts.append("per handled minute")
    kinds = [contract.outcomes[f.outcome].kind for f in p.outcome_fees if f.outcome in contract.outcomes]
    if "resolution" in kinds:
        parts.append("per verified resolution")
    if "containment" in kinds:
        parts.append("per containment")
    if "save" in kinds:
        parts.append("per save")
    if p.value_share is not None:
        parts.append("value share")
    return " + ".join(parts) or "none"


def jsonable_basis(b: Basis) -> dict[str, Any]:
    return {
        "contract": b.contract.contract,
        "source": b.source,
        "period": b.period.label,
        "status": b.status,
        "structure": structure_of(b.contract),
        "lines": [ln.to_dict() for ln in b.priced.lines],
    }
