"""The FastAPI app: the API under /api (OpenAPI at /api/openapi.json), the pages at the root, the static files
(htmx, the stylesheet) served from this package, one problem shape for every error, security headers on
every response."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from outcomes import __version__
from outcomes.errors import OutcomesError
from outcomes.server import problems
from outcomes.server.auth import AccessKept, SignInLimiter, caller
from outcomes.server.deps import api_caller
from outcomes.server.writer import Writer

log = logging.getLogger("outcomes.server")
HERE = Path(__file__).resolve().parent

#: No inline script or style anywhere, no framing, nothing from another origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# A chart (SVG) draws with inline style attributes; it runs no script.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _problem(request: Request, problem: problems.Problem, headers: dict[str, str] | None = None) -> Response:
    body = problem.model_dump(mode="json")
    if body.get("errors") is None:
        body.pop("errors", None)
    return JSONResponse(
        body,
        status_code=problem.status,
        media_type=problems.MEDIA_TYPE,
        headers=headers,
    )


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")


class SecurityHeaders:
    """The security headers on every response, added as the response starts (a plain ASGI middleware: Starlette's
    `BaseHTTPMiddleware` streams every body through a queue, which cost the event loop a fifth of its time under
    a stream of batches; docs/server.md, Performance)."""

    def __init__(self, app: Any, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        no_store = path.startswith("/api") or path.startswith("/contracts")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                svg = headers.get("content-type", "").startswith("image/svg")
                headers["Content-Security-Policy"] = SVG_CSP if svg else CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                if no_store and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(writer: Writer, *, secure_cookies: bool = False, close_on_shutdown: bool = False) -> FastAPI:
    """The app over a workspace held by `writer`. `secure_cookies`: mark the session cookie Secure (behind
    TLS; `outcomes serve --behind-tls`). `close_on_shutdown`: the app owns the writer (`outcomes serve`)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if close_on_shutdown:
            writer.close()

    app = FastAPI(
        lifespan=lifespan,
        title="outcomes",
        version=__version__,
        summary="The shared server of an outcome-based contract: buyer, provider and auditor see the same numbers.",
        description=(
            "Every error is an RFC 9457 problem document (`application/problem+json`) with a stable `code`. "
            "Authenticate with `Authorization: Bearer <token>` (`outcomes token create EMAIL`). Lists are "
            "paged with `cursor` and `limit` (next page: `next_cursor`). See docs/server.md."
        ),
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI would load from a CDN: the OpenAPI document is served instead
        redoc_url=None,
    )
    app.state.writer = writer
    app.state.secure_cookies = secure_cookies
    app.state.limiter = SignInLimiter()
    app.state.kept = AccessKept()  # token holders and contract parties, read again on any access change
    app.state.live_json = {}  # contract -> (snapshot key, its JSON)

    @app.exception_handler(OutcomesError)
    async def outcomes_error(request: Request, exc: OutcomesError) -> Response:
        return _problem(request, problems.from_error(exc, request.url.path))

    @app.exception_handler(problems.HTTPProblem)
    async def http_problem(request: Request, exc: problems.HTTPProblem) -> Response:
        if exc.code == "unauthenticated" and _wants_html(request):
            from fastapi.responses import RedirectResponse

            return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)
        if _wants_html(request):
            from outcomes.server.routes.pages import error_page

            return error_page(request, exc.status, exc.detail)
        p = problems.for_code(
            exc.code, exc.detail, instance=request.url.path, hint=exc.hint, status=exc.status
        )
        return _problem(request, p, exc.headers)

    async def caller_refused(request: Request) -> Response | None:
        """FastAPI reads a request's body before it asks who the caller is: a request to an API route without
        valid credentials is answered 401, whatever its body, rather than 400 or 422 on a body it may not send."""
        route = request.scope.get("route")
        dependant = getattr(route, "dependant", None)
        if dependant is None or not any(d.call is api_caller for d in dependant.dependencies):
            return None
        try:
            await run_in_threadpool(caller, request)
        except problems.HTTPProblem as exc:
            return await http_problem(request, exc)
        return None

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if (refused := await caller_refused(request)) is not None:
            return refused
        errors = [
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        detail = (
            "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5]) or "the request is not valid"
        )
        return _problem(
            request, problems.for_code("validation", detail, instance=request.url.path, errors=errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and (refused := await caller_refused(request)) is not None:
            return refused
        code = _STATUS_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal")
        detail = str(exc.detail) if exc.detail else code.replace("_", " ")
        if exc.status_code == 404:
            detail = f"no such resource: {request.url.path}"
        if _wants_html(request):
            from outcomes.server.routes.pages import error_page

            return error_page(request, exc.status_code, detail)
        p = problems.for_code(code, detail, instance=request.url.path, status=exc.status_code)
        return _problem(request, p, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        p = problems.for_code(
            "internal", "an internal error; the server's log has the details", instance=request.url.path
        )
        return _problem(request, p)

    app.add_middleware(SecurityHeaders, hsts=secure_cookies)

    from outcomes.server.routes import analysis, audit, batches, contracts, disputes, pages, settlements

    for module in (contracts, batches, settlements, disputes, analysis, audit):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/problems/{code}", include_in_schema=False, response_class=HTMLResponse)
    def problem_type(code: str) -> Response:
        status, title = problems.TYPES.get(code, (None, None))
        if status is None:
            return HTMLResponse(
                "<!doctype html><title>unknown problem</title><p>No such problem type.</p>", 404
            )
        return HTMLResponse(
            f"<!doctype html><html lang=en><title>{title}</title><h1>{title}</h1>"
            f"<p>HTTP {status}, code <code>{code}</code>. The problem's <code>detail</code> says what happened "
            "and its <code>hint</code> what to do (docs/server.md).</p></html>"
        )

    @app.get("/api/health", tags=["server"], response_model=dict[str, str])
    def health() -> dict[str, str]:
        """Liveness (no sign-in): the server answers and its ledger is at the schema it expects."""
        return {"status": "ok", "version": __version__, "ledger_revision": writer.ledger.revision}

    return app
