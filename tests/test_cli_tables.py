"""Tables in an 80-column terminal or a pipe (issue 10, item 9): they fit, and no number is cut to '…'.
tests/test_terminal_output.py runs the real commands with COLUMNS=80 and piped output."""

from __future__ import annotations

import io
import re

from rich.table import Table

from outcomes.cli.console import _Console


def _render(table: Table, width: int = 80) -> str:
    buf = io.StringIO()
    console = _Console(file=buf, width=width, highlight=False, soft_wrap=True, color_system=None)
    console.print(table)
    return buf.getvalue()


def _lines_fit(text: str, width: int = 80) -> None:
    for line in text.splitlines():
        assert len(line) <= width, line
        assert "…" not in line, line


def test_amounts_stay_whole_beside_a_long_text_column():
    t = Table("metric", "lift", "relative", "p", "note")
    t.add_row("save rate (contacting customers, pilot)", "4.33180911", "+12.5%", "0.0312", "a long note " * 6)
    t.add_row("churn rate", "-0.25", "-3.0%", "0.5", "short")
    text = _render(t)
    _lines_fit(text)
    for number in ("4.33180911", "+12.5%", "0.0312", "-0.25"):
        assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text), number


def test_many_number_columns_drop_the_borders_rather_than_cut():
    t = Table("metric", *(f"2026-{m:02d}" for m in range(1, 6)), "baseline", "change")
    t.add_row("Revenue influenced", *["25378.38"] * 6, "+8444.37")
    t.add_row("CSAT top-2-box", *["74.6%"] * 6, "+1.9 pts")
    text = _render(t)
    _lines_fit(text)
    assert "┃" not in text and text.count("25378.38") == 6 and "+8444.37" in text
    assert "Revenue" in text and "influenced" in text  # the text column keeps a readable width


def test_a_table_that_cannot_fit_folds_but_cuts_nothing():
    t = Table("metric", *(f"2026-{m:02d}" for m in range(1, 13)))
    t.add_row("Revenue influenced", *["25378.38"] * 12)
    text = _render(t)
    _lines_fit(text)
    assert "Rev" in text


def test_a_table_that_fits_is_left_as_it_is():
    t = Table("a", "b")
    t.add_row("1.5", "x")
    assert "┃ a   ┃ b ┃" in _render(t) and "│ 1.5 │ x │" in _render(t)


def test_long_ids_are_kept_on_one_line_when_the_text_can_wrap():
    t = Table("fate", "reason", "id", "repeat id", "note")
    t.add_row(
        "excluded", "unverifiable_customer", "990101-AA0101-33119", "990101-AA0101-33120", "words " * 10
    )
    text = _render(t)
    _lines_fit(text)
    assert "990101-AA0101-33119" in text and "990101-AA0101-33120" in text and "unverifiable_customer" in text
