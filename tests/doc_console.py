"""Console blocks of a doc page, run for real: each `$ outcomes ...` line is a command, and the lines after it
(up to the next command or the block's end) are what it prints. `python tests/doc_console.py docs/x.md` rewrites
the outputs from a fresh run; the doc's test (`check`) fails when the page and the commands disagree."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
WIDTH = 150


def _commands(block: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


_BOX = re.compile(r"[\u2500-\u257f]")


def tokens(text: str) -> Counter[str]:
    """What a command's output says, whatever the table layout: its words and figures, as a multiset (box
    drawing, spacing and where a cell wraps make no difference; every figure must be there, as often)."""
    return Counter(_BOX.sub(" ", text).split())


def run_page(page: Path, cwd: Path) -> list[tuple[str, str, str]]:
    """(command, expected, actual) for every command of every console block, run in `cwd` (examples copied)."""
    from outcomes.cli import app
    from outcomes.cli.console import err, out

    shutil.copytree(ROOT / "examples", cwd / "examples", dirs_exist_ok=True)
    runner = CliRunner()
    results = []
    old, before = os.getcwd(), (out.width, err.width)
    os.chdir(cwd)
    out.width = err.width = WIDTH
    try:
        for block in BLOCK.findall(page.read_text(encoding="utf-8")):
            for command, expected in _commands(block):
                args = shlex.split(command)
                assert args[0] == "outcomes", command
                result = runner.invoke(app, args[1:])
                assert result.exit_code == 0, f"{command}\n{result.output}"
                actual = "\n".join(ln.rstrip() for ln in result.stdout.splitlines())
                results.append((command, "\n".join(expected).rstrip(), actual.rstrip()))
    finally:
        os.chdir(old)
        out.width, err.width = before
    return results


def rewrite(page: Path, cwd: Path) -> None:
    text = page.read_text(encoding="utf-8")
    results = iter(run_page(page, cwd))

    def fill(m: re.Match[str]) -> str:
        lines = []
        for command, expected, actual in (next(results) for _ in _commands(m.group(1))):
            lines.append(f"$ {command}")
            if expected:  # setup commands whose output the page does not show stay without it
                lines.append(actual)
        return "```console\n" + "\n".join(lines) + "\n```"

    page.write_text(BLOCK.sub(fill, text), encoding="utf-8")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rewrite(Path(sys.argv[1]).resolve(), Path(tmp))
