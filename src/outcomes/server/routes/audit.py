"""The audit log and its head. You see the entries of your contracts (and the workspace-wide ones: batches
of facts, and your own organisation's people); the head (sequence number and hash) is the whole chain's, so
each party can keep it and later prove nothing was rewritten (`outcomes audit verify`)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from outcomes.ledger.models import AuditEntry
from outcomes.server import models as m
from outcomes.server.auth import Caller, visible_contracts
from outcomes.server.deps import api_caller
from outcomes.server.problems import responses

router = APIRouter(prefix="/api/audit", tags=["audit"])
Who = Annotated[Caller, Depends(api_caller)]
_DISPUTE = re.compile(r"^dispute \d+ \((.+)/[^/]+ line \d+\)$")


def entry_contract(e: AuditEntry, payload: dict[str, Any]) -> str | None:
    """The contract an entry is about (None: the workspace's, or an organisation's people)."""
    if payload.get("contract"):
        return str(payload["contract"])
    if e.action == "contract.add":
        return e.subject.rsplit(" v", 1)[0]
    if e.action == "settlement.record":
        return e.subject.rsplit("/", 1)[0]
    if e.action.startswith("dispute."):
        found = _DISPUTE.match(e.subject)
        return found.group(1) if found else None
    return None


def visible(e: AuditEntry, payload: dict[str, Any], contracts: set[str], organisation: str) -> bool:
    cid = entry_contract(e, payload)
    if cid is not None:
        return cid in contracts
    if e.action.startswith("access."):
        return payload.get("organisation") == organisation
    return True  # a batch of facts, ingested for the whole workspace


def entries(request: Request, who: Caller) -> tuple[set[str], str]:
    return {a.contract for a in visible_contracts(request, who)}, who.person.organisation


@router.get("", response_model=m.Page[m.AuditEntry], responses=responses(400, 401))
def audit_log(
    request: Request,
    who: Who,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=m.MAX_LIMIT)] = m.DEFAULT_LIMIT,
    action: Annotated[
        str | None, Query(max_length=80, description="Entries whose action starts with this")
    ] = None,
    contract: Annotated[str | None, Query(max_length=200)] = None,
) -> m.Page[m.AuditEntry]:
    """Audit entries you may see, oldest first, each with its hash and the previous one's."""
    contracts, org = entries(request, who)
    after = m.int_cursor(cursor) or 0
    out: list[m.AuditEntry] = []
    ledger = request.app.state.writer.ledger
    with ledger.session() as s:
        while len(out) <= limit:
            rows = (
                s.execute(
                    select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(500)
                )
                .scalars()
                .all()
            )
            if not rows:
                break
            for e in rows:
                after = e.seq
                payload = json.loads(e.payload)
                if not visible(e, payload, contracts, org):
                    continue
                if action is not None and not e.action.startswith(action):
                    continue
                if contract is not None and entry_contract(e, payload) != contract:
                    continue
                out.append(
                    m.AuditEntry(
                        seq=e.seq,
                        at=e.at,
                        actor=e.actor,
                        action=e.action,
                        subject=e.subject,
                        payload=payload,
                        prev_hash=e.prev_hash,
                        hash=e.hash,
                    )
                )
                if len(out) > limit:
                    break
    page, nxt = m.paged(out, limit, lambda e: e.seq)
    return m.Page[m.AuditEntry](items=page, next_cursor=nxt)


@router.get("/head", response_model=m.AuditHead, responses=responses(401))
def head(request: Request, who: Who) -> m.AuditHead:
    """The chain's head: keep it, and `outcomes audit verify` later proves nothing before it changed."""
    ledger = request.app.state.writer.ledger
    report = ledger.verify_audit()
    with ledger.session() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one_or_none()
        count = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    return m.AuditHead(
        seq=last.seq if last else 0,
        hash=last.hash if last else "sha256:" + "0" * 64,
        entries=int(count),
        intact=report.ok,
        problem=None if report.ok else f"entry {report.first_bad}: {report.problem}",
    )
