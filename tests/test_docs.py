"""Docs that cannot drift: the CLI reference is generated from --help, and every command documents itself."""

from __future__ import annotations

from pathlib import Path

import typer

from outcomes.cli import app
from outcomes.cli.docs import _walk, reference

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_matches_the_commands():
    assert (ROOT / "docs" / "cli.md").read_text() == reference(), "docs/cli.md is stale: run `make docs`"


def test_every_command_has_help():
    for path, cmd in _walk(typer.main.get_command(app), []):
        assert (cmd.help or "").strip(), f"`outcomes {' '.join(path)}` has no help text"


def test_readme_starts_with_the_two_commands():
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:8])
    assert "make demo" in head and "make test" in head


def test_every_reason_code_is_documented():
    from outcomes.metrics.outcomes import REASONS

    concepts = (ROOT / "docs" / "concepts.md").read_text()
    for reason in REASONS:
        assert f"`{reason}`" in concepts, reason


def test_the_dir_style_credit_in_the_docs_is_2000():
    import re
    from decimal import Decimal

    from ruamel.yaml import YAML

    from outcomes.contract.schema import Contract
    from outcomes.period import Period
    from outcomes.pricing.credits import MeasureResult, service_credits
    from outcomes.pricing.period_total import price_period

    text = (ROOT / "docs" / "concepts.md").read_text()
    block = re.search(r"```yaml dir-style\n(.*?)```", text, re.S).group(1)
    c = Contract.model_validate(YAML(typ="safe").load(block))
    priced = price_period(c, Period.parse("2026-03"), {})
    sl = c.service_levels
    results = [
        MeasureResult(0, "service_level", sl.measures[0].target, Decimal("0.74"), False),
        MeasureResult(1, "abandonment_rate", sl.measures[1].target, Decimal("0.03"), True),
        MeasureResult(2, "csat_top2box", sl.measures[2].target, Decimal("0.90"), True),
    ]
    (credit,) = service_credits(sl, results, priced.period_base, c.currency)
    assert priced.period_base == Decimal("100000.00") and credit.amount == Decimal("-2000.00")
