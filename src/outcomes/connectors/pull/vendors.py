"""The three helpdesk APIs: where their change feed is, how it pages, what the cursor is, how a page becomes
the file the vendor's JSON mapping reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from .api import Api, PullError, base_url, env_value


@dataclass
class Page:
    """One answer of the feed: its records (each with what was sideloaded for it), the cursor after it, and
    whether the feed is read to its end."""

    items: list[tuple[dict[str, Any], Any]]
    cursor: dict[str, Any]
    done: bool


def _when(text: Any) -> datetime:
    """An ISO 8601 time of an API (``2026-10-01T09:00:00Z``) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise PullError(f"the API gave {text!r} as a time, not ISO 8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _records(data: Any, key: str | None, vendor: str, path: str) -> list[dict[str, Any]]:
    if key is None:
        found = data
    else:
        found = data.get(key) if isinstance(data, dict) else None
    if not isinstance(found, list) or not all(isinstance(r, dict) and "id" in r for r in found):
        where = f"list {key!r}" if key else "list"
        raise PullError(f"{vendor}: the answer to {path} has no {where} of records with an id")
    return found


def _unix(value: Any, vendor: str) -> int:
    """A UNIX time of the API (Intercom's updated_at)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PullError(f"{vendor}: the API gave {value!r} as a UNIX time") from None


class Vendor:
    name: ClassVar[str]
    mapping: ClassVar[str]  # the built-in mapping the pulled file is read with
    noun: ClassVar[str]
    credentials: ClassVar[str]  # the variables, for messages and docs
    page_size: ClassVar[int]

    def connect(self, env: Mapping[str, str], **kw: Any) -> Api:
        raise NotImplementedError

    def start(self, since: datetime) -> dict[str, Any]:
        raise NotImplementedError

    def fetch(self, api: Api, cursor: dict[str, Any], page_size: int) -> Page:
        raise NotImplementedError

    def version(self, record: dict[str, Any]) -> Any:
        raise NotImplementedError

    def document(self, items: list[tuple[dict[str, Any], Any]]) -> Any:
        raise NotImplementedError


class Zendesk(Vendor):
    """Cursor-based incremental ticket export: ``GET /api/v2/incremental/tickets/cursor.json?start_time=UNIX``
    then ``?cursor=AFTER_CURSOR`` until ``end_of_stream``; the last ``after_cursor`` is where the next pull
    starts (Zendesk: keep it and ask again later for what changed since). ``include=metric_sets`` sideloads
    each ticket's metric set (its solve time, reopens, reply and resolution times)."""

    name = "zendesk"
    mapping = "zendesk-json"
    noun = "tickets"
    credentials = "ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL), ZENDESK_EMAIL and ZENDESK_API_TOKEN"
    page_size = 1000
    PATH = "/api/v2/incremental/tickets/cursor.json"

    def connect(self, env: Mapping[str, str], **kw: Any) -> Api:
        sub = (env.get("ZENDESK_SUBDOMAIN") or "").strip()
        if sub and not sub.replace("-", "").isalnum():
            raise PullError(f"zendesk: ZENDESK_SUBDOMAIN {sub!r} is not a subdomain (acme for acme.zendesk.com)")
        base = base_url(env, "ZENDESK_BASE_URL", f"https://{sub}.zendesk.com" if sub else None, self.name,
                        "ZENDESK_SUBDOMAIN")
        user = env_value(env, "ZENDESK_EMAIL", self.name, "the agent's e-mail address of the API token")
        token = env_value(env, "ZENDESK_API_TOKEN", self.name, "an API token: Admin Center > Apps > Zendesk API")
        return Api(self.name, base, self.credentials, auth=(f"{user}/token", token), **kw)

    def start(self, since: datetime) -> dict[str, Any]:
        return {"start_time": int(since.timestamp())}

    def fetch(self, api: Api, cursor: dict[str, Any], page_size: int) -> Page:
        params: dict[str, Any] = {"include": "metric_sets", "per_page": page_size}
        if cursor.get("after_cursor"):
            params["cursor"] = cursor["after_cursor"]
        else:
            params["start_time"] = cursor["start_time"]
        data, _ = api.call("GET", self.PATH, params=params)
        tickets = _records(data, "tickets", self.name, self.PATH)
        sideload = data.get("metric_sets")
        metrics = {str(m.get("ticket_id")): m for m in sideload or [] if isinstance(m, dict)} if isinstance(
            sideload, list
        ) else {}
        after = data.get("after_cursor")
        nxt = {"after_cursor": after} if after else dict(cursor)
        return Page([(t, metrics.get(str(t["id"]))) for t in tickets], nxt, bool(data.get("end_of_stream")))

    def version(self, record: dict[str, Any]) -> Any:
        return (_when(record["updated_at"]) if record.get("updated_at") else datetime.min.replace(tzinfo=UTC))

    def document(self, items: list[tuple[dict[str, Any], Any]]) -> Any:
        return {"tickets": [t for t, _ in items], "metric_sets": [m for _, m in items if m is not None]}


class Freshdesk(Vendor):
    """Tickets listed by change: ``GET /api/v2/tickets?updated_since=ISO&order_by=updated_at&order_type=asc&
    include=stats&per_page=100&page=N``. The cursor is the latest ``updated_at`` read and the ids read at that
    second: each request starts again at that time (a ticket that changes while the pull pages moves to the
    end of the order, so page numbers alone would skip one), and pages on only while a whole page holds
    nothing new (tickets sharing one second)."""

    name = "freshdesk"
    mapping = "freshdesk-json"
    noun = "tickets"
    credentials = "FRESHDESK_DOMAIN (or FRESHDESK_BASE_URL) and FRESHDESK_API_KEY"
    page_size = 100
    PATH = "/api/v2/tickets"

    def connect(self, env: Mapping[str, str], **kw: Any) -> Api:
        domain = (env.get("FRESHDESK_DOMAIN") or "").strip()
        if domain and not domain.replace("-", "").replace(".", "").isalnum():
            raise PullError(f"freshdesk: FRESHDESK_DOMAIN {domain!r} is not a domain (acme or acme.freshdesk.com)")
        host = domain if "." in domain else f"{domain}.freshdesk.com"
        base = base_url(env, "FRESHDESK_BASE_URL", f"https://{host}" if domain else None, self.name,
                        "FRESHDESK_DOMAIN")
        key = env_value(env, "FRESHDESK_API_KEY", self.name, "the agent's API key: Profile settings > API key")
        return Api(self.name, base, self.credentials, auth=(key, "X"), **kw)

    def start(self, since: datetime) -> dict[str, Any]:
        return {"updated_since": _iso(since), "seen": [], "page": 1}

    def fetch(self, api: Api, cursor: dict[str, Any], page_size: int) -> Page:
        params = {
            "updated_since": cursor["updated_since"],
            "order_by": "updated_at",
            "order_type": "asc",
            "include": "stats",
            "per_page": page_size,
            "page": cursor.get("page", 1),
        }
        data, _ = api.call("GET", self.PATH, params=params)
        tickets = _records(data, None, self.name, self.PATH)
        mark, seen = _when(cursor["updated_since"]), set(cursor.get("seen", []))
        new = [
            t for t in tickets
            if _when(t.get("updated_at")) > mark or (_when(t.get("updated_at")) == mark and str(t["id"]) not in seen)
        ]
        full = len(tickets) >= page_size
        if new:
            top = max(_when(t["updated_at"]) for t in new)
            at_top = {str(t["id"]) for t in new if _when(t["updated_at"]) == top}
            if top == mark:
                at_top |= seen
            nxt = {"updated_since": _iso(top), "seen": sorted(at_top), "page": 1}
        else:
            nxt = dict(cursor, page=cursor.get("page", 1) + 1) if full else dict(cursor, page=1)
        return Page([(t, None) for t in new], nxt, not full)

    def version(self, record: dict[str, Any]) -> Any:
        return _when(record.get("updated_at"))

    def document(self, items: list[tuple[dict[str, Any], Any]]) -> Any:
        return [t for t, _ in items]


class Intercom(Vendor):
    """Conversation search: ``POST /conversations/search`` with ``updated_at > T`` and ``pagination:
    {per_page, starting_after}``, following ``pages.next.starting_after`` to the last page. The cursor keeps
    the query under way (its ``starting_after``: an interrupted pull resumes inside it) and, once it is read,
    the latest ``updated_at`` and the ids read at that second, where the next query starts."""

    name = "intercom"
    mapping = "intercom-json"
    noun = "conversations"
    credentials = "INTERCOM_ACCESS_TOKEN (and INTERCOM_BASE_URL for another region)"
    page_size = 150
    PATH = "/conversations/search"

    def connect(self, env: Mapping[str, str], **kw: Any) -> Api:
        base = base_url(env, "INTERCOM_BASE_URL", "https://api.intercom.io", self.name, "INTERCOM_BASE_URL")
        token = env_value(env, "INTERCOM_ACCESS_TOKEN", self.name, "an access token of the workspace's app")
        headers = {"Authorization": f"Bearer {token}", "Intercom-Version": "2.11"}
        return Api(self.name, base, self.credentials, headers=headers, **kw)

    def start(self, since: datetime) -> dict[str, Any]:
        return {"updated_at": int(since.timestamp()), "seen": [], "query": None}

    def fetch(self, api: Api, cursor: dict[str, Any], page_size: int) -> Page:
        mark, seen = int(cursor["updated_at"]), {str(x) for x in cursor.get("seen", [])}
        query = cursor.get("query") or {"top": mark, "at_top": sorted(seen), "starting_after": None}
        pagination: dict[str, Any] = {"per_page": page_size}
        if query.get("starting_after"):
            pagination["starting_after"] = query["starting_after"]
        body = {"query": {"field": "updated_at", "operator": ">", "value": mark - 1}, "pagination": pagination}
        data, _ = api.call("POST", self.PATH, body=body)
        found = _records(data, "conversations", self.name, self.PATH)
        new = [
            c for c in found
            if (when := _unix(c.get("updated_at"), self.name)) > mark or (when == mark and str(c["id"]) not in seen)
        ]
        top, at_top = int(query["top"]), set(query["at_top"])
        for c in new:
            when = _unix(c.get("updated_at"), self.name)
            if when > top:
                top, at_top = when, set()
            if when == top:
                at_top.add(str(c["id"]))
        pages = data.get("pages") if isinstance(data.get("pages"), dict) else {}
        nxt_page = (pages.get("next") or {}).get("starting_after") if isinstance(pages.get("next"), dict) else None
        if nxt_page:
            nxt = dict(cursor, query={"top": top, "at_top": sorted(at_top), "starting_after": nxt_page})
        else:  # the query is read: the next one starts at the latest change read
            nxt = {"updated_at": top, "seen": sorted(at_top), "query": None}
        return Page([(c, None) for c in new], nxt, not nxt_page)

    def version(self, record: dict[str, Any]) -> Any:
        return _unix(record.get("updated_at"), self.name)

    def document(self, items: list[tuple[dict[str, Any], Any]]) -> Any:
        return {"type": "conversation.list", "conversations": [c for c, _ in items]}


VENDORS: dict[str, Vendor] = {v.name: v for v in (Zendesk(), Freshdesk(), Intercom())}
