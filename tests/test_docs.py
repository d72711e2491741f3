"""Docs that cannot drift: the CLI reference is generated from --help, and every command documents itself."""

from __future__ import annotations

from pathlib import Path

import typer

from outcomes.cli import app
from outcomes.docs_cli import _walk, reference

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
