"""Generate docs/cli.md from the commands' own --help, so the reference cannot drift (a test compares them)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from outcomes.cli import app


def _walk(cmd, path: list[str]):
    """Every command of the app, depth first, as (path of names, command)."""
    yield path, cmd
    commands = getattr(cmd, "commands", None)
    if commands:
        for name in sorted(commands):
            yield from _walk(commands[name], [*path, name])


def reference() -> str:
    root = typer.main.get_command(app)
    runner = CliRunner()
    parts = [
        "# CLI reference",
        "",
        "Generated from each command's `--help` by `make docs` (`python -m outcomes.cli.docs`); "
        "`tests/test_docs.py` fails when this file and the commands drift apart.",
        "",
        "Tables fit the terminal's width (80 columns in a pipe, or `COLUMNS`) without cutting anything: "
        "numbers, fingerprints and ids keep their width while text columns wrap, a table that is still too "
        "wide drops its borders, and no value is shortened to '…' (`--json` gives every value in full).",
        "",
    ]
    for path, _cmd in _walk(root, []):
        result = runner.invoke(
            app,
            [*path, "--help"],
            env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
            terminal_width=100,
        )
        title = " ".join(["outcomes", *path])
        parts += [f"## `{title}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
