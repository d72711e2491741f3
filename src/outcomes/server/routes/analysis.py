"""Scorecard (a period's balanced scorecard, and the live one with its event stream), integrity, uplift."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sse_starlette.sse import EventSourceResponse

from outcomes.server import models as m
from outcomes.server.auth import Caller, contract_access
from outcomes.server.deps import api_caller
from outcomes.server.problems import HTTPProblem, responses

router = APIRouter(prefix="/api/contracts/{contract}", tags=["analysis"])
Who = Annotated[Caller, Depends(api_caller)]
PeriodQuery = Annotated[str, Query(min_length=1, max_length=10, description="YYYY-MM or YYYY-Qn")]


@router.get("/scorecard", response_model=m.Report, responses=responses(401, 404, 422))
def scorecard(
    request: Request,
    contract: str,
    who: Who,
    period: PeriodQuery,
    workflow: Annotated[str | None, Query(max_length=200)] = None,
    trend: Annotated[int, Query(ge=1, le=24)] = 3,
    baseline: Annotated[str | None, Query(max_length=10)] = None,
) -> m.Report:
    """The balanced scorecard of a period (as `outcomes scorecard --json`)."""
    from outcomes.analysis.scorecard import collect

    contract_access(request, contract, who)
    writer = request.app.state.writer
    with writer.facts():
        card = collect(writer.ws, contract, period, workflow=workflow, trend=trend, baseline=baseline)
    return m.Report(**json.loads(json.dumps(card, default=str)))


@router.get("/scorecard/live", response_model=m.LiveScorecard, responses=responses(401, 404, 503))
def live(request: Request, contract: str, who: Who):
    """Verified outcomes by workflow in the current period (and the one before), as of the latest batch."""
    contract_access(request, contract, who)
    snap = live_snapshot(request, contract)
    # validated and serialised once per update of the board, not once per request
    key = (contract, snap["as_of_batch"], snap["updated_at"], id(snap))
    cache = request.app.state.live_json
    body = cache.get(contract)
    if body is None or body[0] != key:
        body = (key, m.LiveScorecard(**snap).model_dump_json().encode())
        cache[contract] = body
    return Response(body[1], media_type="application/json")


def live_snapshot(request: Request, contract: str) -> dict:
    writer = request.app.state.writer
    snap = writer.board.snapshot(contract)
    if snap is None:
        writer.catch_up()
        snap = writer.board.snapshot(contract)
    if snap is None:
        raise HTTPProblem("busy", f"the live scorecard of {contract} is not ready yet; try again in a moment")
    return snap


@router.get(
    "/scorecard/live/stream",
    responses={200: {"content": {"text/event-stream": {}}, "description": "`scorecard` events"}}
    | responses(401, 404),
)
async def live_stream(request: Request, contract: str, who: Who):
    """Server-sent events: a `scorecard` event (data: the batch the figures are as of) each time they change."""
    contract_access(request, contract, who)
    board = request.app.state.writer.board
    once = request.query_params.get("once") == "1"  # tests: one event, then the stream ends

    async def events():
        sent = None
        while True:
            snap = board.snapshot(contract)
            batch = None if snap is None else snap["as_of_batch"]
            if batch is not None and batch != sent:
                sent = batch
                yield {"event": "scorecard", "data": json.dumps({"as_of_batch": batch})}
                if once:
                    return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.25)

    return EventSourceResponse(events(), ping=15)


@router.get("/integrity", response_model=m.Report, responses=responses(401, 404, 422))
def integrity(
    request: Request,
    contract: str,
    who: Who,
    period: PeriodQuery,
    detector: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> m.Report:
    """The integrity detectors (gaming checks) on a period (as `outcomes integrity --json`)."""
    from outcomes.analysis.integrity import collect

    contract_access(request, contract, who)
    writer = request.app.state.writer
    with writer.facts():
        report = collect(writer.ws, contract, period, only=detector)
    return m.Report(**json.loads(json.dumps(report.to_dict(), default=str)))


@router.get(
    "/renewal",
    response_model=m.Report,
    responses={
        **responses(401, 404, 409, 422),
        200: {"content": {"text/html": {}, "application/pdf": {}}},
    },
)
def renewal(
    request: Request,
    contract: str,
    who: Who,
    start: Annotated[str, Query(alias="from", min_length=1, max_length=10, description="YYYY-MM or YYYY-Qn")],
    end: Annotated[str, Query(alias="to", min_length=1, max_length=10, description="YYYY-MM or YYYY-Qn")],
    format: Annotated[str, Query(pattern="^(json|html|pdf)$", description="json, html (a page) or pdf")] = "json",
    integrity: bool = True,
):
    """The renewal pack of a window of settled periods (as `outcomes renewal --json`); `format=html` is the
    page, `format=pdf` the download (docs/simulator.md)."""
    from outcomes.simulator.renewal import charts, collect, render_html, render_pdf

    contract_access(request, contract, who)
    writer = request.app.state.writer
    with writer.facts():
        pack = collect(writer.ws, contract, start, end, integrity=integrity)
        page = render_html(pack, charts(writer.ws, pack)) if format != "json" else None
    if format == "html":
        return Response(page, media_type="text/html; charset=utf-8")
    if format == "pdf":
        name = f"renewal-{contract}-{pack['from']}-{pack['to']}.pdf"
        return Response(
            render_pdf(page or ""),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return m.Report(**json.loads(json.dumps(pack, default=str)))


@router.get("/uplift", response_model=m.Report, responses=responses(401, 404, 422))
def uplift(
    request: Request,
    contract: str,
    who: Who,
    period: PeriodQuery,
    pilot: Annotated[
        list[str], Query(min_length=1, max_length=10, description="queue=A,B | agent=X | workflow=W")
    ],
    control: Annotated[list[str] | None, Query(max_length=10)] = None,
    baseline: Annotated[str | None, Query(max_length=10)] = None,
    metric: Annotated[list[str] | None, Query(max_length=4)] = None,
    confidence: Annotated[str, Query(max_length=10)] = "0.95",
    resamples: Annotated[int, Query(ge=200, le=20000)] = 2000,
    seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> m.Report:
    """Lift in a pilot against a control and/or a baseline period (as `outcomes uplift --json`)."""
    from outcomes.ledger.store import load_version
    from outcomes.metrics.lift import UpliftSpec, measure_uplift
    from outcomes.metrics.outcomes import Clocks
    from outcomes.metrics.segments import UPLIFT_METRICS, parse_segment
    from outcomes.period import Period

    contract_access(request, contract, who)
    if not control and baseline is None:
        raise HTTPProblem("validation", "give control=SEGMENT, baseline=PERIOD, or both")
    try:
        conf = Decimal(confidence)
    except InvalidOperation:
        conf = Decimal(-1)
    if not Decimal(0) < conf < Decimal(1):
        raise HTTPProblem("validation", f"confidence {confidence!r} must be strictly between 0 and 1")
    metrics = tuple(dict.fromkeys(metric or UPLIFT_METRICS))
    unknown = [x for x in metrics if x not in UPLIFT_METRICS]
    if unknown:
        raise HTTPProblem("validation", f"metric {unknown[0]!r} is not one of {', '.join(UPLIFT_METRICS)}")
    pilot_seg = parse_segment(pilot, "pilot")
    control_seg = parse_segment(control, "control") if control else None
    writer = request.app.state.writer
    ledger = writer.ledger
    kind = load_version(ledger.contract_version(contract)).period
    p = Period.parse(period, kind)
    b = Period.parse(baseline, kind) if baseline is not None else None
    c, _row = ledger.contract_for(contract, p.start)
    spec = UpliftSpec(
        pilot=pilot_seg,
        period=p,
        control=control_seg,
        baseline=b,
        metrics=metrics,
        confidence=conf,
        resamples=resamples,
        seed=seed,
    )
    with writer.facts() as facts:
        clocks = Clocks(contacts=facts.contact_clock(c.system_of_record), events=facts.event_clock())
        results = measure_uplift(c, facts.interactions(), facts.events(), clocks, spec)
    report = {
        "contract": c.contract,
        "version": c.version,
        "period": p.label,
        "baseline": b.label if b is not None else None,
        "pilot": {"text": pilot_seg.describe(), "segment": pilot_seg.to_dict()},
        "control": {"text": control_seg.describe(), "segment": control_seg.to_dict()}
        if control_seg
        else None,
        "confidence": format(conf, "f"),
        "resamples": resamples,
        "seed": seed,
        "method": f"cluster bootstrap of customers, {resamples} resamples, seed {seed}",
        "metrics": [r.to_dict() for r in results],
    }
    return m.Report(**json.loads(json.dumps(report, default=str)))
