"""What every `outcomes` command shares: the two consoles, the common options, one way to turn known
problems into `error: ...` with exit code 1 (never a traceback), and opening the workspace."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

# a cell that is a number, possibly signed, with thousands separators, a percent sign, "pts" or a currency
_NUMBER = re.compile(r"[-+\u2212]?\d[\d,]*(\.\d+)?([eE][-+]?\d+)?( ?%| pts| [A-Z]{3})?")
# a (shortened) fingerprint: kept whole too, so that its digits never read as a number cut short
_HASH = re.compile(r"sha256:[0-9a-f]+…?")
# a text column narrower than this is hard to read: try a more compact layout first
_NARROWEST_TEXT = 16
# ... but narrower still (down to this) if that keeps ids whole
_NARROW_TEXT = 6
# a one-word column (an id, a date, a reason) up to this long is kept on one line if it can
_LONGEST_WORD = 30


def fit(table: Any, console: Console) -> Any:
    """A table made to fit the console's width without cutting anything.

    Rich's default squeezes every column alike and cuts what no longer fits to '…' (`4.3318` becomes `4.33…`
    in an 80-column terminal or a pipe). Here, when the table is too wide: a column of numbers (or
    fingerprints) always keeps the width of its longest value; a column of single words (ids, dates,
    reasons) keeps it too if the text columns can still have a readable width, with the borders dropped if
    that is what it takes (columns one space apart); text columns wrap. No cell is ever shortened to '…': a
    word longer than its column folds onto the next line (and so does a number, in a table that cannot fit
    even without borders)."""
    from rich import box
    from rich.cells import cell_len
    from rich.measure import Measurement

    def width_of(t: Any) -> int:
        return Measurement.get(console, console.options.update_width(10_000), t).maximum

    for column in table.columns:
        if column.overflow == "ellipsis":
            column.overflow = "fold"
    if width_of(table) <= console.width:
        return table
    numbers, words, texts = [], [], []
    for column in table.columns:
        if column.width is not None:
            continue
        cells = [_plain(c) for c in column.cells] + ([_plain(column.footer)] if table.show_footer else [])
        header = str(_plain(column.header))
        header_word = max((cell_len(w) for w in header.split()), default=1)
        given = [c.strip() for c in cells if isinstance(c, str) and c.strip() not in ("", "-")]
        whole = max([cell_len(c) for c in given] + [header_word])
        if len(given) == len([c for c in cells if not isinstance(c, str) or c.strip() not in ("", "-")]):
            if all(_NUMBER.fullmatch(c) or _HASH.fullmatch(c) for c in given):
                numbers.append((column, whole))
                continue
            if all(len(c.split()) == 1 for c in given) and whole <= _LONGEST_WORD:
                words.append((column, whole))
                continue
        texts.append((column, whole))
    for column, whole in numbers:
        column.width = whole

    def fits(fixed: list[tuple[Any, int]], squeezed: list[tuple[Any, int]]) -> bool:
        for column, w in fixed + squeezed:
            column.width = w
        ok = width_of(table) <= console.width
        for column, _ in squeezed:
            column.width = None
        return ok

    bordered = (table.box, table.show_edge, table.padding)
    # in order of preference: ids and words whole (text columns readable, then narrow), then words wrapped
    for keep_words, borderless, narrowest in (
        (True, False, _NARROWEST_TEXT),
        (True, True, _NARROWEST_TEXT),
        (True, True, _NARROW_TEXT),
        (False, False, _NARROWEST_TEXT),
        (False, True, _NARROWEST_TEXT),
        (False, True, _NARROW_TEXT),
    ):
        fixed = words if keep_words else []
        squeezed = [(c, min(w, narrowest)) for c, w in (texts if keep_words else texts + words)]
        if borderless:
            table.box, table.show_edge, table.padding = box.SIMPLE_HEAD, False, (0, 0)
        if fits(fixed, squeezed):
            return table
        table.box, table.show_edge, table.padding = bordered
        for column, _ in fixed:
            column.width = None
    # nothing fits even so: no borders, and Rich shares the width out; a number may then fold onto a second
    # line, but nothing is cut
    table.box, table.show_edge, table.padding = box.SIMPLE_HEAD, False, (0, 0)
    for column, _ in numbers:
        column.width = None
    return table


def _plain(cell: Any) -> Any:
    """A cell's text as shown (console markup such as [red]...[/red] removed); other renderables as they are."""
    from rich.errors import MarkupError
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell).plain
        except MarkupError:
            return cell
    return cell


class _Console(Console):
    """A console whose tables fit its width without cutting a number (see `fit`)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:  # noqa: D102 - Console.print
        from rich.table import Table

        super().print(*(fit(o, self) if isinstance(o, Table) else o for o in objects), **kwargs)


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (else $OUTCOMES_WORKSPACE, else the current one)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

#: How long a command waits for a workspace another process holds (`outcomes --wait SECONDS`, OUTCOMES_WAIT).
WAIT: dict[str, float] = {"seconds": 30.0}


def command_line() -> str:
    """The running command, as the workspace lock records it for whoever waits (`outcomes settle`)."""
    import click

    ctx = click.get_current_context(silent=True)
    path = ctx.command_path if ctx is not None else "outcomes"
    return "outcomes " + path.split(" ", 1)[1] if " " in path else "outcomes"


def waiting(who: str) -> Any:
    """The spinner shown while the workspace is busy."""
    return err.status(f"workspace busy: waiting for {who}…")


def report(exc: BaseException) -> int:
    """Print an error the way every command does, and return the exit code.

    A known problem (`OutcomesError`) is its message, its hint and exit code 1. Anything else is a bug: one
    line naming the exception and the file where its traceback was saved, exit code 70, never a wall of
    frames (set OUTCOMES_TRACEBACK=1 to print the frames instead).
    """
    from outcomes.contract import ContractError
    from outcomes.errors import OutcomesError

    if isinstance(exc, ContractError):
        for issue in exc.issues:
            err.print(str(issue), markup=False)
        err.print(f"{len(exc.issues)} problem(s)", markup=False)
        return 1
    if isinstance(exc, OutcomesError):
        for line in exc.lines():
            err.print(line, markup=False)
        return 1
    if isinstance(exc, OSError) and exc.filename is not None:
        # a file the command was told to read or write: the user's to fix (a missing folder, a path under a
        # file, no permission, a full disk), not a bug
        err.print(f"error: {exc.filename}: {exc.strerror or exc}", markup=False)
        err.print("hint: check the path, that its folder exists and that it can be written", markup=False)
        return 1
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted: nothing half-written was kept", markup=False)
        return 130
    import traceback

    text = "".join(traceback.format_exception(exc))
    if os.environ.get("OUTCOMES_TRACEBACK") == "1":
        err.print(text, markup=False, end="")
        return 70
    path = _save_traceback(text)
    where = f"the traceback is in {path}" if path else "the traceback could not be saved"
    err.print(
        f"internal error: {type(exc).__name__}: {_one_line(exc)} ({where}; please report it)", markup=False
    )
    return 70


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("…" if len(text) > 300 else "")


def _save_traceback(text: str) -> Path | None:
    import tempfile
    import time

    try:
        folder = Path(tempfile.gettempdir()) / "outcomes-tracebacks"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.txt"
        path.write_text(text, encoding="utf-8")
        return path
    except OSError:
        return None


@contextmanager
def errors() -> Iterator[None]:
    """Known problems inside a block become one clear message and exit code 1 (the app does this for every
    command; this is for a command that must print something after a failure it survives)."""
    from outcomes.errors import OutcomesError

    try:
        yield
    except OutcomesError as exc:
        raise typer.Exit(report(exc)) from None


@contextmanager
def open_workspace(path: Path | None) -> Iterator[Any]:
    """The workspace named by --workspace, $OUTCOMES_WORKSPACE or the current folder; closed afterwards."""
    from outcomes.workspace import find_workspace

    with errors():
        ws = find_workspace(path, command=command_line(), wait=WAIT["seconds"], waiting=waiting)
        try:
            yield ws
        finally:
            ws.close()


def require_contract(ledger: Any, contract_id: str | None) -> None:
    """A contract given as a filter must be known (registered, or settled): a typo is an error, not an empty
    list that reads as "nothing there"."""
    if contract_id is None:
        return
    if not contract_id.strip():
        from outcomes.errors import OutcomesError

        raise OutcomesError(
            "--contract is empty", code="usage", hint="give a contract id, or leave the option out"
        )
    if not ledger.contract_versions(contract_id) and not ledger.settlements(contract_id):
        ledger.contract_version(contract_id)  # raises the ledger's "no contract ... is registered"


def print_json(data: Any, *, sort_keys: bool = False) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str, sort_keys=sort_keys) + "\n")
