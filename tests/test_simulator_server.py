"""The shared server offers the renewal pack: JSON, the page, and the PDF download, to the contract's parties."""

from __future__ import annotations

import json

from server_helpers import row


def _settle_march(srv):
    rows = [
        row("a1", "c1", "2026-03-02T09:00:00Z", "2026-03-02T09:10:00Z", queue="disputes"),
        row("a2", "c2", "2026-03-03T09:00:00Z", "2026-03-03T09:10:00Z"),
        row("zz", "c9", "2026-04-20T09:00:00Z", None, status="open"),
    ]
    r = srv.client.post(
        "/api/contracts/acme-northwind/interactions",
        content=json.dumps(rows),
        headers=srv.h("buyer-admin", **{"Idempotency-Key": "march", "Content-Type": "application/json"}),
    )
    assert r.status_code == 201, r.text
    r = srv.client.post(
        "/api/contracts/acme-northwind/settlements", json={"period": "2026-03"}, headers=srv.h("buyer-admin")
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_the_renewal_pack_as_json_page_and_pdf(srv):
    invoice = _settle_march(srv)
    base = "/api/contracts/acme-northwind/renewal?from=2026-03&to=2026-03&integrity=false"
    pack = srv.client.get(base, headers=srv.h("auditor")).json()
    assert pack["totals"]["billed"] == invoice["total"] == "1007.00"  # base 1,000 + 5 + 2
    page = srv.client.get(base + "&format=html", headers=srv.h("buyer-viewer"))
    assert page.headers["content-type"].startswith("text/html") and "Targets against actuals" in page.text
    pdf = srv.client.get(base + "&format=pdf", headers=srv.h("provider-viewer"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]


def test_the_renewal_pack_is_refused_to_outsiders_and_for_an_unsettled_window(srv):
    r = srv.client.get("/api/contracts/acme-northwind/renewal?from=2026-03&to=2026-03", headers=srv.h("outsider"))
    assert r.status_code == 404
    r = srv.client.get("/api/contracts/acme-northwind/renewal?from=2026-05&to=2026-06", headers=srv.h("auditor"))
    assert r.status_code == 422 and r.json()["code"] == "renewal_refused"
