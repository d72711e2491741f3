"""What every `outcomes` command shares: the two consoles, the common options, one way to turn known
problems into `error: ...` with exit code 1 (never a traceback), and opening the workspace."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

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

        raise OutcomesError("--contract is empty", code="usage", hint="give a contract id, or leave the option out")
    if not ledger.contract_versions(contract_id) and not ledger.settlements(contract_id):
        ledger.contract_version(contract_id)  # raises the ledger's "no contract ... is registered"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
