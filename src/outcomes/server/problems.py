"""One JSON error shape for every error of the API: RFC 9457 problem details (`application/problem+json`).

    {"type": "/problems/ledger", "title": "Refused by the ledger", "status": 409,
     "detail": "dispute 3 is already answered; ...", "instance": "/api/contracts/c/disputes/3/answer",
     "code": "ledger", "hint": null}

`type` is a URI reference (resolved against the server) whose page describes the problem; `code` is the
`OutcomesError` code the command line uses too, so a script can handle both the same way. Validation errors of a
request add `errors` (where and what). Nothing else leaves the server as an error: an unexpected exception is a
500 `internal` problem without details (the traceback goes to the server's log).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from outcomes.errors import OutcomesError

MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details, with this project's `code` and `hint`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI reference naming the problem type; its page describes it")
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong here, naming the file, row, field or id")
    instance: str | None = Field(default=None, description="The request path")
    code: str = Field(description="Stable machine-readable code (also the command line's)")
    hint: str | None = Field(default=None, description="What to do about it")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Request validation errors: where (loc) and what (msg)"
    )


# code -> (HTTP status, title). The codes of outcomes.errors.OutcomesError subclasses, then the server's own.
TYPES: dict[str, tuple[int, str]] = {
    "contract_invalid": (422, "The contract is not valid"),
    "bad_value": (422, "A value is not valid"),
    "bad_target": (422, "A target expression is not valid"),
    "out_of_range": (422, "A value is out of range"),
    "period": (422, "Not a period of the contract"),
    "ingest": (422, "The batch cannot be ingested"),
    "mapping": (422, "The mapping cannot be used"),
    "segment": (422, "Not a valid segment"),
    "uplift": (422, "The uplift cannot be measured"),
    "scorecard": (422, "The scorecard cannot be made as asked"),
    "integrity": (422, "The integrity checks cannot run as asked"),
    "renewal_refused": (422, "The renewal pack cannot be made as asked"),
    "simulation_refused": (409, "The period cannot be priced"),
    "right_channels": (422, "The right-channel mapping is not valid"),
    "settlement_refused": (409, "The period cannot be settled"),
    "duplicate_settlement": (409, "The period is already settled"),
    "ledger": (409, "Refused by the ledger"),
    "access": (422, "The access change is not valid"),
    "ledger_schema": (503, "The ledger's schema is not usable"),
    "workspace": (503, "The workspace is not usable"),
    "spark": (503, "The Spark engine is not usable"),
    "error": (400, "The request cannot be carried out"),
    # the server's own
    "bad_request": (400, "Bad request"),
    "validation": (422, "The request is not valid"),
    "unauthenticated": (401, "Sign-in or an API token is needed"),
    "forbidden": (403, "Your role does not allow this"),
    "csrf": (403, "The form token is missing or wrong"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    "idempotency_key_reused": (409, "The idempotency key was used with another body"),
    "idempotency_key_required": (400, "An Idempotency-Key header is needed"),
    "too_large": (413, "The body is too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "rate_limited": (429, "Too many attempts"),
    "internal": (500, "Internal error"),
    "busy": (503, "The server is busy"),
}


class HTTPProblem(Exception):
    """Raised by the server's own code: becomes a problem response with this code and detail."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.hint = hint
        self.headers = headers or {}
        self.status = status or TYPES[code][0]


def for_code(
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    hint: str | None = None,
    status: int | None = None,
    **extra: Any,
) -> Problem:
    known_status, title = TYPES.get(code, TYPES["error"])
    return Problem(
        type=f"/problems/{code}",
        title=title,
        status=status or known_status,
        detail=detail,
        instance=instance,
        code=code,
        hint=hint,
        **{k: v for k, v in extra.items() if v is not None},
    )


def from_error(exc: OutcomesError, instance: str | None = None) -> Problem:
    """An OutcomesError as a problem: its code picks the status and title, its message and hint are kept."""
    from outcomes.ledger import DuplicateSettlement

    code = "duplicate_settlement" if isinstance(exc, DuplicateSettlement) else exc.code
    if code not in TYPES:
        code = "error"
    detail = str(exc)
    issues = getattr(exc, "issues", None)
    errors = [{"msg": str(i)} for i in issues] if issues else None
    return for_code(code, detail, instance=instance, hint=exc.hint, errors=errors)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries: each listed status is a problem document. Any request can be malformed
    (400) or invalid (422), so those two are always listed."""
    statuses = tuple(sorted({*statuses, 400, 422}))
    return {
        s: {"model": Problem, "description": _DESCRIPTIONS.get(s, "A problem"), "content": {MEDIA_TYPE: {}}}
        for s in statuses
    }


_DESCRIPTIONS = {
    400: "Bad request",
    401: "No, or a bad, token or session",
    403: "Your role does not allow this",
    404: "Not found (or not yours)",
    409: "Conflict with the ledger's state",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Not valid",
    429: "Too many attempts",
    503: "Unavailable",
}
