"""`make bench-lift` (also run by `make bench`): calibration of the uplift statistics on seeded scenarios.

For each metric and each design (one contact per customer; 1-8 correlated contacts per customer), replicates
of five scenarios drawn by bench/lift_scenarios.py (its own generator; truths from its parameters) are measured
with the same functions `outcomes uplift` and the settlement's lift gate use (`estimate_metric`,
`gate_estimate`), with the default 2000 resamples:

* aa:        pilot and control alike, N customers each: how often the verdict is "significant, favourable"
             (target <= 2.5%, the favourable side of a two-sided 95% interval), how often the gate (one-sided
             at 95%) would pay (target <= 5%), and how often the interval covers 0;
* lift:      the pilot better by the metric's stated effect: coverage of the true lift (target >= 93%), power
             (verdict favourable; gate shown) and the median minimum detectable effect;
* did_aa:    a baseline month where the pilot is already better by 2 points and both groups then shift by 1
             point, no effect of the pilot: how often the gate (automatic: difference-in-differences) pays, and
             how often pilot - control alone would have;
* did_lift:  the same with the stated effect: coverage of the true DiD, power;
* small_aa:  A/A with 40 customers per arm (the permutation test's range): false favourable and false pay.

Writes bench/results/lift-<stamp>.json and .md, and bench/results/lift-latest.md.
Usage: python bench/lift.py [--reps 150] [--customers 1500] [--seed 1] [--resamples 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from lift_scenarios import BASE, DESIGNS, EFFECT, Arm, draw, truth  # noqa: E402

from outcomes.metrics.lift import Sample, estimate_metric, gate_estimate  # noqa: E402

GAP, SHIFT = 0.02, 0.01
SMALL = 40
TARGETS = {"false_favourable": 0.025, "gate_false_pay": 0.05, "coverage": 0.93}


def _ids(group: str, role: str, n: int) -> tuple[str, ...]:
    return tuple(sorted(f"c:{group}-{role}-{i:06d}" for i in range(n)))


def _scenario(name: str, metric: str) -> dict[tuple[str, str], float]:
    p, e = BASE[metric], EFFECT[metric]
    gap = GAP if e > 0 else -GAP  # the pilot already better, in the metric's good direction
    if name in ("aa", "small_aa"):
        return {("pilot", "period"): p, ("control", "period"): p}
    if name == "lift":
        return {("pilot", "period"): p + e, ("control", "period"): p}
    d = e if name == "did_lift" else 0.0
    return {("pilot", "baseline"): p + gap, ("control", "baseline"): p,
            ("pilot", "period"): p + gap + SHIFT + d, ("control", "period"): p + SHIFT}  # fmt: skip


def _rate(k: int, n: int) -> dict:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return {"k": k, "n": n, "rate": round(k / n, 4), "ci95": [round(ci.low, 4), round(ci.high, 4)]}


def run_cell(name: str, metric: str, design: str, reps: int, customers: int, seed: int, resamples: int) -> dict:
    rates = _scenario(name, metric)
    n = SMALL if name == "small_aa" else customers
    ids = {key: _ids(*key, n) for key in rates}
    headline = "difference_in_differences" if name.startswith("did") else "pilot_vs_control"
    true = truth(rates, headline)
    rng = np.random.default_rng([seed, sum(map(ord, name + metric + design))])
    fav = shown = covered = naive_fav = old_fav = old_covered = 0
    mdes = []
    old_way = name in ("aa", "lift")  # also measured as before issue 14: every contact its own unit
    for r in range(reps):
        samples = {}
        for (group, role), rate in rates.items():
            num, den = draw(Arm(metric, rate, n, design), rng)
            samples[(group, role)] = Sample(group, role, role, ids[(group, role)], num, den)
        m = estimate_metric(metric, samples, confidence=Decimal("0.95"), resamples=resamples, seed=r,
                            with_ols=False)  # fmt: skip
        e = m.estimate(headline)
        gate, _ = gate_estimate(m, None)
        fav += e.favourable
        shown += gate.shown
        covered += e.ci is not None and e.ci[0] <= true <= e.ci[1]
        if name.startswith("did"):
            naive_fav += m.estimate("pilot_vs_control").shown
        if e.mde() is not None:
            mdes.append(e.mde())
        if old_way:
            old_rng = np.random.default_rng([seed, r, 7])  # apart from the scenarios' stream
            lo, hi = _by_contact(samples[("pilot", "period")], samples[("control", "period")], old_rng, resamples)
            old_fav += lo > 0 if EFFECT[metric] > 0 else hi < 0
            old_covered += lo <= true <= hi
    out = {
        "scenario": name, "metric": metric, "design": design, "customers_per_arm": n, "estimate": headline,
        "true_lift": round(true, 6), "favourable": _rate(fav, reps), "gate_shown": _rate(shown, reps),
        "coverage": _rate(covered, reps), "median_mde": round(float(np.median(mdes)), 6) if mdes else None,
    }  # fmt: skip
    if name.startswith("did"):
        out["control_only_gate_shown"] = _rate(naive_fav, reps)
    if old_way:
        out["contact_resampling"] = {"favourable": _rate(old_fav, reps), "coverage": _rate(old_covered, reps)}
    return out


def _by_contact(pilot: Sample, control: Sample, rng: np.random.Generator, resamples: int) -> tuple[float, float]:
    """The 95% interval as measured before issue 14: every contact its own unit, k of n redrawn as
    Binomial(n, k/n) (churn was per customer then too, and is the same either way: one unit per customer)."""
    draws = []
    for s in (pilot, control):
        n, k = s.denominator, s.numerator
        draws.append(rng.binomial(n, k / n, size=resamples) / n)
    lo, hi = np.quantile(draws[0] - draws[1], [0.025, 0.975])
    return float(lo), float(hi)


def _md(report: dict) -> str:
    lines = [
        f"# Uplift calibration ({report['stamp']})",
        "",
        f"`python bench/lift.py --reps {report['reps']} --customers {report['customers']} --seed {report['seed']} "
        f"--resamples {report['resamples']}` on {report['machine']}, {report['seconds']:.0f} s. Generator: "
        "bench/lift_scenarios.py (truths from its parameters). Rates with exact 95% binomial intervals.",
        "",
        "Targets: A/A verdict 'significant, favourable' <= 2.5% (two-sided 95% interval, favourable side); the "
        "gate (one-sided at 95%) pays on A/A <= 5%; coverage of the true lift >= 93%.",
        "",
        "| scenario | metric | design | customers/arm | true lift | favourable verdict | gate shown | coverage | "
        "median MDE | control-only gate |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def f(x: dict | None) -> str:
        if x is None:
            return "-"
        return f"{x['rate'] * 100:.1f}% [{x['ci95'][0] * 100:.1f}, {x['ci95'][1] * 100:.1f}]"

    for c in report["cells"]:
        mde = "-" if c["median_mde"] is None else f"{c['median_mde'] * 100:.2f} pts"
        lines.append(
            f"| {c['scenario']} | {c['metric']} | {c['design']} | {c['customers_per_arm']} | "
            f"{c['true_lift'] * 100:+.1f} pts | {f(c['favourable'])} | {f(c['gate_shown'])} | {f(c['coverage'])} | "
            f"{mde} | {f(c.get('control_only_gate_shown'))} |"
        )
    lines += [
        "",
        "Pooled over the four metrics (per scenario and design):",
        "",
        "| scenario | design | favourable verdict | gate shown | coverage | control-only gate |",
        "|---|---|---|---|---|---|",
    ]
    for c in report["pooled"]:
        lines.append(f"| {c['scenario']} | {c['design']} | {f(c['favourable'])} | {f(c['gate_shown'])} | "
                     f"{f(c['coverage'])} | {f(c.get('control_only_gate_shown'))} |")  # fmt: skip
    lines += [
        "",
        "The same A/A and lift months measured as before issue 14 (every contact resampled as its own unit; "
        "churn was always per customer):",
        "",
        "| scenario | metric | design | favourable verdict | coverage |",
        "|---|---|---|---|---|",
    ]
    for c in report["cells"]:
        if "contact_resampling" in c:
            old = c["contact_resampling"]
            lines.append(f"| {c['scenario']} | {c['metric']} | {c['design']} | {f(old['favourable'])} | "
                         f"{f(old['coverage'])} |")  # fmt: skip
    lines += ["", f"Checks against the targets (pooled rows first; a cell of {report['reps']} replicates has a wide "
              "interval):", ""]
    lines += [f"- {x}" for x in report["checks"]] or ["- all met"]
    return "\n".join(lines) + "\n"


def _pooled(cells: list[dict]) -> list[dict]:
    """Per scenario and design, the counts of the four metrics added up (a tighter binomial interval)."""
    out = []
    keys = dict.fromkeys((c["scenario"], c["design"]) for c in cells)
    for scenario, design in keys:
        mine = [c for c in cells if (c["scenario"], c["design"]) == (scenario, design)]
        row = {"scenario": scenario, "design": design}
        for what in ("favourable", "gate_shown", "coverage", "control_only_gate_shown"):
            if what in mine[0]:
                row[what] = _rate(sum(c[what]["k"] for c in mine), sum(c[what]["n"] for c in mine))
        out.append(row)
    return out


def _checks(cells: list[dict]) -> list[str]:
    """Targets missed: 'MISSED' when the whole binomial interval is on the wrong side of the target, 'above
    target, within noise' when only the point estimate is."""
    out = []

    def judge(where: str, what: str, x: dict, target: float, above_is_bad: bool) -> None:
        bad = x["rate"] > target if above_is_bad else x["rate"] < target
        if not bad:
            return
        sure = x["ci95"][0] > target if above_is_bad else x["ci95"][1] < target
        out.append(f"{'MISSED' if sure else 'within noise'}: {where} {what} {x['rate']:.3f} "
                   f"(95% ci {x['ci95'][0]:.3f}-{x['ci95'][1]:.3f}; target {'<=' if above_is_bad else '>='} {target})")  # fmt: skip

    for c in cells:
        where = f"{c['scenario']} {c.get('metric', 'pooled')} {c['design']}"
        if c["scenario"] in ("aa", "small_aa", "did_aa"):
            judge(where, "false favourable", c["favourable"], TARGETS["false_favourable"], True)
            judge(where, "gate false pay", c["gate_shown"], TARGETS["gate_false_pay"], True)
        judge(where, "coverage", c["coverage"], TARGETS["coverage"], False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=150)
    ap.add_argument("--customers", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--scenarios", default="aa,lift,did_aa,did_lift,small_aa")
    a = ap.parse_args()
    t0 = time.time()
    cells = []
    for name in a.scenarios.split(","):
        for design in DESIGNS:
            for metric in BASE:
                t = time.time()
                cells.append(run_cell(name, metric, design, a.reps, a.customers, a.seed, a.resamples))
                c = cells[-1]
                print(f"{name:9} {metric:13} {design:9} favourable {c['favourable']['rate']:.3f} gate "
                      f"{c['gate_shown']['rate']:.3f} coverage {c['coverage']['rate']:.3f} "
                      f"({time.time() - t:.0f} s)", flush=True)  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "stamp": stamp, "reps": a.reps, "customers": a.customers, "seed": a.seed, "resamples": a.resamples,
        "machine": f"{platform.machine()} {platform.python_version()}", "seconds": time.time() - t0,
        "cells": cells, "pooled": _pooled(cells), "checks": _checks(_pooled(cells)) + _checks(cells),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"lift-{stamp}.json").write_text(json.dumps(report, indent=1) + "\n")
    md = _md(report)
    (RESULTS / f"lift-{stamp}.md").write_text(md)
    (RESULTS / "lift-latest.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
