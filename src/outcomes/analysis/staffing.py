"""Staffing over ingested contacts: the agents each interval needed, against those who were there (docs/simulator.md).

`interval_demand(...)` reads the facts (the I/O): per interval of a contract's period, the contacts that arrived
for an agent, their mean handle time, and the agents present. `plan(...)` is pure: it runs the staffing maths
(`outcomes.pricing.staffing`) on each interval. `chart(report)` draws required against present agents (Altair),
`write_chart(report, path)` saves it as HTML, PNG or SVG with vl-convert (no browser, no network).

What the facts give, and what was chosen where the issue is silent:
- *arrivals*: the contract's contacts (its system of record, billable providers, a workflow) **opened** in the
  interval, less those handled by a bot (they need no agent); `--channel` keeps one channel.
- *handle time*: the mean `handle_seconds` of the interval's arrivals; an interval whose arrivals have none
  takes the period's mean (else `--aht`).
- *present agents*: distinct `agent_id`s working a contact of the contract during the interval. A contact is
  worked from its first response (else its opening) for its `handle_seconds`; without a handle time, at that
  instant only. The time to close is not work: an e-mail closed three days later did not keep its agent for
  three days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outcomes.errors import OutcomesError
from outcomes.pricing.staffing import Demand, Staffing, Target, required

if TYPE_CHECKING:
    from outcomes.contract.schema import Contract
    from outcomes.metrics.scope import Window
    from outcomes.workspace import Workspace

CHART_FORMATS = ("html", "png", "svg")
REQUIRED_COLOR = "#1f5f99"
SCHEDULED_COLOR = "#7a9cc6"
PRESENT_COLOR = "#b5542c"


class StaffingError(OutcomesError):
    """A staffing question that cannot be answered as asked (a target out of range, no handle time, ...)."""

    code = "staffing"


def target_of(**values: Any) -> Target:
    """A `Target` from the command line's values, its range problems as a `StaffingError`."""
    try:
        return Target(**values)
    except ValueError as exc:
        raise StaffingError(str(exc), hint="see `outcomes staffing --help` for each option's range") from None


def demand_of(**values: Any) -> Demand:
    try:
        return Demand(**values)
    except ValueError as exc:
        raise StaffingError(str(exc), hint="see `outcomes staffing --help` for each option's range") from None


def solve(demand: Demand, target: Target) -> Staffing:
    try:
        return required(demand, target)
    except ValueError as exc:
        raise StaffingError(str(exc)) from None


@dataclass(frozen=True)
class Interval:
    """One interval of the period: naive-UTC bounds (half-open), the arrivals for an agent, the mean handle
    time of those that have one (None: none has), and the distinct agents present."""

    start: datetime
    end: datetime
    arrivals: int
    handle_seconds: float | None
    present: int


def _grid(window: Window, minutes: int) -> list[tuple[datetime, datetime]]:
    step = timedelta(minutes=minutes)
    bounds = []
    t = window.start
    while t < window.end:
        bounds.append((t, min(t + step, window.end)))
        t += step
    return bounds


def interval_demand(
    facts: Any, contract: Contract, window: Window, minutes: int, channel: str | None = None
) -> list[Interval]:
    """Per interval of `window` (from its start, `minutes` long; the last may be shorter): arrivals for an
    agent, their mean handle time and the agents present (the module's docstring says how each is counted)."""
    from outcomes.metrics.scope import billable, with_workflow

    grid = _grid(window, minutes)
    if not grid:
        return []
    t = with_workflow(contract, facts.interactions())
    t = t.filter(
        (t.source == contract.system_of_record) & billable(contract, t.provider) & t.workflow.notnull()
    )
    if channel is not None:
        t = t.filter(t.channel == channel)
    started = t.first_response_at.fill_null(t.opened_at)
    arriving = t.filter((t.opened_at >= window.start) & (t.opened_at < window.end))
    arriving = arriving.filter(arriving.handled_by.isnull() | (arriving.handled_by != "bot"))
    # work that starts before the window may reach into it: look back one day (longer handle times are rare
    # enough to leave out of a staffing chart)
    working = t.filter(
        t.agent_id.notnull() & (started < window.end) & (started >= window.start - timedelta(days=1))
    ).mutate(started=started)
    con = facts.ibis()
    rows = con.to_pyarrow(arriving.select("opened_at", "handle_seconds")).to_pylist()
    work = con.to_pyarrow(working.select("agent_id", "started", "handle_seconds")).to_pylist()

    size = timedelta(minutes=minutes)
    count = [0] * len(grid)
    handle_sum = [0.0] * len(grid)
    handle_n = [0] * len(grid)
    for r in rows:
        i = (r["opened_at"] - window.start) // size
        count[i] += 1
        if r["handle_seconds"] is not None:
            handle_sum[i] += r["handle_seconds"]
            handle_n[i] += 1
    agents: list[set[str]] = [set() for _ in grid]
    for r in work:
        begin = r["started"]
        end = begin + timedelta(seconds=r["handle_seconds"] or 0)
        first = max(0, (begin - window.start) // size)
        # an interval [s, e) holds work [begin, end] when begin < e and end >= s (a zero-length piece of work
        # counts in the interval it falls in)
        last = min(len(grid) - 1, (end - window.start) // size)
        if end > begin and (end - window.start) % size == timedelta(0):
            last -= 1  # work ending exactly on a boundary does not reach the next interval
        for i in range(first, last + 1):
            agents[i].add(r["agent_id"])
    return [
        Interval(s, e, count[i], handle_sum[i] / handle_n[i] if handle_n[i] else None, len(agents[i]))
        for i, (s, e) in enumerate(grid)
    ]


def plan(
    intervals: Sequence[Interval],
    target: Target,
    *,
    patience_seconds: float | None = None,
    fallback_handle_seconds: float | None = None,
) -> list[tuple[Interval, Staffing | None, float | None]]:
    """(interval, staffing, handle time used) per interval; no staffing for an interval without arrivals.

    An interval whose arrivals have no handle time takes the period's mean, else `fallback_handle_seconds`."""
    measured = [(iv.handle_seconds, iv.arrivals) for iv in intervals if iv.handle_seconds is not None]
    weight = sum(n for _, n in measured)
    period_mean = sum(h * n for h, n in measured) / weight if weight else None
    fallback = period_mean if period_mean is not None and period_mean > 0 else fallback_handle_seconds
    planned: list[tuple[Interval, Staffing | None, float | None]] = []
    for iv in intervals:
        if iv.arrivals == 0:
            planned.append((iv, None, None))
            continue
        handle = iv.handle_seconds if iv.handle_seconds else fallback
        if handle is None:
            raise StaffingError(
                "the contacts to staff have no handle_seconds in the facts",
                hint="give the mean handle time with --aht SECONDS",
            )
        seconds = (iv.end - iv.start).total_seconds()
        demand = demand_of(
            arrivals=iv.arrivals,
            interval_seconds=seconds,
            handle_seconds=handle,
            patience_seconds=patience_seconds,
        )
        planned.append((iv, solve(demand, target), handle))
    return planned


def _local(dt: datetime, zone: Any) -> str:
    return dt.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="minutes")


def report(
    contract: Contract,
    period_label: str,
    minutes: int,
    target: Target,
    planned: Sequence[tuple[Interval, Staffing | None, float | None]],
    *,
    patience_seconds: float | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """The per-interval staffing as plain data (the --json output), times in the contract's zone."""
    zone = contract.zone
    rows = []
    for iv, s, handle in planned:
        row: dict[str, Any] = {
            "start": _local(iv.start, zone),
            "end": _local(iv.end, zone),
            "arrivals": iv.arrivals,
            "handle_seconds": handle,
            "present": iv.present,
            "required": s.agents if s else 0,
            "required_after_shrinkage": s.after_shrinkage if s else 0,
        }
        if s is not None:
            p = s.performance
            row.update(
                service_level=p.service_level,
                wait_probability=p.wait_probability,
                asa_seconds=p.asa_seconds,
                occupancy=p.occupancy,
                abandon_probability=p.abandon_probability,
            )
        rows.append(row)
    hours = minutes / 60
    return {
        "contract": contract.contract,
        "version": contract.version,
        "period": period_label,
        "timezone": contract.timezone,
        "channel": channel,
        "interval_minutes": minutes,
        "model": "erlang_c" if patience_seconds is None else "erlang_a",
        "patience_seconds": patience_seconds,
        "target": {
            "service_level": target.service_level,
            "answer_within_seconds": target.answer_within_seconds,
            "max_wait_probability": target.max_wait_probability,
            "max_occupancy": target.max_occupancy,
            "max_abandon_probability": target.max_abandon_probability,
            "shrinkage": target.shrinkage,
        },
        "totals": {
            "arrivals": sum(r["arrivals"] for r in rows),
            "intervals": len(rows),
            "intervals_with_arrivals": sum(1 for r in rows if r["arrivals"]),
            "intervals_short": sum(1 for r in rows if r["present"] < r["required"]),
            "peak_required": max((r["required"] for r in rows), default=0),
            "peak_present": max((r["present"] for r in rows), default=0),
            # agent-hours as if every interval were `minutes` long (a last, shorter interval is counted whole)
            "required_agent_hours": sum(r["required"] for r in rows) * hours,
            "required_after_shrinkage_agent_hours": sum(r["required_after_shrinkage"] for r in rows) * hours,
            "present_agent_hours": sum(r["present"] for r in rows) * hours,
        },
        "intervals": rows,
    }


def collect(
    ws: Workspace,
    contract_id: str,
    period_label: str,
    minutes: int,
    target: Target,
    *,
    patience_seconds: float | None = None,
    fallback_handle_seconds: float | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Measure a contract's period from a workspace (latest facts) and staff each interval."""
    from outcomes.settlement.resolve import resolve

    try:
        res = resolve(ws.ledger(), ws.facts(), contract_id, period_label)
    except ValueError as exc:
        raise StaffingError(str(exc)) from None
    intervals = interval_demand(ws.facts(), res.contract, res.window, minutes, channel)
    planned = plan(
        intervals,
        target,
        patience_seconds=patience_seconds,
        fallback_handle_seconds=fallback_handle_seconds,
    )
    return report(
        res.contract,
        res.period.label,
        minutes,
        target,
        planned,
        patience_seconds=patience_seconds,
        channel=channel,
    )


# -- the chart -----------------------------------------------------------------------------------------------
def chart_rows(rep: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Three series per interval start: required on the phones, required after shrinkage, present."""
    series = (
        ("required", "required (on the phones)"),
        ("required_after_shrinkage", "required after shrinkage"),
        ("present", "present (in the facts)"),
    )
    # the contract's wall-clock time, written as if UTC and drawn on a UTC scale: the axis then reads in the
    # contract's zone whatever the zone of the machine that renders it
    return [
        {"start": r["start"][:16] + "Z", "agents": r[key], "series": label}
        for r in rep["intervals"]
        for key, label in series
    ]


def chart(rep: Mapping[str, Any]) -> Any:
    """Required against present agents per interval, as an Altair chart (steps: an interval's agents hold
    for the whole interval)."""
    import altair as alt

    labels = [
        "required (on the phones)",
        "required after shrinkage",
        "present (in the facts)",
    ]
    colors = [REQUIRED_COLOR, SCHEDULED_COLOR, PRESENT_COLOR]
    target = rep["target"]
    goal = (
        f"{target['service_level']:.0%} within {target['answer_within_seconds']:g} s"
        if target["service_level"] is not None
        else "targets as given"
    )
    subtitle = [
        f"{rep['contract']} v{rep['version']}, {rep['period']}, {rep['interval_minutes']}-minute intervals "
        f"({rep['timezone']}); {rep['model'].replace('_', ' ').title()}, {goal}, "
        f"shrinkage {target['shrinkage']:.0%}",
        f"present: distinct agents working a contact in the interval; "
        f"{rep['totals']['intervals_short']} of {rep['totals']['intervals']} intervals had fewer than required",
    ]
    return (
        alt.Chart(alt.Data(values=chart_rows(rep)))
        .mark_line(interpolate="step-after", strokeWidth=1.2)
        .encode(
            x=alt.X("start:T", title=None, scale=alt.Scale(type="utc")),
            y=alt.Y("agents:Q", title="agents"),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=labels, range=colors),
                legend=alt.Legend(orient="top"),
            ),
            strokeDash=alt.condition(
                alt.datum.series == "required after shrinkage", alt.value([4, 3]), alt.value([1, 0])
            ),
            tooltip=[
                alt.Tooltip("utcyearmonthdatehoursminutes(start):T", title="start"),
                "series:N",
                "agents:Q",
            ],
        )
        .properties(
            width=720,
            height=240,
            title=alt.TitleParams("Agents required and present", subtitle=subtitle, anchor="start"),
        )
    )


def chart_format(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in CHART_FORMATS:
        raise StaffingError(
            f"{path}: a chart is saved as {', '.join('.' + f for f in CHART_FORMATS)}, not {path.suffix or 'no suffix'}",
            hint="name the file e.g. staffing.html",
        )
    return fmt


def render(rep: Mapping[str, Any], fmt: str) -> bytes:
    """The chart as HTML (Vega bundled in: it opens offline), PNG or SVG bytes, by vl-convert."""
    import vl_convert as vlc

    spec = chart(rep).to_dict()
    if fmt == "html":
        return vlc.vegalite_to_html(spec, bundle=True).encode("utf-8")
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=2)
    raise StaffingError(f"unknown chart format {fmt!r}")


def write_chart(rep: Mapping[str, Any], path: Path) -> Path:
    fmt = chart_format(path)
    data = render(rep, fmt)
    path.write_bytes(data)
    return path
