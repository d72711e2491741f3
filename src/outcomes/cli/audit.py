"""`outcomes audit ...`: the hash-chained audit log of every ledger change."""

from __future__ import annotations

import typer

from outcomes.cli.console import WorkspaceOpt, err, open_workspace, out

app = typer.Typer()
audit_app = typer.Typer(help="The hash-chained audit log of every ledger change.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOpt = None) -> None:
    """Check the audit chain: exit 0 when intact, 1 naming the first edited, removed or reordered entry."""
    with open_workspace(workspace) as ws:
        report = ws.ledger().verify_audit()
        if report.ok:
            out.print(f"audit chain intact: {report.entries} entries")
            return
        err.print(f"audit chain broken at entry {report.first_bad}: {report.problem}", markup=False)
        raise typer.Exit(1)
