"""Who is calling and what they may do: API tokens, browser sessions, roles per contract, tenancy.

- No, or a bad (unknown, expired, revoked), token or session: 401.
- A contract whose `parties` do not name the caller's organisation on the side of one of their roles does not
  exist for them: 404, for the contract and everything of it (never its data, never a 403 that confirms it).
- A contract they see, an action their role does not allow: 403.
- A browser session writing (POST) must send its form token (CSRF): a hidden field or `X-CSRF-Token`.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from outcomes.ledger import access as people
from outcomes.server.problems import HTTPProblem

SESSION_COOKIE = "outcomes_session"
CSRF_HEADER = "X-CSRF-Token"

ALL = frozenset(people.ROLES)
ADMINS = frozenset({"buyer-admin", "provider-admin"})

#: action -> the roles allowed to do it (docs/server.md has this table)
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": ALL,
    "preview": ALL,
    "ingest_interactions": ADMINS,
    "ingest_events": frozenset({"buyer-admin"}),
    "settle": ADMINS,
    "dispute_open": ADMINS,
    "dispute_answer": ADMINS,
    "dispute_comment": ADMINS | {"auditor"},
}


@dataclass(frozen=True)
class Caller:
    person: people.Person
    via: str  # token | session
    csrf: str | None = None

    @property
    def label(self) -> str:
        return self.person.label


@dataclass(frozen=True)
class ContractAccess:
    """A contract as one caller may see it."""

    contract: str
    roles: tuple[str, ...]
    parties: dict[str, Any]
    caller: Caller

    def may(self, action: str) -> bool:
        return any(r in PERMISSIONS[action] for r in self.roles)

    def require(self, action: str) -> None:
        if not self.may(action):
            allowed = ", ".join(sorted(PERMISSIONS[action]))
            raise HTTPProblem(
                "forbidden",
                f"{self.caller.person.email} is {', '.join(self.roles)} on {self.contract}; this needs one of: "
                f"{allowed}",
            )

    def party(self, action: str) -> str:
        """The side (buyer | provider) the caller acts for in a dispute."""
        self.require(action)
        for r in self.roles:
            if r in PERMISSIONS[action] and r != "auditor":
                return people.side(r)
        raise HTTPProblem("forbidden", "only the buyer or the provider can do this")


def caller(request: Request, *, required: bool = True) -> Caller | None:
    """The caller of a request, from `Authorization: Bearer <token>` or the session cookie."""
    ledger = request.app.state.writer.ledger
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("the Authorization header must be `Bearer <token>`")
        found = request.app.state.kept.token_person(ledger, token.strip())
        if found is None:
            raise _unauthenticated("the token is unknown, expired or revoked")
        return Caller(found, "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with ledger.session() as s:
            found_session = people.session_person(s, cookie)
        if found_session is not None:
            person, csrf = found_session
            return Caller(person, "session", csrf)
    if required:
        raise _unauthenticated("sign in, or send `Authorization: Bearer <token>`")
    return None


def check_csrf(request: Request, who: Caller, form_token: str | None = None) -> None:
    """A session's write must carry its form token; a token's needs none (no browser sends it by itself)."""
    if who.via != "session" or getattr(request.state, "csrf_checked", False):
        return
    sent = form_token or request.headers.get(CSRF_HEADER) or ""
    if not who.csrf or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise HTTPProblem(
            "csrf", "the form token (CSRF) is missing or does not match your session; reload the page"
        )
    request.state.csrf_checked = True


def _unauthenticated(detail: str) -> HTTPProblem:
    return HTTPProblem("unauthenticated", detail, headers={"WWW-Authenticate": 'Bearer realm="outcomes"'})


def parties_of(ledger: Any, contract_id: str, kept: AccessKept | None = None) -> dict[str, Any] | None:
    """A contract's parties (latest version), through the app's `AccessKept` when given."""
    return kept.parties(ledger, contract_id) if kept is not None else _read_parties(ledger, contract_id)


def _read_parties(ledger: Any, contract_id: str) -> dict[str, Any] | None:
    rows = ledger.contract_versions(contract_id)
    if not rows:
        return None
    return json.loads(rows[-1].canonical)["parties"]


class AccessKept:
    """A token's holder and a contract's parties as last read from the ledger, for at most `ttl` seconds and only
    while no access transaction of this process (`people.generation`: tokens, grants, sessions) has run since.

    The token check and the contract's parties were a third of the cost of a request (two to three ledger
    queries; docs/server.md, Performance). A revocation, grant or new contract version made through this
    process is seen by the next request; one made by another process within `ttl` (the server is the
    workspace's one writer, so only a ledger shared on PostgreSQL could). Expiry is checked at every request.
    Unknown tokens are never kept. One per app (`app.state.kept`): it belongs to one ledger."""

    def __init__(self, ttl: float = 1.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._tokens: dict[str, tuple[float, int, people.Person, str]] = {}
        self._parties: dict[str, tuple[float, int, dict[str, Any] | None]] = {}

    def _fresh(self, at: float, generation: int) -> bool:
        return generation == people.generation() and time.monotonic() - at < self.ttl

    def token_person(self, ledger: Any, token: str) -> people.Person | None:
        key = token
        hit = self._tokens.get(key)
        if hit is not None and self._fresh(hit[0], hit[1]):
            return hit[2] if people.live_until(hit[3]) else None
        generation, at = people.generation(), time.monotonic()
        with ledger.session() as s:
            found = people.token_holder(s, token)
        if found is None:
            self._tokens.pop(key, None)
            return None
        if len(self._tokens) >= self.size:
            self._tokens.clear()
        self._tokens[key] = (at, generation, found[0], found[1])
        return found[0] if people.live_until(found[1]) else None

    def parties(self, ledger: Any, contract_id: str) -> dict[str, Any] | None:
        key = contract_id
        hit = self._parties.get(key)
        if hit is not None and self._fresh(hit[0], hit[1]):
            return hit[2]
        generation, at = people.generation(), time.monotonic()
        parties = _read_parties(ledger, contract_id)
        if len(self._parties) >= self.size:
            self._parties.clear()
        self._parties[key] = (at, generation, parties)
        return parties


def contract_access(request: Request, contract_id: str, who: Caller) -> ContractAccess:
    """The caller's access to a contract, or 404 when it does not exist for them."""
    ledger = request.app.state.writer.ledger
    parties = parties_of(ledger, contract_id, request.app.state.kept)
    roles = people.visible_roles(who.person, contract_id, parties) if parties is not None else []
    if not roles:
        raise HTTPProblem("not_found", f"no contract {contract_id!r}")
    return ContractAccess(contract_id, tuple(roles), parties, who)


def visible_contracts(request: Request, who: Caller) -> list[ContractAccess]:
    ledger = request.app.state.writer.ledger
    out = []
    for cid in sorted({r.contract for r in ledger.contract_versions()}):
        parties = parties_of(ledger, cid, request.app.state.kept)
        roles = people.visible_roles(who.person, cid, parties or {})
        if roles:
            out.append(ContractAccess(cid, tuple(roles), parties or {}, who))
    return out


class SignInLimiter:
    """At most `attempts` failed sign-ins per email and per client address in `window` seconds (in memory:
    the server is one process)."""

    def __init__(self, attempts: int = 5, window: float = 900.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt (0: go ahead)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for k in keys:
                q = self._failures.get(k)
                if not q:
                    continue
                while q and q[0] <= now - self.window:
                    q.popleft()
                if len(q) >= self.attempts:
                    wait = max(wait, q[0] + self.window - now)
        return int(wait) + (1 if wait else 0)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._failures.setdefault(k, deque()).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)
