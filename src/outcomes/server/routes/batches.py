"""Batches in: `POST /api/contracts/{contract}/interactions` and `.../events`, JSON or Parquet, exactly once per
Idempotency-Key.

The body is a JSON array of row objects (`application/json`, canonical columns as keys) or a Parquet file
(`application/vnd.apache.parquet`), at most `MAX_BODY_BYTES`. Rows are validated exactly as `outcomes ingest`
validates a file: a bad row is quarantined with its reason, never a failed request. The `Idempotency-Key`
(1-200 visible characters) is scoped to your organisation: the first attempt's response is stored with the
rows, in their transaction, and a retry with the same key and body gets it back (`replayed: true`); the same
key with another body is 409.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from outcomes.facts.schema import EVENT_FIELDS, INTERACTION_FIELDS
from outcomes.server import models as m
from outcomes.server.auth import Caller, check_csrf, contract_access
from outcomes.server.deps import api_caller
from outcomes.server.problems import HTTPProblem, responses

router = APIRouter(prefix="/api/contracts/{contract}", tags=["batches"])

MAX_BODY_BYTES = 64 * 1024 * 1024
PARQUET = "application/vnd.apache.parquet"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _row_schema(fields) -> dict[str, Any]:
    scalar = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]}
    return {
        "type": "object",
        "properties": {f.name: scalar for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def _body_doc(fields, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": f"A JSON array of rows, or a Parquet file; at most {MAX_BODY_BYTES} bytes.",
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": _row_schema(fields), "maxItems": 1_000_000},
                    "example": [example],
                },
                PARQUET: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }


INTERACTION_EXAMPLE = {
    "interaction_id": "T-1001",
    "source": "buyer_crm",
    "customer_id": "C-77",
    "channel": "chat",
    "queue": "disputes",
    "opened_at": "2026-06-03T09:12:00Z",
    "closed_at": "2026-06-03T09:30:00Z",
    "status": "resolved",
    "handled_by": "agent",
    "provider": "northwind",
}
EVENT_EXAMPLE = {
    "customer_id": "C-77",
    "event": "renewed",
    "at": "2026-06-04T10:00:00Z",
    "monthly_revenue": "42.00",
}


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPProblem(
            "too_large", f"the body has {declared} bytes; a batch may have at most {MAX_BODY_BYTES}"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPProblem("too_large", f"the body is over {MAX_BODY_BYTES} bytes; send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


def _format(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json":
        return "json"
    if media == PARQUET:
        return "parquet"
    raise HTTPProblem(
        "unsupported_media_type",
        f"Content-Type {media or '(none)'!r}: send application/json (an array of rows) or {PARQUET}",
    )


async def _ingest(request: Request, kind: str, contract: str, who: Caller, key: str | None, tz: str | None):
    access = contract_access(request, contract, who)
    access.require("ingest_interactions" if kind == "interactions" else "ingest_events")
    check_csrf(request, who)
    if key is None:
        raise HTTPProblem(
            "idempotency_key_required",
            "send an Idempotency-Key header (1-200 visible ASCII characters, e.g. a UUID) so a retry ingests once",
        )
    if not _KEY.match(key):
        raise HTTPProblem("bad_request", "the Idempotency-Key must be 1-200 visible ASCII characters")
    fmt = _format(request)
    body = await _body(request)
    if not body.strip():
        raise HTTPProblem("bad_request", "the body is empty: send a JSON array of rows or a Parquet file")
    writer = request.app.state.writer
    outcome = await run_in_threadpool(
        writer.ingest,
        tenant=who.person.organisation,
        key=key,
        kind=kind,
        body=body,
        fmt=fmt,
        timezone=tz,
        actor=who.label,
        contract=contract,
    )
    result = m.IngestResult(**outcome.response, replayed=outcome.replayed)
    return JSONResponse(result.model_dump(mode="json"), status_code=200 if outcome.replayed else 201)


KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", description="Scoped to your organisation; a retry must send the same body"
    ),
]
TzQuery = Annotated[
    str | None,
    Query(max_length=64, description="IANA zone of timestamps written without one (else quarantined)"),
]


@router.post(
    "/interactions",
    status_code=201,
    response_model=m.IngestResult,
    responses={200: {"model": m.IngestResult, "description": "A retry: the first response"}}
    | responses(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra=_body_doc(INTERACTION_FIELDS, INTERACTION_EXAMPLE),
)
async def ingest_interactions(
    request: Request,
    contract: str,
    who: Annotated[Caller, Depends(api_caller)],
    idempotency_key: KeyHeader = None,
    timezone: TzQuery = None,
):
    """Ingest a batch of interactions (buyer-admin or provider-admin)."""
    return await _ingest(request, "interactions", contract, who, idempotency_key, timezone)


@router.post(
    "/events",
    status_code=201,
    response_model=m.IngestResult,
    responses={200: {"model": m.IngestResult, "description": "A retry: the first response"}}
    | responses(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra=_body_doc(EVENT_FIELDS, EVENT_EXAMPLE),
)
async def ingest_events(
    request: Request,
    contract: str,
    who: Annotated[Caller, Depends(api_caller)],
    idempotency_key: KeyHeader = None,
    timezone: TzQuery = None,
):
    """Ingest a batch of customer events from the CRM (buyer-admin)."""
    return await _ingest(request, "events", contract, who, idempotency_key, timezone)
