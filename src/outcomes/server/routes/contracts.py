"""`/api/me` and `/api/contracts`: who you are, and the contracts whose parties name your organisation."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from outcomes.server import models as m
from outcomes.server.auth import Caller, ContractAccess, contract_access, visible_contracts
from outcomes.server.deps import api_caller
from outcomes.server.problems import responses

router = APIRouter(prefix="/api", tags=["contracts"])


@router.get("/me", response_model=m.Me, responses=responses(401))
def me(who: Annotated[Caller, Depends(api_caller)]) -> m.Me:
    """The caller: email, organisation, active grants (contract null: every contract of that side)."""
    p = who.person
    return m.Me(
        email=p.email,
        organisation=p.organisation,
        grants=[{"contract": c, "role": r} for c, r in p.grants],
        via=who.via,
    )


def summary(request: Request, access: ContractAccess) -> m.ContractSummary:
    row = request.app.state.writer.ledger.contract_version(access.contract)
    data = json.loads(row.canonical)
    return m.ContractSummary(
        contract=access.contract,
        version=row.version,
        parties=m.Parties(**data["parties"]),
        currency=data["currency"],
        period=data["period"],
        term={k: str(v) for k, v in data["term"].items()},
        roles=list(access.roles),
    )


@router.get("/contracts", response_model=m.Page[m.ContractSummary], responses=responses(400, 401))
def contracts(
    request: Request,
    who: Annotated[Caller, Depends(api_caller)],
    cursor: Annotated[str | None, Query(max_length=200, description="From the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=m.MAX_LIMIT)] = m.DEFAULT_LIMIT,
    role: Annotated[
        str | None, Query(max_length=40, description="Only contracts where you hold this role")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Only ids containing this text")] = None,
) -> m.Page[m.ContractSummary]:
    """The contracts you may see, by id."""
    after = m.decode_cursor(cursor)
    rows = [
        a
        for a in visible_contracts(request, who)
        if (after is None or a.contract > after)
        and (role is None or role in a.roles)
        and (q is None or q.lower() in a.contract.lower())
    ]
    page, nxt = m.paged(rows[: limit + 1], limit, lambda a: a.contract)
    return m.Page[m.ContractSummary](items=[summary(request, a) for a in page], next_cursor=nxt)


@router.get("/contracts/{contract}", response_model=m.ContractDetail, responses=responses(401, 404))
def contract(
    request: Request, contract: str, who: Annotated[Caller, Depends(api_caller)]
) -> m.ContractDetail:
    """One contract: parties, term, workflows, outcomes, every registered version and the latest as written."""
    access = contract_access(request, contract, who)
    ledger = request.app.state.writer.ledger
    rows = ledger.contract_versions(contract)
    data = json.loads(rows[-1].canonical)
    base = summary(request, access)
    return m.ContractDetail(
        **base.model_dump(),
        timezone=data["timezone"],
        system_of_record=data["system_of_record"],
        workflows=list(data["workflows"]),
        outcomes={k: v["kind"] for k, v in data["outcomes"].items()},
        versions=[
            m.ContractVersionInfo(
                version=r.version, hash=r.hash, effective_from=r.effective_from, registered_at=r.registered_at
            )
            for r in rows
        ],
        contract_yaml=rows[-1].source_text,
    )
