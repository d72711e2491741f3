"""`outcomes simulate`: a scenario's Monte Carlo distributions per contract, and the incentive test.

Reproducible from the scenario's `seed`: one `numpy.random.SeedSequence(seed)` is spawned into three
independent streams (volume, handle time, FCR), each a `Generator`; every contract is priced on the *same*
draws (common random numbers), so differences between contracts are the contracts', not the dice's. Results
are P10 / P50 / P90 over the runs, never one number.

The incentive test prices each contract, without noise, at the scenario and at FCR moved down and up by
`incentive.fcr_step`, and with automation deflecting `incentive.automation_step` more: a structure whose provider
revenue rises when FCR falls is flagged **misaligned** (it pays for failure: a pure FTE or per-contact deal);
the automation row shows who captures the dividend (the buyer's cost change, the provider's revenue change).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from outcomes.contract import Contract
from outcomes.period import Period
from outcomes.pricing.money import money_text, round_money
from outcomes.simulator.basis import Basis, SimulationRefused, structure_of
from outcomes.simulator.model import Draw, State, apply, price_state, reviewed, state_of
from outcomes.simulator.scenario import Automation, Changes, Scenario

QUANTILES = (10, 50, 90)


def draws(scenario: Scenario) -> list[Draw]:
    """The runs' draws, from three streams spawned from the seed (volume, AHT, FCR)."""
    n = scenario.runs
    u = scenario.uncertainty
    volume, aht, fcr = (
        np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(scenario.seed).spawn(3)
    )
    v = np.clip(volume.normal(1.0, float(u.volume_cv), n), 0.05, None)
    a = np.clip(aht.normal(1.0, float(u.aht_cv), n), 0.05, None)
    f = fcr.normal(0.0, float(u.fcr_sd), n)
    return [Draw(float(v[i]), float(a[i]), float(f[i])) for i in range(n)]


def _quantiles(values: list[Decimal], currency: str) -> dict[str, str]:
    arr = np.array([float(x) for x in values])
    return {
        f"p{q}": money_text(round_money(Decimal(str(float(np.percentile(arr, q)))), currency))
        for q in QUANTILES
    }


def _plain_quantiles(values: list[float]) -> dict[str, str]:
    arr = np.array(values)
    return {f"p{q}": f"{float(np.percentile(arr, q)):.0f}" for q in QUANTILES}


def _priced_contract(b: Basis, changes: Changes) -> tuple[Contract, Period]:
    contract = b.contract
    if changes.price_review is not None:
        contract = reviewed(contract, changes.price_review.factor)
    period = b.period
    if changes.glide_from is not None:
        period = Period.containing(changes.glide_from, contract.period)
        if not (contract.term.start <= changes.glide_from <= contract.term.end):
            raise SimulationRefused(
                f"{b.source}: glide_from {changes.glide_from} is outside the term "
                f"({contract.term.start} to {contract.term.end})"
            )
    return contract, period


def simulate(
    bases: list[Basis], scenario: Scenario, *, advance: Callable[[int], None] | None = None
) -> dict[str, Any]:
    runs = draws(scenario)
    reference_fcr = next((float(b.fcr) for b in bases if b.fcr is not None), None)
    out = []
    for b in bases:
        base = state_of(b, float(b.fcr) if b.fcr is not None else reference_fcr)
        contract, period = _priced_contract(b, scenario.changes)
        cur = contract.currency
        buyer, revenue, margin, cpvr, resolutions = [], [], [], [], []
        fired: dict[str, int] = {}
        credit: list[Decimal] = []
        for d in runs:
            p = price_state(b, contract, period, apply(base, scenario.changes, d), scenario.costs)
            f = p.figures
            buyer.append(f.buyer_cost)
            revenue.append(f.revenue)
            if f.margin is not None:
                margin.append(f.margin)
            if f.cost_per_verified_resolution is not None:
                cpvr.append(f.cost_per_verified_resolution)
            resolutions.append(p.verified_resolutions)
            if p.productivity is not None:
                credit.append(p.productivity)
            for m in p.triggers:
                fired[m] = fired.get(m, 0) + 1
            if advance is not None:
                advance(1)
        out.append(
            {
                "name": Path(b.source).stem,
                "source": b.source,
                "contract": b.contract.contract,
                "structure": structure_of(b.contract),
                "measured_total": money_text(b.total),
                "buyer_cost": _quantiles(buyer, cur),
                "provider_revenue": _quantiles(revenue, cur),
                "provider_margin": _quantiles(margin, cur) if margin else None,
                "cost_per_verified_resolution": _quantiles(cpvr, cur) if cpvr else None,
                "verified_resolutions": _plain_quantiles(resolutions),
                "productivity_share": _quantiles(credit, cur) if credit else None,
                "review_triggers": {m: f"{n / len(runs):.3f}" for m, n in sorted(fired.items())},
                "incentive": incentive(b, base, contract, period, scenario),
            }
        )
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "runs": scenario.runs,
        "period": bases[0].period.label if bases else None,
        "currency": bases[0].contract.currency if bases else None,
        "changes": scenario.changes.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        "contracts": out,
    }


def incentive(
    b: Basis, base: State, contract: Contract, period: Period, scenario: Scenario
) -> dict[str, Any]:
    ch, step = scenario.changes, scenario.incentive

    def at(changes: Changes) -> Any:
        return price_state(b, contract, period, apply(base, changes), scenario.costs).figures

    auto = ch.automation or Automation(deflect=Decimal(0))
    more_auto = auto.model_copy(update={"deflect": min(Decimal(1), auto.deflect + step.automation_step)})
    here = at(ch)
    moves = {
        "fcr_down": at(ch.model_copy(update={"fcr_change": ch.fcr_change - step.fcr_step})),
        "fcr_up": at(ch.model_copy(update={"fcr_change": ch.fcr_change + step.fcr_step})),
        "automation_up": at(ch.model_copy(update={"automation": more_auto})),
    }

    def change(f: Any) -> dict[str, str | None]:
        return {
            "provider_revenue": money_text(f.revenue - here.revenue),
            "provider_margin": None
            if f.margin is None or here.margin is None
            else money_text(f.margin - here.margin),
            "buyer_cost": money_text(f.buyer_cost - here.buyer_cost),
        }

    # Paid for failure: more revenue when FCR falls, or less when it rises (a seat deal steps by whole agents,
    # so one side may not move at a small step).
    misaligned = moves["fcr_down"].revenue > here.revenue or moves["fcr_up"].revenue < here.revenue
    aligned = moves["fcr_down"].revenue < here.revenue or moves["fcr_up"].revenue > here.revenue
    if misaligned:
        verdict = (
            "misaligned: the provider earns more when first-contact resolution falls (less when it rises)"
        )
    elif aligned:
        verdict = "aligned: the provider earns more when first-contact resolution rises"
    else:
        verdict = "neutral: the provider's revenue does not move with first-contact resolution"
    return {
        "fcr_step": format(step.fcr_step, "f"),
        "automation_step": format(step.automation_step, "f"),
        **{k: change(f) for k, f in moves.items()},
        "misaligned": misaligned,
        "alignment": "misaligned" if misaligned else "aligned" if aligned else "neutral",
        "verdict": verdict,
    }
