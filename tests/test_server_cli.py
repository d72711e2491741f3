"""`outcomes user ...` and `outcomes token ...`: bootstrap the server's people from the command line; every grant
and revocation is in the audit chain; the token is printed once, alone on the last line."""

from __future__ import annotations

import json
import textwrap

from typer.testing import CliRunner

from outcomes.cli import app
from server_helpers import CONTRACT

runner = CliRunner()


class Done:
    def __init__(self, result):
        self.returncode = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr


def run(ws, *args, stdin: str | None = None):
    return Done(runner.invoke(app, [*args, "-w", str(ws)], input=stdin))


def test_bootstrap_people_and_tokens(tmp_path):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    contract = tmp_path / "c.yaml"
    contract.write_text(textwrap.dedent(CONTRACT).strip() + "\n")
    assert run(ws, "contract", "add", str(contract)).returncode == 0
    done = run(
        ws,
        "user",
        "add",
        "Ana@Acme.example",
        "--org",
        "Acme Bank",
        "--role",
        "buyer-admin",
        "--contract",
        "acme-northwind",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert done.returncode == 0, done.stderr
    wrong = run(
        ws,
        "user",
        "add",
        "eve@globex.example",
        "--org",
        "Globex",
        "--role",
        "buyer-admin",
        "--contract",
        "acme-northwind",
    )
    assert wrong.returncode == 1 and "buyer is 'Acme Bank', not 'Globex'" in wrong.stderr
    bad_role = run(ws, "user", "add", "x@y.example", "--org", "Acme Bank", "--role", "owner")
    assert bad_role.returncode == 1 and "no role 'owner'" in bad_role.stderr
    made = run(ws, "token", "create", "ana@acme.example", "--days", "7")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("oc_") and len(token) > 40 and made.stdout.strip() == token
    listed = json.loads(run(ws, "token", "list", "--json").stdout)
    assert len(listed) == 1 and token not in json.dumps(listed)
    assert run(ws, "token", "revoke", listed[0]["id"]).returncode == 0
    again = run(ws, "token", "revoke", listed[0]["id"])
    assert again.returncode == 1 and "already revoked" in again.stderr
    assert (
        run(
            ws, "user", "revoke", "ana@acme.example", "--role", "buyer-admin", "--contract", "acme-northwind"
        ).returncode
        == 0
    )
    from outcomes.workspace import find_workspace

    w = find_workspace(ws)
    try:
        from outcomes.ledger.models import ApiToken, AuditEntry

        with w.ledger().session() as s:
            actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.seq)]
            stored = s.query(ApiToken).one()
        assert token not in stored.hash and len(stored.hash) == 64
        assert actions == [
            "contract.add",
            "access.organisation",
            "access.user",
            "access.grant",
            "access.password",
            "access.token",
            "access.token_revoke",
            "access.revoke",
        ]
        assert w.ledger().verify_audit().ok
    finally:
        w.close()
