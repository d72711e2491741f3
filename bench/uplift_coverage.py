"""How often the uplift interval covers a known true effect, and how often "no effect" is called significant.

    .venv/bin/python bench/uplift_coverage.py [SEEDS]      # default: the five seeds of tests/test_uplift.py

Generates, per seed, a pilot with a true effect, a control and a group with the control's rates
(tests/uplift_data.py), ingests them through the normal FactsStore path into a temporary workspace, measures
every group in one query and prints, per metric, the coverage of the 95% interval, how often the pilot's lift is
significant and favourable, and how often the no-effect group is (correctly) not significant.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import Scenario  # noqa: E402
from outcomes.metrics.lift import estimate_metric, full_window, samples_of  # noqa: E402
from outcomes.metrics.outcomes import Clocks  # noqa: E402
from outcomes.metrics.segments import UPLIFT_METRICS, parse_segment, unit_counts  # noqa: E402
from outcomes.period import Period  # noqa: E402
from uplift_data import CONTRACT, EVENT_CLOCK, HEADER, Rates, generate  # noqa: E402

CONTROL = Rates(save=0.30, top2=0.60, repeat=0.30)
PILOT = Rates(save=0.45, top2=0.75, repeat=0.10)


def _versus(samples, metric: str, a: str, b: str, seed: int):
    pair = {("pilot", "period"): replace(samples[(a, "period")], group="pilot"),
            ("control", "period"): replace(samples[(b, "period")], group="control")}  # fmt: skip
    return estimate_metric(metric, pair, seed=seed).estimate()


def main(seeds: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        s = Scenario(Path(tmp), CONTRACT)
        contacts, events = [], []
        for seed in seeds:
            rates = {("pilot", "2026-04"): PILOT, ("control", "2026-04"): CONTROL, ("same", "2026-04"): CONTROL}
            c, e = generate(seed, rates, customers=300, prefix=f"s{seed}-")
            contacts += c
            events += e
        s.rows("\n".join(contacts), header=HEADER)
        s.events("\n".join(events + [EVENT_CLOCK]))
        f = s.ws.facts()
        clocks = Clocks(f.contact_clock("crm"), f.event_clock())
        groups = {f"{g}{n}": parse_segment([f"queue=s{n}-{g}"]) for n in seeds for g in ("pilot", "control", "same")}
        window = full_window(s.contract, Period.parse("2026-04"))
        got = unit_counts(s.contract, f.interactions(), f.events(), clocks, [("period", window, groups)],
                          tuple(UPLIFT_METRICS))  # fmt: skip
        for metric in UPLIFT_METRICS:
            samples = samples_of(got, metric, {"period": "2026-04"})
            truth = PILOT.truth(metric) - CONTROL.truth(metric)
            cov = sig = quiet = 0
            for n in seeds:
                e = _versus(samples, metric, f"pilot{n}", f"control{n}", n)
                cov += e.ci[0] <= truth <= e.ci[1]
                sig += e.favourable
                quiet += not _versus(samples, metric, f"same{n}", f"control{n}", n).significant
            k = len(seeds)
            print(f"{metric}: true lift {truth:+.4f}; 95% interval covers it {cov}/{k}; "
                  f"significant and favourable {sig}/{k}; no effect not significant {quiet}/{k}")  # fmt: skip
        s.close()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [11, 12, 13, 14, 15])
