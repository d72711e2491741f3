"""The scenario model: how a period's measured work and outcomes move under a change, and their price.

A `State` is the period as the pricing sees it: contacts, agent handle time and billed minutes by workflow,
handler and channel; counted outcomes by outcome and workflow; the value-share value; first-contact resolution.
`apply` moves it by a scenario's changes and one Monte Carlo draw; `price_state` prices it with the pure pricing
core (steps 1-6 but earn-backs, which need the history of periods that a scenario does not have). The model,
in order (docs/simulator.md, "The scenario model"):

1. volume: every count x (1 + volume_growth) x the draw's volume multiplier;
2. channel shift: `share` of the agent contacts of channel `from` move to `to`, at `to`'s handle time;
3. automation: the bot takes `deflect` x `simple_share` of the agent contacts (contained); they were short
   (`simple_aht_factor` x the mean handle time), so the contacts left are longer, and harder: FCR moves by
   `harder_fcr`;
4. quality: FCR moves by `fcr_change` (+ the draw's noise). A contact not resolved first time comes back once:
   agent contacts and their time scale by (2 - FCR') / (2 - FCR), verified resolutions by FCR' / FCR and by that;
5. handle time x the draw's AHT multiplier.
Seats given as a number follow the agent workload (ceil(agents x workload' / workload)): a seat deal is
re-staffed to the demand it serves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from outcomes.contract import Contract
from outcomes.metrics.library import MetricRequest
from outcomes.period import Period
from outcomes.pricing.credits import service_credits
from outcomes.pricing.lines import sum_amounts
from outcomes.pricing.period_total import price_period
from outcomes.pricing.productivity import productivity_line
from outcomes.settlement import service_levels as levels
from outcomes.simulator.basis import Basis
from outcomes.simulator.compare import Figures
from outcomes.simulator.costs import buyer_own_cost, provider_cost
from outcomes.simulator.scenario import Automation, Changes, Costs

Key = tuple[str, str, str]  # workflow, handler, channel


@dataclass(frozen=True)
class Draw:
    volume: float = 1.0
    aht: float = 1.0
    fcr: float = 0.0


@dataclass
class State:
    work: dict[Key, list[float]]  # [contacts, handle seconds, billed minutes]
    outcomes: dict[tuple[str, str], float]  # counted, by (outcome, workflow)
    kinds: dict[str, str]  # outcome -> kind
    value: float
    fcr: float
    base_agent_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def agent_seconds(self) -> float:
        return sum(v[1] for (_, h, _), v in self.work.items() if h == "agent")

    def contacts(self, handler: str | None = None) -> float:
        return sum(v[0] for (_, h, _), v in self.work.items() if handler is None or h == handler)

    def counted(self, kind: str) -> float:
        return sum(n for (o, _), n in self.outcomes.items() if self.kinds[o] == kind)


def base_value(b: Basis) -> float:
    vs = b.contract.pricing.value_share
    if vs is None:
        return 0.0
    if vs.metric == "revenue_retained":
        return float(sum((m.value() for m in b.measures if m.kind == "save"), Decimal(0)))
    v = b.values[MetricRequest("revenue_influenced", window=vs.window)].value
    return 0.0 if v is None else float(v)


def state_of(b: Basis, fcr: float | None) -> State:
    work = {
        (w.workflow, w.handler, w.channel): [float(w.contacts), w.handle_seconds, float(w.minutes)]
        for w in b.work
    }
    outcomes = {(m.name, wf): float(n) for m in b.measures for wf, n in m.counted().items()}
    kinds = {name: o.kind for name, o in b.contract.outcomes.items()}
    if fcr is None:
        agents = sum(w.contacts for w in b.work if w.handler == "agent")
        fcr = b.verified_resolutions / agents if agents else 0.7
    s = State(work, outcomes, kinds, base_value(b), min(max(fcr, 0.01), 0.99))
    s.base_agent_seconds = s.agent_seconds()
    return s


def _scale(v: list[float], k: float) -> None:
    v[0] *= k
    v[1] *= k
    v[2] *= k


def apply(base: State, ch: Changes, draw: Draw = Draw()) -> State:
    s = replace(
        base,
        work={k: list(v) for k, v in base.work.items()},
        outcomes=dict(base.outcomes),
        notes=list(base.notes),
    )
    f0 = base.fcr
    # 1. volume
    g = (1 + float(ch.volume_growth)) * draw.volume
    for v in s.work.values():
        _scale(v, g)
    s.outcomes = {k: n * g for k, n in s.outcomes.items()}
    s.value *= g
    # 2. channel shift
    if ch.channel_shift is not None:
        _shift(s, ch.channel_shift.from_, ch.channel_shift.to, float(ch.channel_shift.share))
    # 3. automation
    f1 = f0
    agent_before = s.contacts("agent")
    if ch.automation is not None:
        _automate(s, ch.automation)
        f1 = f0 + float(ch.automation.harder_fcr)
    agent_after = s.contacts("agent")
    # 4. quality: FCR, and the repeats it causes
    f2 = min(max(f1 + float(ch.fcr_change) + draw.fcr, 0.01), 0.99)
    r = (2 - f2) / (2 - f0)
    for (_, h, _), v in s.work.items():
        if h == "agent":
            _scale(v, r)
    kept = agent_after / agent_before if agent_before else 1.0
    s.outcomes = {
        (o, wf): n * kept * (f2 / f0) * r if s.kinds[o] == "resolution" else n
        for (o, wf), n in s.outcomes.items()
    }
    s.fcr = f2
    # 5. handle time
    for (_, h, _), v in s.work.items():
        if h == "agent":
            v[1] *= draw.aht
            v[2] *= draw.aht
    return s


def _shift(s: State, source: str, target: str, share: float) -> None:
    for (wf, h, c), v in list(s.work.items()):
        if h != "agent" or c != source or v[0] <= 0:
            continue
        moved = v[0] * share
        to = s.work.get((wf, "agent", target))
        per = (to[1] / to[0], to[2] / to[0]) if to and to[0] > 0 else (v[1] / v[0], v[2] / v[0])
        _scale(v, 1 - share)
        dest = s.work.setdefault((wf, "agent", target), [0.0, 0.0, 0.0])
        dest[0] += moved
        dest[1] += moved * per[0]
        dest[2] += moved * per[1]


def _automate(s: State, a: Automation) -> None:
    containment = next((o for o, k in s.kinds.items() if k == "containment"), None)
    for (wf, h, _), v in list(s.work.items()):
        if h != "agent" or v[0] <= 0:
            continue
        deflected = v[0] * float(a.simple_share) * float(a.deflect)
        simple_seconds = float(a.simple_aht_factor) * v[1] / v[0]
        left_seconds = max(v[1] - deflected * simple_seconds, 0.0)
        minutes = v[2] * (left_seconds / v[1]) if v[1] else v[2]
        v[0], v[1], v[2] = v[0] - deflected, left_seconds, minutes
        bot = s.work.setdefault((wf, "bot", "bot"), [0.0, 0.0, 0.0])
        bot[0] += deflected
        if containment is not None:
            s.outcomes[(containment, wf)] = s.outcomes.get((containment, wf), 0.0) + deflected


@dataclass(frozen=True)
class Priced:
    figures: Figures
    verified_resolutions: float
    triggers: tuple[str, ...]  # metrics whose review trigger fired
    agents: int | None
    productivity: Decimal | None  # the productivity-share credit (negative), with an automation clause


def _round(x: float) -> int:
    return max(0, int(Decimal(str(x)).quantize(Decimal(1))))


def price_state(b: Basis, contract: Contract, period: Period, s: State, costs: Costs | None) -> Priced:
    counts = {k: _round(n) for k, n in s.outcomes.items()}
    volumes: dict[tuple[str, str, str], int] = {}
    for (wf, h, _), v in s.work.items():
        volumes[("contact", wf, h)] = volumes.get(("contact", wf, h), 0) + _round(v[0])
        volumes[("handled_minute", wf, h)] = volumes.get(("handled_minute", wf, h), 0) + _round(v[2])
    agents = None
    seats = contract.pricing.seats
    if seats is not None:
        # a seat deal is re-staffed to the demand it serves: the agents of the period (given, or staffed from
        # the data by the settlement) follow the agent workload
        base_agents = seats.agents if isinstance(seats.agents, int) else b.seat_agents
        ratio = s.agent_seconds() / s.base_agent_seconds if s.base_agent_seconds else 1.0
        agents = math.ceil(round(base_agents * ratio, 6))
        contract = contract.model_copy(
            update={
                "pricing": contract.pricing.model_copy(
                    update={"seats": seats.model_copy(update={"agents": agents})}
                )
            }
        )
    value = Decimal(str(round(s.value, 2)))
    priced = price_period(contract, period, counts, value=value, lift=b.lift, volumes=volumes, agents=agents)
    handled = _round(s.contacts())
    contained = _round(s.counted("containment"))
    values = dict(b.values)
    for req, mv in b.values.items():
        if req.name == "fcr_rate":
            values[req] = replace(mv, value=Fraction(s.fcr).limit_denominator(10**6))
        elif req.name == "containment_rate" and handled:
            values[req] = replace(mv, value=Fraction(contained, handled))
        elif req.name == "handled":
            values[req] = replace(mv, value=Fraction(handled))
    results = levels.assess(contract, values)
    credits = service_credits(contract.service_levels, results, priced.period_base, contract.currency)
    productivity = productivity_line(contract.automation, contained, handled, contract.currency)
    lines = [*priced.lines, *credits, *([productivity] if productivity else [])]
    invoice = sum_amounts(lines)
    cur = contract.currency
    bots = s.contacts("bot")
    own = buyer_own_cost(costs, bots, cur) if costs is not None else Decimal(0)
    pcost = provider_cost(costs, s.agent_seconds(), bots, cur) if costs is not None else None
    fired = tuple(n["metric"] for n in levels.trigger_notices(contract, values))
    resolutions = s.counted("resolution")
    return Priced(
        Figures(invoice, invoice + own, resolutions, pcost, cur),
        resolutions,
        fired,
        agents,
        None if productivity is None else productivity.amount,
    )


def reviewed(contract: Contract, factor: Decimal) -> Contract:
    """The contract after a price review: every price and fixed amount times `factor` (rates and shares kept)."""
    data: dict[str, Any] = contract.model_dump(mode="json", by_alias=True)
    p = data["pricing"]

    def times(text: str | None) -> str | None:
        return None if text is None else format((Decimal(text) * factor).quantize(Decimal("0.0001")), "f")

    for key in ("base_fee", "minimum", "maximum"):
        p[key] = times(p.get(key))
    for fee in [*p.get("outcome_fees", []), *p.get("volume_fees", [])]:
        fee["unit"] = times(fee.get("unit"))
        for tier in fee.get("prices") or []:
            tier["unit"] = times(tier["unit"])
    if p.get("seats"):
        p["seats"]["rate"] = times(p["seats"]["rate"])
    return Contract.model_validate(data)
