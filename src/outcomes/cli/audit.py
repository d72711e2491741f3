"""`outcomes audit ...`: the hash-chained audit log of every ledger change, its head, and signed heads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outcomes.cli.console import JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

app = typer.Typer()
audit_app = typer.Typer(
    help="The hash-chained audit log of every ledger change, its head, and signed heads.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")

PARTIES = ("buyer", "provider", "auditor")


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="A head kept earlier (the line `outcomes audit head` or an invoice printed): the chain must "
            "extend it.",
        ),
    ] = None,
    key: Annotated[
        list[Path] | None,
        typer.Option(
            "--key", help="A party's public key (file): the head given with --against must be signed by it."
        ),
    ] = None,
    ledger_only: Annotated[
        bool, typer.Option("--ledger-only", help="Check the ledger only, not the facts it commits to.")
    ] = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Check the audit chain, every ledger row it covers, every signed head, the facts each ingest and
    settlement committed to, and (with --against) that the chain extends a head kept earlier: exit 0 when all
    hold, 1 naming what does not."""
    from outcomes.ledger.heads import HeadError, load_public_hex, parse
    from outcomes.settlement.trail import verify

    head = parse(against) if against is not None else None
    keys = tuple(load_public_hex(p) for p in key or [])
    if keys and head is None:
        raise HeadError("--key checks the signature of the head given with --against; give --against too")
    with open_workspace(workspace) as ws:
        store = None if ledger_only else ws.duckdb_facts()
        report = verify(ws.ledger(), store, head, keys)
        if as_json:
            print_json(report.to_dict())
        else:
            c = report.chain
            if c.ok:
                out.print(f"audit chain intact: {c.entries} entries, head {c.head[0]} {c.head[1]}" if c.head else
                          f"audit chain intact: {c.entries} entries")
                if head is not None:
                    signed = f", signed by ed25519:{head.key}" if head.signed else ""
                    out.print(f"it extends the head kept at entry {head.seq}{signed}")
            elif c.rows:
                for problem in c.rows[:20]:
                    err.print(f"ledger row changed: {problem}", markup=False)
                if len(c.rows) > 20:
                    err.print(f"… and {len(c.rows) - 20} more", markup=False)
            else:
                err.print(f"audit chain broken at entry {c.first_bad}: {c.problem}", markup=False)
            for problem in report.facts[:20]:
                err.print(f"facts: {problem}", markup=False)
            for note in report.notes:
                out.print(f"note: {note}", markup=False)
            if not ledger_only and not report.facts and c.ok:
                out.print("facts: every ingest's and settlement's digest recomputes from the stored rows")
        if not report.ok:
            raise typer.Exit(1)


@audit_app.command("head")
def audit_head(as_json: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """Print the chain's head, `SEQ HASH`, as one line: keep it, and later prove the chain extends it with
    `outcomes audit verify --against "SEQ HASH"`."""
    with open_workspace(workspace) as ws:
        head = ws.ledger().head()
        if as_json:
            print_json({"seq": head.seq, "hash": head.hash, "line": head.line()})
        else:
            out.print(head.line(), markup=False)


@audit_app.command("sign")
def audit_sign(
    key: Annotated[Path, typer.Option("--key", help="Your Ed25519 private key (from `outcomes audit keygen`).")],
    party: Annotated[
        str | None, typer.Option("--party", help="Who signs: buyer, provider or auditor (recorded with it).")
    ] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Sign the chain's current head with your key, record the signed head in the chain, and print the signed
    line (keep it: `audit verify --against LINE --key YOUR.pub` proves it later)."""
    from outcomes.ledger.heads import HeadError, load_private

    if party is not None and party not in PARTIES:
        raise HeadError(f"--party must be one of {', '.join(PARTIES)}, not {party!r}")
    private = load_private(key)
    with open_workspace(workspace) as ws:
        signed = ws.ledger().sign_head(private, party)
        if as_json:
            print_json({"seq": signed.seq, "hash": signed.hash, "key": signed.key, "signature": signed.signature,
                        "line": signed.line()})
        else:
            out.print(signed.line(), markup=False)


@audit_app.command("keygen")
def audit_keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the private key; the public key goes to PATH.pub.")],
) -> None:
    """Make an Ed25519 key pair for signing heads: PATH (private, readable by you only) and PATH.pub."""
    from outcomes.ledger.heads import HeadError, generate_key

    if not path.parent.is_dir():
        raise HeadError(f"{path.parent}: no such folder")
    public, hex_key = generate_key(path)
    out.print(f"private key: {path} (keep it to yourself)", markup=False)
    out.print(f"public key: {public} (give it to the other party): ed25519:{hex_key}", markup=False)
