"""The pages without a browser: sign-in (argon2, cookie flags, CSRF, rate limit), every page renders for its
roles, another company's pages are 404, forms without the form token are refused."""

from __future__ import annotations

import json
import re

from server_helpers import PASSWORD, USERS, row


def signin(srv, role: str, password: str = PASSWORD):
    c = srv.client
    c.cookies.clear()
    form = c.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    return c.post(
        "/signin",
        data={"email": USERS[role][0], "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def settle_march(srv):
    rows = [
        row("t1", "c1", "2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z", queue="disputes"),
        row("t2", "c2", "2026-03-03T09:00:00Z", "2026-03-03T09:20:00Z"),
        row("clock", "zz", "2026-04-20T00:00:00Z", None, status="open"),
    ]
    h = srv.h("buyer-admin", **{"Idempotency-Key": "m", "Content-Type": "application/json"})
    assert (
        srv.client.post(
            "/api/contracts/acme-northwind/interactions", content=json.dumps(rows), headers=h
        ).status_code
        == 201
    )
    r = srv.client.post(
        "/api/contracts/acme-northwind/settlements", json={"period": "2026-03"}, headers=srv.h("buyer-admin")
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_sign_in_sets_a_safe_session_cookie_and_pages_render(srv):
    inv = settle_march(srv)
    r = signin(srv, "buyer-admin")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "outcomes_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    c = srv.client
    home = c.get("/")
    assert home.status_code == 200 and "acme-northwind" in home.text and "globex-initech" not in home.text
    page = c.get("/contracts/acme-northwind")
    assert page.status_code == 200 and "Live scorecard" in page.text and "data-stream" in page.text
    assert c.get("/contracts/acme-northwind/live").status_code == 200
    preview = c.get("/contracts/acme-northwind/preview?period=2026-04")
    assert preview.status_code == 200
    assert (
        c.get("/contracts/acme-northwind/charts/customer.svg?period=2026-03")
        .headers["content-type"]
        .startswith("image/svg+xml")
    )
    s = c.get("/contracts/acme-northwind/settlements/2026-03")
    assert s.status_code == 200 and inv["fingerprint"] in s.text
    fee = next(ln for ln in inv["lines"] if ln["kind"] == "outcome_fee")
    ev = c.get(f"/contracts/acme-northwind/settlements/2026-03/lines/{fee['line']}/evidence")
    assert ev.status_code == 200 and "format=csv" in ev.text
    ex = c.get(f"/contracts/acme-northwind/settlements/2026-03/lines/{fee['line']}/explain")
    assert ex.status_code == 200 and "SELECT" in ex.text
    # raise a dispute through the form, then the provider answers through theirs
    r = c.post(
        "/contracts/acme-northwind/settlements/2026-03/disputes",
        data={"line": fee["line"], "reason": "wrong count", "csrf": csrf_of(s.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    dispute_url = r.headers["location"]
    assert "wrong count" in c.get(dispute_url).text
    signin(srv, "provider-admin")
    d = c.get(dispute_url)
    assert "Your answer" in d.text
    r = c.post(
        f"{dispute_url}/answer", data={"text": "it is right", "csrf": csrf_of(d.text)}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    assert "it is right" in c.get(dispute_url).text
    audit = c.get("/audit")
    assert audit.status_code == 200 and "head-hash" in audit.text


def test_forms_without_the_form_token_are_refused(srv):
    settle_march(srv)
    signin(srv, "buyer-admin")
    r = srv.client.post(
        "/contracts/acme-northwind/settlements/2026-03/disputes",
        data={"line": 2, "reason": "x", "csrf": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    # a session calling the API must send the token too
    r = srv.client.post(
        "/api/contracts/acme-northwind/settlements", json={"period": "2026-04", "provisional": True}
    )
    assert r.status_code == 403 and r.json()["code"] == "csrf"


def test_another_company_gets_404_on_every_page_of_the_contract(srv):
    inv = settle_march(srv)
    signin(srv, "outsider")
    c = srv.client
    for path in (
        "/contracts/acme-northwind",
        "/contracts/acme-northwind/live",
        "/contracts/acme-northwind/settlements/2026-03",
        "/contracts/acme-northwind/settlements/2026-03/lines/2/evidence",
        f"/contracts/acme-northwind/settlements/2026-03/lines/{inv['lines'][0]['line']}/explain",
        "/contracts/acme-northwind/charts/customer.svg?period=2026-03",
    ):
        r = c.get(path, headers={"accept": "text/html"})
        assert r.status_code == 404, path
        assert "Acme" not in r.text and "Northwind" not in r.text


def test_pages_need_a_session_and_sign_in_is_rate_limited(srv):
    c = srv.client
    r = c.get("/contracts/acme-northwind", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    codes = [signin(srv, "buyer-admin", password="wrong password!").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    r = signin(srv, "buyer-admin")  # the right password, too soon after
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_a_forged_sign_in_form_is_refused(srv):
    r = srv.client.post("/signin", data={"email": USERS["buyer-admin"][0], "password": PASSWORD, "csrf": "x"})
    assert r.status_code == 403
