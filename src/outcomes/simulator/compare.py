"""`outcomes compare`: one period of the buyer's own data priced under several contracts, side by side.

Each contract's total is exactly what a settlement of that contract gives for the period (steps 1-6, the same
stages: `basis.measure_basis`); nothing is recorded. Beside it: what the buyer pays in all (invoice plus its own
costs from the cost model), the cost per verified resolution (under each contract's own resolution outcome), the
provider's revenue (the invoice) and its estimated cost and margin (`costs.py`), and the run rate over a year
with the saving against the first contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from outcomes.contract import Contract
from outcomes.ledger import Ledger
from outcomes.pricing.money import money_text, round_money
from outcomes.simulator.basis import Basis, SimulationRefused, jsonable_basis, measure_basis, structure_of
from outcomes.simulator.costs import buyer_own_cost, provider_cost
from outcomes.simulator.scenario import Costs

if TYPE_CHECKING:
    from outcomes.facts import Facts

PERIODS_PER_YEAR = {"month": 12, "quarter": 4}


@dataclass(frozen=True)
class Figures:
    """One structure's period in money: what the buyer pays and what the provider keeps."""

    invoice: Decimal
    buyer_cost: Decimal
    verified_resolutions: float
    provider_cost: Decimal | None
    currency: str

    @property
    def cost_per_verified_resolution(self) -> Decimal | None:
        if not self.verified_resolutions:
            return None
        return round_money(self.buyer_cost / Decimal(str(round(self.verified_resolutions, 3))), self.currency)

    @property
    def revenue(self) -> Decimal:
        return self.invoice

    @property
    def margin(self) -> Decimal | None:
        return None if self.provider_cost is None else self.revenue - self.provider_cost

    @property
    def margin_share(self) -> Decimal | None:
        m = self.margin
        if m is None or not self.revenue:
            return None
        return (m / self.revenue).quantize(Decimal("0.0001"))


def figures_of(b: Basis, costs: Costs | None) -> Figures:
    cur = b.contract.currency
    bots = b.contacts("bot")
    own = buyer_own_cost(costs, bots, cur) if costs is not None else Decimal(0)
    pcost = provider_cost(costs, b.handle_seconds("agent"), bots, cur) if costs is not None else None
    return Figures(b.total, b.total + own, b.verified_resolutions, pcost, cur)


def compare(
    ledger: Ledger,
    facts: Facts,
    contracts: list[tuple[str, Contract]],
    period: str,
    *,
    costs: Costs | None = None,
    provisional: bool = False,
) -> dict[str, Any]:
    """Price `period` under each (source, contract); figures as decimal texts, in the order given."""
    currencies = {c.currency for _, c in contracts}
    if len(currencies) > 1:
        raise SimulationRefused(
            f"the contracts bill in different currencies ({', '.join(sorted(currencies))}): their totals "
            "cannot be set side by side",
            hint="compare contracts of one currency",
        )
    bases = [measure_basis(ledger, facts, c, period, source=s, provisional=provisional) for s, c in contracts]
    return comparison(bases, costs)


def comparison(bases: list[Basis], costs: Costs | None) -> dict[str, Any]:
    rows = []
    first_annual: Decimal | None = None
    for b in bases:
        f = figures_of(b, costs)
        per_year = PERIODS_PER_YEAR[b.contract.period]
        annual = f.buyer_cost * per_year
        if first_annual is None:
            first_annual = annual
        rows.append(
            {
                **{k: v for k, v in jsonable_basis(b).items() if k != "lines"},
                "invoice": money_text(f.invoice),
                "buyer_cost": money_text(f.buyer_cost),
                "verified_resolutions": b.verified_resolutions,
                "cost_per_verified_resolution": money_text(f.cost_per_verified_resolution),
                "provider_revenue": money_text(f.revenue),
                "provider_cost": money_text(f.provider_cost),
                "provider_margin": money_text(f.margin),
                "provider_margin_share": None if f.margin_share is None else format(f.margin_share, "f"),
                "annual_buyer_cost": money_text(annual),
                "annual_saving_vs_first": money_text(first_annual - annual),
                "lines": [
                    {"kind": ln.kind, "label": ln.label, "amount": money_text(ln.amount)}
                    for ln in b.priced.lines
                ],
            }
        )
    return {
        "period": bases[0].period.label if bases else None,
        "currency": bases[0].contract.currency if bases else None,
        "costs": costs is not None,
        "rows": rows,
    }


__all__ = ["Figures", "compare", "comparison", "figures_of", "structure_of"]
