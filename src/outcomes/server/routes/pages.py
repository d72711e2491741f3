"""The pages, rendered on the server (Jinja2) and kept live with htmx: sign-in, contracts, a contract (the live
scorecard by workflow, the invoice preview, trend charts), a settlement (each line's evidence and explanation),
a dispute (its thread and what your role may do), the audit log with its head.

The pages read what the API reads, through the same core functions; they sign in with a session cookie, and
every form carries the session's CSRF token.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pwdlib import PasswordHash

from outcomes.ledger import access as people
from outcomes.ledger import audit as chain
from outcomes.ledger import disputes as lifecycle
from outcomes.server import auth
from outcomes.server.deps import RowId
from outcomes.server.problems import HTTPProblem

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
passwords = PasswordHash.recommended()
SIGNIN_COOKIE = "outcomes_signin"
# verifying against this hash when the email is unknown makes both cases take the time of one argon2 check
_DUMMY_HASH = passwords.hash(secrets.token_urlsafe(16))


def _who(request: Request) -> auth.Caller:
    who = auth.caller(request, required=False)
    if who is None:
        raise HTTPProblem("unauthenticated", "sign in")
    return who


def render(
    request: Request, name: str, who: auth.Caller | None, http_status: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(
        request, name, {"who": who, "csrf": who.csrf if who else None, **context}, status_code=http_status
    )


def error_page(request: Request, status: int, detail: str) -> Response:
    who = auth.caller(request, required=False) if status != 401 else None
    return render(request, "error.html", who, http_status=status, status_code=status, detail=detail)


# sign-in --------------------------------------------------------------------------------------------------
def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "signin.html", None, form_token=token, next=_safe_next(next), message=None)
    _signin_cookie(request, response, token)
    return response


def _signin_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
        max_age=3600,
        path="/signin",
    )


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    cookie = request.cookies.get(SIGNIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf.encode()):
        raise HTTPProblem("csrf", "the sign-in form expired; reload the page and sign in again")
    limiter: auth.SignInLimiter = request.app.state.limiter
    address = request.client.host if request.client else "?"
    keys = (f"ip:{address}", f"email:{email.strip().lower()}")
    wait = limiter.retry_after(*keys)
    if wait:
        response = render(
            request,
            "signin.html",
            None,
            http_status=429,
            form_token=cookie,
            next=_safe_next(next),
            message=f"Too many failed sign-ins. Try again in {wait} seconds.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    ledger = request.app.state.writer.ledger
    with ledger.session() as s:
        found = people.password_hash_of(s, email)
    stored = found[1] if found else None
    ok = passwords.verify(password, stored or _DUMMY_HASH) and stored is not None
    if not ok or found is None:
        limiter.failed(*keys)
        return render(
            request,
            "signin.html",
            None,
            http_status=401,
            form_token=cookie,
            next=_safe_next(next),
            message="That email and password do not match.",
        )
    limiter.succeeded(*keys)
    with people.transaction(ledger) as s:
        secret, _csrf = people.open_session(s, found[0])
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        max_age=people.SESSION_HOURS * 3600,
        path="/",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    who = _who(request)
    auth.check_csrf(request, who, csrf)
    with people.transaction(request.app.state.writer.ledger) as s:
        people.end_session(s, request.cookies.get(auth.SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


# contracts ------------------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    who = _who(request)
    from outcomes.server.routes.contracts import summary

    rows = [summary(request, a) for a in auth.visible_contracts(request, who)]
    return render(request, "contracts.html", who, contracts=rows)


def _access(request: Request, contract: str) -> tuple[auth.Caller, auth.ContractAccess]:
    who = _who(request)
    return who, auth.contract_access(request, contract, who)


@router.get("/contracts/{contract}", response_class=HTMLResponse)
def contract_page(request: Request, contract: str) -> Response:
    who, access = _access(request, contract)
    from outcomes.server.routes.analysis import live_snapshot
    from outcomes.server.routes.contracts import summary

    ledger = request.app.state.writer.ledger
    snap = live_snapshot(request, contract)
    period = snap["periods"][0]["period"] if snap["periods"] else None
    with ledger.session() as s:
        open_disputes = lifecycle.views(s, contract=contract)
    return render(
        request,
        "contract.html",
        who,
        c=summary(request, access),
        live=snap,
        period=period,
        settlements=ledger.settlements(contract),
        disputes=open_disputes,
    )


@router.get("/contracts/{contract}/live", response_class=HTMLResponse)
def live_fragment(request: Request, contract: str) -> Response:
    who, _access_ = _access(request, contract)
    from outcomes.server.routes.analysis import live_snapshot

    return render(request, "live.html", who, live=live_snapshot(request, contract), contract=contract)


@router.get("/contracts/{contract}/preview", response_class=HTMLResponse)
def preview_fragment(
    request: Request, contract: str, period: Annotated[str, Query(max_length=10)]
) -> Response:
    who, access = _access(request, contract)
    from outcomes.errors import OutcomesError

    try:
        inv = request.app.state.writer.preview(contract, period).to_dict()
        problem = None
    except OutcomesError as exc:
        inv, problem = None, str(exc)
    return render(request, "preview.html", who, inv=inv, problem=problem, period=period)


@router.get("/contracts/{contract}/charts/{group}.svg")
def chart(
    request: Request, contract: str, group: str, period: Annotated[str, Query(max_length=10)]
) -> Response:
    _access(request, contract)
    from outcomes.analysis.charts import group_chart
    from outcomes.analysis.charts import render as draw
    from outcomes.analysis.scorecard import GROUPS, collect

    if group not in {g for g, _, _ in GROUPS}:
        raise HTTPProblem("not_found", f"no chart {group!r}")
    writer = request.app.state.writer
    with writer.facts():
        card = collect(writer.ws, contract, period, trend=6)
    return Response(draw(group_chart(card, group), "svg"), media_type="image/svg+xml")


# settlements ----------------------------------------------------------------------------------------------
@router.get("/contracts/{contract}/settlements/{period}", response_class=HTMLResponse)
def settlement_page(request: Request, contract: str, period: str) -> Response:
    who, access = _access(request, contract)
    from outcomes.server.routes.settlements import _recorded, settlement_row

    row = settlement_row(request, access, period)
    return render(
        request,
        "settlement.html",
        who,
        contract=contract,
        inv=_recorded(row, request.app.state.writer.ledger),
        may_dispute=access.may("dispute_open"),
    )


@router.get("/contracts/{contract}/settlements/{period}/lines/{line}/evidence", response_class=HTMLResponse)
def evidence_page(
    request: Request,
    contract: str,
    period: str,
    line: int,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    who, _access_ = _access(request, contract)
    from outcomes.server.routes.settlements import evidence

    if status not in (None, "", "counted", "excluded", "pending"):
        status = None
    page = evidence(
        request,
        contract,
        period,
        line,
        who,
        format="json",
        cursor=cursor,
        limit=50,
        status=status or None,
        reason=None,
    )
    return render(
        request,
        "evidence.html",
        who,
        contract=contract,
        period=period,
        line=line,
        page=page,
        status=status or "",
        cursor=cursor,
    )


@router.get("/contracts/{contract}/settlements/{period}/lines/{line}/explain", response_class=HTMLResponse)
def explain_page(request: Request, contract: str, period: str, line: int) -> Response:
    who, _access_ = _access(request, contract)
    from outcomes.server.routes.settlements import explain

    part = explain(request, contract, period, line, who, sample=5)
    return render(
        request,
        "explain.html",
        who,
        contract=contract,
        period=period,
        part=part,
        details=json.dumps({k: v for k, v in part.details.items() if k != "verification"}, indent=2),
        clause=json.dumps(part.clause, indent=2),
    )


@router.post("/contracts/{contract}/settlements/{period}/disputes")
def raise_dispute(
    request: Request,
    contract: str,
    period: str,
    line: Annotated[int, Form(ge=1, le=100000)],
    reason: Annotated[str, Form(min_length=1, max_length=5000)],
    interaction_ids: Annotated[str, Form(max_length=100000)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    who, access = _access(request, contract)
    auth.check_csrf(request, who, csrf)
    party = access.party("dispute_open")
    ledger = request.app.state.writer.ledger
    row = ledger.find_settlement(contract, period)
    if row is None:
        raise HTTPProblem("not_found", f"{contract} has no settlement of period {period!r}")
    with chain.acting_as(who.label):
        view = ledger.open_dispute(
            row.id,
            line,
            party=party,
            reason=reason,
            interaction_ids=interaction_ids or None,
            amount=amount or None,
        )
    return RedirectResponse(f"/contracts/{quote(contract)}/disputes/{view.id}", status_code=303)


# disputes -------------------------------------------------------------------------------------------------
@router.get("/contracts/{contract}/disputes/{dispute}", response_class=HTMLResponse)
def dispute_page(request: Request, contract: str, dispute: RowId) -> Response:
    who, access = _access(request, contract)
    from outcomes.server.routes.disputes import find, shape

    d = shape(request, find(request, access, dispute), access)
    return render(request, "dispute.html", who, contract=contract, d=d)


@router.post("/contracts/{contract}/disputes/{dispute}/{action}")
def dispute_action(
    request: Request,
    contract: str,
    dispute: RowId,
    action: str,
    text: Annotated[str, Form(max_length=5000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    who = _who(request)
    auth.check_csrf(request, who, csrf)
    from outcomes.server.routes import disputes as api

    if action == "comment":
        from outcomes.server.models import CommentIn

        api.comment(request, contract, dispute, CommentIn(body=text or " "), who)
    elif action in ("answer", "accept", "reject"):
        api.step(request, contract, dispute, who, action, text or None)
    else:
        raise HTTPProblem("not_found", f"no dispute action {action!r}")
    return RedirectResponse(f"/contracts/{quote(contract)}/disputes/{dispute}", status_code=303)


# audit ----------------------------------------------------------------------------------------------------
@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    who = _who(request)
    from outcomes.server.routes.audit import audit_log, head

    page = audit_log(request, who, cursor=cursor, limit=50, action=None, contract=None)
    return render(request, "audit.html", who, page=page, head=head(request, who))
