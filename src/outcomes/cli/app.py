"""The `outcomes` command line: this module only registers the command groups, one module a group.

A group module imports only Typer, Rich and the console at load time; each command imports the engine it runs
inside its body, so `outcomes --help` and `outcomes version` load no engine (and a command only its own).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
import typer.core

from outcomes import __version__
from outcomes.cli import (
    audit,
    contracts,
    disputes,
    facts,
    ingest,
    integrity,
    mapping,
    pull,
    scorecard,
    serve,
    settlement,
    simulator,
    staffing,
    synthetic,
    transcripts,
    uplift,
    workspace,
)
from outcomes.cli.console import WAIT, out, report


class _Commands(typer.core.TyperGroup):
    """The root group: every error of every command is reported here, in one place (console.report)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.core._click.exceptions.ClickException):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(report(exc)) from None


app = typer.Typer(
    cls=_Commands,
    pretty_exceptions_enable=False,
    name="outcomes",
    help="Run an outcome-based customer-service contract: contract as code, verified outcomes, priced "
    "settlements that both parties can explain and rerun.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

@app.callback()
def _root(
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            max=86400,
            envvar="OUTCOMES_WAIT",
            help="Seconds to wait for a workspace another process is using (then: `workspace busy`).",
        ),
    ] = 30.0,
) -> None:
    WAIT["seconds"] = wait


for group in (
    workspace,
    contracts,
    ingest,
    mapping,
    pull,
    settlement,
    disputes,
    audit,
    scorecard,
    integrity,
    uplift,
    staffing,
    facts,
    synthetic,
    serve,
    transcripts,
    simulator,
):
    app.add_typer(group.app)


@app.command()
def version() -> None:
    """Print the outcomes version."""
    out.print(__version__)


def main() -> None:  # pragma: no cover
    app()
