"""What every detector reads: the contract and period, the facts (current and versioned), the unit prices in
force, and which contacts the contract counts (the billing effect of a finding is measured against them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import ibis
import pyarrow as pa

from outcomes.contract.schema import Contract
from outcomes.metrics.outcomes import Clocks, evidence
from outcomes.metrics.repeats import RepeatRule
from outcomes.metrics.scope import Window, billable, closed_in
from outcomes.period import Period
from outcomes.pricing.charge_models import last_unit_price
from outcomes.pricing.glide import phase_for
from outcomes.pricing.money import round_money

from .model import Thresholds

MARGIN = timedelta(days=1)  # context around the period for patterns that straddle its bounds


@dataclass
class Context:
    contract: Contract
    period: Period
    interactions: ibis.Table  # current versions, canonical columns
    events: ibis.Table
    clocks: Clocks
    history: ibis.Table | None = None  # every version, with _batch and _until (reclassification)
    thresholds: Thresholds = field(default_factory=Thresholds)
    _prices: Prices | None = None
    _counted: ibis.Table | None = None
    _counted_name: str = ""

    @property
    def window(self) -> Window:
        return Window.of(self.contract, self.period)

    @property
    def currency(self) -> str:
        return self.contract.currency

    def sor(self, t: ibis.Table) -> ibis.Value:
        return t.source == self.contract.system_of_record

    def billable(self, t: ibis.Table) -> ibis.Value:
        return billable(self.contract, t.provider)

    def closed_in(self, t: ibis.Table) -> ibis.Value:
        return closed_in(t, self.window)

    def workflow(self, queue: str | None) -> str | None:
        """The workflow of a queue (the contract's default for an unlisted one), in Python."""
        for name, wf in self.contract.workflows.items():
            if wf.queues and queue in wf.queues:
                return name
        return self.contract.default_workflow()

    @property
    def repeat_rule(self) -> RepeatRule:
        """The window of the contract's resolution outcome (the one the metric library's repeat rate uses),
        else the default, for any return of the same customer: a return in another workflow, which a rule
        with `same: [customer, workflow]` does not count, is exactly what a premature-closure finding prices."""
        from outcomes.metrics.library import outcome_of_kind

        found = outcome_of_kind(self.contract, "resolution")
        rule = RepeatRule.of(found[1]) if found is not None else None
        return RepeatRule(rule.within if rule else self.thresholds.default_repeat_seconds, ("customer",))

    @property
    def repeat_seconds(self) -> int:
        return self.repeat_rule.within

    # -- what the contract counts -------------------------------------------------------------------
    def counted(self) -> ibis.Table:
        """(outcome, interaction_id, workflow) of every system-of-record contact the contract counts in the
        period: the settlement's own evidence, computed the same way, not written anywhere."""
        parts = []
        for name in self.contract.outcomes:
            e = evidence(self.contract, name, self.interactions, self.events, self.window, self.clocks)
            e = e.filter((e.status == "counted") & (e.source == self.contract.system_of_record))
            parts.append(e.select("outcome", "interaction_id", "workflow"))
        return ibis.union(*parts) if len(parts) > 1 else parts[0]

    def counted_cached(self) -> ibis.Table:
        """`counted()` computed once per check and kept by the engine (a temporary table) for the detectors."""
        if self._counted is None:
            backend = self.interactions._find_backend()
            name = f"_integrity_counted_{uuid.uuid4().hex[:12]}"
            self._counted = backend.create_table(name, self.counted(), temp=True)
            self._counted_name = name
        return self._counted

    def counted_of(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """interaction_id -> (outcome, workflow) for those of `ids` the contract counts in the period (the priced
        outcome when two count the same contact)."""
        if not ids:
            return {}
        wanted = ibis.memtable(pa.table({"_wanted_id": pa.array(sorted(set(ids)), pa.string())}))
        c = self.counted_cached()
        j = c.inner_join(wanted, c.interaction_id == wanted._wanted_id)
        rows = j.select("interaction_id", "outcome", "workflow").to_pyarrow().to_pylist()
        # A contact can be counted by two outcomes of which at most one has a fee (e.g. a save in a workflow
        # whose resolutions are not priced): the priced one is what the buyer pays for.
        pairs: dict[str, list[tuple[str, str]]] = {}
        for r in rows:
            pairs.setdefault(r["interaction_id"], []).append((r["outcome"], r["workflow"]))
        return {i: self.prices.paid(p) for i, p in pairs.items()}

    @property
    def prices(self) -> Prices:
        if self._prices is None:
            c = self.counted_cached()
            rows = c.group_by("outcome", "workflow").agg(n=c.count()).to_pyarrow().to_pylist()
            counts = {(r["outcome"], r["workflow"]): int(r["n"]) for r in rows}
            self._prices = Prices(self.contract, self.period, counts)
        return self._prices

    def release(self) -> None:
        """Drop what the check kept in the engine."""
        if self._counted is None:
            return
        backend = self._counted._find_backend()
        try:
            backend.drop_table(self._counted_name, force=True)
        except Exception:  # ibis 12 cannot drop from a DuckDB connection it was handed; plain SQL can
            backend.raw_sql(f'DROP TABLE IF EXISTS "{self._counted_name}"')
        self._counted = None

    def money(self, amount: Decimal) -> Decimal:
        return round_money(amount, self.currency)


class Prices:
    """The price of one more (or one less) outcome of each (outcome, workflow) in the period.

    A flat fee's unit, or for a tiered fee the unit of the tier the period's last counted unit falls in
    (graduated) or the count reaches (volume) - "losing a resolution in a graduated tier is worth the price of
    the last unit" - times the glide-path outcome_fees factor. None when no fee line pays that pair.
    """

    def __init__(self, contract: Contract, period: Period, counts: dict[tuple[str, str], int]):
        self.contract = contract
        factor = phase_for(contract, period).outcome_fees
        self._unit: dict[tuple[str, str], Decimal] = {}
        for fee in contract.pricing.outcome_fees:
            workflows = contract.fee_workflows(fee)
            # the tier the pricing core itself says the count reaches (or ends in); a flat fee's unit
            count = sum(counts.get((fee.outcome, wf), 0) for wf in workflows)
            unit = last_unit_price(fee, count)
            for wf in workflows:
                self._unit[(fee.outcome, wf)] = unit * factor

    def unit(self, outcome: str | None, workflow: str | None) -> Decimal | None:
        if outcome is None or workflow is None:
            return None
        return self._unit.get((outcome, workflow))

    def paid(self, pairs: list[tuple[str, str]]) -> tuple[str, str]:
        """Of the (outcome, workflow) pairs that count one contact, the one the buyer pays for: the highest
        price (a contract lets at most one fee line pay a contact), then the first in name order."""
        return max(sorted(pairs), key=lambda p: self.unit(*p) if self.unit(*p) is not None else Decimal(-1))

    def outcome_for(self, handled_by: str | None, workflow: str | None) -> str | None:
        """The resolution or containment outcome that a contact handled by `handled_by` could earn in
        `workflow` (the first in contract order with a fee for that workflow)."""
        for name, o in self.contract.outcomes.items():
            if o.kind in ("resolution", "containment") and (handled_by or "") in o.handlers():
                if self.unit(name, workflow) is not None:
                    return name
        return None
