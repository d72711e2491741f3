"""Staffing: agents needed for a stream of contacts, Erlang C and Erlang A (docs/simulator.md, "Staffing")."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from scipy.stats import poisson

from outcomes.pricing.staffing import Demand, Target, after_shrinkage, erlang_c, performance, required


def textbook_erlang_c(n: int, a: Fraction) -> Fraction:
    """P(wait) by the textbook formula, in exact fractions: (A^n/n! x n/(n-A)) / (sum_{k<n} A^k/k! + same)."""
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_the_classic_half_hour_needs_14_agents_and_20_after_shrinkage():
    # 100 calls in 30 minutes of 3 minutes each (10 Erlangs), 80% answered within 20 s, 30% shrinkage
    demand = Demand(arrivals=100, interval_seconds=30 * 60, handle_seconds=180)
    s = required(
        demand, Target(service_level=0.8, answer_within_seconds=20, shrinkage=0.3, max_occupancy=0.85)
    )
    assert (s.agents, s.after_shrinkage) == (14, 20)
    p = s.performance
    assert p.model == "erlang_c" and p.abandon_probability is None
    assert round(p.service_level, 3) == 0.888
    assert round(p.wait_probability, 3) == 0.174
    assert round(p.asa_seconds, 1) == 7.8
    assert round(p.occupancy, 3) == 0.714
    # the service level alone needs 14; 85% occupancy alone needs ceil(10 / 0.85) = 12
    assert s.needed_by == {"service_level": 14, "max_occupancy": 12}
    # 13 agents fall short: the answer is the fewest that meets the target
    assert performance(demand, 13, 20).service_level < 0.8


def test_a_wait_probability_target_is_met_by_the_fewest_agents_the_textbook_formula_allows():
    # 30 calls an hour of 5 minutes: 2.5 Erlangs, at most 10% of callers wait
    demand = Demand(arrivals=30, interval_seconds=3600, handle_seconds=300)
    s = required(demand, Target(service_level=None, max_wait_probability=0.10))
    assert float(textbook_erlang_c(5, Fraction(5, 2))) > 0.10  # 13.0%
    assert float(textbook_erlang_c(6, Fraction(5, 2))) <= 0.10  # 4.7%
    assert s.agents == 6
    assert s.performance.wait_probability == pytest.approx(
        float(textbook_erlang_c(6, Fraction(5, 2))), rel=1e-12
    )


@pytest.mark.parametrize(
    "n,a", [(1, Fraction(1, 2)), (3, Fraction(2)), (14, Fraction(10)), (40, Fraction(75, 2))]
)
def test_erlang_c_is_the_textbook_formula(n, a):
    assert erlang_c(n, float(a)) == pytest.approx(float(textbook_erlang_c(n, a)), rel=1e-12)


def test_a_large_centre_does_not_overflow():
    # 1,000 Erlangs: A^n / n! alone would overflow a float long before n = 1,000
    demand = Demand(arrivals=10_000, interval_seconds=1800, handle_seconds=180)
    s = required(demand, Target(service_level=0.8, answer_within_seconds=20))
    assert 1000 < s.agents < 1100
    assert s.performance.service_level >= 0.8 > performance(demand, s.agents - 1, 20).service_level
    patient = Demand(10_000, 1800, 180, patience_seconds=120)
    a = required(patient, Target(service_level=0.8))
    # with abandonment, fewer agents than Erlangs can answer 80% within 20 s: those who would wait long leave
    # (about 11% abandon here, a queue of some 70 callers that clears in about 13 s)
    assert a.agents < 1000 < s.agents
    assert a.performance.service_level >= 0.8 > performance(patient, a.agents - 1, 20).service_level
    assert 0.05 < a.performance.abandon_probability < 0.2


def test_shrinkage_is_taken_in_decimals():
    # 14 / 0.7 is 20.000000000000004 in floats: scheduling 21 would be one agent too many
    assert after_shrinkage(14, 0.3) == 20
    assert after_shrinkage(14, 0.0) == 14
    assert after_shrinkage(15, 0.3) == 22  # 21.43 rounds up


def test_no_arrivals_need_no_agents():
    s = required(Demand(0, 1800, 180), Target(shrinkage=0.3))
    assert (s.agents, s.after_shrinkage) == (0, 0)
    assert s.performance.service_level == 1.0


def test_too_few_agents_for_erlang_c_never_clear_the_queue():
    p = performance(Demand(100, 1800, 180), 10, 20)  # 10 Erlangs on 10 agents
    assert (p.service_level, p.wait_probability, p.asa_seconds) == (0.0, 1.0, None)


@pytest.mark.parametrize("bad", [{"service_level": 1.0}, {"max_wait_probability": 0.0}, {"shrinkage": 1.0}])
def test_targets_no_number_of_agents_can_meet_are_refused(bad):
    with pytest.raises(ValueError):
        Target(**bad)


# -- Erlang A ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [5, 8, 10, 12, 14, 20])
def test_when_patience_equals_handle_time_the_chain_is_poisson(n):
    # theta = mu: every customer in the system leaves at rate mu whether waiting or served, so the number in
    # the system is that of M/M/infinity, Poisson(A), and P(wait) = P(Poisson(A) >= n)
    demand = Demand(arrivals=100, interval_seconds=1800, handle_seconds=180, patience_seconds=180)
    assert performance(demand, n, 20).wait_probability == pytest.approx(poisson.sf(n - 1, 10), rel=1e-12)


def test_very_patient_customers_are_erlang_c():
    c = performance(Demand(100, 1800, 180), 14, 20)
    a = performance(Demand(100, 1800, 180, patience_seconds=1e9), 14, 20)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-6)
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=1e-6)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, abs=1e-4)
    assert a.abandon_probability == pytest.approx(0, abs=1e-6)


def test_erlang_a_service_level_counts_abandoned_calls_as_not_answered():
    demand = Demand(arrivals=100, interval_seconds=1800, handle_seconds=180, patience_seconds=60)
    p0 = performance(demand, 10, 0)
    assert p0.service_level == pytest.approx(1 - p0.wait_probability, abs=1e-12)  # within 0 s: no wait
    forever = performance(demand, 10, 3600)
    assert forever.service_level == pytest.approx(1 - forever.abandon_probability, abs=1e-9)  # all answered
    mid = performance(demand, 10, 20)
    assert p0.service_level < mid.service_level < forever.service_level


def test_erlang_a_single_waiting_place_matches_its_closed_form():
    # one agent, few arrivals: almost no one finds two ahead. A customer who finds the agent busy (first in
    # line) is answered within t with probability mu/(mu+theta) x (1 - exp(-(mu+theta) t)); check the service
    # level against the sum over the positions computed by hand from the stationary chain
    lam, mu, theta, t = 1 / 600, 1 / 180, 1 / 90, 30.0
    demand = Demand(arrivals=lam * 3600, interval_seconds=3600, handle_seconds=180, patience_seconds=90)
    # stationary weights of k = 0, 1, 2, ... in the system (one agent)
    w = [1.0]
    for k in range(1, 200):
        w.append(w[-1] * lam / (mu + (k - 1) * theta))
    total = sum(w)
    pi = [x / total for x in w]

    def answered_within(j: int) -> float:
        # hypoexponential stages with rates mu + i theta, i = 1..j, by their partial fractions (small j only)
        rates = [mu + i * theta for i in range(1, j + 1)]
        survive = sum(math.exp(-r * t) * math.prod(s / (s - r) for s in rates if s != r) for r in rates)
        return mu / (mu + j * theta) * (1 - survive)

    expected = pi[0] + sum(pi[j] * answered_within(j) for j in range(1, 8))
    assert performance(demand, 1, t).service_level == pytest.approx(expected, abs=1e-9)


def test_erlang_a_needs_no_more_agents_than_erlang_c_for_the_classic_half_hour():
    c = required(Demand(100, 1800, 180), Target(service_level=0.8, shrinkage=0.3))
    a = required(Demand(100, 1800, 180, patience_seconds=120), Target(service_level=0.8, shrinkage=0.3))
    assert a.agents <= c.agents
    assert a.performance.service_level >= 0.8
    assert performance(Demand(100, 1800, 180, patience_seconds=120), a.agents - 1, 20).service_level < 0.8
    assert a.as_dict()["abandon_probability"] == a.performance.abandon_probability > 0


def test_an_abandonment_target_needs_patience():
    with pytest.raises(ValueError, match="patience"):
        required(Demand(100, 1800, 180), Target(max_abandon_probability=0.05))
    s = required(
        Demand(100, 1800, 180, patience_seconds=60), Target(service_level=None, max_abandon_probability=0.02)
    )
    assert s.performance.abandon_probability <= 0.02
    assert performance(Demand(100, 1800, 180, patience_seconds=60), s.agents - 1).abandon_probability > 0.02


# -- a seeded discrete-event simulation agrees ----------------------------------------------------------------
def simulate(demand: Demand, agents: int, within: float, customers: int, seed: int) -> dict[str, list[float]]:
    """M/M/n+M in simpy, first come first served: per batch of customers, the share answered within `within`,
    that waited and that abandoned (the first batch, the warm-up, is dropped)."""
    import numpy as np
    import simpy

    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=agents)
    fates: list[tuple[bool, bool, bool]] = []  # (answered within, waited, abandoned), in arrival order

    def customer(index: int):
        arrived = env.now
        patience = rng.exponential(demand.patience_seconds)
        with desk.request() as turn:
            waited = desk.count >= agents and turn not in desk.users
            got = yield turn | env.timeout(patience)
            if turn in got:
                fates[index] = (env.now - arrived <= within, waited, False)
                yield env.timeout(rng.exponential(demand.handle_seconds))
            else:
                fates[index] = (False, True, True)

    def arrivals():
        for i in range(customers):
            yield env.timeout(rng.exponential(1 / demand.arrival_rate))
            fates.append((False, False, False))
            env.process(customer(i))

    env.process(arrivals())
    env.run()
    batches = np.array_split(np.array(fates, dtype=float), 21)[1:]
    return {
        name: [float(b[:, i].mean()) for b in batches]
        for i, name in enumerate(("service_level", "wait_probability", "abandon_probability"))
    }


@pytest.mark.slow
def test_a_seeded_simulation_agrees_with_erlang_a():
    from scipy import stats

    demand = Demand(arrivals=100, interval_seconds=1800, handle_seconds=180, patience_seconds=120)
    exact = performance(demand, 11, 20)
    sim = simulate(demand, 11, 20, customers=105_000, seed=13)
    for name, batches in sim.items():
        # batch means: 20 batches of 5,000 customers, a 99.9% t interval around their mean
        mean = sum(batches) / len(batches)
        half = stats.t.ppf(0.9995, len(batches) - 1) * stats.sem(batches)
        assert abs(getattr(exact, name) - mean) <= half, (name, getattr(exact, name), mean, half)
