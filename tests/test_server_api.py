"""The shared server's API as a client sees it: one problem shape for every error, tenancy, batches exactly once,
settle, evidence, explain, disputes with their thread, the audit log and its head."""

from __future__ import annotations

import csv
import io
import json
import threading

import pyarrow as pa
import pyarrow.parquet as pq

from server_helpers import USERS, row

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert PROBLEM_KEYS <= set(body) and body["status"] == status and body["code"] == code
    assert body["type"] == f"/problems/{code}"
    return body


MONTH = [
    row("t1", "c1", "2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z", queue="disputes"),
    row("t2", "c2", "2026-03-03T09:00:00Z", "2026-03-03T09:20:00Z"),
    row("t3", "c1", "2026-03-05T09:00:00Z", "2026-03-05T09:30:00Z", queue="disputes"),  # repeat of t1
    row("t4", "c3", "2026-03-20T09:00:00Z", "2026-03-20T09:20:00Z"),
    row("t5", None, "2026-03-21T09:00:00Z", "2026-03-21T09:20:00Z"),
    row("clock", "zz", "2026-04-20T00:00:00Z", None, status="open"),
]


def ingest(srv, rows, key, role="buyer-admin", kind="interactions"):
    return srv.client.post(
        f"/api/contracts/acme-northwind/{kind}",
        content=json.dumps(rows),
        headers=srv.h(role, **{"Idempotency-Key": key, "Content-Type": "application/json"}),
    )


def test_every_error_is_one_problem_shape(srv):
    c = srv.client
    problem(c.get("/api/contracts"), 401, "unauthenticated")
    problem(
        c.get("/api/contracts", headers={"Authorization": "Bearer oc_000000000000_nope-nope-nope-nope-nope"}),
        401,
        "unauthenticated",
    )
    problem(c.get("/api/contracts", headers={"Authorization": "Basic abc"}), 401, "unauthenticated")
    # who is asking comes before what was sent: a body that is not JSON, or not the right JSON, without
    # credentials is a 401 (schemathesis found a 400), with them a 400 or 422
    answer = "/api/contracts/acme-northwind/disputes/1/answer"
    for body, status in ((b'{"note": "\xff"}', 400), (b"{not json", 422), (b'{"note": 5}', 422)):
        sent = {"content": body, "headers": {"Content-Type": "application/json"}}
        problem(c.post(answer, **sent), 401, "unauthenticated")
        sent["headers"] |= srv.h("provider-admin")
        problem(c.post(answer, **sent), status, "bad_request" if status == 400 else "validation")
    problem(c.get("/api/contracts/globex-initech", headers=srv.h("buyer-admin")), 404, "not_found")
    problem(c.get("/api/nowhere", headers=srv.h("buyer-admin")), 404, "not_found")
    problem(c.delete("/api/contracts", headers=srv.h("buyer-admin")), 405, "method_not_allowed")
    problem(c.get("/api/contracts?limit=0", headers=srv.h("buyer-admin")), 422, "validation")
    problem(c.get("/api/contracts?cursor=%%%", headers=srv.h("buyer-admin")), 400, "bad_request")
    # a row id beyond the database's 64-bit integers is refused, not passed to the driver (schemathesis found it)
    huge = "/api/contracts/acme-northwind/disputes/" + "9" * 30
    problem(c.get(huge, headers=srv.h("buyer-admin")), 422, "validation")
    problem(c.post(huge + "/answer", json={"note": "x"}, headers=srv.h("provider-admin")), 422, "validation")
    problem(ingest(srv, MONTH, "k", role="buyer-viewer"), 403, "forbidden")
    r = c.post(
        "/api/contracts/acme-northwind/settlements", json={"period": "2026-13"}, headers=srv.h("buyer-admin")
    )
    body = problem(r, 422, "period")
    assert "2026-13" in body["detail"]
    r = c.post(
        "/api/contracts/acme-northwind/settlements", json={"period": "2026-05"}, headers=srv.h("buyer-admin")
    )
    body = problem(r, 409, "settlement_refused")
    assert "cannot be settled yet" in body["detail"]
    r = c.post(
        "/api/contracts/acme-northwind/interactions",
        content=b"[]",
        headers=srv.h("buyer-admin", **{"Content-Type": "text/csv", "Idempotency-Key": "x"}),
    )
    problem(r, 415, "unsupported_media_type")
    r = c.post(
        "/api/contracts/acme-northwind/interactions",
        content=b"[{}]",
        headers=srv.h("buyer-admin", **{"Content-Type": "application/json"}),
    )
    problem(r, 400, "idempotency_key_required")
    body = problem(ingest(srv, [{"nope": 1}], "k0"), 422, "ingest")
    assert body["detail"].startswith("the request body: missing required column(s) interaction_id, source")
    assert "hint" in body and "instance" in body


def test_the_body_limit_is_413(srv, monkeypatch):
    from outcomes.server.routes import batches

    monkeypatch.setattr(batches, "MAX_BODY_BYTES", 1000)
    r = ingest(srv, MONTH * 10, "big")
    problem(r, 413, "too_large")


def test_tenancy_a_user_sees_only_contracts_naming_their_organisation(srv):
    c = srv.client
    for role in ("buyer-admin", "buyer-viewer", "provider-admin", "provider-viewer", "auditor"):
        got = c.get("/api/contracts", headers=srv.h(role)).json()
        assert [x["contract"] for x in got["items"]] == ["acme-northwind"], role
        assert got["items"][0]["roles"] == [role]
    # Globex sees its own contract only
    assert [x["contract"] for x in c.get("/api/contracts", headers=srv.h("outsider")).json()["items"]] == [
        "globex-initech"
    ]
    for path in (
        "",
        "/settlements",
        "/disputes",
        "/scorecard/live",
        "/settlements/2026-03",
        "/disputes/1",
        "/settlements/2026-03/lines/2/evidence",
    ):
        problem(c.get(f"/api/contracts/acme-northwind{path}", headers=srv.h("outsider")), 404, "not_found")
    problem(ingest(srv, MONTH, "evil", role="outsider"), 404, "not_found")


def test_a_batch_is_ingested_once_per_key_and_a_retry_gets_the_first_response(srv):
    first = ingest(srv, MONTH, "batch-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["accepted"], body["duplicates"], body["quarantined"], body["replayed"]) == (6, 0, 0, False)
    again = ingest(srv, MONTH, "batch-1")
    assert again.status_code == 200
    assert {**again.json(), "replayed": False} == body and again.json()["replayed"] is True
    problem(ingest(srv, MONTH[:2], "batch-1"), 409, "idempotency_key_reused")
    # the same rows under a new key are duplicates, not new facts
    dup = ingest(srv, MONTH, "batch-2").json()
    assert (dup["accepted"], dup["duplicates"]) == (0, 6)
    # the key is the organisation's: the provider's "batch-1" is another key
    other = ingest(
        srv,
        [row("p1", "c9", "2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z")],
        "batch-1",
        role="provider-admin",
    )
    assert other.status_code == 201 and other.json()["accepted"] == 1


def test_bad_rows_are_quarantined_with_their_reasons(srv):
    rows = MONTH[:2] + [
        {**MONTH[2], "status": "fixed"},
        {**MONTH[3], "opened_at": "yesterday"},
    ]
    body = ingest(srv, rows, "q").json()
    assert (body["accepted"], body["quarantined"]) == (2, 2)
    assert body["reasons"] == {"bad_timestamp": 1, "unknown_status": 1}
    assert {(q["row"], q["reason"]) for q in body["quarantine_sample"]} == {
        (3, "unknown_status"),
        (4, "bad_timestamp"),
    }


def test_parquet_bodies_are_ingested_too(srv):
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(MONTH), buf)
    r = srv.client.post(
        "/api/contracts/acme-northwind/interactions",
        content=buf.getvalue(),
        headers=srv.h(
            "buyer-admin", **{"Idempotency-Key": "pq", "Content-Type": "application/vnd.apache.parquet"}
        ),
    )
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 6


def test_a_failed_write_then_a_retry_ingests_exactly_once(srv, monkeypatch):
    """OpenMeter issue 5118: the key must not be kept when the write fails, nor be lost when it succeeds."""
    from outcomes.facts import store as store_module

    real = store_module.FactsStore._keep_digest_sums

    def broken(self, batch, table):
        real(self, batch, table)
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module.FactsStore, "_keep_digest_sums", broken)
    r = ingest(srv, MONTH, "retry-me")
    problem(r, 500, "internal")
    monkeypatch.setattr(store_module.FactsStore, "_keep_digest_sums", real)
    r = ingest(srv, MONTH, "retry-me")
    assert r.status_code == 201 and r.json()["accepted"] == 6 and not r.json()["replayed"]
    with srv.writer.facts() as facts:
        assert facts.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 6
        assert facts.con.execute("SELECT count(*) FROM ingest_receipts").fetchone()[0] == 1


def test_twenty_concurrent_retries_of_one_batch_accept_it_once(srv):
    results = []

    def send():
        results.append(ingest(srv, MONTH, "same-batch"))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 19 + [201]
    assert sum(r.json()["replayed"] is False for r in results) == 1
    assert {r.json()["batch"] for r in results} == {1}
    with srv.writer.facts() as facts:
        assert facts.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 6
        assert facts.latest_batch() == 1


def test_settle_read_evidence_explain_and_dispute_with_a_thread(srv):
    c = srv.client
    assert ingest(srv, MONTH, "m").status_code == 201
    preview = c.post(
        "/api/contracts/acme-northwind/settlements/preview",
        json={"period": "2026-03"},
        headers=srv.h("provider-viewer"),
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["settlement"] is None
    assert (
        c.get("/api/contracts/acme-northwind/settlements", headers=srv.h("buyer-admin")).json()["items"] == []
    )
    problem(
        c.post(
            "/api/contracts/acme-northwind/settlements", json={"period": "2026-03"}, headers=srv.h("auditor")
        ),
        403,
        "forbidden",
    )
    r = c.post(
        "/api/contracts/acme-northwind/settlements", json={"period": "2026-03"}, headers=srv.h("buyer-admin")
    )
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["total"] == preview.json()["total"]
    # the invoice carries the head after it, which the audit chain's head route agreed with at that moment
    head = c.get("/api/audit/head", headers=srv.h("buyer-viewer")).json()
    assert inv["audit_head"] == f"{head['seq']} {head['hash']}" and preview.json()["audit_head"] is None
    lines = {ln["label"]: ln for ln in inv["lines"]}
    fee = next(ln for ln in inv["lines"] if ln["kind"] == "outcome_fee" and ln["workflows"] == ["disputes"])
    assert fee["quantity"] == "1"  # t1 is a repeat (t3), t3 counts
    assert lines
    problem(
        c.post(
            "/api/contracts/acme-northwind/settlements",
            json={"period": "2026-03"},
            headers=srv.h("provider-admin"),
        ),
        409,
        "settlement_refused",
    )
    base = f"/api/contracts/acme-northwind/settlements/2026-03/lines/{fee['line']}"
    page = c.get(f"{base}/evidence?limit=1", headers=srv.h("auditor")).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = c.get(f"{base}/evidence?limit=5&cursor={page['next_cursor']}", headers=srv.h("auditor")).json()
    ids = [r["interaction_id"] for r in page["items"] + rest["items"]]
    assert sorted(ids) == ["t1", "t3"] and rest["next_cursor"] is None
    excluded = c.get(f"{base}/evidence?status=excluded", headers=srv.h("auditor")).json()["items"]
    assert [(e["interaction_id"], e["reason"], e["repeat_id"]) for e in excluded] == [
        ("t1", "repeat_contact", "t3")
    ]
    got = c.get(f"{base}/evidence?format=csv", headers=srv.h("provider-viewer"))
    assert got.headers["content-type"].startswith("text/csv")
    assert sorted(r["interaction_id"] for r in csv.DictReader(io.StringIO(got.text))) == ["t1", "t3"]
    got = c.get(f"{base}/evidence?format=parquet", headers=srv.h("provider-viewer"))
    assert pq.read_table(io.BytesIO(got.content)).num_rows == 2
    problem(
        c.get("/api/contracts/acme-northwind/settlements/2026-03/lines/1/evidence", headers=srv.h("auditor")),
        404,
        "not_found",
    )  # the base fee has no contact-level evidence
    explain = c.get(f"{base}/explain", headers=srv.h("buyer-viewer")).json()
    assert explain["sql"] and {x["reason"] for x in explain["counts"]} == {None, "repeat_contact"}

    d = c.post(
        "/api/contracts/acme-northwind/disputes",
        headers=srv.h("buyer-admin"),
        json={
            "period": "2026-03",
            "line": fee["line"],
            "reason": "t1 was solved",
            "interaction_ids": ["t1"],
            "amount": "5.00",
        },
    )
    assert d.status_code == 201, d.text
    dispute = d.json()
    assert (
        dispute["state"] == "open" and dispute["against"] == "provider" and dispute["actions"] == ["comment"]
    )
    path = f"/api/contracts/acme-northwind/disputes/{dispute['id']}"
    problem(c.post(f"{path}/answer", json={"note": "no"}, headers=srv.h("buyer-admin")), 403, "forbidden")
    problem(c.post(f"{path}/answer", json={"note": "no"}, headers=srv.h("provider-viewer")), 403, "forbidden")
    problem(c.post(f"{path}/answer", json={"note": "no"}, headers=srv.h("auditor")), 403, "forbidden")
    seen = c.get(path, headers=srv.h("provider-admin")).json()
    assert seen["actions"] == ["answer", "accept", "reject", "comment"]
    r = c.post(f"{path}/comments", json={"body": "We look at the recording."}, headers=srv.h("auditor"))
    assert r.status_code == 201, r.text
    problem(c.post(f"{path}/comments", json={"body": "hi"}, headers=srv.h("buyer-viewer")), 403, "forbidden")
    r = c.post(f"{path}/answer", json={"note": "t3 is the same issue"}, headers=srv.h("provider-admin"))
    assert r.json()["state"] == "answered"
    problem(c.post(f"{path}/answer", json={"note": "again"}, headers=srv.h("provider-admin")), 409, "ledger")
    thread = c.get(path, headers=srv.h("auditor")).json()["thread"]
    assert [(t["kind"], t["action"] or t["role"]) for t in thread] == [
        ("event", "open"),
        ("comment", "auditor"),
        ("event", "answer"),
    ]
    listed = c.get(
        "/api/contracts/acme-northwind/disputes?state=answered", headers=srv.h("buyer-viewer")
    ).json()
    assert [x["id"] for x in listed["items"]] == [dispute["id"]]

    # the audit log: the grants, the batch, the settlement, the dispute; the head is the chain's
    log = c.get("/api/audit?limit=500", headers=srv.h("auditor")).json()["items"]
    actions = [e["action"] for e in log]
    assert {
        "contract.add",
        "access.grant",
        "facts.ingest",
        "settlement.record",
        "dispute.open",
        "dispute.comment",
        "dispute.answer",
    } <= set(actions)
    assert all(e["payload"].get("contract") != "globex-initech" for e in log)
    assert not any(e["subject"].startswith("globex-initech") for e in log)
    actors = {e["actor"] for e in log if e["action"] == "dispute.answer"}
    assert actors == {"pat@northwind.example (Northwind CX)"}
    head = c.get("/api/audit/head", headers=srv.h("outsider")).json()
    assert head["intact"] and head["seq"] == head["entries"] >= max(e["seq"] for e in log)


def test_roles_and_tokens_expire_and_revoke(srv):
    from datetime import UTC, datetime, timedelta

    from outcomes.ledger import access as people

    c = srv.client
    assert c.get("/api/me", headers=srv.h("buyer-viewer")).json()["email"] == USERS["buyer-viewer"][0]
    with people.transaction(srv.writer.ledger) as s:
        issued = people.create_token(s, USERS["buyer-viewer"][0], days=1)
    h = {"Authorization": f"Bearer {issued.token}"}
    assert c.get("/api/me", headers=h).status_code == 200
    with srv.writer.ledger.session() as s:
        assert people.token_person(s, issued.token, now=datetime.now(UTC) + timedelta(days=2)) is None
    with people.transaction(srv.writer.ledger) as s:
        people.revoke_token(s, issued.id)
    problem(c.get("/api/me", headers=h), 401, "unauthenticated")
    # a revoked grant closes the contract
    with people.transaction(srv.writer.ledger) as s:
        people.revoke_grant(s, USERS["buyer-viewer"][0], "buyer-viewer", "acme-northwind")
    problem(c.get("/api/contracts/acme-northwind", headers=srv.h("buyer-viewer")), 404, "not_found")


def test_security_headers_and_htmx_served_from_the_package(srv):
    import hashlib

    r = srv.client.get("/static/htmx.min.js")
    assert r.status_code == 200
    assert (
        hashlib.sha256(r.content).hexdigest()
        == "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
    )
    for path in ("/signin", "/api/health", "/api/contracts"):
        h = srv.client.get(path).headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
    page = srv.client.get("/signin").text
    assert "<script>" not in page and "http://" not in page and "https://" not in page


def test_kept_token_checks_see_expiry_at_once_and_outside_revocations_within_the_ttl(srv, monkeypatch):
    """The server keeps a token's holder for a second (auth.AccessKept): an expiry still refuses it at the very
    request, a revocation through this process at the next one, and a revocation it did not make (the ledger
    edited by another process) once the second is over."""
    import time
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from outcomes.ledger import access as people

    c = srv.client
    with people.transaction(srv.writer.ledger) as s:
        issued = people.create_token(s, USERS["buyer-viewer"][0], days=1)
    h = {"Authorization": f"Bearer {issued.token}"}
    assert c.get("/api/me", headers=h).status_code == 200  # kept now
    later = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr(people, "_now", lambda: later)
    problem(c.get("/api/me", headers=h), 401, "unauthenticated")
    monkeypatch.undo()
    assert c.get("/api/me", headers=h).status_code == 200
    # revoked behind the server's back: the ledger row changed, no access transaction of this process ran
    kept = srv.client.app.state.kept
    kept.ttl = 0.3
    assert c.get("/api/me", headers=h).status_code == 200
    with srv.writer.ledger.session() as s, s.begin():
        s.execute(
            text("UPDATE api_tokens SET revoked_at = :t WHERE id = :i"),
            {"t": "2026-01-01T00:00:00Z", "i": issued.id},
        )
    time.sleep(0.35)
    problem(c.get("/api/me", headers=h), 401, "unauthenticated")
    # a grant revoked through this process closes the contract at the next request
    assert c.get("/api/contracts/acme-northwind", headers=srv.h("buyer-viewer")).status_code == 200
    with people.transaction(srv.writer.ledger) as s:
        people.revoke_grant(s, USERS["buyer-viewer"][0], "buyer-viewer", "acme-northwind")
    problem(c.get("/api/contracts/acme-northwind", headers=srv.h("buyer-viewer")), 404, "not_found")


def test_batches_go_to_the_log_and_into_the_file_when_they_pause(srv):
    """The server defers the facts' checkpoints (a checkpoint costs about a second however few rows it adds) and
    checkpoints once batches pause; the data is the same before and after."""
    from pathlib import Path

    store = srv.writer.store
    assert store.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0].startswith("256")
    assert ingest(srv, MONTH, "wal-1").status_code == 201
    wal = Path(store.path + ".wal")
    assert wal.exists() and wal.stat().st_size > 0
    digest = store.digest()
    srv.writer._checkpoint_when_idle()
    assert not wal.exists() or wal.stat().st_size == 0
    assert store.digest() == digest == store.digest(recount=True)
    srv.writer._checkpoint_when_idle()  # nothing new since: nothing to do
    # a checkpoint does not take the writer's lock: a batch committed while one runs is kept whole
    more = [dict(r, interaction_id=r["interaction_id"] + "-2") for r in MONTH]
    sent: list = []
    poster = threading.Thread(target=lambda: sent.append(ingest(srv, more, "wal-2")))
    poster.start()
    srv.writer._written += 1  # as if a batch had just been written: the checkpoint runs
    srv.writer._checkpoint_when_idle()
    poster.join()
    assert sent[0].status_code == 201 and sent[0].json()["accepted"] == len(MONTH)
    srv.writer._checkpoint_when_idle()
    assert store.digest() == store.digest(recount=True) and store.latest_batch() == 2


def test_the_openapi_document_types_every_operation(srv):
    spec = srv.client.get("/api/openapi.json").json()
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) >= 20
    for path, method, op in ops:
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (path, method)
        if path not in ("/api/contracts/{contract}/scorecard/live/stream",):
            assert any(
                "schema" in v.get("content", {}).get("application/json", {})
                for k, v in op["responses"].items()
                if k.startswith("2")
            ) or path.endswith("/evidence"), (path, method)
        if path != "/api/health":
            assert "401" in op["responses"], (path, method)


def test_the_live_scorecard_and_its_event_stream(srv):
    assert ingest(srv, MONTH, "live").status_code == 201
    srv.writer.catch_up()
    live = srv.client.get("/api/contracts/acme-northwind/scorecard/live", headers=srv.h("auditor")).json()
    assert live["as_of_batch"] == 1 and [p["period"] for p in live["periods"]] == ["2026-04", "2026-03"]
    march = live["periods"][1]
    disputes = next(w for w in march["workflows"] if w["workflow"] == "disputes")["outcomes"][0]
    assert (disputes["candidates"], disputes["counted"], disputes["excluded"]) == (
        2,
        1,
        {"repeat_contact": 1},
    )
    with srv.client.stream(
        "GET", "/api/contracts/acme-northwind/scorecard/live/stream?once=1", headers=srv.h("auditor")
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    assert "event: scorecard" in text and '"as_of_batch": 1' in text


def test_idempotency_keys_are_kept_at_least_seven_days(srv):
    from datetime import datetime, timedelta

    from outcomes.facts import receipts

    assert ingest(srv, MONTH, "old-key").status_code == 201
    with srv.writer.facts() as facts:
        received = receipts.find(facts.con, "Acme Bank", "old-key").received_at
        assert (
            receipts.prune(facts.con, received + timedelta(days=8)) == 0
        )  # a retry a week later still replays
    assert ingest(srv, MONTH, "old-key").json()["replayed"] is True
    with srv.writer.facts() as facts:
        assert receipts.prune(facts.con, datetime.now() + timedelta(days=receipts.KEEP_DAYS + 1)) == 1
        assert receipts.find(facts.con, "Acme Bank", "old-key") is None
