"""Settlements: preview (a provisional settle, not recorded), settle, list, one with its lines, a line's evidence
(paged JSON, or the whole of it streamed as CSV or Parquet) and its explanation."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from outcomes.server import models as m
from outcomes.server.auth import Caller, ContractAccess, check_csrf, contract_access
from outcomes.server.deps import api_caller
from outcomes.server.problems import HTTPProblem, responses

router = APIRouter(prefix="/api/contracts/{contract}/settlements", tags=["settlements"])

Who = Annotated[Caller, Depends(api_caller)]
EVIDENCE_COLUMNS = (
    "outcome",
    "source",
    "interaction_id",
    "customer_id",
    "workflow",
    "closed_at",
    "status",
    "reason",
    "repeat_id",
    "churn_at",
    "value",
    "pending_until",
)


def invoice(inv: dict[str, Any], created_at: str | None = None) -> m.Invoice:
    return m.Invoice(
        settlement=inv.get("settlement"),
        contract=inv["contract"],
        version=inv["version"],
        period=inv["period"],
        status=inv["status"],
        fingerprint=inv["fingerprint"],
        currency=inv["currency"],
        total=inv["total"],
        lines=[m.InvoiceLine(line=i, **ln) for i, ln in enumerate(inv["lines"], start=1)],
        notices=inv["notices"],
        created_at=created_at,
    )


def settlement_row(request: Request, access: ContractAccess, period: str):
    row = request.app.state.writer.ledger.find_settlement(access.contract, period)
    if row is None:
        raise HTTPProblem("not_found", f"{access.contract} has no settlement of period {period!r}")
    return row


@router.post("/preview", response_model=m.Invoice, responses=responses(401, 403, 404, 409, 422))
def preview(request: Request, contract: str, body: m.PreviewRequest, who: Who) -> m.Invoice:
    """What the period would bill now: a provisional settle that records nothing."""
    access = contract_access(request, contract, who)
    access.require("preview")
    result = request.app.state.writer.preview(contract, body.period)
    return invoice(result.to_dict())


@router.post("", status_code=201, response_model=m.Invoice, responses=responses(401, 403, 404, 409, 422))
def settle(request: Request, contract: str, body: m.SettleRequest, who: Who) -> m.Invoice:
    """Settle a period: an immutable, fingerprinted settlement (buyer-admin or provider-admin)."""
    access = contract_access(request, contract, who)
    access.require("settle")
    check_csrf(request, who)
    result = request.app.state.writer.settle(
        contract, body.period, provisional=body.provisional, actor=who.label
    )
    row = request.app.state.writer.ledger.settlement(result.settlement_id)
    return _recorded(row, request.app.state.writer.ledger)


def _recorded(row, ledger) -> m.Invoice:
    from outcomes.settlement.invoice import invoice_dict

    inv = invoice(invoice_dict(row), row.created_at)
    head = ledger.settlement_head(row)
    inv.audit_head = None if head is None else head.line()
    return inv


@router.get("", response_model=m.Page[m.SettlementSummary], responses=responses(400, 401, 404))
def settlements(
    request: Request,
    contract: str,
    who: Who,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=m.MAX_LIMIT)] = m.DEFAULT_LIMIT,
    status: Annotated[Literal["final", "provisional"] | None, Query()] = None,
    period_from: Annotated[str | None, Query(max_length=10, description="Periods from this one on")] = None,
    period_to: Annotated[str | None, Query(max_length=10, description="Periods up to this one")] = None,
) -> m.Page[m.SettlementSummary]:
    """The contract's settlements, oldest first."""
    contract_access(request, contract, who)
    after = m.int_cursor(cursor)
    rows = [
        r
        for r in request.app.state.writer.ledger.settlements(contract)
        if (after is None or r.id > after)
        and (status is None or r.status == status)
        and (period_from is None or r.period >= period_from)
        and (period_to is None or r.period <= period_to)
    ]
    page, nxt = m.paged(rows[: limit + 1], limit, lambda r: r.id)
    return m.Page[m.SettlementSummary](
        items=[
            m.SettlementSummary(
                settlement=r.id,
                contract=r.contract,
                version=r.version,
                period=r.period,
                status=r.status,
                total=r.total,
                currency=r.currency,
                fingerprint=r.fingerprint,
                created_at=r.created_at,
            )
            for r in page
        ],
        next_cursor=nxt,
    )


@router.get("/{period}", response_model=m.Invoice, responses=responses(401, 404))
def settlement(request: Request, contract: str, period: str, who: Who) -> m.Invoice:
    """A recorded settlement with its lines."""
    access = contract_access(request, contract, who)
    return _recorded(settlement_row(request, access, period), request.app.state.writer.ledger)


def _line(row, n: int) -> tuple[Any, str]:
    """A line and the evidence table of its outcome; 404 for a line without evidence rows."""
    lines = {ln.seq: ln for ln in row.lines}
    ln = lines.get(n)
    if ln is None:
        raise HTTPProblem(
            "not_found", f"settlement {row.contract}/{row.period} has no line {n} (1-{len(lines)})"
        )
    outcome = next((o for o in row.outcomes if o.outcome == ln.outcome), None)
    if ln.kind != "outcome_fee" or outcome is None:
        raise HTTPProblem(
            "not_found", f"line {n} ({ln.label}) is a {ln.kind} line: it has no contact-level evidence"
        )
    return ln, outcome.evidence_table


def _evidence_where(ln, table: str, status: str | None, reason: str | None) -> tuple[str, list[Any]]:
    workflows = json.loads(ln.workflows)
    marks = ", ".join("?" for _ in workflows) or "NULL"
    where = f"outcome = ? AND workflow IN ({marks})"
    args: list[Any] = [ln.outcome, *workflows]
    if status is not None:
        where += " AND status = ?"
        args.append(status)
    if reason is not None:
        where += " AND reason = ?"
        args.append(reason)
    return where, args


@router.get(
    "/{period}/lines/{line}/evidence",
    response_model=m.Page[m.EvidenceRow],
    responses={
        200: {
            "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
            "description": "A page of rows (JSON), or every row as CSV or Parquet (format=csv|parquet)",
        }
    }
    | responses(400, 401, 404, 406),
)
def evidence(
    request: Request,
    contract: str,
    period: str,
    line: int,
    who: Who,
    format: Annotated[Literal["json", "csv", "parquet"], Query(description="json: one page")] = "json",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=m.MAX_LIMIT)] = m.DEFAULT_LIMIT,
    status: Annotated[Literal["counted", "excluded", "pending"] | None, Query()] = None,
    reason: Annotated[str | None, Query(max_length=40)] = None,
):
    """The contacts behind an outcome-fee line: each candidate's fate, reason and the repeat that decided it."""
    access = contract_access(request, contract, who)
    row = settlement_row(request, access, period)
    ln, table = _line(row, line)
    where, args = _evidence_where(ln, table, status, reason)
    writer = request.app.state.writer
    cols = ", ".join(f'"{c}"' for c in EVIDENCE_COLUMNS)
    with writer.facts() as facts:
        con = getattr(facts, "con", None)
        if con is None or not facts.has_table(table):
            raise HTTPProblem(
                "not_found", f"the evidence of line {line} ({table}) is not in the facts store (retention?)"
            )
        if format != "json":
            folder = Path(tempfile.mkdtemp(prefix="outcomes-evidence-"))
            out = folder / f"{contract}-{period}-line{line}.{format}"
            sql = f'SELECT {cols} FROM "{table}" WHERE {where} ORDER BY source, interaction_id'
            con.execute(
                f"COPY ({_inline(sql, args)}) TO '{out}' (FORMAT {format})",
            )
            media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
            return FileResponse(
                out, media_type=media, filename=out.name, background=BackgroundTask(_remove, folder)
            )
        after = m.decode_cursor(cursor)
        page_where, page_args = where, list(args)
        if after is not None:
            source, _, ident = after.partition("\x1f")
            page_where += " AND (source > ? OR (source = ? AND interaction_id > ?))"
            page_args += [source, source, ident]
        cur = con.execute(
            f'SELECT {cols} FROM "{table}" WHERE {page_where} ORDER BY source, interaction_id LIMIT {limit + 1}',
            page_args,
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    page, nxt = m.paged(rows, limit, lambda r: f"{r['source']}\x1f{r['interaction_id']}")
    items = [m.EvidenceRow(**{k: (None if v is None else str(v)) for k, v in r.items()}) for r in page]
    return m.Page[m.EvidenceRow](items=items, next_cursor=nxt)


def _inline(sql: str, args: list[Any]) -> str:
    """COPY takes no parameters: the (few, text) arguments written as literals."""
    parts = sql.split("?")
    assert len(parts) == len(args) + 1
    out = parts[0]
    for a, rest in zip(args, parts[1:], strict=True):
        out += "'" + str(a).replace("'", "''") + "'" + rest
    return out


def _remove(folder: Path) -> None:
    for p in folder.glob("*"):
        p.unlink(missing_ok=True)
    folder.rmdir()


@router.get("/{period}/lines/{line}/explain", response_model=m.ExplainPart, responses=responses(401, 404))
def explain(
    request: Request,
    contract: str,
    period: str,
    line: int,
    who: Who,
    sample: Annotated[int, Query(ge=0, le=50)] = 5,
) -> m.ExplainPart:
    """How a line was computed: the contract clause, the arithmetic, counts by reason, sample ids, the SQL."""
    from outcomes.settlement.explain import explain_lines

    access = contract_access(request, contract, who)
    row = settlement_row(request, access, period)
    if not 1 <= line <= len(row.lines):
        raise HTTPProblem(
            "not_found", f"settlement {contract}/{period} has lines 1-{len(row.lines)}, not {line}"
        )
    with request.app.state.writer.facts() as facts:
        part = explain_lines(request.app.state.writer.ledger, facts, str(row.id), line, sample=sample)[0]
    return m.ExplainPart(**json.loads(json.dumps(part, default=str)))
