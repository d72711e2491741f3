"""`outcomes serve`, `outcomes user ...`, `outcomes token ...`: the shared server and who may use it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from outcomes.cli.console import WAIT, JsonOpt, WorkspaceOpt, err, open_workspace, out, print_json

app = typer.Typer()
user_app = typer.Typer(help="People of the shared server and their roles per contract.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: random, shown once, stored hashed, expiring.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

ROLES = "buyer-admin, buyer-viewer, provider-admin, provider-viewer, auditor"


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (behind a reverse proxy: 127.0.0.1).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on (1-65535).")] = 8000,
    behind_tls: Annotated[
        bool,
        typer.Option(
            "--behind-tls", help="A TLS proxy is in front: Secure cookies, HSTS, its client address."
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Start the shared server on the workspace (docs/server.md): the API, the pages, the live scorecard."""
    import os

    import uvicorn

    from outcomes.workspace import find_workspace

    with open_workspace(workspace) as ws:  # a clear error for a missing workspace, before uvicorn starts
        root = ws.root
        # The server is the workspace's one writer: take the workspace lock now (a command holding it is
        # waited for, then `workspace busy`, cleanly) and hold it while serving; the server's own workspace
        # in this process shares it (docs/server.md).
        ws.duckdb_facts()
        # uvicorn imports the app by name: the command line does not import the server (separate layers)
        os.environ["OUTCOMES_WORKSPACE"] = str(root)
        os.environ["OUTCOMES_SERVER_BEHIND_TLS"] = "1" if behind_tls else "0"
        os.environ["OUTCOMES_WAIT"] = str(WAIT["seconds"])
        find_workspace(root)
        err.print(f"outcomes: serving {root} on http://{host}:{port} (API: /api/openapi.json)", markup=False)
        uvicorn.run(
            "outcomes.server.asgi:app_from_environment",
            factory=True,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=behind_tls,
            forwarded_allow_ips="127.0.0.1" if behind_tls else None,
        )


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The person's email (their sign-in name).")],
    org: Annotated[str, typer.Option("--org", help="Their organisation, as the contracts' parties name it.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLES}.")],
    contract: Annotated[
        str | None,
        typer.Option("--contract", help="Only this contract (default: every contract of that side)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a sign-in password from standard input.")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a person (and their organisation) or grant them another role; written to the audit chain."""
    import json

    from outcomes.ledger import access as people

    password = _read_password() if password_stdin else None
    with open_workspace(workspace) as ws:
        ledger = ws.ledger()
        parties = None
        if contract is not None:
            parties = json.loads(ledger.contract_version(contract).canonical)["parties"]
        with people.transaction(ledger) as s:
            person, granted = people.add_user(s, email, org, role, contract, parties)
            if password is not None:
                people.set_password(s, person.email, _hash(password))
        what = "granted" if granted else "already held"
        out.print(
            f"{person.email} ({person.organisation}): {role} on {contract or 'every contract of that side'} {what}",
            markup=False,
        )


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="The person's email.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Set a person's sign-in password (read from standard input, or asked for); stored as an argon2 hash."""
    from outcomes.ledger import access as people

    password = _read_password()
    with open_workspace(workspace) as ws, people.transaction(ws.ledger()) as s:
        people.set_password(s, email, _hash(password))
    out.print(f"{email}: password set")


@user_app.command("revoke")
def user_revoke(
    email: Annotated[str, typer.Argument(help="The person's email.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLES}.")],
    contract: Annotated[
        str | None, typer.Option("--contract", help="The contract of the grant (default: all).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Revoke a role; written to the audit chain."""
    from outcomes.ledger import access as people

    with open_workspace(workspace) as ws, people.transaction(ws.ledger()) as s:
        n = people.revoke_grant(s, email, role, contract)
    out.print(f"{email}: {role} on {contract or 'every contract of that side'} revoked ({n} grant(s))")


@user_app.command("list")
def user_list(as_json: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """People, their organisation and their active roles."""
    from outcomes.ledger import access as people

    with open_workspace(workspace) as ws, ws.ledger().session() as s:
        rows = people.people(s)
    if as_json:
        print_json(
            [
                {
                    "email": p.email,
                    "organisation": p.organisation,
                    "password": p.has_password,
                    "grants": [{"contract": c, "role": r} for c, r in p.grants],
                }
                for p in rows
            ]
        )
        return
    t = Table("email", "organisation", "roles", "password")
    for p in rows:
        t.add_row(
            p.email,
            p.organisation,
            ", ".join(f"{r} on {c or '*'}" for c, r in p.grants),
            "yes" if p.has_password else "no",
        )
    out.print(t)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="Whose token (their roles are its roles).")],
    days: Annotated[int, typer.Option("--days", help="Days until it expires (1-3650).")] = 90,
    name: Annotated[str, typer.Option("--name", help="What it is for (shown by token list).")] = "",
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API token; it is printed once, alone on the last line (only its hash is kept)."""
    from outcomes.ledger import access as people

    with open_workspace(workspace) as ws, people.transaction(ws.ledger()) as s:
        issued = people.create_token(s, email, days=days, name=name)
    err.print(
        f"token {issued.id} for {email}, expires {issued.expires_at}; it is shown only now:", markup=False
    )
    sys.stdout.write(issued.token + "\n")


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token's id (see token list) or the token itself.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Revoke an API token at once; written to the audit chain."""
    from outcomes.ledger import access as people

    with open_workspace(workspace) as ws, people.transaction(ws.ledger()) as s:
        row = people.revoke_token(s, token)
    out.print(f"token {row.id} revoked")


@token_app.command("list")
def token_list(
    email: Annotated[str | None, typer.Argument(help="Only this person's tokens.")] = None,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Tokens (ids, never the tokens): whose, created, expires, revoked."""
    from outcomes.ledger import access as people

    with open_workspace(workspace) as ws, ws.ledger().session() as s:
        rows = people.tokens(s, email)
    data = [
        {
            "id": t.id,
            "user": e,
            "name": t.name,
            "created_at": t.created_at,
            "expires_at": t.expires_at,
            "revoked_at": t.revoked_at,
        }
        for t, e in rows
    ]
    if as_json:
        print_json(data)
        return
    t = Table("id", "user", "name", "created", "expires", "revoked")
    for d in data:
        t.add_row(
            d["id"],
            d["user"],
            d["name"],
            d["created_at"][:19],
            d["expires_at"][:19],
            (d["revoked_at"] or "")[:19],
        )
    out.print(t)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = typer.prompt("password", hide_input=True)
        if typer.prompt("again", hide_input=True) != first:
            raise typer.BadParameter("the two passwords differ")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 12:
        from outcomes.ledger.access import AccessError

        raise AccessError("a password needs at least 12 characters")
    return password


def _hash(password: str) -> str:
    from pwdlib import PasswordHash

    return PasswordHash.recommended().hash(password)
