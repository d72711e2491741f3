"""The stages a period goes through before anything is recorded, shared by a settlement (`settle.compute`) and
the re-pricing of an earlier settled period (`adjustments.reprice`): the clock check, then measure, value
inputs and price. Each is timed by a `Timer` (`outcomes settle --profile`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from outcomes.contract import Contract
from outcomes.errors import OutcomesError
from outcomes.ledger import Ledger
from outcomes.metrics.library import MetricRequest, MetricValue, measure_metrics
from outcomes.pricing.credits import service_credits
from outcomes.pricing.lines import Line
from outcomes.pricing.period_total import PricedPeriod, finish_period, price_period
from outcomes.pricing.productivity import productivity_line
from outcomes.pricing.value_share import LiftGate
from outcomes.settlement import service_levels as levels
from outcomes.settlement.measure import OutcomeMeasure, measure, with_evidence
from outcomes.settlement.resolve import Resolution
from outcomes.settlement.value_share import lift_gate
from outcomes.settlement.volumes import measure_work, required_agents, volumes_of

if TYPE_CHECKING:
    from outcomes.facts import Facts

STAGES = ("resolve", "clock", "measure", "value inputs", "price", "adjustments", "finish", "record")


class SettlementRefused(OutcomesError):
    """The period cannot be settled (yet): the message says why and what to do."""

    code = "settlement_refused"


class Timer:
    """Seconds spent in each named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        assert stage in STAGES, stage
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started


@dataclass
class Priced:
    """What the measure, value-input and price stages give for one period (a settlement or a re-pricing)."""

    priced: PricedPeriod
    measures: list[OutcomeMeasure]
    values: dict[MetricRequest, MetricValue]
    results: list[Any]
    credits: list[Line]
    earn_backs: list[Line]
    productivity: Line | None
    lift: LiftGate | None = None  # the measured lift, when the value share requires one

    def finished(self, contract: Contract, adjustments: list[Line]) -> PricedPeriod:
        """Steps 4-7 appended (credits, earn-backs, productivity share, adjustments), each outcome line with
        the fate of its candidates and where their evidence is."""
        done = finish_period(
            self.priced,
            credits=self.credits,
            earn_backs=self.earn_backs,
            productivity=self.productivity,
            adjustments=adjustments,
        )
        return replace(done, lines=[with_evidence(ln, contract, self.measures) for ln in done.lines])


def check_clock(res: Resolution, *, provisional: bool, now: datetime | None = None) -> str:
    """The clock stage: "final" when every look-ahead window is observed, "provisional" when asked and not;
    refused otherwise, and always refused for a period that has not begun."""
    if not res.begun(now):
        raise SettlementRefused(
            f"{res.contract.contract} {res.period.label} has not begun (it starts "
            f"{res.period.start.isoformat()} in {res.contract.timezone}): a period is settled, even "
            "provisionally, only once it has started",
            hint="settle a period that has begun; `outcomes status` lists the unsettled ones",
        )
    if res.complete:
        return "final"
    if provisional:
        return "provisional"
    c, needed = res.contract, res.settleable_after
    seen = "no contacts" if res.clocks.contacts is None else f"contacts up to {res.local(res.clocks.contacts)}"
    raise SettlementRefused(
        f"{c.contract} {res.period.label} cannot be settled yet: its repeat-contact windows close at "
        f"{res.local(needed)} ({c.timezone}) and the facts hold {seen} from {c.system_of_record}. Settle once "
        f"contacts opened after {res.local(needed)} have been ingested, or use --provisional to bill what is "
        "verifiable now."
    )


def needs_events(contract: Contract) -> list[str]:
    """What in the contract is decided by customer events (churn, revenue, purchases), as a reader names it:
    its save outcomes, its value share, and the service levels and review triggers on an event metric."""
    from outcomes.contract.metrics import CATALOGUE

    out = [f"the save outcome {name!r}" for name, o in contract.outcomes.items() if o.kind == "save"]
    vs = contract.pricing.value_share
    if vs is not None:
        out.append(f"the value share on {vs.metric}")
    out += [
        f"the measure on {r.name}"
        for r in levels.requests(contract)
        if CATALOGUE[r.name].events and not (vs is not None and r.name == vs.metric)
    ]
    return list(dict.fromkeys(out))


NO_EVENTS_HINT = (
    "ingest the CRM's customer events (churned, purchase, monthly revenue) with `outcomes ingest events FILE`, "
    "then settle again; or settle with --provisional to bill only what the contacts verify now"
)


def check_events(res: Resolution, *, provisional: bool) -> list[dict[str, Any]]:
    """The events check of the clock stage: a contract whose save outcome, value share or a measure is decided
    by customer events cannot be verified while the workspace holds no event at all (the event clock is
    unknown), so a final settlement is refused rather than billing 0 for them. A provisional one goes ahead
    (the saves wait, the value share is 0 until events arrive; they are billed as adjustments once they do)
    with a `no_customer_events` notice naming what waits."""
    if res.clocks.events is not None:
        return []
    needing = needs_events(res.contract)
    if not needing:
        return []
    what = ", ".join(needing)
    c = res.contract
    if not provisional:
        raise SettlementRefused(
            f"{c.contract} {res.period.label} cannot be settled: the workspace holds no customer events "
            f"(churned, purchase, monthly revenue), and {what} cannot be verified without them; billing them "
            "as 0 would be a guess",
            hint=NO_EVENTS_HINT,
        )
    return [
        {
            "code": "no_customer_events",
            "message": f"no customer events ingested: {what} cannot be verified yet (saves wait, value share "
            "is 0); they are billed as adjustments once events are ingested",
            "needs_events": needing,
        }
    ]


def price_resolved(
    ledger: Ledger, facts: Facts, res: Resolution, table: str, timer: Timer | None = None
) -> Priced:
    """The measure, value-input and price stages of a resolved period (shared by a settlement and the
    re-pricing of an earlier one)."""
    timer = timer or Timer()
    contract, period, window, clocks = res.contract, res.period, res.window, res.clocks
    interactions = facts.interactions(as_of_batch=res.batch)
    events = facts.events(as_of_batch=res.batch)
    with timer("measure"):
        measures = measure(facts, contract, window, interactions, events, clocks, table)
    with timer("value inputs"):
        values: dict[MetricRequest, MetricValue] = {}
        wanted = levels.requests(contract)
        if wanted:
            found = measure_metrics(
                contract, interactions, events, window, clocks, wanted, evidence=facts.evidence(table)
            )
            values = {v.request: v for v in found}
        value = None
        vs = contract.pricing.value_share
        if vs is not None and vs.metric == "revenue_retained":
            value = sum((m.value() for m in measures if m.kind == "save"), Decimal("0"))
        elif vs is not None:
            v = values[MetricRequest("revenue_influenced", window=vs.window)].value
            value = Decimal("0") if v is None else Decimal(v)
        lift: LiftGate | None = None
        if vs is not None and vs.require_significant_lift is not None:
            lift = lift_gate(contract, period, interactions, events, clocks)
        volumes = volumes_of(measure_work(contract, interactions, window)) if contract.pricing.volume_fees else {}
        agents, staffing = None, None
        seats = contract.pricing.seats
        if seats is not None and seats.agents == "from_data":
            agents, staffing = required_agents(contract, interactions, window)
    with timer("price"):
        counts = {(m.name, wf): n for m in measures for wf, n in m.counted().items()}
        priced = price_period(
            contract, period, counts, value=value, lift=lift, volumes=volumes, agents=agents, staffing=staffing
        )
        results = levels.assess(contract, values)
        credits = service_credits(contract.service_levels, results, priced.period_base, contract.currency)
        earlier = [s for s in levels.settled_periods(ledger, contract.contract) if s.period < period.label]
        returned = levels.earn_backs(contract, period.label, results, earlier)
        productivity = None
        if contract.automation is not None:
            contained = sum(n for m in measures if m.kind == "containment" for n in m.counted().values())
            handled = values[MetricRequest("handled")].value or 0
            productivity = productivity_line(contract.automation, int(contained), int(handled), contract.currency)
    return Priced(priced, measures, values, results, credits, returned, productivity, lift)


