"""Real-browser tests of the shared server: Playwright drives Debian's chromium (/usr/bin/chromium, never a
downloaded browser) against the server on loopback.

A buyer signs in, a batch is ingested through the API and the live scorecard changes without a reload; the
buyer opens a line's evidence and raises a dispute; the provider signs in and answers it; a user of another
company sees none of it and gets 404 on its URLs. Every page is checked with axe-core (no serious or critical
violation) at a laptop's and a tablet's size, and its screenshot is kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from server_helpers import PASSWORD, USERS, make_server, row

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
SIZES = {"laptop": {"width": 1366, "height": 800}, "tablet": {"width": 768, "height": 1024}}


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path):
    import uvicorn

    srv = make_server(tmp_path, live=True)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(srv.client.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    srv.url = f"http://127.0.0.1:{port}"
    yield srv
    server.should_exit = True
    thread.join(timeout=10)


def _post(srv, role: str, path: str, body, key: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {srv.tokens[role]}"}
    if key is not None:
        headers |= {"Idempotency-Key": key, "Content-Type": "application/json"}
        r = httpx.post(srv.url + path, content=json.dumps(body), headers=headers, timeout=30)
    else:
        r = httpx.post(srv.url + path, json=body, headers=headers, timeout=30)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _check_page(page, name: str) -> None:
    """No serious or critical accessibility violation, at either size; a screenshot of each."""
    from axe_playwright_python.sync_playwright import Axe

    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        results = Axe().run(page)
        bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name} ({size}): " + "; ".join(f"{v['id']}: {v['help']}" for v in bad)
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["laptop"])


def _sign_in(page, srv, role: str) -> None:
    page.goto(srv.url + "/signin")
    page.get_by_label("Email").fill(USERS[role][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(srv.url + "/")


def test_buyer_provider_and_outsider_in_a_real_browser(live_server, browser):
    srv = live_server
    march = [
        row("t1", "c1", "2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z", queue="disputes"),
        row("t2", "c2", "2026-03-03T09:00:00Z", "2026-03-03T09:20:00Z"),
        row("t3", "c1", "2026-03-05T09:00:00Z", "2026-03-05T09:30:00Z", queue="disputes"),
        row("a1", "c4", "2026-04-20T08:00:00Z", "2026-04-20T08:30:00Z", queue="disputes"),
    ]
    _post(srv, "buyer-admin", "/api/contracts/acme-northwind/interactions", march, key="march")
    inv = _post(srv, "buyer-admin", "/api/contracts/acme-northwind/settlements", {"period": "2026-03"})
    fee = next(ln for ln in inv["lines"] if ln["kind"] == "outcome_fee" and ln["workflows"] == ["disputes"])

    buyer = browser.new_context(viewport=SIZES["laptop"])
    page = buyer.new_page()
    page.goto(srv.url + "/signin")
    _check_page(page, "signin")
    _sign_in(page, srv, "buyer-admin")
    _check_page(page, "contracts")
    page.get_by_role("link", name="acme-northwind").click()
    live = page.locator("table.live[data-period='2026-04']")
    live.wait_for()
    candidates = live.locator("tbody tr").first.locator("td.num").first
    before = candidates.inner_text()
    assert before == "1"
    page.locator("#preview table").wait_for(timeout=30000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.charts img')].every(i => i.complete && i.naturalWidth > 0)",
        timeout=60000,
    )
    _check_page(page, "contract")

    # a batch through the API: the page shows it without a reload
    april = [
        row(f"a{i}", f"n{i}", "2026-04-21T08:00:00Z", "2026-04-21T08:30:00Z", queue="disputes")
        for i in range(2, 6)
    ]
    _post(srv, "buyer-admin", "/api/contracts/acme-northwind/interactions", april, key="april")
    page.wait_for_function(
        "() => document.querySelector(\"table.live[data-period='2026-04'] tbody tr td.num\").textContent === '5'",
        timeout=20000,
    )
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # no reload

    # a line's evidence, then a dispute of it
    page.goto(f"{srv.url}/contracts/acme-northwind/settlements/2026-03")
    _check_page(page, "settlement")
    page.get_by_role("link", name=f"Evidence of line {fee['line']}").click()
    page.get_by_role("cell", name="repeat_contact").wait_for()
    _check_page(page, "evidence")
    page.go_back()
    page.get_by_role("link", name=f"Explain line {fee['line']}").click()
    page.get_by_role("heading", name="Candidates by fate and reason").wait_for()
    _check_page(page, "explain")
    page.go_back()
    page.get_by_label("Line").select_option(str(fee["line"]))
    page.get_by_label("Reason").fill("t1 was solved on the first contact")
    page.get_by_label("Amount claimed").fill("5.00")
    page.get_by_role("button", name="Raise the dispute").click()
    page.get_by_text("t1 was solved on the first contact").wait_for()
    dispute_url = page.url
    _check_page(page, "dispute-buyer")

    # the provider answers
    provider = browser.new_context(viewport=SIZES["tablet"])
    p2 = provider.new_page()
    _sign_in(p2, srv, "provider-admin")
    p2.goto(dispute_url)
    p2.get_by_label("Your answer").fill("t3 was about the same card")
    p2.get_by_role("button", name="Answer").click()
    p2.get_by_text("t3 was about the same card").wait_for()
    assert "answered" in p2.locator("h1").inner_text()
    _check_page(p2, "dispute-provider")
    p2.goto(srv.url + "/audit")
    _check_page(p2, "audit")

    # another company sees none of it
    outsider = browser.new_context(viewport=SIZES["laptop"])
    p3 = outsider.new_page()
    _sign_in(p3, srv, "outsider")
    assert "acme-northwind" not in p3.content()
    for path in ("/contracts/acme-northwind", "/contracts/acme-northwind/settlements/2026-03", dispute_url):
        url = path if path.startswith("http") else srv.url + path
        response = p3.goto(url)
        assert response.status == 404, url
        assert "Acme" not in p3.content() and "t1 was solved" not in p3.content()
    _check_page(p3, "not-found")
    for ctx in (buyer, provider, outsider):
        ctx.close()
