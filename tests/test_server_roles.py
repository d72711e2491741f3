"""Every role against every endpoint, as one table: allowed (the request is carried out or refused for a reason
of its own, never for the role), 403 (the role may not), 404 (not a party of the contract)."""

from __future__ import annotations

import json

import pytest

from server_helpers import make_server, row

pytestmark = pytest.mark.slow  # about a minute: make test runs it, make test-fast does not

ROLES = ("buyer-admin", "buyer-viewer", "provider-admin", "provider-viewer", "auditor", "outsider")
C = "/api/contracts/acme-northwind"
OK = "ok"

# (method, path, body, expected for: buyer-admin, buyer-viewer, provider-admin, provider-viewer, auditor, outsider)
TABLE = [
    ("GET", "/api/me", None, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/api/contracts", None, (OK, OK, OK, OK, OK, OK)),
    ("GET", C, None, (OK, OK, OK, OK, OK, 404)),
    ("POST", f"{C}/interactions", "batch", (OK, 403, OK, 403, 403, 404)),
    ("POST", f"{C}/events", "events", (OK, 403, 403, 403, 403, 404)),
    ("POST", f"{C}/settlements/preview", {"period": "2026-04"}, (OK, OK, OK, OK, OK, 404)),
    ("POST", f"{C}/settlements", {"period": "2026-04", "provisional": True}, (OK, 403, OK, 403, 403, 404)),
    ("GET", f"{C}/settlements", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/settlements/2026-03", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/settlements/2026-03/lines/LINE/evidence", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/settlements/2026-03/lines/LINE/evidence?format=csv", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/settlements/2026-03/lines/LINE/explain", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/disputes", None, (OK, OK, OK, OK, OK, 404)),
    ("POST", f"{C}/disputes", {"period": "2026-03", "line": 1, "reason": "r"}, (OK, 403, OK, 403, 403, 404)),
    ("GET", f"{C}/disputes/1", None, (OK, OK, OK, OK, OK, 404)),
    # dispute 1 was opened by the buyer: only the provider answers it
    ("POST", f"{C}/disputes/1/answer", {"note": "n"}, (403, 403, OK, 403, 403, 404)),
    ("POST", f"{C}/disputes/1/comments", {"body": "b"}, (OK, 403, OK, 403, OK, 404)),
    ("GET", f"{C}/scorecard?period=2026-03", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/scorecard/live", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/scorecard/live/stream?once=1", None, (OK, OK, OK, OK, OK, 404)),
    ("GET", f"{C}/integrity?period=2026-03", None, (OK, OK, OK, OK, OK, 404)),
    (
        "GET",
        f"{C}/uplift?period=2026-03&pilot=queue%3Ddisputes&control=queue%3Dgeneral&resamples=200",
        None,
        (OK, OK, OK, OK, OK, 404),
    ),
    ("GET", "/api/audit", None, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/api/audit/head", None, (OK, OK, OK, OK, OK, OK)),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = make_server(tmp_path_factory.mktemp("roles"))
    rows = [
        row("t1", "c1", "2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z", queue="disputes"),
        row("t2", "c2", "2026-03-04T09:00:00Z", "2026-03-04T09:20:00Z"),
        row("clock", "zz", "2026-04-20T00:00:00Z", None, status="open"),
    ]
    h = s.h("buyer-admin", **{"Idempotency-Key": "setup", "Content-Type": "application/json"})
    assert s.client.post(f"{C}/interactions", content=json.dumps(rows), headers=h).status_code == 201
    inv = s.client.post(f"{C}/settlements", json={"period": "2026-03"}, headers=s.h("buyer-admin")).json()
    s.line = next(ln["line"] for ln in inv["lines"] if ln["kind"] == "outcome_fee")
    d = s.client.post(
        f"{C}/disputes", headers=s.h("buyer-admin"), json={"period": "2026-03", "line": 1, "reason": "r"}
    )
    assert d.status_code == 201 and d.json()["id"] == 1
    s.writer.catch_up()
    yield s
    s.client.close()
    s.writer.close()


def _body(kind, n: int):
    if kind == "batch":
        return json.dumps([row(f"r{n}", "c9", "2026-04-02T09:00:00Z", "2026-04-02T09:30:00Z")])
    if kind == "events":
        return json.dumps(
            [{"customer_id": "c9", "event": "renewed", "at": f"2026-04-0{1 + n % 9}T10:00:00Z"}]
        )
    return None


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_endpoint(srv, role):
    got, want = [], []
    for n, (method, path, body, expected) in enumerate(TABLE):
        path = path.replace("LINE", str(srv.line))
        headers = srv.h(role)
        raw = _body(body, n) if isinstance(body, str) else None
        if raw is not None:
            headers |= {"Idempotency-Key": f"{role}-{n}", "Content-Type": "application/json"}
            r = srv.client.request(method, path, content=raw, headers=headers)
        else:
            r = srv.client.request(method, path, json=body, headers=headers)
        assert r.status_code < 500, (method, path, r.text)
        outcome = OK if r.status_code not in (401, 403, 404) else r.status_code
        exp = expected[ROLES.index(role)]
        got.append((method, path, outcome))
        want.append((method, path, exp))
        if outcome != OK:
            assert r.headers["content-type"].startswith("application/problem+json")
    assert got == want
