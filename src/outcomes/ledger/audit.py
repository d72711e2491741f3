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

from outcomes.ledger import coverage
from outcomes.ledger.heads import Head
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


def watch(session_factory) -> None:
    """Every audit entry of the factory's sessions covers the rows its transaction wrote; a transaction that
    wrote covered rows without an entry gets a `ledger.cover` entry before it commits."""
    from sqlalchemy import event

    coverage.watch(session_factory)
    event.listen(session_factory, "before_commit", _cover_rest)


def _cover_rest(session: Session) -> None:
    if coverage.pending(session):
        append(session, "ledger.cover", "rows written without an entry of their own", {})


def append(session: Session, action: str, subject: str, payload: dict) -> AuditEntry:
    """Append within the caller's transaction, so the change and its entry land (or vanish) together.

    The entry also covers (`coverage`) every row of money or state the transaction wrote since its last
    entry: their digests go in the payload under `covers`."""
    covers = coverage.take(session)
    if covers:
        payload = {**payload, coverage.PAYLOAD_KEY: covers}
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
    head: tuple[int, str] | None = None  # (seq, hash) of the last entry, when the chain is intact
    rows: tuple[str, ...] = ()  # covered rows edited, deleted or inserted outside outcomes


def verify(session: Session, against: Head | None = None, keys: tuple[str, ...] = ()) -> ChainReport:
    """The chain from the first entry (each entry's hash, each link), every signed head recorded in it, the
    head a party kept (`against`: the chain must extend it; signed by one of `keys` when given), then every
    covered row."""
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
    head = (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS)
    hashes = [GENESIS] + [e.hash for e in entries]
    for e in entries:
        if e.action == "audit.sign":
            problem = _recorded_signature(e.payload, hashes)
            if problem:
                return ChainReport(False, len(entries), e.seq, problem, head=head)
    if against is not None:
        problem = _extends(against, hashes, keys)
        if problem:
            return ChainReport(False, len(entries), min(against.seq, len(entries) + 1), problem, head=head)
    problems = coverage.check(session.connection(), ((e.seq, e.payload) for e in entries))
    if problems:
        first = problems[0]
        return ChainReport(
            False, len(entries), first.entry, str(first), head=head, rows=tuple(str(p) for p in problems)
        )
    return ChainReport(True, len(entries), head=head)


def _recorded_signature(payload: str, hashes: list[str]) -> str | None:
    try:
        d = json.loads(payload)
        signed = Head(int(d["seq"]), str(d["hash"]), str(d["key"]), str(d["signature"]))
    except (ValueError, KeyError, TypeError):
        return "a recorded signed head that cannot be read"
    if not signed.signature_ok():
        return f"the signature of head {signed.seq} by ed25519:{signed.key[:16]}… does not verify (forged or edited)"
    if signed.seq >= len(hashes) or hashes[signed.seq] != signed.hash:
        return f"the signed head {signed.seq} {signed.hash} is not in the chain any more (rewritten)"
    return None


def _extends(head: Head, hashes: list[str], keys: tuple[str, ...]) -> str | None:
    """Why the chain (`hashes[seq]`, entry 0 the genesis) does not extend `head`, or None."""
    if head.signed and not head.signature_ok():
        return f"the head's signature does not verify for ed25519:{head.key}: the line was altered or forged"
    if keys:
        if not head.signed:
            return "the head is not signed, but a signing key was given (--key)"
        if head.key not in keys:
            return (
                f"the head is signed by ed25519:{head.key}, which is not the key given (--key): "
                "not the party's signature"
            )
    entries = len(hashes) - 1
    if head.seq > entries:
        return (
            f"the chain has {entries} entries, but the head kept is entry {head.seq}: entries after "
            f"{entries} were removed (the chain was truncated)"
        )
    if hashes[head.seq] != head.hash:
        return (
            f"entry {head.seq} is not the entry the head vouches for ({head.hash}): the chain was rewritten "
            "from there"
        )
    return None


def head_of(session: Session) -> Head:
    last = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one_or_none()
    return Head(0, GENESIS) if last is None else Head(last.seq, last.hash)
