"""A shared server for tests: a workspace with one contract between Acme Bank (buyer) and Northwind CX
(provider), audited by Ledgerwise; a user of each role, one of another company, and their API tokens."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from outcomes.contract import read_contract
from outcomes.ledger import access as people
from outcomes.workspace import init_workspace

CONTRACT = """
contract: acme-northwind
version: 1
parties: {buyer: Acme Bank, provider: Northwind CX, auditor: Ledgerwise}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows:
  disputes: {queues: [disputes]}
  general: {default: true}
outcomes:
  resolution: {kind: resolution, repeat_contact: {within: 7d, same: [customer]}}
pricing:
  base_fee: "1000.00"
  outcome_fees:
    - {outcome: resolution, workflows: [disputes], unit: "5.00"}
    - {outcome: resolution, workflows: [general], unit: "2.00"}
"""

OTHER = """
contract: globex-initech
version: 1
parties: {buyer: Globex, provider: Initech}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows: {general: {default: true}}
outcomes:
  resolution: {kind: resolution, repeat_contact: {within: 7d, same: [customer]}}
pricing: {outcome_fees: [{outcome: resolution, unit: "1.00"}]}
"""

PASSWORD = "correct horse battery staple"

USERS = {
    "buyer-admin": ("ana@acme.example", "Acme Bank"),
    "buyer-viewer": ("vic@acme.example", "Acme Bank"),
    "provider-admin": ("pat@northwind.example", "Northwind CX"),
    "provider-viewer": ("pia@northwind.example", "Northwind CX"),
    "auditor": ("aud@ledgerwise.example", "Ledgerwise"),
    "outsider": ("eve@globex.example", "Globex"),
}


def row(
    i: str,
    customer: str | None,
    opened: str,
    closed: str | None,
    *,
    queue: str = "general",
    status: str = "resolved",
    source: str = "crm",
) -> dict:
    return {
        "interaction_id": i,
        "source": source,
        "customer_id": customer,
        "channel": "chat",
        "queue": queue,
        "opened_at": opened,
        "closed_at": closed,
        "status": status,
        "handled_by": "agent",
        "provider": "northwind",
    }


@dataclass
class Server:
    root: Path
    ws: object
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    @property
    def writer(self):
        return self.client.app.state.writer


def make_server(root: Path, *, live: bool = False) -> Server:
    from outcomes.server import create_app

    ws = init_workspace(root / "ws")
    for name, text in (("c.yaml", CONTRACT), ("o.yaml", OTHER)):
        path = root / name
        path.write_text(textwrap.dedent(text).strip() + "\n")
        ws.ledger().add_contract(read_contract(path), path.read_text(), name)
    tokens = {}
    from pwdlib import PasswordHash

    hashed = PasswordHash.recommended().hash(PASSWORD)
    with people.transaction(ws.ledger()) as s:
        for role, (email, org) in USERS.items():
            if role == "outsider":
                people.add_user(s, email, org, "buyer-admin", None)
            else:
                people.add_user(
                    s,
                    email,
                    org,
                    role,
                    "acme-northwind",
                    {"buyer": "Acme Bank", "provider": "Northwind CX", "auditor": "Ledgerwise"},
                )
            people.set_password(s, email, hashed)
            tokens[role] = people.create_token(s, email).token
    app = create_app(ws, live=live)
    client = TestClient(app, raise_server_exceptions=False)
    return Server(root, ws, client, tokens)
