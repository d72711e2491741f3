"""Disputes of settlement lines, with their thread: the lifecycle steps (open, answer, accept, reject,
adjusted) and comments, in time order. The buyer's and the provider's admins open and answer; the auditor
comments only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from outcomes.ledger import access as people
from outcomes.ledger import audit
from outcomes.ledger import disputes as lifecycle
from outcomes.server import models as m
from outcomes.server.auth import Caller, ContractAccess, check_csrf, contract_access
from outcomes.server.deps import RowId, api_caller
from outcomes.server.problems import HTTPProblem, responses

router = APIRouter(prefix="/api/contracts/{contract}/disputes", tags=["disputes"])
Who = Annotated[Caller, Depends(api_caller)]


def actions(view: lifecycle.DisputeView, access: ContractAccess) -> list[str]:
    """What the caller may do to a dispute now."""
    out = []
    sides = {people.side(r) for r in access.roles if r in ("buyer-admin", "provider-admin")}
    if view.against in sides:
        if view.state == "open":
            out.append("answer")
        if view.state in ("open", "answered"):
            out += ["accept", "reject"]
    if access.may("dispute_comment"):
        out.append("comment")
    return out


def shape(request: Request, view: lifecycle.DisputeView, access: ContractAccess) -> m.Dispute:
    with request.app.state.writer.ledger.session() as s:
        notes = lifecycle.comments(s, view.id)
    thread = [
        m.ThreadItem(kind="event", at=e.at, action=e.action, party=e.party, note=e.note) for e in view.events
    ] + [
        m.ThreadItem(
            kind="comment",
            at=c["at"],
            author=c["author"],
            organisation=c["organisation"],
            role=c["role"],
            body=c["body"],
        )
        for c in notes
    ]
    thread.sort(key=lambda t: t.at)
    return m.Dispute(
        id=view.id,
        settlement=view.settlement_id,
        contract=view.contract,
        period=view.period,
        currency=view.currency,
        line=view.line_seq,
        line_label=view.line_label,
        line_amount=view.line_amount,
        opened_by=view.opened_by,
        against=view.against,
        reason=view.reason,
        interaction_ids=list(view.interaction_ids),
        amount_claimed=view.amount_claimed,
        state=view.state,
        opened_at=view.opened_at,
        adjusted_in=view.adjusted_in,
        thread=thread,
        actions=actions(view, access),
    )


def find(request: Request, access: ContractAccess, dispute_id: int) -> lifecycle.DisputeView:
    with request.app.state.writer.ledger.session() as s:
        found = lifecycle.views(s, dispute_ids=[dispute_id], contract=access.contract)
    if not found:
        raise HTTPProblem("not_found", f"{access.contract} has no dispute {dispute_id}")
    return found[0]


@router.get("", response_model=m.Page[m.Dispute], responses=responses(400, 401, 404, 422))
def disputes(
    request: Request,
    contract: str,
    who: Who,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=m.MAX_LIMIT)] = m.DEFAULT_LIMIT,
    state: Annotated[str | None, Query(max_length=20, description=", ".join(lifecycle.STATES))] = None,
    period: Annotated[str | None, Query(max_length=10)] = None,
) -> m.Page[m.Dispute]:
    """The contract's disputes, oldest first."""
    access = contract_access(request, contract, who)
    after = m.int_cursor(cursor)
    if state is not None and state not in lifecycle.STATES:
        raise HTTPProblem(
            "validation", f"no dispute state {state!r}: use one of {', '.join(lifecycle.STATES)}"
        )
    with request.app.state.writer.ledger.session() as s:
        views = lifecycle.views(s, contract=contract, state=state)
    rows = [v for v in views if (after is None or v.id > after) and (period is None or v.period == period)]
    page, nxt = m.paged(rows[: limit + 1], limit, lambda v: v.id)
    return m.Page[m.Dispute](items=[shape(request, v, access) for v in page], next_cursor=nxt)


@router.post("", status_code=201, response_model=m.Dispute, responses=responses(401, 403, 404, 409, 422))
def open_dispute(request: Request, contract: str, body: m.DisputeOpen, who: Who) -> m.Dispute:
    """Dispute a line of a settled period, as your side (buyer-admin or provider-admin)."""
    access = contract_access(request, contract, who)
    party = access.party("dispute_open")
    check_csrf(request, who)
    ledger = request.app.state.writer.ledger
    row = ledger.find_settlement(contract, body.period)
    if row is None:
        raise HTTPProblem("not_found", f"{contract} has no settlement of period {body.period!r}")
    with audit.acting_as(who.label):
        view = ledger.open_dispute(
            row.id,
            body.line,
            party=party,
            reason=body.reason,
            interaction_ids=body.interaction_ids,
            amount=body.amount,
        )
    return shape(request, view, access)


@router.get("/{dispute}", response_model=m.Dispute, responses=responses(401, 404))
def dispute(request: Request, contract: str, dispute: RowId, who: Who) -> m.Dispute:
    """A dispute with its thread and what you may do now."""
    access = contract_access(request, contract, who)
    return shape(request, find(request, access, dispute), access)


def step(
    request: Request, contract: str, dispute: RowId, who: Caller, action: str, note: str | None
) -> m.Dispute:
    access = contract_access(request, contract, who)
    view = find(request, access, dispute)
    party = access.party("dispute_answer")
    if view.against != party:
        raise HTTPProblem(
            "forbidden",
            f"dispute {dispute} was opened by the {view.opened_by}; only the {view.against} can {action} it",
        )
    check_csrf(request, who)
    ledger = request.app.state.writer.ledger
    with audit.acting_as(who.label):
        if action == "answer":
            view = ledger.answer_dispute(dispute, party=party, note=note or "")
        elif action == "accept":
            view = ledger.accept_dispute(dispute, note=note, party=party)
        else:
            view = ledger.reject_dispute(dispute, note=note or "", party=party)
    return shape(request, view, access)


@router.post("/{dispute}/answer", response_model=m.Dispute, responses=responses(401, 403, 404, 409, 422))
def answer(request: Request, contract: str, dispute: RowId, body: m.DisputeNote, who: Who) -> m.Dispute:
    """Answer an open dispute raised against your side (a note is needed)."""
    return step(request, contract, dispute, who, "answer", body.note)


@router.post("/{dispute}/accept", response_model=m.Dispute, responses=responses(401, 403, 404, 409, 422))
def accept(request: Request, contract: str, dispute: RowId, body: m.DisputeNote, who: Who) -> m.Dispute:
    """Accept a dispute raised against your side: the next settlement bills the claim as an adjustment."""
    return step(request, contract, dispute, who, "accept", body.note)


@router.post("/{dispute}/reject", response_model=m.Dispute, responses=responses(401, 403, 404, 409, 422))
def reject(request: Request, contract: str, dispute: RowId, body: m.DisputeNote, who: Who) -> m.Dispute:
    """Reject a dispute raised against your side, saying why."""
    return step(request, contract, dispute, who, "reject", body.note)


@router.post(
    "/{dispute}/comments",
    status_code=201,
    response_model=m.Dispute,
    responses=responses(401, 403, 404, 409, 422),
)
def comment(request: Request, contract: str, dispute: RowId, body: m.CommentIn, who: Who) -> m.Dispute:
    """Comment in a dispute's thread (admins and the auditor)."""
    access = contract_access(request, contract, who)
    access.require("dispute_comment")
    view = find(request, access, dispute)
    check_csrf(request, who)
    role = next(
        r
        for r in access.roles
        if access.may("dispute_comment") and r in ("buyer-admin", "provider-admin", "auditor")
    )
    with request.app.state.writer.ledger.session() as s, s.begin(), audit.acting_as(who.label):
        from outcomes.ledger.store import lock_for_write

        lock_for_write(s)
        lifecycle.comment(
            s,
            view.id,
            author=who.person.email,
            organisation=who.person.organisation,
            role=role,
            body=body.body,
        )
    return shape(request, find(request, access, dispute), access)
