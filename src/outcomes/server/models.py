"""The API's request and response bodies (Pydantic): what the OpenAPI document describes and every response is
checked against. Money and rates are decimal strings, never floats; times are ISO 8601 with their offset."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from outcomes.server.problems import HTTPProblem

T = TypeVar("T")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    """One page of a list, oldest first; `next_cursor` (null on the last page) fetches the next one."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page")


def encode_cursor(value: int | str) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None or cursor == "":
        return None
    try:
        pad = "=" * (-len(cursor) % 4)
        return base64.b64decode((cursor + pad).encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise HTTPProblem("bad_request", f"cursor {cursor!r} is not one this server gave out") from None


def int_cursor(cursor: str | None) -> int | None:
    text = decode_cursor(cursor)
    if text is None:
        return None
    if not text.lstrip("-").isdigit():
        raise HTTPProblem("bad_request", f"cursor {cursor!r} is not one this server gave out")
    return int(text)


def paged(rows: list[Any], limit: int, key) -> tuple[list[Any], str | None]:
    """The first `limit` rows and the cursor after the last (rows were fetched with one extra)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None


class Me(BaseModel):
    email: str
    organisation: str
    grants: list[dict[str, str | None]]
    via: str = Field(description="token or session")


class Parties(BaseModel):
    buyer: str
    provider: str
    auditor: str | None = None


class ContractSummary(BaseModel):
    contract: str
    version: int
    parties: Parties
    currency: str
    period: str = Field(description="month or quarter")
    term: dict[str, str]
    roles: list[str] = Field(description="Your roles on it")


class ContractVersionInfo(BaseModel):
    version: int
    hash: str
    effective_from: str
    registered_at: str


class ContractDetail(ContractSummary):
    timezone: str
    system_of_record: str
    workflows: list[str]
    outcomes: dict[str, str] = Field(description="outcome name -> kind")
    versions: list[ContractVersionInfo]
    contract_yaml: str = Field(description="The latest version as registered")


class QuarantinedRow(BaseModel):
    row: int | None
    field: str | None
    reason: str
    message: str | None


class IngestResult(BaseModel):
    """What a batch did: the store's counts, the reasons rows were quarantined, a sample of them."""

    batch: int
    kind: str
    idempotency_key: str
    rows: int
    accepted: int
    duplicates: int
    updated: int
    quarantined: int
    reasons: dict[str, int]
    quarantine_sample: list[QuarantinedRow]
    received_at: str
    replayed: bool = Field(description="true when this is the stored response of an earlier attempt")


class SettleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(min_length=1, max_length=10, examples=["2026-06"], description="YYYY-MM or YYYY-Qn")
    provisional: bool = Field(default=False, description="Settle before the repeat windows close")


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(min_length=1, max_length=10, examples=["2026-06"])


class InvoiceLine(BaseModel):
    line: int
    kind: str
    label: str
    outcome: str | None
    workflows: list[str]
    quantity: str | None
    unit_price: str | None
    amount: str
    unrounded: str
    details: dict[str, Any]


class Invoice(BaseModel):
    settlement: int | None = Field(description="null for a preview (not recorded)")
    contract: str
    version: int
    period: str
    status: str
    fingerprint: str
    currency: str
    total: str
    lines: list[InvoiceLine]
    notices: list[dict[str, Any]]
    created_at: str | None = None
    audit_head: str | None = Field(
        None,
        description="The audit chain's head right after this settlement was recorded (`SEQ HASH`): keep it; "
        "`outcomes audit verify --against` proves the ledger still extends it",
    )


class SettlementSummary(BaseModel):
    settlement: int
    contract: str
    version: int
    period: str
    status: str
    total: str
    currency: str
    fingerprint: str
    created_at: str


class ExplainPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    settlement: int
    line: int
    kind: str
    label: str
    amount: str
    unrounded: str
    currency: str
    clause: dict[str, Any]
    details: dict[str, Any]
    counts: list[dict[str, Any]] | None = None
    samples: list[dict[str, Any]] | None = None
    sql: str | None = None


class EvidenceRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    outcome: str
    source: str
    interaction_id: str
    customer_id: str | None
    workflow: str | None
    closed_at: str | None
    status: str
    reason: str | None
    repeat_id: str | None


class DisputeOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(min_length=1, max_length=10, description="The settled period")
    line: int = Field(ge=1, le=100000)
    reason: str = Field(min_length=1, max_length=5000)
    interaction_ids: list[str] = Field(default_factory=list, max_length=10000)
    amount: str | None = Field(default=None, max_length=40, description="Amount claimed, a decimal string")


class DisputeNote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=5000)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=5000)


class ThreadItem(BaseModel):
    kind: str = Field(description="event (a lifecycle step) or comment")
    at: str
    action: str | None = None
    party: str | None = None
    note: str | None = None
    author: str | None = None
    organisation: str | None = None
    role: str | None = None
    body: str | None = None


class Dispute(BaseModel):
    id: int
    settlement: int
    contract: str
    period: str
    currency: str
    line: int
    line_label: str
    line_amount: str
    opened_by: str
    against: str
    reason: str
    interaction_ids: list[str]
    amount_claimed: str | None
    state: str
    opened_at: str
    adjusted_in: int | None
    thread: list[ThreadItem]
    actions: list[str] = Field(description="What you may do now")


class LiveOutcome(BaseModel):
    outcome: str
    candidates: int
    counted: int
    pending: int
    excluded: dict[str, int]
    excluded_total: int
    value: str | None
    counted_share: str | None = Field(description="counted / (counted + excluded)")
    undefined: str | None = Field(
        default=None,
        description="Why value and counted_share are null (a save outcome while no customer event is ingested)",
    )


class LiveWorkflow(BaseModel):
    workflow: str
    outcomes: list[LiveOutcome]


class LiveDay(BaseModel):
    day: str
    workflow: str
    outcome: str
    counted: int
    pending: int
    excluded: int


class LivePeriod(BaseModel):
    period: str
    start: str
    end: str
    version: int
    workflows: list[LiveWorkflow]
    days: list[LiveDay]


class LiveScorecard(BaseModel):
    contract: str
    as_of_batch: int
    updated_at: str
    contact_clock: str | None
    event_clock: str | None
    periods: list[LivePeriod] = Field(description="The current period first, then the one before it")


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditHead(BaseModel):
    seq: int
    hash: str
    entries: int
    intact: bool
    problem: str | None = None


class Report(BaseModel):
    """An analysis report as the command line's --json prints it."""

    model_config = ConfigDict(extra="allow")
