"""Disputes: either party can dispute a settlement line; the lifecycle is a list of events, never an update.

    open            --answer-->  answered
    open | answered --accept-->  accepted  --adjusted-->  adjusted
    open | answered --reject-->  rejected

- The **opener** (buyer or provider) states a reason, optionally the interaction ids concerned and an amount
  claimed (a positive decimal in the settlement's currency, at most the disputed line's amount, its absolute
  value for a negative line: a buyer claims it back, a provider claims it on top).
- The **other party**, the one the dispute is raised against, answers it, accepts it or rejects it. An
  answer needs a note, a rejection needs a note (why), an acceptance may have one. A dispute is answered
  once; after that it is accepted or rejected.
- An accepted dispute is billed as an adjustment in the next settlement of the contract, which records the
  `adjusted` event in the same transaction (`Ledger.record_settlement(..., adjusted_disputes=[...])`).
- Accepted, rejected and adjusted disputes are closed: nothing more can happen to them.

Rows are only ever added (`disputes`, `dispute_events`); the state is derived from the events. Every step
appends an audit entry in the same transaction. The functions here work inside the caller's session and
transaction; `Ledger` wraps them (and takes the ledger's write lock first).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outcomes.ledger import audit
from outcomes.ledger.errors import LedgerError
from outcomes.ledger.models import Dispute, DisputeEvent, Settlement, SettlementLine
from outcomes.pricing.money import minor_unit, money_text

PARTIES = ("buyer", "provider")
STATES = ("open", "answered", "accepted", "rejected", "adjusted")
CLOSED = ("accepted", "rejected", "adjusted")
ACTIONS = ("open", "answer", "accept", "reject", "adjusted")

# action -> (states it may follow, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str | None, ...], str]] = {
    "open": ((None,), "open"),
    "answer": (("open",), "answered"),
    "accept": (("open", "answered"), "accepted"),
    "reject": (("open", "answered"), "rejected"),
    "adjusted": (("accepted",), "adjusted"),
}
_PAST = {"answer": "answered", "accept": "accepted", "reject": "rejected", "adjusted": "adjusted"}


def other_party(party: str) -> str:
    return "provider" if party == "buyer" else "buyer"


def state_of(actions: Iterable[str], dispute_id: int | None = None) -> str:
    """The state after a dispute's events, in order. A history that breaks the lifecycle is an error."""
    state: str | None = None
    for action in actions:
        allowed, after = TRANSITIONS.get(action, ((), ""))
        if state not in allowed:
            raise LedgerError(
                f"dispute {dispute_id} has an impossible history ({action!r} after {state!r}); the ledger was "
                "edited outside outcomes (see `outcomes audit verify`)"
            )
        state = after
    if state is None:
        raise LedgerError(f"dispute {dispute_id} has no events; the ledger was edited outside outcomes")
    return state


@dataclass(frozen=True)
class Step:
    """One event of a dispute."""

    seq: int
    action: str
    party: str | None
    note: str | None
    at: str
    adjusted_in: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "action": self.action,
            "party": self.party,
            "note": self.note,
            "at": self.at,
            "adjusted_in": self.adjusted_in,
        }


@dataclass(frozen=True)
class DisputeView:
    """A dispute with the settlement line it is about and its derived state."""

    id: int
    settlement_id: int
    contract: str
    period: str
    currency: str
    line_seq: int
    line_kind: str
    line_label: str
    line_amount: str
    opened_by: str
    reason: str
    interaction_ids: tuple[str, ...]
    amount_claimed: str | None
    opened_at: str
    state: str
    events: tuple[Step, ...]

    @property
    def against(self) -> str:
        """The party the dispute is raised against: the one who answers, accepts or rejects it."""
        return other_party(self.opened_by)

    @property
    def claimed_adjustment(self) -> Decimal | None:
        """The amount claimed as a signed change of what is billed: negative for the buyer, positive for the
        provider; None when no amount was claimed (the adjustment is then re-priced from the facts)."""
        if self.amount_claimed is None:
            return None
        amount = Decimal(self.amount_claimed)
        return -amount if self.opened_by == "buyer" else amount

    @property
    def adjusted_in(self) -> int | None:
        """The settlement that billed the accepted claim, once adjusted."""
        return next((e.adjusted_in for e in self.events if e.action == "adjusted"), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "settlement": self.settlement_id,
            "contract": self.contract,
            "period": self.period,
            "currency": self.currency,
            "line": self.line_seq,
            "line_kind": self.line_kind,
            "line_label": self.line_label,
            "line_amount": self.line_amount,
            "opened_by": self.opened_by,
            "against": self.against,
            "reason": self.reason,
            "interaction_ids": list(self.interaction_ids),
            "amount_claimed": self.amount_claimed,
            "state": self.state,
            "opened_at": self.opened_at,
            "adjusted_in": self.adjusted_in,
            "events": [e.as_dict() for e in self.events],
        }


# checks ------------------------------------------------------------------------------------------------
def _party(party: str | None, what: str) -> str:
    if party not in PARTIES:
        raise LedgerError(f"{what}: party must be `buyer` or `provider`, not {party!r}")
    return party


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _amount(value: str | Decimal | None, currency: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise LedgerError(f"amount claimed {value!r} is not a decimal amount such as 12.50") from None
    if not amount.is_finite() or amount <= 0:
        raise LedgerError(
            f"amount claimed {value!r} must be more than zero: it is the amount in dispute; its direction "
            "follows the party (the buyer claims it back, the provider claims it on top)"
        )
    places = minor_unit(currency)
    if -amount.as_tuple().exponent > places:
        raise LedgerError(f"amount claimed {value!r} has more decimals than {currency} has ({places})")
    return money_text(amount, currency)


def _ids(ids: Iterable[str] | str | None) -> list[str]:
    if ids is None:
        return []
    if isinstance(ids, str):
        ids = ids.split(",")
    seen: dict[str, None] = {}
    for i in ids:
        i = str(i).strip()
        if i:
            seen.setdefault(i, None)
    return list(seen)


def _load(session: Session, dispute_id: int) -> tuple[Dispute, Settlement, str]:
    # an id beyond 64 bits is no dispute (SQLite cannot even bind it)
    dispute = session.get(Dispute, dispute_id, populate_existing=True) if 0 < dispute_id < 2**63 else None
    if dispute is None:
        raise LedgerError(f"no dispute {dispute_id} (see `outcomes dispute list`)")
    settlement = session.get(Settlement, dispute.settlement_id)
    assert settlement is not None
    return dispute, settlement, state_of([e.action for e in dispute.events], dispute.id)


def _subject(dispute: Dispute, settlement: Settlement) -> str:
    return f"dispute {dispute.id} ({settlement.contract}/{settlement.period} line {dispute.line_seq})"


def _event(
    session: Session,
    dispute: Dispute,
    settlement: Settlement,
    action: str,
    party: str | None,
    note: str | None,
    adjusted_in: int | None = None,
    at: str | None = None,
) -> DisputeEvent:
    seq = len(dispute.events) + 1
    event = DisputeEvent(
        dispute_id=dispute.id,
        seq=seq,
        action=action,
        party=party,
        note=note,
        adjusted_in=adjusted_in,
        at=at or audit.now_text(),
    )
    session.add(event)
    session.flush()
    payload: dict[str, Any] = {
        "dispute": dispute.id,
        "settlement": settlement.id,
        "line": dispute.line_seq,
        "event": seq,
        "action": action,
        "party": party,
        "note": note,
        "state": TRANSITIONS[action][1],
    }
    if action == "open":
        payload.update(
            reason=dispute.reason,
            interaction_ids=json.loads(dispute.interaction_ids),
            amount_claimed=dispute.amount_claimed,
        )
    if adjusted_in is not None:
        payload["adjusted_in"] = adjusted_in
    audit.append(session, f"dispute.{action}", _subject(dispute, settlement), payload)
    return event


# lifecycle ---------------------------------------------------------------------------------------------
def open_dispute(
    session: Session,
    settlement: Settlement,
    line_seq: int,
    *,
    party: str,
    reason: str,
    interaction_ids: Iterable[str] | str | None = None,
    amount: str | Decimal | None = None,
) -> int:
    """Open a dispute of line `line_seq` of `settlement`; returns the new dispute's id."""
    where = f"settlement {settlement.id} ({settlement.contract}/{settlement.period})"
    _party(party, f"dispute of {where} line {line_seq}")
    text = _text(reason)
    if text is None:
        raise LedgerError(f"a dispute of {where} line {line_seq} needs a reason")
    line = session.execute(
        select(SettlementLine).where(
            SettlementLine.settlement_id == settlement.id, SettlementLine.seq == line_seq
        )
    ).scalar_one_or_none()
    if line is None:
        seqs = (
            session.execute(select(SettlementLine.seq).where(SettlementLine.settlement_id == settlement.id))
            .scalars()
            .all()
        )
        have = (
            f"lines {min(seqs)}-{max(seqs)}" if len(seqs) > 1 else f"line {seqs[0]}" if seqs else "no lines"
        )
        raise LedgerError(
            f"{where} has no line {line_seq} ({have}; see `outcomes show {settlement.id}`)"
        )
    claimed = _amount(amount, settlement.currency)
    if claimed is not None and Decimal(claimed) > abs(Decimal(line.amount)):
        # a claim is about what the line billed: more than the whole line is not a correction of it (a claim of
        # 99,999,999 on a 28,412.40 line turned the next settlement into a credit note)
        raise LedgerError(
            f"amount claimed {claimed} {settlement.currency} is more than line {line_seq} of {where} billed "
            f"({line.amount} {settlement.currency}); a dispute claims at most the whole line",
        )
    at = audit.now_text()  # the dispute's opened_at and its `open` event's time are the same instant
    dispute = Dispute(
        settlement_id=settlement.id,
        line_seq=line_seq,
        opened_by=party,
        reason=text,
        interaction_ids=json.dumps(_ids(interaction_ids)),
        amount_claimed=claimed,
        opened_at=at,
    )
    session.add(dispute)
    session.flush()
    _event(session, dispute, settlement, "open", party, None, at=at)
    return dispute.id


def step(session: Session, dispute_id: int, action: str, *, party: str | None, note: str | None) -> None:
    """Answer, accept or reject a dispute (`party` defaults to the other party for accept and reject)."""
    if action not in ("answer", "accept", "reject"):
        raise ValueError(f"not a dispute step: {action!r}")
    dispute, settlement, state = _load(session, dispute_id)
    past = _PAST[action]
    if state in CLOSED:
        where = f" (in settlement {_adjusted_in(dispute)})" if state == "adjusted" else ""
        raise LedgerError(f"dispute {dispute_id} is {state}{where}; a closed dispute cannot be {past}")
    if state not in TRANSITIONS[action][0]:  # answering an answered dispute
        raise LedgerError(
            f"dispute {dispute_id} is already {state}; it can now be accepted or rejected, not {past} again"
        )
    against = other_party(dispute.opened_by)
    if party is None and action != "answer":
        party = against
    _party(party, f"dispute {dispute_id}")
    if party != against:
        raise LedgerError(
            f"dispute {dispute_id} was opened by the {dispute.opened_by}; only the {against}, whom it is "
            f"raised against, can {action} it"
        )
    text = _text(note)
    if text is None and action in ("answer", "reject"):
        what = "an answer" if action == "answer" else "a rejection"
        raise LedgerError(f"dispute {dispute_id}: {what} needs a note (--note) saying why")
    _event(session, dispute, settlement, action, party, text)


def _adjusted_in(dispute: Dispute) -> int | None:
    return next((e.adjusted_in for e in dispute.events if e.action == "adjusted"), None)


def mark_adjusted(session: Session, dispute_ids: Sequence[int], settlement_id: int) -> None:
    """Record that settlement `settlement_id` bills these accepted disputes (inside the caller's transaction).

    Refused, for the whole list, when a dispute is not accepted (still open, answered, rejected, or already
    adjusted), belongs to another contract, or is about the adjusting settlement itself.
    """
    ids = list(dispute_ids)
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise LedgerError(f"disputes listed more than once for adjustment: {twice}")
    if not ids:
        return
    target = session.get(Settlement, settlement_id)
    if target is None:
        raise LedgerError(f"no settlement {settlement_id} to carry the adjustment of disputes {ids}")
    for dispute_id in ids:
        dispute, settlement, state = _load(session, dispute_id)
        if state == "adjusted":
            raise LedgerError(
                f"dispute {dispute_id} is already adjusted in settlement {_adjusted_in(dispute)}; "
                "an accepted claim is billed once"
            )
        if state != "accepted":
            raise LedgerError(
                f"dispute {dispute_id} is {state}; only an accepted dispute can be adjusted"
            )
        if settlement.contract != target.contract:
            raise LedgerError(
                f"dispute {dispute_id} is about {settlement.contract}/{settlement.period}; it cannot be "
                f"adjusted in settlement {target.id} of {target.contract}"
            )
        if settlement.id == target.id:
            raise LedgerError(
                f"dispute {dispute_id} is about settlement {target.id} itself; a settled period is never "
                "changed: the adjustment goes in a later settlement"
            )
        _event(
            session,
            dispute,
            settlement,
            "adjusted",
            None,
            f"billed in settlement {target.id} ({target.contract}/{target.period})",
            adjusted_in=target.id,
        )


# reading -----------------------------------------------------------------------------------------------
def views(
    session: Session,
    *,
    dispute_ids: Sequence[int] | None = None,
    contract: str | None = None,
    state: str | None = None,
    settlement_id: int | None = None,
) -> list[DisputeView]:
    """Disputes (oldest first) with their line and derived state, filtered as asked."""
    if state is not None and state not in STATES:
        raise LedgerError(f"no dispute state {state!r}: use one of {', '.join(STATES)}")
    q = (
        select(Dispute, Settlement, SettlementLine)
        .join(Settlement, Settlement.id == Dispute.settlement_id)
        .join(
            SettlementLine,
            (SettlementLine.settlement_id == Dispute.settlement_id)
            & (SettlementLine.seq == Dispute.line_seq),
        )
        .order_by(Dispute.id)
    )
    if dispute_ids is not None:
        q = q.where(Dispute.id.in_([i for i in dispute_ids if 0 < i < 2**63]))  # beyond 64 bits: no dispute
    if contract is not None:
        q = q.where(Settlement.contract == contract)
    if settlement_id is not None:
        q = q.where(Dispute.settlement_id == settlement_id)
    out = []
    for dispute, settlement, line in session.execute(q).all():
        view = _view(dispute, settlement, line)
        if state is None or view.state == state:
            out.append(view)
    return out


def _view(dispute: Dispute, settlement: Settlement, line: SettlementLine) -> DisputeView:
    events = tuple(Step(e.seq, e.action, e.party, e.note, e.at, e.adjusted_in) for e in dispute.events)
    return DisputeView(
        id=dispute.id,
        settlement_id=settlement.id,
        contract=settlement.contract,
        period=settlement.period,
        currency=settlement.currency,
        line_seq=dispute.line_seq,
        line_kind=line.kind,
        line_label=line.label,
        line_amount=line.amount,
        opened_by=dispute.opened_by,
        reason=dispute.reason,
        interaction_ids=tuple(json.loads(dispute.interaction_ids)),
        amount_claimed=dispute.amount_claimed,
        opened_at=dispute.opened_at,
        state=state_of([e.action for e in events], dispute.id),
        events=events,
    )


# comments ----------------------------------------------------------------------------------------------
def comment(
    session: Session, dispute_id: int, *, author: str, organisation: str, role: str, body: str
) -> int:
    """Add a comment to a dispute's thread (any state; it changes no state); returns its number."""
    from outcomes.ledger.models import DisputeComment

    dispute, settlement, _state = _load(session, dispute_id)
    text = _text(body)
    if text is None:
        raise LedgerError(f"dispute {dispute_id}: a comment needs some text")
    last = session.execute(
        select(DisputeComment.seq)
        .where(DisputeComment.dispute_id == dispute_id)
        .order_by(DisputeComment.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    seq = (last or 0) + 1
    at = audit.now_text()
    session.add(
        DisputeComment(
            dispute_id=dispute_id, seq=seq, author=author, organisation=organisation, role=role, body=text, at=at
        )
    )
    session.flush()
    audit.append(
        session,
        "dispute.comment",
        _subject(dispute, settlement),
        {"dispute": dispute_id, "comment": seq, "author": author, "organisation": organisation, "role": role,
         "body": text},
    )
    return seq


def comments(session: Session, dispute_id: int) -> list[dict[str, Any]]:
    from outcomes.ledger.models import DisputeComment

    rows = session.execute(
        select(DisputeComment).where(DisputeComment.dispute_id == dispute_id).order_by(DisputeComment.seq)
    ).scalars()
    return [
        {"seq": c.seq, "author": c.author, "organisation": c.organisation, "role": c.role, "body": c.body,
         "at": c.at}
        for c in rows
    ]
