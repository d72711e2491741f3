"""Honest lift (issue 14): intervals that resample customers, a minimum counted in customers, a gate that
decides on the difference-in-differences when a baseline has data and cannot pay for noise, the power said out
loud, and segments that select nothing."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import pytest
from typer.testing import CliRunner

from outcomes.cli import app
from outcomes.contract import canonical_form, contract_hash, load_contract_text
from outcomes.metrics.lift import Sample, compare, estimate_metric, gate_estimate
from test_uplift import CONTRACT, HEADER, LIFT_CONTRACT, _cancel_rows, _measure

CLOCK = "zz-clock,purchase,2027-03-01T00:00:00Z,1.00,"
KW = {"confidence": Decimal("0.95"), "resamples": 2000, "seed": 1}


def _rated(group: str, month: str, customers: list[tuple[int, int]], start: int = 0) -> list[str]:
    """Rows of rated contacts: per customer (contacts, rating), one contact a day from the 1st."""
    rows = []
    for i, (n, rating) in enumerate(customers, start=start):
        cust = f"{group}-{month}-r{i}"
        for k in range(n):
            day = f"{month}-{1 + k:02d}"
            rows.append(f"{cust}-{k},crm,{cust},chat,{group},{day}T09:00:00Z,{day}T09:30:00Z,resolved,agent,{rating},"
                        "question,x")  # fmt: skip
    return rows


def _value(group: str, month: str, n: int = 10) -> tuple[list[str], list[str]]:
    """n saved cancel contacts with 100.00 of revenue retained each: the value a share is paid on."""
    rows, _ = _cancel_rows(group, month, n, n)
    events = [f"{group}-{month}-{i},renewed,2026-03-01T00:00:00Z,,100.00" for i in range(n)]
    return rows, events


def _csat_contract(extra: str = "") -> str:
    text = LIFT_CONTRACT.replace("metric: save_rate\n      pilot", "metric: csat_top2box\n      pilot")
    return text.replace("      resamples: 1000\n", "      resamples: 1000\n" + extra)


def _value_share(result):
    return next(ln for ln in result.lines if ln.kind == "value_share")


# ------------------------------------------------------------------- (1) the unit of independence


def test_a_customer_with_many_contacts_is_one_piece_of_evidence():
    # 100 customers of 8 contacts each, every customer's 8 ratings alike (30 happy customers): the ratio is 30%
    # and its standard error is that of 100 customers, sqrt(.3 x .7 / 100) = 0.046, not of 800 contacts (0.016)
    def clustered(group):
        return Sample.of([(f"c:{group}{i}", 8 * (i < 30), 8) for i in range(100)], group=group, role="period",
                         period="P")  # fmt: skip

    e = compare(clustered("pilot"), clustered("control"), "pilot_vs_control", "csat_top2box", **KW)
    by_customers = math.sqrt(2 * 0.3 * 0.7 / 100)
    assert e.lift == 0 and e.se == pytest.approx(by_customers, rel=0.15)
    assert e.customers == {"pilot P": 100, "control P": 100}
    assert e.ci[1] - e.ci[0] > 3 * 1.96 * math.sqrt(2 * 0.3 * 0.7 / 800)


def test_an_aa_clustered_month_does_not_pay_the_value_share(scenario):
    """Pilot and control draw from one population: some customers are delighted and contact eight times, the
    rest contact once and rate 2. By chance the pilot got 8 delighted customers of 40, the control 4 of 40. Per
    contact that is 64/96 against 32/68 top-2-box; resampling contacts calls it significant, but it is 8 against
    4 customers."""
    s = scenario(_csat_contract())
    pilot = [(8, 5)] * 8 + [(1, 2)] * 32
    control = [(8, 5)] * 4 + [(1, 2)] * 36
    rows = _rated("pilot", "2026-04", pilot) + _rated("ctrl", "2026-04", control)
    events = []
    for group in ("pilot", "ctrl"):
        r, e = _value(group, "2026-04")
        rows, events = rows + r, events + e
    s.rows("\n".join(rows), header=HEADER)
    s.events("\n".join(events + [CLOCK]))
    # the contact-level two-proportion test the old intervals amounted to: z > 1.96, "significant"
    p1, n1, p2, n2 = 64 / 96, 96, 32 / 68, 68
    z = (p1 - p2) / math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    assert z > 1.96
    result = s.settle("2026-04")
    line = _value_share(result)
    assert line.amount == Decimal("0.00") and line.details["status"] == "lift_not_shown"
    lift = line.details["lift"]
    assert lift["lift"] == Fraction(64, 96) - Fraction(32, 68)
    assert lift["customers_per_arm"] == {"pilot": 40, "control": 40} and not lift["shown"]
    assert lift["estimate"] == "pilot_vs_control" and "permutation test" in lift["interval_method"]
    assert line.details["lift_verdict"].startswith("not shown at 95% one-sided (pilot_vs_control)")
    assert [n["code"] for n in result.notices].count("value_share_withheld") == 1


def test_a_tiny_pilot_is_never_significant(small_world):
    """3 customers with 17 contacts, every one rated 5 (and mostly repeated), against 60 customers rated 2 once."""
    got = _measure(small_world, ["queue=tiny"], control=["queue=big"], metrics=("csat_top2box", "fcr_rate"))
    for metric in ("csat_top2box", "fcr_rate"):
        m = got[metric]
        e = m.estimate()
        assert [s.customers for s in m.samples] == [3, 60] and m.samples[0].denominator == 17
        assert e.lift != 0 and not e.significant and not e.favourable and not e.shown
        assert e.verdict.startswith("too few customers to tell (3 customers in pilot 2026-04; at least 20 each)")


@pytest.fixture
def small_world(scenario):
    s = scenario(CONTRACT)
    rows = _rated("tiny", "2026-04", [(6, 5), (6, 5), (5, 5)])
    rows += _rated("big", "2026-04", [(1, 2)] * 60)
    s.rows("\n".join(rows), header=HEADER)
    s.events(CLOCK)
    return s


def test_small_samples_need_the_permutation_test_and_large_ones_do_not():
    def customers(k, n, group):
        return Sample.of([(f"c:{group}{i}", int(i < k), 1) for i in range(n)], group=group, role="period",
                         period="P")  # fmt: skip

    clear = compare(customers(20, 25, "pilot"), customers(5, 25, "control"), "pilot_vs_control", "save_rate", **KW)
    assert clear.permutation is not None and clear.permutation["one_sided"] < 0.01 and clear.favourable
    assert "permutation test" in clear.method
    # Fisher's exact test on the same 2x2 table agrees with the permutation test
    from scipy.stats import fisher_exact

    fisher = fisher_exact([[20, 5], [5, 20]], alternative="greater").pvalue
    assert clear.permutation["one_sided"] == pytest.approx(fisher, abs=0.005)
    alike = compare(customers(10, 25, "pilot"), customers(10, 25, "control"), "pilot_vs_control", "save_rate", **KW)
    assert alike.permutation["two_sided"] > 0.5 and not alike.significant
    large = compare(customers(300, 1000, "pilot"), customers(200, 1000, "control"), "pilot_vs_control",
                    "save_rate", **KW)  # fmt: skip
    assert large.permutation is None and large.favourable and large.shown


# --------------------------------------------------------------- (2) a gate that cannot pay for noise


def _gap_world(s, baseline_month: str) -> None:
    """Before the pilot, the pilot queue already rated 60% top-2-box against 40%; in April 70% against 40%:
    pilot - control says 30 points, the difference-in-differences 10."""
    rows, events = [], []
    for group, month, happy in [("pilot", baseline_month, 60), ("ctrl", baseline_month, 40),
                                ("pilot", "2026-04", 70), ("ctrl", "2026-04", 40)]:  # fmt: skip
        rows += _rated(group, month, [(1, 5)] * happy + [(1, 2)] * (100 - happy))
    for group in ("pilot", "ctrl"):
        r, e = _value(group, "2026-04")
        rows, events = rows + r, events + e
    s.rows("\n".join(rows), header=HEADER)
    s.events("\n".join(events + [CLOCK]))


def test_a_gap_that_existed_before_the_pilot_is_not_paid_for(scenario):
    # control only: the pre-period is the month before the term (2025-12), and it has data for both groups
    auto = scenario(_csat_contract())
    _gap_world(auto, "2025-12")
    line = _value_share(auto.settle("2026-04"))
    lift = line.details["lift"]
    assert lift["estimate"] == "difference_in_differences" and lift["method"] == "automatic"
    assert lift["lift"] == Fraction(1, 10) and lift["baseline"] == "2025-12"
    assert line.amount == Decimal("0.00") and line.details["status"] == "lift_not_shown"
    # the same facts decided on pilot - control (method: control) pay, and say the gap beside the verdict
    named = scenario(_csat_contract("      method: control\n"))
    _gap_world(named, "2025-12")
    line = _value_share(named.settle("2026-04"))
    lift = line.details["lift"]
    assert lift["estimate"] == "pilot_vs_control" and lift["lift"] == Fraction(3, 10) and lift["shown"]
    assert line.amount == Decimal("200.00")  # 20 saves x 100.00 x 10%
    assert lift["pre_period_gap"]["lift"] == Fraction(1, 5) and lift["pre_period_gap"]["period"] == "2025-12"
    assert "pre-period gap (pilot - control in 2025-12): +20.00 points (significant and favourable" in (
        line.details["lift_verdict"]
    )


def test_a_named_baseline_is_differenced_and_the_line_shows_interval_method_and_customers(scenario):
    s = scenario(_csat_contract("      baseline: 2026-02\n"))
    _gap_world(s, "2026-02")
    lift = _value_share(s.settle("2026-04")).details["lift"]
    assert lift["estimate"] == "difference_in_differences" and lift["lift"] == Fraction(1, 10)
    assert lift["customers_per_arm"] == {"pilot": 100, "control": 100}
    lo, hi = (float(x) for x in lift["ci"])
    assert lo < 0.1 < hi and float(lift["one_sided_bound"]) < 0 < float(lift["mde"])
    assert lift["test"].startswith("one-sided at 95%") and "cluster bootstrap of customers" in lift["interval_method"]
    assert lift["power_note"].startswith("with 100 customers in the smallest sample, a change smaller than")


def test_the_method_is_validated_and_absent_leaves_the_canonical_form():
    def issues(text):
        return [(i.code, i.field) for i in load_contract_text(text)[1]]

    no_base = LIFT_CONTRACT.replace("      resamples: 1000\n", "      resamples: 1000\n      method: baseline\n")
    assert ("method_needs", "pricing.value_share.require_significant_lift.method") in issues(no_base)
    bad = LIFT_CONTRACT.replace("      resamples: 1000\n", "      resamples: 1000\n      method: best\n")
    assert any(code == "bad_value" or "method" in (field or "") for code, field in issues(bad))
    plain, did = (load_contract_text(t)[0] for t in (LIFT_CONTRACT, _csat_contract("      method: did\n")))
    assert '"method"' not in canonical_form(plain) and '"method":"did"' in canonical_form(did)
    assert contract_hash(plain) != contract_hash(load_contract_text(_csat_contract("      method: control\n"))[0])


def test_gate_estimate_falls_back_when_the_baseline_lacks_a_group():
    def s(k, n, group, role):
        return Sample.of([(f"c:{group}{role}{i}", int(i < k), 1) for i in range(n)], group=group, role=role,
                         period=role)  # fmt: skip

    empty = Sample.of([], group="pilot", role="baseline", period="baseline")
    m = estimate_metric("save_rate", {("pilot", "period"): s(60, 100, "pilot", "period"),
                                      ("pilot", "baseline"): empty,
                                      ("control", "period"): s(40, 100, "control", "period"),
                                      ("control", "baseline"): s(40, 100, "control", "baseline")}, seed=1)  # fmt: skip
    chosen, said = gate_estimate(m, None)
    assert chosen.kind == "pilot_vs_control" and "baseline lacks data" in said[0]
    with pytest.raises(Exception, match="did"):
        gate_estimate(estimate_metric("save_rate", {("pilot", "period"): s(6, 10, "pilot", "period"),
                                                    ("control", "period"): s(4, 10, "control", "period")}), "did")  # fmt: skip


def test_a_segment_that_selects_nothing_withholds_the_share_and_says_why(scenario):
    s = scenario(_csat_contract().replace("control: {queue: [ctrl]}", "control: {queue: [ctlr]}"))
    _gap_world(s, "2025-12")
    line = _value_share(s.settle("2026-04"))
    assert line.details["status"] == "lift_not_shown"
    assert "control segment queue=ctlr selects no contact" in line.details["lift_verdict"]
    assert "did you mean 'ctrl'" in line.details["lift_verdict"]


# ----------------------------------------------------------------------------- (3) power, said out loud


def test_each_verdict_carries_its_minimum_detectable_effect():
    def customers(k, n, group):
        return Sample.of([(f"c:{group}{i}", int(i < k), 1) for i in range(n)], group=group, role="period",
                         period="P")  # fmt: skip

    e = compare(customers(300, 1500, "pilot"), customers(300, 1500, "control"), "pilot_vs_control", "churn_rate",
                **KW)  # fmt: skip
    # by hand: (z_.975 + z_.8) x sqrt(2 x .2 x .8 / 1500) = 2.80 x 0.0146 = 4.1 points
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    assert e.mde() == pytest.approx(z * math.sqrt(2 * 0.2 * 0.8 / 1500), rel=0.08)
    assert e.power_note() == (
        f"with 1,500 customers in the smallest sample, a change smaller than {e.mde() * 100:.1f} points cannot be "
        "shown at 95% (power 80%)"
    )
    assert e.to_dict()["mde"] == pytest.approx(e.mde(), abs=1e-6)


def test_plan_says_how_many_customers_a_pilot_needs(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["uplift", "--plan", "--metric", "churn_rate", "--rate", "0.20", "--effect", "-0.03",
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    # by hand: Cohen's h; 2 asin(sqrt(p)) has variance 1/n, a difference of two arms 2/n:
    # n = 2 ((z_.975 + z_.8) / h)^2, about 2,626 (not 1,500: at 1,500 a 3-point change is missed half the time)
    h = abs(2 * math.asin(math.sqrt(0.17)) - 2 * math.asin(math.sqrt(0.20)))
    n = 2 * ((NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)) / h) ** 2
    assert got["customers_per_arm"] == math.ceil(n) and got["test"] == "two-sided"
    # eight contacts per customer correlated at 0.3: design effect 1 + 7 x 0.3 = 3.1, per 8 contacts
    csat = runner.invoke(app, ["uplift", "--plan", "--metric", "csat_top2box", "--rate", "0.7", "--effect", "0.03",
                               "--contacts-per-customer", "8", "--icc", "0.3", "--json"])  # fmt: skip
    c = json.loads(csat.stdout)
    assert c["design_effect"] == pytest.approx(3.1)
    assert c["customers_per_arm"] == math.ceil(c["independent_units"] * 3.1 / 8) or (
        abs(c["customers_per_arm"] - c["independent_units"] * 3.1 / 8) <= 1
    )
    text = runner.invoke(app, ["uplift", "--plan", "--metric", "churn_rate", "--rate", "0.2", "--effect", "-0.03"])
    assert text.exit_code == 0 and f"need {math.ceil(n):,} customers each" in text.stdout
    for args, says in [
        (["--rate", "0.2", "--effect", "0"], "must not be 0"),
        (["--rate", "0.2"], "give --rate"),
        (["--rate", "0.99", "--effect", "0.05"], "strictly between 0 and 1"),
    ]:
        res = runner.invoke(app, ["uplift", "--plan", "--metric", "churn_rate", *args])
        assert res.exit_code == 1 and says in res.stderr, (args, res.stderr)
    res = runner.invoke(app, ["uplift", "x", "--period", "2026-04", "--pilot", "queue=a", "--control", "queue=b",
                              "--rate", "0.2"])  # fmt: skip
    assert res.exit_code == 1 and "--rate is for --plan" in res.stderr


def test_the_cli_says_the_power_and_counts_customers(small_world):
    res = CliRunner().invoke(app, ["uplift", "lift", "--period", "2026-04", "--pilot", "queue=big", "--control",
                                   "queue=tiny", "--metric", "csat_top2box", "-w", str(small_world.ws.root)],
                             env={"COLUMNS": "200"})  # fmt: skip
    assert res.exit_code == 0, res.output
    # the verdict column may wrap at the console's width; the note and the power line do not
    assert "resampling customers" in res.stdout and "only 3 customers; too few to tell" in res.stdout
    assert "power: with 3 customers in the smallest sample nothing can be shown (at least 20 each)" in res.stdout


# ------------------------------------------------------------------------- (5) the bench's generator


def _scenarios():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import lift_scenarios

    return lift_scenarios


def test_the_bench_generator_knows_its_truth_without_the_tool():
    ls = _scenarios()
    rng = np.random.default_rng(5)
    for metric in ("csat_top2box", "churn_rate"):
        num, den = ls.draw(ls.Arm(metric, 0.7, 200_000, "clustered"), rng)
        assert num.sum() / den.sum() == pytest.approx(0.7, abs=0.004)
        assert den.max() == (1 if metric == "churn_rate" else 8)
    rates = {("pilot", "baseline"): 0.62, ("control", "baseline"): 0.6, ("pilot", "period"): 0.66,
             ("control", "period"): 0.61}  # fmt: skip
    assert ls.truth(rates, "difference_in_differences") == pytest.approx(0.03)


def test_clustered_aa_months_are_covered_where_contact_intervals_were_not():
    """80 seeded A/A months of CSAT, 300 customers per arm with 1-8 correlated contacts: the customer intervals
    cover the true lift (0) about 95% of the time; intervals that resample contacts, as before, about 75%."""
    ls = _scenarios()
    rng = np.random.default_rng(14)
    ids = {g: tuple(f"c:{g}{i:04d}" for i in range(300)) for g in ("pilot", "control")}
    covered = by_contact = favourable = 0
    for r in range(80):
        samples = {}
        for g in ("pilot", "control"):
            num, den = ls.draw(ls.Arm("csat_top2box", 0.7, 300, "clustered"), rng)
            samples[(g, "period")] = Sample(g, "period", "P", ids[g], num, den)
        e = estimate_metric("csat_top2box", samples, resamples=1000, seed=r, with_ols=False).estimate()
        covered += e.ci[0] <= 0 <= e.ci[1]
        favourable += e.favourable
        # before: k of n contacts redrawn as Binomial(n, k/n) per arm
        d = [rng.binomial(s.denominator, s.numerator / s.denominator, 1000) / s.denominator for s in samples.values()]
        lo, hi = np.quantile(d[0] - d[1], [0.025, 0.975])
        by_contact += lo <= 0 <= hi
    assert covered >= 70 and favourable <= 5  # 95% of 80 is 76
    assert by_contact < covered - 5


def test_the_gate_is_one_sided_at_the_contracts_level():
    """37 points of 1,000 customers above 29%: z is about 1.8, inside a two-sided 95% interval, beyond the
    one-sided 95% bound, not beyond the one-sided 97.5% one."""

    def customers(k, n, group):
        return Sample.of([(f"c:{group}{i}", int(i < k), 1) for i in range(n)], group=group, role="period",
                         period="P")  # fmt: skip

    p, c = customers(327, 1000, "pilot"), customers(290, 1000, "control")
    at95 = compare(p, c, "pilot_vs_control", "save_rate", **KW)
    assert at95.ci[0] < 0 < at95.ci[1] and not at95.significant  # the two-sided verdict
    assert at95.bound > 0 and at95.shown and at95.p_one_sided < 0.05  # the gate at 95%, one-sided
    at975 = compare(p, c, "pilot_vs_control", "save_rate", **{**KW, "confidence": Decimal("0.975")})
    assert at975.bound < 0 and not at975.shown
    # churn: lower is better, the bound is the upper one
    churn = compare(c, p, "pilot_vs_control", "churn_rate", **KW)
    assert churn.bound < 0 and churn.shown


def test_a_generated_clustered_month_through_the_command_line_is_the_bench_computation(scenario):
    """The bench measures counts straight from its generator; through ingestion, the Ibis query and the
    command line the same month gives the same numbers, interval included (same seed, same draws)."""
    ls = _scenarios()
    rng = np.random.default_rng(3)
    s = scenario(CONTRACT)
    rows, samples = [], {}
    for group in ("pilot", "control"):
        num, den = ls.draw(ls.Arm("csat_top2box", 0.7, 120, "clustered"), rng)
        triples = []
        for i, (k, m) in enumerate(zip(num, den, strict=True)):
            cust = f"{group}-{i}"
            for j in range(int(m)):
                day = f"2026-04-{1 + j:02d}"
                rows.append(f"{cust}-{j},crm,{cust},chat,{group},{day}T09:00:00Z,{day}T09:30:00Z,resolved,agent,"
                            f"{5 if j < k else 2},question,x")  # fmt: skip
            triples.append((f"c:{cust}", int(k), int(m)))
        samples[(group, "period")] = Sample.of(triples, group=group, role="period", period="2026-04")
    s.rows("\n".join(rows), header=HEADER)
    s.events(CLOCK)
    res = CliRunner().invoke(app, ["uplift", "lift", "--period", "2026-04", "--pilot", "queue=pilot", "--control",
                                   "queue=control", "--metric", "csat_top2box", "--json", "-w", str(s.ws.root)])  # fmt: skip
    assert res.exit_code == 0, res.output
    (got,) = json.loads(res.stdout)["metrics"]
    (cli,) = got["estimates"]
    bench = estimate_metric("csat_top2box", samples, seed=0).estimate()
    assert cli["lift"] == f"{bench.lift.numerator}/{bench.lift.denominator}"
    assert cli["ci"] == [round(bench.ci[0], 6), round(bench.ci[1], 6)] and cli["verdict"] == bench.verdict
    assert [x["customers"] for x in got["samples"]] == [120, 120]
