"""One repeat-contact test for the evidence, the metric library and integrity (metrics/repeats.py)."""

from __future__ import annotations

from datetime import datetime

import ibis
import pyarrow as pa

from outcomes.metrics.repeats import RepeatRule, not_observed, repeated, window_end

DAY = 86_400


def _eval(expr_of, rows):
    t = ibis.memtable(pa.Table.from_pylist(rows))
    return [r["x"] for r in t.mutate(x=expr_of(t)).order_by("id").to_pyarrow().to_pylist()]


def test_a_next_contact_opened_exactly_at_the_window_end_is_a_repeat_one_second_later_is_not():
    rule = RepeatRule(within=7 * DAY)
    closed = datetime(2026, 10, 1, 12, 0)
    rows = [
        {"id": 1, "closed_at": closed, "repeat_opened_at": datetime(2026, 10, 8, 12, 0, 0)},
        {"id": 2, "closed_at": closed, "repeat_opened_at": datetime(2026, 10, 8, 12, 0, 1)},
        {"id": 3, "closed_at": closed, "repeat_opened_at": None},
    ]
    assert _eval(lambda t: repeated(t, rule), rows) == [True, False, False]


def test_a_window_is_observed_once_the_clock_reaches_its_end_and_never_without_a_clock():
    rule = RepeatRule(within=DAY)
    rows = [
        {"id": 1, "closed_at": datetime(2026, 10, 1)},
        {"id": 2, "closed_at": datetime(2026, 10, 2)},
        {"id": 3, "closed_at": None},  # still open: no look-ahead to wait for
    ]
    clock = datetime(2026, 10, 2)  # exactly the first window's end: decided
    assert _eval(lambda t: not_observed(window_end(t.closed_at, rule), clock), rows) == [False, True, False]
    assert _eval(lambda t: not_observed(window_end(t.closed_at, rule), None), rows) == [True, True, False]
