"""`outcomes validate` and `outcomes contract add|list|show`: contract files and their registered versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

app = typer.Typer()
contract_app = typer.Typer(help="Register and inspect contract versions.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Contract YAML file.")],
    as_json: JsonOpt = False,
) -> None:
    """Check a contract file and report every problem at once (file, line, key, hint). Exit 1 on errors."""
    from outcomes.contract import contract_hash, load_contract

    contract, issues = load_contract(file)
    errors = [i for i in issues if i.level == "error"]
    if as_json:
        print_json(
            {
                "file": str(file),
                "valid": not errors,
                "hash": contract_hash(contract) if contract is not None and not errors else None,
                "issues": [i.to_dict() for i in issues],
            }
        )
    else:
        for i in issues:
            (err if i.level == "error" else out).print(str(i), markup=False)
        if not errors and contract is not None:
            out.print(f"{file}: valid · {contract.contract} v{contract.version} · {contract_hash(contract)}")
        else:
            err.print(f"{file}: {len(errors)} error(s)", markup=False)
    if errors or contract is None:
        raise typer.Exit(1)


@contract_app.command("add")
def contract_add(
    file: Annotated[Path, typer.Argument(help="Contract YAML file.")], workspace: WorkspaceOpt = None
) -> None:
    """Register a contract version in the ledger (amendments are new versions; old ones stay readable)."""
    from outcomes.contract import read_contract

    with open_workspace(workspace) as ws:
        contract = read_contract(file)
        reg = ws.ledger().add_contract(contract, file.read_text(encoding="utf-8"), str(file))
        verb = "registered" if reg.created else "already registered (same content)"
        out.print(
            f"{contract.contract} v{contract.version} {verb}: effective from {reg.row.effective_from}, {reg.row.hash}"
        )


@contract_app.command("list")
def contract_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List registered contracts and their versions."""
    with open_workspace(workspace) as ws:
        rows = ws.ledger().contract_versions()
        if as_json:
            print_json(
                [
                    {
                        "contract": r.contract,
                        "version": r.version,
                        "effective_from": r.effective_from,
                        "hash": r.hash,
                        "registered_at": r.registered_at,
                        "file": r.filename,
                    }
                    for r in rows
                ]
            )
            return
        t = Table("contract", "version", "effective from", "hash", "registered")
        for r in rows:
            t.add_row(r.contract, str(r.version), r.effective_from, r.hash[:19] + "…", r.registered_at[:19])
        out.print(t)


@contract_app.command("show")
def contract_show(
    contract_id: Annotated[str, typer.Argument(help="Contract id.")],
    version: Annotated[int | None, typer.Option(help="Version (default: the latest).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print a registered contract version as it was registered."""
    with open_workspace(workspace) as ws:
        row = ws.ledger().contract_version(contract_id, version)
        sys.stdout.write(row.source_text)
