"""Staffing: how many agents a stream of contacts needs (Erlang C, and Erlang A with abandonment).

Pure and small, for the FTE contracts of the simulator and for `outcomes staffing` (docs/simulator.md,
"Staffing", derives every formula below). The API:

- `Demand(arrivals, interval_seconds, handle_seconds, patience_seconds=None)`: contacts arriving in one
  interval (Poisson), their mean handle time (exponential), and, for Erlang A, the customers' mean patience
  (exponential); no patience is Erlang C (nobody abandons).
- `performance(demand, agents, answer_within_seconds) -> Performance`: service level, P(wait), ASA, occupancy
  and, with patience, P(abandon) of `agents` agents on the phones.
- `required(demand, Target(...)) -> Staffing`: the fewest agents that meet every target, and how many to
  schedule once shrinkage takes its share (`after_shrinkage`).

Erlang C uses the Erlang B recursion (every term in [0, 1], so no factorial overflows). Erlang A is exact: the
stationary distribution of the M/M/n+M birth-death chain (in logarithms, truncated where the tail is below
1e-16), and the service level from a tagged customer's absorbing chain solved by uniformisation; the only
approximation is truncating sums whose remainder is below 1e-15. Numbers of agents and probabilities are
floats: they are queueing estimates, never money.

Why not a library: pyworkforce (the maintained one, with Erlang C and, since 0.5, Erlang A) needs Python
>= 3.12 and pulls OR-Tools; outcomes runs on 3.11, and these formulas are a few dozen lines that the tests pin
against published references and a discrete-event simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

#: Truncation: stationary states whose weight relative to the largest is below this are dropped.
_STATE_TAIL = math.log(1e-16)


@dataclass(frozen=True)
class Demand:
    """Contacts arriving in one interval: Poisson arrivals, exponential handle time (and patience)."""

    arrivals: float
    interval_seconds: float
    handle_seconds: float
    patience_seconds: float | None = None  # mean patience; None: nobody abandons (Erlang C)

    def __post_init__(self) -> None:
        _check("arrivals", self.arrivals, low=0)
        _check("interval_seconds", self.interval_seconds, low=0, open_low=True)
        _check("handle_seconds", self.handle_seconds, low=0, open_low=True)
        if self.patience_seconds is not None:
            _check("patience_seconds", self.patience_seconds, low=0, open_low=True)

    @property
    def model(self) -> str:
        return "erlang_c" if self.patience_seconds is None else "erlang_a"

    @property
    def arrival_rate(self) -> float:
        """λ, contacts per second."""
        return self.arrivals / self.interval_seconds

    @property
    def offered_load(self) -> float:
        """A = λ x handle time, in Erlangs: the agents busy on average if every contact were answered."""
        return self.arrival_rate * self.handle_seconds


@dataclass(frozen=True)
class Target:
    """What the staffing must achieve; a target left None is not asked for."""

    service_level: float | None = 0.8  # share of all arrivals answered within answer_within_seconds
    answer_within_seconds: float = 20.0
    max_wait_probability: float | None = None
    max_occupancy: float | None = None
    max_abandon_probability: float | None = None  # Erlang A only
    shrinkage: float = 0.0  # share of paid time agents are not on the phones (breaks, training, absence)

    def __post_init__(self) -> None:
        _check("answer_within_seconds", self.answer_within_seconds, low=0)
        # a service level of 1 and a P(wait) or P(abandon) of 0 are beyond any finite number of agents
        if self.service_level is not None:
            _check("service_level", self.service_level, low=0, high=1, open_high=True)
        for name in ("max_wait_probability", "max_abandon_probability"):
            value = getattr(self, name)
            if value is not None:
                _check(name, value, low=0, high=1, open_low=True)
        if self.max_occupancy is not None:
            _check("max_occupancy", self.max_occupancy, low=0, high=1, open_low=True)
        _check("shrinkage", self.shrinkage, low=0, high=1, open_high=True)


@dataclass(frozen=True)
class Performance:
    """What `agents` agents on the phones achieve. `asa_seconds` is None when the queue grows without end
    (Erlang C with load >= agents); `abandon_probability` is None for Erlang C."""

    model: str
    agents: int
    offered_load: float
    answer_within_seconds: float
    service_level: float  # answered within the threshold / all arrivals (abandoned = not answered)
    wait_probability: float  # an arrival finds every agent busy
    asa_seconds: float | None  # mean wait of the answered contacts (zero waits included)
    occupancy: float  # share of the agents' time on the phones spent handling contacts
    abandon_probability: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "agents": self.agents,
            "offered_load_erlangs": self.offered_load,
            "answer_within_seconds": self.answer_within_seconds,
            "service_level": self.service_level,
            "wait_probability": self.wait_probability,
            "asa_seconds": self.asa_seconds,
            "occupancy": self.occupancy,
            "abandon_probability": self.abandon_probability,
        }


@dataclass(frozen=True)
class Staffing:
    """The fewest agents on the phones that meet every target (`agents`), the agents to schedule once
    shrinkage is taken (`after_shrinkage`), what they achieve, and the agents each target alone needs."""

    agents: int
    after_shrinkage: int
    shrinkage: float
    performance: Performance
    needed_by: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            **self.performance.as_dict(),
            "agents": self.agents,
            "agents_after_shrinkage": self.after_shrinkage,
            "shrinkage": self.shrinkage,
            "needed_by": dict(self.needed_by),
        }


def _check(
    name: str,
    value: float,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (open_low and value == low)):
        raise ValueError(f"{name} must be {'>' if open_low else '>='} {low}, got {value}")
    if high is not None and (value > high or (open_high and value == high)):
        raise ValueError(f"{name} must be {'<' if open_high else '<='} {high}, got {value}")


def after_shrinkage(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that `agents` are on the phones when `shrinkage` of paid time is lost.

    In decimals, so that 14 / (1 - 0.3) is 20, not the 21 a float's 20.000000000000004 would round up to."""
    _check("shrinkage", shrinkage, low=0, high=1, open_high=True)
    exact = Decimal(agents) / (1 - Decimal(str(shrinkage)))
    return int(exact.to_integral_value(rounding="ROUND_CEILING"))


# -- Erlang C ------------------------------------------------------------------------------------------------
def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of `agents` servers offered `load` Erlangs (the stable recursion)."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """P(wait) of M/M/n: an arrival finds all `agents` busy (1 when load >= agents: the queue never clears)."""
    if load <= 0:
        return 0.0
    if load >= agents:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1 - b))


def _erlang_c_performance(d: Demand, n: int, t: float) -> Performance:
    a = d.offered_load
    if d.arrivals == 0:
        return Performance(d.model, n, a, t, 1.0, 0.0, 0.0, 0.0, None)
    if n <= a:
        return Performance(d.model, n, a, t, 0.0, 1.0, None, 1.0, None)
    pw = erlang_c(n, a)
    drain = (n - a) / d.handle_seconds  # n mu - lambda: the rate at which a queue ahead clears
    sl = 1.0 - pw * math.exp(-drain * t)
    return Performance(d.model, n, a, t, sl, pw, pw / drain, a / n, None)


# -- Erlang A ------------------------------------------------------------------------------------------------
def stationary(d: Demand, n: int) -> np.ndarray:
    """π_k, k = 0..K, of the M/M/n+M chain: births λ, deaths min(k, n)μ + max(k - n, 0)θ.

    Built in logarithms (A^k/k! overflows long before a contact centre is large) and truncated once the
    weights are decreasing and the geometric bound of the rest is below 1e-16 of the largest."""
    assert d.patience_seconds is not None
    lam, mu, theta = d.arrival_rate, 1.0 / d.handle_seconds, 1.0 / d.patience_seconds
    logs = [0.0]
    top = 0.0
    k = 0
    while True:
        k += 1
        death = min(k, n) * mu + max(k - n, 0) * theta
        ratio = lam / death
        logs.append(logs[-1] + math.log(ratio))
        top = max(top, logs[-1])
        if ratio < 1 and k >= n:
            rest = logs[-1] + math.log(ratio / (1 - ratio))  # the tail beyond k, bounded geometrically
            if rest - top < _STATE_TAIL:
                break
    w = np.exp(np.array(logs) - top)
    return w / w.sum()


def _answered_within(n: int, mu: float, theta: float, queued: np.ndarray, t: float) -> float:
    """P(answered within t) of a customer who finds j - 1 others waiting ahead with probability queued[j-1].

    The tagged customer's chain: at position i it moves up at rate nμ + (i - 1)θ (a service or an abandonment
    ahead; from position 1 a service answers it) and leaves at its own abandonment rate θ. Uniformised at
    Λ = nμ + Jθ, the answer is Σ_m Poisson(m; Λt) x P(answered within m jumps), all terms positive."""
    if t == 0 or queued.sum() == 0:
        return 0.0
    j = len(queued)
    positions = np.arange(1, j + 1)
    up = n * mu + (positions - 1) * theta  # rate of moving one place up (position 1: being answered)
    rate = n * mu + j * theta
    x = rate * t
    stay = 1.0 - (up + theta) / rate
    move = up / rate
    v = queued.astype(float).copy()
    # Poisson(x) puts less than 1e-15 beyond x + 12 sqrt(x) + 40 (a Chernoff bound): sum that far, then give
    # the rest, by at most that mass, the limit it tends to
    last = int(math.ceil(x + 12 * math.sqrt(x) + 40))
    answered = 0.0
    total = 0.0
    mass = 0.0
    for m in range(last + 1):
        weight = math.exp(m * math.log(x) - x - math.lgamma(m + 1)) if x > 0 else float(m == 0)
        total += weight * answered
        mass += weight
        answered += v[0] * move[0]
        nxt = v * stay
        nxt[:-1] += v[1:] * move[1:]
        v = nxt
    total += max(0.0, 1.0 - mass) * answered
    return total


def _erlang_a_performance(d: Demand, n: int, t: float) -> Performance:
    a = d.offered_load
    if d.arrivals == 0:
        return Performance(d.model, n, a, t, 1.0, 0.0, 0.0, 0.0, 0.0)
    assert d.patience_seconds is not None
    lam, mu, theta = d.arrival_rate, 1.0 / d.handle_seconds, 1.0 / d.patience_seconds
    pi = stationary(d, n)
    k = np.arange(len(pi))
    queued = pi[n:]  # arrivals that find all busy, by position they take: 1, 2, ...
    pw = float(queued.sum())
    in_queue = np.maximum(k - n, 0)
    abandon = float(theta * (in_queue * pi).sum() / lam)
    busy = float((np.minimum(k, n) * pi).sum())
    occupancy = busy / n if n else 0.0
    positions = np.arange(1, len(queued) + 1)
    served = n * mu / (n * mu + positions * theta) if n else np.zeros(len(queued))
    # mean wait of one reaching service from position j: the stage means 1 / (nμ + iθ), i = 1..j
    stage_means = np.cumsum(1.0 / (n * mu + positions * theta)) if n else np.zeros(len(queued))
    answered = 1.0 - abandon
    waited = float((queued * served * stage_means).sum())
    asa = waited / answered if answered > 0 else None
    no_wait = float(pi[:n].sum())
    sl = no_wait + (_answered_within(n, mu, theta, queued, t) if n else 0.0)
    return Performance(d.model, n, a, t, min(1.0, float(sl)), pw, asa, occupancy, abandon)


# -- the API -------------------------------------------------------------------------------------------------
def performance(demand: Demand, agents: int, answer_within_seconds: float = 20.0) -> Performance:
    """What `agents` agents on the phones achieve for `demand`: Erlang C, or Erlang A with patience."""
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError(f"agents must be a non-negative integer, got {agents!r}")
    _check("answer_within_seconds", answer_within_seconds, low=0)
    if demand.patience_seconds is None:
        return _erlang_c_performance(demand, agents, answer_within_seconds)
    return _erlang_a_performance(demand, agents, answer_within_seconds)


def _meets(p: Performance, target: Target, name: str) -> bool:
    if name == "service_level":
        return target.service_level is not None and p.service_level >= target.service_level - 1e-12
    if name == "max_wait_probability":
        return target.max_wait_probability is not None and p.wait_probability <= target.max_wait_probability
    if name == "max_occupancy":
        return target.max_occupancy is not None and p.occupancy <= target.max_occupancy + 1e-12
    if name == "max_abandon_probability":
        limit = target.max_abandon_probability
        return limit is not None and (p.abandon_probability or 0.0) <= limit
    raise AssertionError(name)  # pragma: no cover


def _fewest(demand: Demand, target: Target, name: str) -> int:
    """The fewest agents (at least one) meeting one target: doubling, then bisection; every measure is
    monotone in the number of agents, so the first that meets it is the answer."""

    def ok(n: int) -> bool:
        return _meets(performance(demand, n, target.answer_within_seconds), target, name)

    low, high = 0, 1  # invariant once the loop ends: low fails (or is 0), high meets the target
    while not ok(high):
        low, high = high, high * 2
        if high > 10_000_000:  # pragma: no cover - every target is met by enough agents
            raise ValueError(f"no number of agents meets the {name} target")
    while high - low > 1:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid
    return high


def required(demand: Demand, target: Target) -> Staffing:
    """The fewest agents on the phones meeting every target set, and the agents to schedule after shrinkage.

    No arrivals need no agents. At least one agent is needed for any arrivals, even with no target set."""
    names = [
        name
        for name in ("service_level", "max_wait_probability", "max_occupancy", "max_abandon_probability")
        if getattr(target, name) is not None
    ]
    if target.max_abandon_probability is not None and demand.patience_seconds is None:
        raise ValueError("max_abandon_probability needs patience (Erlang A): nobody abandons in Erlang C")
    if demand.arrivals == 0:
        needed = {name: 0 for name in names}
        agents = 0
    else:
        needed = {name: _fewest(demand, target, name) for name in names}
        agents = max([1, *needed.values()])
    p = performance(demand, agents, target.answer_within_seconds)
    return Staffing(agents, after_shrinkage(agents, target.shrinkage), target.shrinkage, p, needed)
