"""People and access: organisations, users, role grants per contract, API tokens and browser sessions.

Roles are per contract. A role belongs to one side of a contract (`buyer-*` to its buyer, `provider-*` to its
provider, `auditor` to its auditor): a grant names a contract, or none (every contract where the user's
organisation is that side). Whether a contract is visible to a user is decided from the contract's `parties`
at the time of the request (`visible_roles`), so a grant can never open another organisation's contract.

API tokens are `oc_<id>_<secret>`: 256 random bits, shown once, stored as a SHA-256 (a token is random, not a
password, so a fast hash is enough: nobody can guess its pre-image), with an expiry and a revocation time.
Browser sessions keep the SHA-256 of the cookie's secret and the session's form token (CSRF).

Every grant, revocation, user, password change and token (created, revoked) appends an audit entry in the same
transaction; sessions do not (signing in changes nothing anyone is billed or granted).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from outcomes.ledger import audit, changes
from outcomes.ledger.errors import LedgerError
from outcomes.ledger.models import ApiToken, Grant, Organisation, User, WebSession

ROLES = ("buyer-admin", "buyer-viewer", "provider-admin", "provider-viewer", "auditor")
TOKEN_PREFIX = "oc_"
DEFAULT_TOKEN_DAYS = 90
SESSION_HOURS = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(r"^oc_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")


class AccessError(LedgerError):
    code = "access"


def side(role: str) -> str:
    """The contract party a role belongs to: buyer, provider or auditor."""
    return role.split("-")[0]


def party_name(parties: dict, role: str) -> str | None:
    """The organisation a contract's `parties` name for a role's side."""
    return parties.get(side(role))


def _now() -> datetime:
    return datetime.now(UTC)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normal_email(email: str) -> str:
    e = (email or "").strip().lower()
    if not _EMAIL.match(e) or len(e) > 320:
        raise AccessError(f"{email!r} is not an email address such as ana@acme.example")
    return e


@dataclass(frozen=True)
class Person:
    """A user as the server sees them: who, of which organisation, with which active grants."""

    id: int
    email: str
    organisation: str
    grants: tuple[tuple[str | None, str], ...]  # (contract or None for all, role)
    has_password: bool = False

    @property
    def label(self) -> str:
        return f"{self.email} ({self.organisation})"


def _person(s: Session, user: User) -> Person:
    org = s.get(Organisation, user.organisation_id)
    assert org is not None
    grants = s.execute(
        select(Grant.contract, Grant.role)
        .where(Grant.user_id == user.id, Grant.revoked_at.is_(None))
        .order_by(Grant.id)
    ).all()
    return Person(
        user.id, user.email, org.name, tuple((c, r) for c, r in grants), user.password_hash is not None
    )


def visible_roles(person: Person, contract_id: str, parties: dict) -> list[str]:
    """The roles a person holds on a contract: grants naming it (or all contracts) whose side of the contract
    is the person's organisation. Empty: the contract does not exist for them."""
    out = []
    for contract, role in person.grants:
        if contract not in (None, contract_id):
            continue
        if party_name(parties, role) == person.organisation and role not in out:
            out.append(role)
    return out


# users and grants ---------------------------------------------------------------------------------------
def add_user(
    s: Session,
    email: str,
    organisation: str,
    role: str,
    contract: str | None = None,
    contract_parties: dict | None = None,
) -> tuple[Person, bool]:
    """Create the user (and organisation) when new and grant the role; returns (person, granted now).

    With a contract, its parties must name the user's organisation on the role's side."""
    e = normal_email(email)
    org_name = (organisation or "").strip()
    if not org_name:
        raise AccessError("--org needs the organisation's name, as the contracts' `parties` write it")
    if role not in ROLES:
        raise AccessError(f"no role {role!r}: use one of {', '.join(ROLES)}")
    if contract is not None and contract_parties is not None:
        named = party_name(contract_parties, role)
        if named != org_name:
            where = f"is {named!r}" if named else "is not named in its parties"
            raise AccessError(
                f"{role} of {contract}: the contract's {side(role)} {where}, not {org_name!r}; a role can only "
                f"be granted to a person of the organisation the contract names as its {side(role)}"
            )
    user = s.execute(select(User).where(User.email == e)).scalar_one_or_none()
    org = s.execute(select(Organisation).where(Organisation.name == org_name)).scalar_one_or_none()
    if user is not None:
        current = s.get(Organisation, user.organisation_id)
        if current is None or current.name != org_name:
            raise AccessError(
                f"{e} is a user of {current.name if current else '?'}, not {org_name!r}; a person belongs to one "
                "organisation (add another email for the other one)"
            )
    if org is None:
        org = Organisation(name=org_name, created_at=audit.now_text())
        s.add(org)
        s.flush()
        audit.append(s, "access.organisation", org_name, {"organisation": org_name})
    if user is None:
        user = User(email=e, organisation_id=org.id, created_at=audit.now_text())
        s.add(user)
        s.flush()
        audit.append(s, "access.user", e, {"user": e, "organisation": org_name})
    existing = s.execute(
        select(Grant).where(
            Grant.user_id == user.id,
            Grant.role == role,
            Grant.revoked_at.is_(None),
            Grant.contract.is_(None) if contract is None else Grant.contract == contract,
        )
    ).scalar_one_or_none()
    granted = existing is None
    if granted:
        s.add(Grant(user_id=user.id, contract=contract, role=role, granted_at=audit.now_text()))
        s.flush()
        audit.append(
            s,
            "access.grant",
            f"{e} {role} {contract or '*'}",
            {"user": e, "organisation": org_name, "role": role, "contract": contract},
        )
    return _person(s, user), granted


def revoke_grant(s: Session, email: str, role: str, contract: str | None = None) -> int:
    """Revoke a user's active grant of `role` (on `contract`, or the all-contracts grant); returns how many."""
    user = _user(s, email)
    rows = (
        s.execute(
            select(Grant).where(
                Grant.user_id == user.id,
                Grant.role == role,
                Grant.revoked_at.is_(None),
                Grant.contract.is_(None) if contract is None else Grant.contract == contract,
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        raise AccessError(f"{user.email} has no active {role} grant on {contract or 'all contracts'}")
    for g in rows:
        g.revoked_at = audit.now_text()
        audit.append(
            s,
            "access.revoke",
            f"{user.email} {role} {contract or '*'}",
            {"user": user.email, "role": role, "contract": contract, "grant": g.id},
        )
    s.flush()
    return len(rows)


def set_password(s: Session, email: str, password_hash: str) -> None:
    """Store a password's argon2 hash (made by the caller: the ledger does not hash passwords)."""
    user = _user(s, email)
    user.password_hash = password_hash
    s.flush()
    audit.append(s, "access.password", user.email, {"user": user.email})


def _user(s: Session, email: str) -> User:
    e = normal_email(email)
    user = s.execute(select(User).where(User.email == e)).scalar_one_or_none()
    if user is None:
        raise AccessError(f"no user {e}; add one with `outcomes user add {e} --org NAME --role ROLE`")
    return user


def person(s: Session, email: str) -> Person:
    return _person(s, _user(s, email))


def person_by_id(s: Session, user_id: int) -> Person | None:
    user = s.get(User, user_id)
    return None if user is None else _person(s, user)


def password_hash_of(s: Session, email: str) -> tuple[int, str | None] | None:
    """(user id, argon2 hash or None) of an email; None when there is no such user."""
    try:
        e = normal_email(email)
    except AccessError:
        return None
    user = s.execute(select(User).where(User.email == e)).scalar_one_or_none()
    return None if user is None else (user.id, user.password_hash)


def people(s: Session) -> list[Person]:
    return [_person(s, u) for u in s.execute(select(User).order_by(User.email)).scalars()]


# tokens ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssuedToken:
    id: str
    token: str  # shown once, never stored
    expires_at: str


def create_token(s: Session, email: str, *, days: int = DEFAULT_TOKEN_DAYS, name: str = "") -> IssuedToken:
    if not 1 <= days <= 3650:
        raise AccessError(f"a token expires after 1 to 3650 days, not {days}")
    user = _user(s, email)
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    now = _now()
    expires = _text(now + timedelta(days=days))
    s.add(
        ApiToken(
            id=token_id,
            user_id=user.id,
            name=name or f"token {token_id}",
            hash=sha256(token),
            created_at=_text(now),
            expires_at=expires,
        )
    )
    s.flush()
    audit.append(
        s,
        "access.token",
        f"{user.email} token {token_id}",
        {"user": user.email, "token": token_id, "expires_at": expires, "name": name or None},
    )
    return IssuedToken(token_id, token, expires)


def revoke_token(s: Session, token_or_id: str) -> ApiToken:
    """Revoke by the token's id (shown at creation and by `token list`) or by the token itself."""
    text = (token_or_id or "").strip()
    m = _TOKEN.match(text)
    token_id = m.group(1) if m else text
    row = s.get(ApiToken, token_id)
    if row is None:
        raise AccessError(f"no token {token_id!r} (see `outcomes token list`)")
    if row.revoked_at is not None:
        raise AccessError(f"token {token_id} was already revoked at {row.revoked_at}")
    row.revoked_at = audit.now_text()
    s.flush()
    user = s.get(User, row.user_id)
    audit.append(
        s, "access.token_revoke", f"{user.email if user else '?'} token {token_id}", {"token": token_id}
    )
    return row


def tokens(s: Session, email: str | None = None) -> list[tuple[ApiToken, str]]:
    q = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.created_at)
    if email is not None:
        q = q.where(User.email == normal_email(email))
    return [(t, e) for t, e in s.execute(q).all()]


def token_person(s: Session, token: str, now: datetime | None = None) -> Person | None:
    """The person a token belongs to, when it is well-formed, known, not revoked and not expired."""
    found = token_holder(s, token)
    if found is None or not live_until(found[1], now):
        return None
    return found[0]


def token_holder(s: Session, token: str) -> tuple[Person, str] | None:
    """(the person, the expiry as stored) of a well-formed, known, unrevoked token, expired or not."""
    m = _TOKEN.match(token or "")
    if m is None:
        return None
    row = s.get(ApiToken, m.group(1))
    if row is None or not hmac.compare_digest(row.hash, sha256(token)) or row.revoked_at is not None:
        return None
    person = person_by_id(s, row.user_id)
    return None if person is None else (person, row.expires_at)


def live_until(expires_at: str, now: datetime | None = None) -> bool:
    """Is a token (or session) with this stored expiry still valid now."""
    return expires_at > _text(now or _now())


# sessions -------------------------------------------------------------------------------------------------
def open_session(s: Session, user_id: int, *, hours: int = SESSION_HOURS) -> tuple[str, str]:
    """A new browser session: returns (cookie secret, CSRF token)."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    s.add(
        WebSession(
            id=sha256(secret),
            user_id=user_id,
            csrf=csrf,
            created_at=_text(now),
            expires_at=_text(now + timedelta(hours=hours)),
        )
    )
    s.flush()
    return secret, csrf


def session_person(s: Session, secret: str) -> tuple[Person, str] | None:
    """(person, CSRF token) of a live session cookie."""
    if not secret or len(secret) > 200:
        return None
    row = s.get(WebSession, sha256(secret))
    if row is None or row.ended_at is not None or row.expires_at <= _text(_now()):
        return None
    p = person_by_id(s, row.user_id)
    return None if p is None else (p, row.csrf)


def end_session(s: Session, secret: str) -> None:
    row = s.get(WebSession, sha256(secret or ""))
    if row is not None and row.ended_at is None:
        row.ended_at = audit.now_text()
        s.flush()


def contracts_of(grants: Iterable[tuple[str | None, str]]) -> set[str | None]:
    return {c for c, _ in grants}


@contextmanager
def transaction(ledger) -> Iterator[Session]:
    """A ledger write transaction holding the ledger's write lock (as every ledger write does)."""
    from outcomes.ledger.store import lock_for_write

    try:
        with ledger.session() as s, s.begin():
            lock_for_write(s)
            yield s
    finally:
        changes.record()


def generation() -> int:
    """How many access transactions (`transaction`) and contract registrations this process has run: what a
    cache of tokens, grants and parties in this process compares to know that nothing changed since it read
    them (ledger/changes.py)."""
    return changes.count()
