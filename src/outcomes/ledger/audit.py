"""The audit chain: every ledger change appends an entry holding the hash of the one before it."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outcomes.ledger.models import AuditEntry

GENESIS = "sha256:" + "0" * 64

# Who acts, when not the local user: the shared server names the signed-in person for each request.
_ACTING_AS: ContextVar[str | None] = ContextVar("outcomes_acting_as", default=None)


def actor() -> str:
    return _ACTING_AS.get() or os.environ.get("OUTCOMES_ACTOR") or getpass.getuser()


@contextmanager
def acting_as(who: str) -> Iterator[None]:
    """Audit entries written inside the block name `who` as their actor (e.g. `ana@acme.example (Acme)`)."""
    token = _ACTING_AS.set(who)
    try:
        yield
    finally:
        _ACTING_AS.reset(token)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def entry_hash(seq: int, at: str, who: str, action: str, subject: str, payload: str, prev: str) -> str:
    body = json.dumps(
        [seq, at, who, action, subject, payload, prev], separators=(",", ":"), ensure_ascii=False
    )
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(session: Session, action: str, subject: str, payload: dict) -> AuditEntry:
    """Append within the caller's transaction, so the change and its entry land (or vanish) together."""
    last = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one_or_none()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    at, who = now_text(), actor()
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=who,
        action=action,
        subject=subject,
        payload=text,
        prev_hash=prev,
        hash=entry_hash(seq, at, who, action, subject, text, prev),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_bad: int | None = None
    problem: str | None = None


def verify(session: Session) -> ChainReport:
    entries = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    prev = GENESIS
    for expected_seq, e in enumerate(entries, start=1):
        if e.seq != expected_seq:
            return ChainReport(False, len(entries), expected_seq, f"entry {expected_seq} is missing")
        if e.prev_hash != prev:
            return ChainReport(False, len(entries), e.seq, "does not point to the entry before it")
        if entry_hash(e.seq, e.at, e.actor, e.action, e.subject, e.payload, e.prev_hash) != e.hash:
            return ChainReport(False, len(entries), e.seq, "its content does not match its hash (edited)")
        prev = e.hash
    return ChainReport(True, len(entries))
