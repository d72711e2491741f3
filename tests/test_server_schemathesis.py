"""schemathesis over the whole OpenAPI document: for every operation, generated requests (valid and not) never
get a 5xx, every response matches its documented schema, and its status is one the document lists. The calls
are made as the buyer's admin on a workspace with a settled month (so settlement, evidence and dispute paths
reach real data), and again without a token."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from server_helpers import make_server, row

pytestmark = pytest.mark.slow  # about a minute: make test runs it, make test-fast does not

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = make_server(tmp_path_factory.mktemp("schemathesis"))
    rows = [
        row("t1", "c1", "2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z", queue="disputes"),
        row("t2", "c1", "2026-03-04T09:00:00Z", "2026-03-04T09:20:00Z", queue="disputes"),
        row("clock", "zz", "2026-04-20T00:00:00Z", None, status="open"),
    ]
    h = s.h("buyer-admin", **{"Idempotency-Key": "setup", "Content-Type": "application/json"})
    assert (
        s.client.post(
            "/api/contracts/acme-northwind/interactions", content=json.dumps(rows), headers=h
        ).status_code
        == 201
    )
    r = s.client.post(
        "/api/contracts/acme-northwind/settlements", json={"period": "2026-03"}, headers=s.h("buyer-admin")
    )
    assert r.status_code == 201
    d = s.client.post(
        "/api/contracts/acme-northwind/disputes",
        headers=s.h("buyer-admin"),
        json={"period": "2026-03", "line": 2, "reason": "check"},
    )
    assert d.status_code == 201
    s.writer.catch_up()
    yield s
    s.client.close()
    s.writer.close()


@pytest.fixture(scope="module")
def url(srv):
    """The server on loopback (schemathesis calls it over HTTP)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(srv.client.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _spec() -> dict:
    """The OpenAPI document (the app's routes alone make it; no workspace is opened)."""
    from outcomes.server.app import create_app

    return create_app(None).openapi()  # type: ignore[arg-type]


# the event stream never ends by itself; it is tested in test_server_api
schema = schemathesis.openapi.from_dict(_spec()).exclude(path_regex=r".*/stream$")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_fails_or_breaks_its_schema(case, srv, url):
    if (
        case.path_parameters
        and "contract" in case.path_parameters
        and case.path_parameters["contract"] != "acme-northwind"
    ):
        # mostly not found; keep a share of the calls on the real contract
        case.path_parameters["contract"] = (
            "acme-northwind" if hash(str(case.path_parameters)) % 3 else case.path_parameters["contract"]
        )
    if case.path_parameters and "period" in case.path_parameters and hash(str(case.path_parameters)) % 2:
        case.path_parameters["period"] = "2026-03"
    case.call_and_validate(base_url=url, headers=srv.h("buyer-admin"), checks=CHECKS)


@schema.parametrize()
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_without_a_token_every_operation_is_401(case, srv, url):
    if case.path == "/api/health":
        return
    response = case.call(base_url=url, headers={"Authorization": ""})
    assert response.status_code in (401, 404, 405, 422), (
        case.path,
        response.status_code,
        response.text[:200],
    )
    assert response.status_code != 200
