"""What every `outcomes` command shares: the two consoles, the common options, one way to turn known
problems into `error: ...` with exit code 1 (never a traceback), and opening the workspace."""

from __future__ import annotations

import json
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


def known_errors() -> tuple[type[BaseException], ...]:
    from outcomes.analysis.integrity.model import IntegrityError
    from outcomes.analysis.scorecard import ScorecardError
    from outcomes.contract import ContractError
    from outcomes.facts import IngestError
    from outcomes.ledger import LedgerError
    from outcomes.settlement.settle import SettlementRefused
    from outcomes.workspace import WorkspaceError

    return (
        ContractError,
        IngestError,
        IntegrityError,
        LedgerError,
        ScorecardError,
        SettlementRefused,
        WorkspaceError,
    )


@contextmanager
def errors() -> Iterator[None]:
    """Known problems become one clear message and exit code 1."""
    try:
        yield
    except known_errors() as exc:
        from outcomes.contract import ContractError

        if isinstance(exc, ContractError):
            for issue in exc.issues:
                err.print(str(issue), markup=False)
            err.print(f"{len(exc.issues)} problem(s)", markup=False)
        else:
            err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


@contextmanager
def open_workspace(path: Path | None) -> Iterator[Any]:
    """The workspace named by --workspace, $OUTCOMES_WORKSPACE or the current folder; closed afterwards."""
    from outcomes.workspace import find_workspace

    with errors():
        ws = find_workspace(path)
        try:
            yield ws
        finally:
            ws.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
