"""docs/simulator.md: the published figures are commands, and what the page shows is what they print."""

from __future__ import annotations

import pytest

from doc_console import ROOT, run_page, tokens


@pytest.mark.slow
def test_every_command_of_the_simulator_page_prints_what_the_page_shows(tmp_path):
    results = run_page(ROOT / "docs" / "simulator.md", tmp_path)
    assert len(results) >= 7
    for command, expected, actual in results:
        if expected:
            # the same words and figures, however a console lays the tables out
            assert tokens(actual) == tokens(expected), f"docs/simulator.md is stale for: {command}"
    shown = "\n".join(expected for _, expected, _ in results)
    assert "204,000.00" in shown  # $55,000 -> $38,000 a month, a year
    assert "review trigger on containment_rate fires" in shown
    assert "MISALIGNED" in shown
