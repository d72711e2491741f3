"""`outcomes pull`: a local HTTP server (http.server in a thread) plays each helpdesk's API as documented
(Zendesk's cursor-based incremental export, Freshdesk's tickets by updated_since, Intercom's conversation
search), with a 429 + Retry-After, a cursor that ends mid-page and a record that changes between pages."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from helpdesk_api import freshdesk_ticket, intercom_conversation, unix, zendesk_metrics, zendesk_ticket
from outcomes.cli import app
from outcomes.connectors import ingest_mapped
from outcomes.connectors.pull import PullError, pull
from outcomes.facts import FactsStore

NOW = datetime(2026, 11, 1, tzinfo=UTC)
TOKEN = "s3cret-token-never-stored"


class Api:
    """A helpdesk API over a mutable data set. ``script[n]`` runs before answering request n (1-based): it may
    change the data (a ticket changed between pages) or return (status, headers, body) to answer instead."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any], Any, dict[str, str]]] = []
        self.script: dict[int, Callable[[], tuple[int, dict[str, str], Any] | None]] = {}

    def rate_limit(self, n: int, retry_after: str) -> None:
        self.script[n] = lambda: (429, {"Retry-After": retry_after}, {"error": "TooManyRequests"})

    def handle(self, method: str, path: str, query: dict[str, Any], body: Any) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError


class ZendeskApi(Api):
    """Incremental ticket export, cursor-based: every ticket change is an entry of the change log; a cursor is
    a position in it. A page gives the tickets changed in its entries and their metric sets."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[dict[str, Any], dict[str, Any] | None]] = []

    def change(self, ticket: dict[str, Any], metrics: dict[str, Any] | None = None) -> None:
        self.log.append((ticket, metrics))

    def handle(self, method, path, query, body):
        assert (method, path) == ("GET", "/api/v2/incremental/tickets/cursor.json")
        assert query["include"] == "metric_sets"
        per_page = int(query.get("per_page", 1000))
        if "cursor" in query:
            at = int(base64.b64decode(query["cursor"]).decode())
        else:
            start = int(query["start_time"])
            at = next((i for i, (t, _) in enumerate(self.log) if t["generated_timestamp"] >= start), len(self.log))
        entries = self.log[at : at + per_page]
        end = at + len(entries)
        return 200, {}, {
            "tickets": [t for t, _ in entries],
            "metric_sets": [m for _, m in entries if m is not None],
            "after_url": None,
            "after_cursor": base64.b64encode(str(end).encode()).decode(),
            "before_cursor": None,
            "end_of_stream": end >= len(self.log),
        }


class FreshdeskApi(Api):
    """GET /api/v2/tickets: tickets with updated_at >= updated_since, by updated_at then id, paged."""

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}

    def handle(self, method, path, query, body):
        assert (method, path) == ("GET", "/api/v2/tickets")
        assert (query["order_by"], query["order_type"], query["include"]) == ("updated_at", "asc", "stats")
        since = query["updated_since"]
        rows = sorted((t for t in self.tickets.values() if t["updated_at"] >= since), key=lambda t: (t["updated_at"], t["id"]))
        per_page, page = int(query["per_page"]), int(query["page"])
        chunk = rows[(page - 1) * per_page : page * per_page]
        more = len(rows) > page * per_page
        headers = {"Link": f'<{path}?page={page + 1}>; rel="next"'} if more else {}
        return 200, headers, chunk


class IntercomApi(Api):
    """POST /conversations/search: updated_at > value, in id order (not by update), paged by starting_after."""

    def __init__(self) -> None:
        super().__init__()
        self.conversations: dict[str, dict[str, Any]] = {}

    def handle(self, method, path, query, body):
        assert (method, path) == ("POST", "/conversations/search")
        q = body["query"]
        assert (q["field"], q["operator"]) == ("updated_at", ">")
        rows = sorted((c for c in self.conversations.values() if c["updated_at"] > q["value"]), key=lambda c: c["id"])
        after = body["pagination"].get("starting_after")
        if after:
            rows = [c for c in rows if c["id"] > base64.b64decode(after).decode()]
        per_page = body["pagination"]["per_page"]
        chunk = rows[:per_page]
        pages: dict[str, Any] = {"type": "pages", "per_page": per_page}
        if len(rows) > per_page:
            pages["next"] = {"starting_after": base64.b64encode(chunk[-1]["id"].encode()).decode()}
        return 200, {}, {"type": "conversation.list", "conversations": chunk, "total_count": len(rows), "pages": pages}


@pytest.fixture
def serve():
    servers = []

    def start(api: Api, expect_auth: str) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size)) if size else None
                api.requests.append((method, parts.path, query, body, dict(self.headers)))
                n = len(api.requests)
                if self.headers.get("Authorization") != expect_auth:
                    status, headers, payload = 401, {}, {"error": "Couldn't authenticate you"}
                else:
                    scripted = api.script[n]() if n in api.script else None
                    status, headers, payload = scripted or api.handle(method, parts.path, query, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._answer("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._answer("POST")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def store():
    with FactsStore(":memory:") as s:
        yield s


def _ingest(store: FactsStore) -> Callable[[Path, str], Any]:
    return lambda file, mapping: ingest_mapped(store, "interactions", file, mapping, now=NOW)


def _current(store: FactsStore) -> dict[str, dict[str, Any]]:
    cur = store.con.execute("SELECT * FROM interactions WHERE _until IS NULL ORDER BY interaction_id")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _no_secret_in(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            assert TOKEN.encode() not in f.read_bytes(), f  # the store and ledger too


# --- Zendesk --------------------------------------------------------------------------------------------------


def _zendesk(serve) -> tuple[ZendeskApi, dict[str, str]]:
    api = ZendeskApi()
    url = serve(api, _basic("ops@acme.test/token", TOKEN))
    return api, {"ZENDESK_BASE_URL": url, "ZENDESK_EMAIL": "ops@acme.test", "ZENDESK_API_TOKEN": TOKEN}


def test_zendesk_incremental_export(serve, store, tmp_path):
    api, env = _zendesk(serve)
    api.change(zendesk_ticket(1, "solved", updated="2026-10-01T10:00:00Z"), zendesk_metrics(1, "2026-10-01T10:00:00Z"))
    api.change(zendesk_ticket(2, "open", updated="2026-10-01T11:00:00Z"), zendesk_metrics(2, None))
    api.change(zendesk_ticket(3, "pending", updated="2026-10-01T12:00:00Z"), zendesk_metrics(3, None))
    api.change(zendesk_ticket(4, "open", updated="2026-10-01T13:00:00Z"), zendesk_metrics(4, None))
    api.change(zendesk_ticket(5, "new", updated="2026-10-01T14:00:00Z"), zendesk_metrics(5, None))
    api.change(zendesk_ticket(6, "hold", updated="2026-10-01T15:00:00Z"), zendesk_metrics(6, None))
    api.change(zendesk_ticket(9, "open", updated="2026-09-01T14:00:00Z"), zendesk_metrics(9, None))  # before --since

    def ticket_1_reopened_and_solved_again():
        # between the first and second page, ticket 1 is reopened and solved again: a later entry of the log
        api.change(zendesk_ticket(1, "solved", updated="2026-10-02T09:00:00Z"),
                   zendesk_metrics(1, "2026-10-02T09:00:00Z", reopens=1))

    api.script[2] = ticket_1_reopened_and_solved_again
    api.rate_limit(3, "7")
    api.log.sort(key=lambda e: e[0]["generated_timestamp"])
    slept: list[float] = []
    s = pull("zendesk", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env, page_size=2, sleep=slept.append)
    assert slept == [7.0] and s.rate_limited == 1
    # the log after the change: 9 (before --since) | 1, 2 | 3, 4 | 5, 6 | 1': four pages (the 429 is not one),
    # the last one not full; seven records read, six tickets written
    assert (s.pages, s.records, s.written) == (4, 7, 6)
    assert api.requests[0][2]["start_time"] == str(unix("2026-10-01T00:00:00Z"))
    rows = _current(store)
    assert set(rows) == {"1", "2", "3", "4", "5", "6"}
    assert rows["1"]["closed_at"] == datetime(2026, 10, 2, 9, 0) and rows["1"]["reopened"] is True  # later wins
    assert s.totals["accepted"] == 6 and s.totals["quarantined"] == 0
    _no_secret_in(tmp_path)

    # the stream ended mid-page (page 3 was not full): a rerun resumes from its cursor and adds nothing
    digest, batches = store.digest(), len(store.con.execute("SELECT * FROM batches").fetchall())
    again = pull("zendesk", tmp_path, _ingest(store), env=env, page_size=2)
    assert again.resumed and (again.records, again.written, again.batches) == (0, 0, [])
    assert api.requests[-1][2]["cursor"] == base64.b64encode(b"8").decode()
    assert store.digest() == digest and len(store.con.execute("SELECT * FROM batches").fetchall()) == batches

    # a later change: only it is read
    api.change(zendesk_ticket(2, "closed", updated="2026-10-05T09:00:00Z"), zendesk_metrics(2, "2026-10-03T09:00:00Z"))
    later = pull("zendesk", tmp_path, _ingest(store), env=env, page_size=2)
    assert (later.records, later.totals["updated"], later.totals["accepted"]) == (1, 1, 0)
    assert _current(store)["2"]["closed_at"] == datetime(2026, 10, 3, 9, 0)


def test_zendesk_batches_per_page_later_version_is_an_update(serve, store, tmp_path):
    api, env = _zendesk(serve)
    api.change(zendesk_ticket(1, "open", updated="2026-10-01T10:00:00Z"))
    api.change(zendesk_ticket(2, "open", updated="2026-10-01T11:00:00Z"))
    api.change(zendesk_ticket(1, "closed", updated="2026-10-04T10:00:00Z"))  # no metric set: closed at updated_at
    s = pull("zendesk", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env, page_size=2, pages_per_batch=1)
    assert len(s.batches) == 2 and (s.totals["accepted"], s.totals["updated"]) == (2, 1)
    assert _current(store)["1"]["closed_at"] == datetime(2026, 10, 4, 10, 0)
    assert len(s.files) == 2 and all(Path(f).parent == tmp_path / "zendesk" for f in s.files)


# --- Freshdesk ------------------------------------------------------------------------------------------------


def test_freshdesk_updated_since_cursor_mid_page(serve, store, tmp_path):
    api = FreshdeskApi()
    url = serve(api, _basic(TOKEN, "X"))
    env = {"FRESHDESK_BASE_URL": url, "FRESHDESK_API_KEY": TOKEN}
    same = "2026-10-01T10:00:00Z"  # three tickets changed in the same second: the cursor falls inside a page
    for t in (
        freshdesk_ticket(1, 4, updated=same, resolved_at=same),
        freshdesk_ticket(2, 2, updated=same),
        freshdesk_ticket(3, 2, updated=same),
        freshdesk_ticket(4, 3, updated="2026-10-01T11:00:00Z"),
        freshdesk_ticket(5, 2, updated="2026-10-01T12:00:00Z"),
    ):
        api.tickets[t["id"]] = t

    def ticket_2_resolved():
        api.tickets[2] = freshdesk_ticket(2, 4, updated="2026-10-02T08:00:00Z", resolved_at="2026-10-02T08:00:00Z")

    api.script[2] = ticket_2_resolved
    api.rate_limit(3, "Wed, 01 Jan 2020 00:00:00 GMT")  # an HTTP date in the past: no wait
    slept: list[float] = []
    s = pull("freshdesk", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env, page_size=2, sleep=slept.append)
    assert slept == [0.0]
    rows = _current(store)
    assert set(rows) == {"1", "2", "3", "4", "5"}
    assert rows["2"]["status"] == "resolved" and rows["2"]["closed_at"] == datetime(2026, 10, 2, 8, 0)
    # every version read once: 1, 2, 3, 4, 5 and ticket 2's later version
    assert (s.records, s.written) == (6, 5)
    assert s.cursor == {"updated_since": "2026-10-02T08:00:00Z", "seen": ["2"], "page": 1}
    _no_secret_in(tmp_path)

    again = pull("freshdesk", tmp_path, _ingest(store), env=env, page_size=2)
    assert (again.records, again.batches) == (0, [])
    assert api.requests[-1][2]["updated_since"] == "2026-10-02T08:00:00Z"


def test_freshdesk_one_second_holding_more_than_a_page(serve, store, tmp_path):
    api = FreshdeskApi()
    url = serve(api, _basic(TOKEN, "X"))
    env = {"FRESHDESK_BASE_URL": url, "FRESHDESK_API_KEY": TOKEN}
    for i in range(1, 6):
        api.tickets[i] = freshdesk_ticket(i, 2, updated="2026-10-01T10:00:00Z")
    s = pull("freshdesk", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env, page_size=2)
    assert (s.records, s.written) == (5, 5) and set(_current(store)) == {"1", "2", "3", "4", "5"}
    api.tickets[6] = freshdesk_ticket(6, 2, updated="2026-10-01T10:00:00Z")  # a sixth in that same second
    again = pull("freshdesk", tmp_path, _ingest(store), env=env, page_size=2)
    assert again.records == 1 and again.totals["accepted"] == 1


# --- Intercom -------------------------------------------------------------------------------------------------


def test_intercom_search_pages_resume_inside_a_query(serve, store, tmp_path):
    api = IntercomApi()
    url = serve(api, f"Bearer {TOKEN}")
    env = {"INTERCOM_BASE_URL": url, "INTERCOM_ACCESS_TOKEN": TOKEN}
    for i, updated in enumerate(["2026-10-03T10:00:00Z", "2026-10-01T10:00:00Z", "2026-10-02T10:00:00Z",
                                 "2026-10-01T12:00:00Z", "2026-10-02T12:00:00Z"], start=1):
        api.conversations[f"c{i}"] = intercom_conversation(f"c{i}", "open", updated=updated)

    def c1_closed():  # c1, read on page 1, is closed while the pull pages (the search is in id order)
        api.conversations["c1"] = intercom_conversation("c1", "closed", updated="2026-10-04T10:00:00Z",
                                                         last_close="2026-10-04T10:00:00Z")

    api.rate_limit(2, "3")
    api.script[3] = c1_closed
    api.script[4] = lambda: (500, {}, {"errors": [{"code": "server_error"}]})  # the pull breaks on page 3
    slept: list[float] = []
    with pytest.raises(PullError, match="HTTP 500"):
        pull("intercom", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env, page_size=2,
             pages_per_batch=1, sleep=slept.append)
    assert slept == [3.0]
    assert set(_current(store)) == {"c1", "c2", "c3", "c4"}  # pages 1 and 2 were committed
    kept = json.loads((tmp_path / "intercom.cursor.json").read_text())["cursor"]
    assert kept["query"]["starting_after"]  # inside the query
    assert api.requests[0][4]["Intercom-Version"]

    # the rerun resumes inside the query: page 3 (c5) ends it
    s = pull("intercom", tmp_path, _ingest(store), env=env, page_size=2)
    assert s.resumed and (s.pages, s.records) == (1, 1)
    assert api.requests[-1][3]["pagination"]["starting_after"] == kept["query"]["starting_after"]
    # the next pull queries from the latest change read, and finds c1 closed (and nothing read before)
    s = pull("intercom", tmp_path, _ingest(store), env=env, page_size=2)
    assert s.records == 1 and s.totals["updated"] == 1
    assert api.requests[-1][3]["query"]["value"] == unix("2026-10-03T10:00:00Z") - 1
    rows = _current(store)
    assert set(rows) == {"c1", "c2", "c3", "c4", "c5"}
    assert rows["c1"]["status"] == "resolved" and rows["c1"]["closed_at"] == datetime(2026, 10, 4, 10, 0)
    assert s.cursor == {"updated_at": unix("2026-10-04T10:00:00Z"), "seen": ["c1"], "query": None}
    again = pull("intercom", tmp_path, _ingest(store), env=env, page_size=2)
    assert (again.records, again.batches) == (0, [])
    _no_secret_in(tmp_path)


# --- credentials and refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "env", "names"),
    [
        ("zendesk", {}, "ZENDESK_SUBDOMAIN"),
        ("zendesk", {"ZENDESK_SUBDOMAIN": "acme"}, "ZENDESK_EMAIL"),
        ("zendesk", {"ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": "a@b.c"}, "ZENDESK_API_TOKEN"),
        ("freshdesk", {}, "FRESHDESK_DOMAIN"),
        ("freshdesk", {"FRESHDESK_DOMAIN": "acme", "FRESHDESK_API_KEY": " "}, "FRESHDESK_API_KEY"),
        ("intercom", {}, "INTERCOM_ACCESS_TOKEN"),
        ("intercom", {"INTERCOM_ACCESS_TOKEN": "t", "INTERCOM_BASE_URL": "http://api.example.com"}, "INTERCOM_BASE_URL"),
        ("zendesk", {"ZENDESK_SUBDOMAIN": "acme/../x"}, "ZENDESK_SUBDOMAIN"),
    ],
)
def test_missing_or_unsafe_credentials_name_the_variable(tmp_path, store, vendor, env, names):
    with pytest.raises(PullError, match=names):
        pull(vendor, tmp_path, _ingest(store), since=date(2026, 10, 1), env=env)
    assert not list(tmp_path.iterdir())  # nothing written


def test_refused_credentials_and_first_pull_without_since(serve, store, tmp_path):
    api = FreshdeskApi()
    url = serve(api, _basic("right", "X"))
    env = {"FRESHDESK_BASE_URL": url, "FRESHDESK_API_KEY": "wrong"}
    with pytest.raises(PullError, match="refused the credentials") as info:
        pull("freshdesk", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env)
    assert "FRESHDESK_API_KEY" in (info.value.hint or "")
    with pytest.raises(PullError, match="needs --since"):
        pull("freshdesk", tmp_path, _ingest(store), env=env)


def test_a_long_retry_after_stops_with_the_cursor_kept(serve, store, tmp_path):
    api, env = _zendesk(serve)
    api.change(zendesk_ticket(1, "open", updated="2026-10-01T10:00:00Z"))
    api.rate_limit(1, "3600")
    with pytest.raises(PullError, match="rate limited") as info:
        pull("zendesk", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env, sleep=lambda s: None)
    assert "rerun later" in (info.value.hint or "")


# --- the command ------------------------------------------------------------------------------------------------


def test_cli_pull_freshdesk_then_rerun(serve, tmp_path):
    api = FreshdeskApi()
    url = serve(api, _basic(TOKEN, "X"))
    for t in (freshdesk_ticket(1, 4, updated="2026-10-01T10:00:00Z", resolved_at="2026-10-01T10:00:00Z"),
              freshdesk_ticket(2, 4, updated="2026-10-01T11:00:00Z", stats=False)):
        api.tickets[t["id"]] = t
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    env = {"FRESHDESK_BASE_URL": url, "FRESHDESK_API_KEY": TOKEN, "OUTCOMES_WORKSPACE": ""}
    r = runner.invoke(app, ["pull", "freshdesk", "--since", "2026-10-01", "-w", str(ws), "--json"], env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["records"], data["totals"]["accepted"], data["totals"]["quarantined"]) == (2, 1, 1)
    assert data["totals"]["reasons"] == {"missing_resolved_at": 1}
    assert TOKEN not in r.output
    _no_secret_in(ws)
    r = runner.invoke(app, ["pull", "freshdesk", "--since", "2026-10-01", "-w", str(ws)], env=env)
    assert r.exit_code == 0, r.output
    assert "resumed from its cursor" in r.stdout and "0 record(s) read" in r.stdout
    assert "--since was not used" in r.stdout
    r = runner.invoke(app, ["quarantine", "list", "-w", str(ws), "--json"], env=env)
    assert json.loads(r.stdout)[0]["reason"] == "missing_resolved_at"


def test_cli_pull_without_credentials_names_the_variable(tmp_path):
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["pull", "intercom", "--since", "2026-10-01", "-w", str(ws)],
                      env={"INTERCOM_ACCESS_TOKEN": "", "OUTCOMES_WORKSPACE": ""})
    assert r.exit_code == 1 and "INTERCOM_ACCESS_TOKEN" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["pull", "intercom", "--since", "2026-13-01", "-w", str(ws)])
    assert r.exit_code == 1 and "not a date" in r.output


@pytest.mark.parametrize(
    ("vendor", "answer", "says"),
    [
        ("zendesk", {"count": 1}, "no list 'tickets'"),
        ("zendesk", [{"id": 1}], "no list 'tickets'"),
        ("freshdesk", {"tickets": []}, "no list of records"),
        ("freshdesk", [{"id": 1, "updated_at": "yesterday"}], "'yesterday' as a time"),
        ("intercom", {"conversations": [{"id": "c1", "updated_at": "soon"}]}, "'soon' as a UNIX time"),
    ],
)
def test_answers_of_another_shape_are_refused_cleanly(serve, store, tmp_path, vendor, answer, says):
    api = Api()
    api.script[1] = lambda: (200, {}, answer)
    auth = {"zendesk": _basic("a@b.c/token", TOKEN), "freshdesk": _basic(TOKEN, "X"), "intercom": f"Bearer {TOKEN}"}
    url = serve(api, auth[vendor])
    env = {
        "zendesk": {"ZENDESK_BASE_URL": url, "ZENDESK_EMAIL": "a@b.c", "ZENDESK_API_TOKEN": TOKEN},
        "freshdesk": {"FRESHDESK_BASE_URL": url, "FRESHDESK_API_KEY": TOKEN},
        "intercom": {"INTERCOM_BASE_URL": url, "INTERCOM_ACCESS_TOKEN": TOKEN},
    }[vendor]
    with pytest.raises(PullError, match=says):
        pull(vendor, tmp_path, _ingest(store), since=date(2026, 10, 1), env=env)
    assert not (tmp_path / f"{vendor}.cursor.json").exists()


def test_a_refused_batch_leaves_the_cursor_where_it_was(serve, store, tmp_path):
    api, env = _zendesk(serve)
    api.change(zendesk_ticket(1, "open", updated="2026-10-01T10:00:00Z"))

    def refuse(file: Path, mapping: str) -> Any:
        raise PullError("refused (e.g. it would change a settled period)")

    with pytest.raises(PullError, match="refused"):
        pull("zendesk", tmp_path, refuse, since=date(2026, 10, 1), env=env)
    assert not (tmp_path / "zendesk.cursor.json").exists()
    s = pull("zendesk", tmp_path, _ingest(store), since=date(2026, 10, 1), env=env)  # read again, in full
    assert (s.resumed, s.records, s.totals["accepted"]) == (False, 1, 1)
