"""The metric library: every metric of METRICS.md, defined once, compiled to Ibis (docs/metrics.md).

A metric is measured per contract, period and workflow set (a tuple of workflows pooled, or None for all of
the contract's workflows), in the contract's time zone (the `Window` carries the period as naive-UTC bounds),
over contacts whose `source` is the system of record and whose provider is billable. Demand metrics count
contacts *opened* in the period, every other metric contacts *closed* in it.

All requests of one call compile to ONE query returning ONE row: the contacts of the period are aggregated
once (conditional counts and sums, per workflow set), the outcome evidence of `outcomes.py` once per outcome
kind, churn and purchase attribution once per window; the one-row aggregates are cross-joined. Python only
turns that row into exact values: rates are `Fraction`s, sums of money `Decimal`s, and a rate whose
denominator is empty is None ("undefined", never 0).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import ibis

from outcomes.contract.metrics import (
    CATALOGUE,
    CONTRACT_METRICS,
    DEFAULT_INFLUENCE_WINDOW_SECONDS,
    DEFAULT_THRESHOLD_SECONDS,
)
from outcomes.contract.metrics import TRANSCRIPT_METRICS as _TRANSCRIPT_METRICS
from outcomes.contract.schema import Contract, Outcome
from outcomes.metrics.outcomes import Clocks, evidence
from outcomes.metrics.repeats import (
    RepeatRule,
    not_observed,
    repeated,
    window_end,
    with_next_contact,
    within_reach,
)
from outcomes.metrics.scope import Window, billable, closed_in, with_workflow

#: Every metric a contract can name: METRICS.md's, in the order of its table, then the transcript metrics
#: (contract/metrics.py).
METRIC_NAMES: tuple[str, ...] = CONTRACT_METRICS

#: Metrics beyond METRICS.md measured from the scores `outcomes analyze` stores per interaction (the facts
#: store's view `transcript_metrics`); contracts may name them (docs/metrics.md, "Transcript metrics").
TRANSCRIPT_METRIC_NAMES: tuple[str, ...] = _TRANSCRIPT_METRICS
TRANSCRIPT_METRICS: frozenset[str] = frozenset(TRANSCRIPT_METRIC_NAMES)
TRANSCRIPT_VIEW = "transcript_metrics"
#: A customer's last turn below this VADER compound score is a negative end (VADER's published threshold).
NEGATIVE_END_BELOW = "-0.05"

#: Metrics this project defines beyond METRICS.md (docs/metrics.md, "Beyond METRICS.md"). They can be measured
#: and shown (the scorecard) but are not contract metrics: service levels and triggers cannot name them.
EXTRA_METRICS: tuple[str, ...] = tuple(n for n, m in CATALOGUE.items() if not m.contract)

#: Metrics that count contacts opened in the period; all others count contacts closed in it.
DEMAND_METRICS: frozenset[str] = frozenset(n for n, m in CATALOGUE.items() if m.basis == "opened")

#: The channels on which a contact waits in a queue and can be answered (service_level).
LIVE_CHANNELS: tuple[str, ...] = ("voice", "chat", "messaging")

CHURN_WINDOW_SECONDS = 90 * 86400

#: How many customers a revenue metric lists as evidence (the totals always cover all of them).
EVIDENCE_CAP = 25

# Seconds and QA scores are stored as DOUBLE; they are summed as decimals with microsecond precision so that
# a mean is an exact fraction of the values as written.
_EXACT = "decimal(38, 6)"

_COLUMNS = (
    "interaction_id",
    "source",
    "customer_id",
    "channel",
    "queue",
    "opened_at",
    "closed_at",
    "status",
    "handled_by",
    "provider",
    "reopened",
    "wait_seconds",
    "handle_seconds",
    "csat",
    "nps",
    "ces",
    "qa_score",
    "intent",
)


@dataclass(frozen=True)
class MetricRequest:
    """One metric over one workflow set.

    `workflows`: the workflows pooled (None: all of the contract's workflows). `threshold`: service_level's T
    in seconds (default 20). `window`: revenue_influenced's look-ahead in seconds (default 30 days).
    `settled_total`: the period's settled total, for cost_per_verified_resolution (else the argument of
    `measure_metrics`, else the metric is undefined). `right_channels`: right_channel_share's mapping from
    intent to the channels that are right for it (a mapping, stored as sorted pairs; None: not measured).
    """

    name: str
    workflows: tuple[str, ...] | None = None
    threshold: int | None = None
    window: int | None = None
    settled_total: Decimal | None = None
    right_channels: tuple[tuple[str, tuple[str, ...]], ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.workflows, str):
            object.__setattr__(self, "workflows", (self.workflows,))
        elif self.workflows is not None and not isinstance(self.workflows, tuple):
            object.__setattr__(self, "workflows", tuple(self.workflows))
        if self.right_channels is not None:
            pairs = self.right_channels.items() if isinstance(self.right_channels, dict) else self.right_channels
            norm = tuple(sorted((str(k), tuple(sorted(set(v)))) for k, v in pairs))
            object.__setattr__(self, "right_channels", norm)


@dataclass(frozen=True)
class MetricValue:
    """A measured metric. `value` is None when the metric is undefined (see `details["undefined"]`).

    `value` is a Fraction (counts, rates, means, nps, cost per resolution) or a Decimal (sums of money);
    where it is a ratio, value == numerator / denominator (nps: numerator is 100 x (promoters - detractors)).
    `details` is JSON-able: the counts behind the value, the period basis, and for revenue metrics the
    customers and amounts (at most EVIDENCE_CAP of them, with totals over all).
    """

    request: MetricRequest
    value: Fraction | Decimal | None
    numerator: Fraction | Decimal | int | None
    denominator: int | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def defined(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; an exact fraction is written "p/q" (or "n" when whole)."""
        return {
            "metric": self.request.name,
            "workflows": list(self.request.workflows) if self.request.workflows is not None else None,
            "value": _text(self.value),
            "numerator": _text(self.numerator),
            "denominator": self.denominator,
            "details": self.details,
        }


def _text(v: Fraction | Decimal | int | None) -> str | None:
    if v is None:
        return None
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


# --------------------------------------------------------------------------------------------- validation


def check_request(contract: Contract, r: MetricRequest) -> None:
    """Raise ValueError for a request the contract cannot answer as asked (unknown metric or workflow, a
    parameter on a metric that does not take it)."""
    known = METRIC_NAMES + EXTRA_METRICS
    if r.name not in known:
        close = difflib.get_close_matches(r.name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f"; metrics: {', '.join(known)}"
        raise ValueError(f"unknown metric {r.name!r}{hint}")
    if r.workflows is not None:
        if not r.workflows:
            raise ValueError(f"{r.name}: an empty workflow list; use None for all workflows")
        unknown = [w for w in r.workflows if w not in contract.workflows]
        if unknown:
            raise ValueError(
                f"{r.name}: workflow {unknown[0]!r} is not defined in {contract.contract} "
                f"(workflows: {', '.join(contract.workflows)})"
            )
    if r.threshold is not None and (r.name != "service_level" or r.threshold < 0):
        raise ValueError(f"`threshold` applies to service_level only (seconds >= 0), not {r.name}")
    if r.window is not None and (r.name != "revenue_influenced" or r.window <= 0):
        raise ValueError(f"`window` applies to revenue_influenced only (seconds > 0), not {r.name}")
    if r.settled_total is not None and r.name != "cost_per_verified_resolution":
        raise ValueError(f"`settled_total` applies to cost_per_verified_resolution only, not {r.name}")
    if r.right_channels is not None:
        if r.name != "right_channel_share":
            raise ValueError(f"`right_channels` applies to right_channel_share only, not {r.name}")
        if not r.right_channels or any(not channels for _, channels in r.right_channels):
            raise ValueError("right_channel_share: every intent of the mapping needs at least one channel")


def outcome_of_kind(contract: Contract, kind: str) -> tuple[str, Outcome] | None:
    """The contract's outcome of a kind: the one named like the kind, else the first of that kind."""
    o = contract.outcomes.get(kind)
    if o is not None and o.kind == kind:
        return kind, o
    return next(((n, o) for n, o in contract.outcomes.items() if o.kind == kind), None)


# ----------------------------------------------------------------------------------------------- the plan


def _seconds(n: int) -> ibis.Value:
    return ibis.interval(seconds=n)


def _in_set(workflow: ibis.Value, wfs: tuple[str, ...] | None) -> ibis.Value:
    return workflow.notnull() if wfs is None else workflow.isin(list(wfs))


Reader = Callable[[dict[str, Any]], MetricValue]


class MetricPlan:
    """Collects the aggregates that the requests need and compiles them into one one-row query.

    Public so that other measurements (uplift's segments) read the library's own in-scope contacts and
    outcome evidence rather than defining a metric twice."""

    def __init__(
        self,
        contract: Contract,
        interactions: ibis.Table,
        events: ibis.Table,
        window: Window,
        clocks: Clocks,
        requests: Sequence[MetricRequest],
        evidence: ibis.Table | None = None,
        transcript_scores: ibis.Table | None = None,
    ):
        self.contract = contract
        self.settled_evidence = evidence
        self.interactions = interactions
        self.events = events
        self.window = window
        self.clocks = clocks
        names = {r.name for r in requests}
        res = outcome_of_kind(contract, "resolution")
        self.repeat: Outcome | None = res[1] if res and res[1].repeat_contact is not None else None
        self.rule: RepeatRule | None = RepeatRule.of(self.repeat) if self.repeat is not None else None
        self.with_repeat = self.repeat is not None and bool(names & {"fcr_rate", "repeat_contact_rate"})
        self.with_churn = "churn_rate" in names
        self.with_transcripts = bool(names & TRANSCRIPT_METRICS)
        self.transcript_scores = transcript_scores
        self.sets: list[tuple[str, ...] | None] = []
        self.aggs: dict[str, dict[str, ibis.Value]] = {}  # source -> column -> aggregate
        self.tables: dict[str, ibis.Table] = {}  # ready one-row tables
        self._sources: dict[str, ibis.Table] = {}

    # -- the tables aggregated ------------------------------------------------------------------
    def _base(self) -> ibis.Table:
        """In-scope contacts of any time: system of record, billable provider, a workflow of the contract."""
        c = self.contract
        t = with_workflow(c, self.interactions.select(*_COLUMNS))
        return t.filter((t.source == c.system_of_record) & billable(c, t.provider) & t.workflow.notnull())

    def contacts(self) -> ibis.Table:
        """Contacts opened or closed in the period, with the flags every metric filters on."""
        if "contacts" in self._sources:
            return self._sources["contacts"]
        c, w = self.contract, self.window
        t = with_workflow(c, self.interactions.select(*_COLUMNS))
        if self.with_repeat:
            # as evidence() does: a later contact can only repeat one closed in the period if it opened by
            # the period end plus the window
            t = t.filter(within_reach(t, w.end, self.rule))
            t = with_next_contact(c, self.rule, t)
        t = t.filter((t.source == c.system_of_record) & billable(c, t.provider) & t.workflow.notnull())
        in_open = (t.opened_at >= w.start) & (t.opened_at < w.end)
        in_closed = closed_in(t, w)
        t = t.filter(in_open | in_closed)
        status = t.status.fill_null("")
        t = t.mutate(
            in_open=in_open,
            in_closed=in_closed,
            abandoned=status == "abandoned",
            resolved=status == "resolved",
            live=t.channel.isin(list(LIVE_CHANNELS)),
            wait=t.wait_seconds.cast(_EXACT),
            handle=t.handle_seconds.cast(_EXACT),
            qa=t.qa_score.cast(_EXACT),
        )
        if self.with_repeat:
            t = t.mutate(
                repeated=repeated(t, self.rule),
                repeat_unobserved=not_observed(window_end(t.closed_at, self.rule), self.clocks.contacts),
            )
        if self.with_churn:
            t = self._with_churn(t)
        if self.with_transcripts:
            t = self._with_transcripts(t)
        self._sources["contacts"] = t
        return t

    def _scores(self) -> ibis.Table | None:
        """The per-interaction transcript scores: given, else the view of the interactions' backend (None when
        `outcomes analyze` never ran there)."""
        if self.transcript_scores is not None:
            return self.transcript_scores
        try:
            backend = self.interactions.get_backend()
            if TRANSCRIPT_VIEW in backend.list_tables():
                return backend.table(TRANSCRIPT_VIEW)
        except Exception:  # a backend that cannot list tables has no scores
            return None
        return None

    def _with_transcripts(self, t: ibis.Table) -> ibis.Table:
        s = self._scores()
        if s is None:
            return t.mutate(
                ts_scored=ibis.literal(False),
                ts_qa=ibis.null("decimal(38, 6)"),
                ts_end=ibis.null("decimal(38, 6)"),
                ts_shift=ibis.null("decimal(38, 6)"),
                ts_churn=ibis.null("boolean"),
                ts_upsell=ibis.null("boolean"),
            )
        s = s.select(
            ts_source="source",
            ts_iid="interaction_id",
            ts_qa=s.qa_auto.cast(_EXACT),
            ts_end=s.sentiment_end.cast(_EXACT),
            ts_shift=s.sentiment_shift.cast(_EXACT),
            ts_churn="churn_signal",
            ts_upsell="upsell_after_resolution",
        )
        t = t.left_join(s, [t.source == s.ts_source, t.interaction_id == s.ts_iid]).drop("ts_source", "ts_iid")
        return t.mutate(ts_scored=t.ts_end.notnull() | t.ts_qa.notnull() | t.ts_churn.notnull())

    def _with_churn(self, t: ibis.Table) -> ibis.Table:
        """churn_at: the first `churned` event of the customer in (closed_at, closed_at + 90 days]."""
        cc = t.filter(t.in_closed & t.customer_id.notnull()).select("interaction_id", "customer_id", "closed_at")
        ev = self.events
        ch = ev.filter(ev.event == "churned").select(ch_customer="customer_id", ch_at="at")
        j = cc.join(
            ch,
            [
                cc.customer_id == ch.ch_customer,
                ch.ch_at > cc.closed_at,
                ch.ch_at <= cc.closed_at + _seconds(CHURN_WINDOW_SECONDS),
            ],
        )
        first = j.group_by(churn_iid=j.interaction_id).agg(churn_at=j.ch_at.min())
        t = t.left_join(first, t.interaction_id == first.churn_iid).drop("churn_iid")
        return t.mutate(
            churn_unobserved=not_observed(t.closed_at + _seconds(CHURN_WINDOW_SECONDS), self.clocks.events)
        )

    def outcome_evidence(self, kind: str) -> ibis.Table | None:
        key = f"evidence_{kind}"
        if key not in self._sources:
            found = outcome_of_kind(self.contract, kind)
            if found is None:
                return None
            if self.settled_evidence is not None:
                ev = self.settled_evidence
                self._sources[key] = ev.filter(ev.outcome == found[0])
            else:
                self._sources[key] = evidence(
                    self.contract, found[0], self.interactions, self.events, self.window, self.clocks
                )
        return self._sources[key]

    # -- registering aggregates ----------------------------------------------------------------
    def set_index(self, wfs: tuple[str, ...] | None) -> int:
        key = None if wfs is None else tuple(sorted(set(wfs)))
        if key not in self.sets:
            self.sets.append(key)
        return self.sets.index(key)

    def c(self, i: int, name: str, make: Callable[[ibis.Table, ibis.Value], ibis.Value]) -> str:
        """A conditional aggregate over the period's contacts in workflow set i; returns its column name."""
        col = f"c_{name}_{i}"
        agg = self.aggs.setdefault("contacts", {})
        if col not in agg:
            t = self.contacts()
            agg[col] = make(t, _in_set(t.workflow, self.sets[i]))
        return col

    def count(self, i: int, name: str, cond: Callable[[ibis.Table], ibis.Value]) -> str:
        return self.c(i, name, lambda t, s: _count(t, s & cond(t)))

    def e(self, kind: str, i: int, name: str, make: Callable[[ibis.Table, ibis.Value], ibis.Value]) -> str:
        """A conditional aggregate over an outcome's evidence rows in workflow set i."""
        col = f"e_{kind}_{name}_{i}"
        agg = self.aggs.setdefault(f"evidence_{kind}", {})
        if col not in agg:
            t = self.outcome_evidence(kind)
            agg[col] = make(t, _in_set(t.workflow, self.sets[i]))
        return col

    def status_count(self, kind: str, i: int, status: str) -> str:
        return self.e(kind, i, status, lambda t, s: _count(t, s & (t.status == status)))

    def influenced(self, i: int, window_s: int) -> dict[str, str]:
        """Purchases attributed to resolved contacts closed in the period, in workflow set i (one-row table)."""
        p = f"r_{window_s}_{i}_"
        if p + "table" not in self.tables:
            a = self._attributed(window_s)
            a = a.filter(_in_set(a.workflow, self.sets[i]))
            per = a.group_by("customer_id").agg(
                amount=a.amount.sum(),
                purchases=a.count(),
                unpriced=_count(a, a.amount.isnull()),
                contacts=a.contact_id.nunique(),
            )
            entry = ibis.struct(
                {
                    "customer_id": per.customer_id,
                    "amount": per.amount,
                    "purchases": per.purchases,
                    "contacts": per.contacts,
                }
            )
            self.tables[p + "table"] = per.aggregate(
                **{
                    p + "total": per.amount.sum(),
                    p + "purchases": per.purchases.sum(),
                    p + "unpriced": per.unpriced.sum(),
                    p + "customers": per.count(),
                    p + "top": entry.collect(
                        order_by=[ibis.desc(per.amount), per.customer_id]
                    )[:EVIDENCE_CAP],
                }
            )
        return {k: p + k for k in ("total", "purchases", "unpriced", "customers", "top")}

    def _attributed(self, window_s: int) -> ibis.Table:
        """Each purchase once: attributed to the latest in-scope resolved contact of the customer closed
        before it and at most `window_s` earlier; kept when that contact closed in the period."""
        key = f"attributed_{window_s}"
        if key in self._sources:
            return self._sources[key]
        w = self.window
        q = self._base()
        q = q.filter(
            (q.status == "resolved")
            & q.customer_id.notnull()
            & q.closed_at.notnull()
            & (q.closed_at >= w.start)
            & (q.closed_at < w.end + timedelta(seconds=window_s))
        ).select(contact_id="interaction_id", contact_customer="customer_id", workflow="workflow",
                 contact_closed_at="closed_at")  # fmt: skip
        ev = self.events
        p = ev.filter(ev.event == "purchase").select("customer_id", "at", "amount")
        j = q.join(
            p,
            [
                q.contact_customer == p.customer_id,
                p.at > q.contact_closed_at,
                p.at <= q.contact_closed_at + _seconds(window_s),
            ],
        )
        last = ibis.window(
            group_by=[j.customer_id, j.at],
            order_by=[ibis.desc(j.contact_closed_at), ibis.desc(j.contact_id)],
        )
        j = j.mutate(touch=ibis.row_number().over(last))
        j = j.filter((j.touch == 0) & (j.contact_closed_at < w.end))
        self._sources[key] = j
        return j

    # -- the query ------------------------------------------------------------------------------
    def expression(self) -> ibis.Table | None:
        parts: list[ibis.Table] = []
        for source, agg in self.aggs.items():
            if agg:
                parts.append(self._sources[source].aggregate(**agg))
        parts += list(self.tables.values())
        if not parts:
            return None
        return functools.reduce(lambda a, b: a.cross_join(b), parts)


# ------------------------------------------------------------------------------------------ the metrics


def _count(t: ibis.Table, where: ibis.Value) -> ibis.Value:
    """The rows of t where `where` holds: 0 over no rows on every engine (Spark compiles a filtered count to a
    sum, which is NULL over no rows; DuckDB's count_if is 0)."""
    return ibis.coalesce(t.count(where=where), 0)


def _ratio(num: int, den: int) -> Fraction | None:
    return Fraction(num, den) if den else None


def _mean(total: Any, n: int) -> Fraction | None:
    return Fraction(total) / n if n else None


def _money(v: Any) -> str | None:
    return None if v is None else format(Decimal(v), "f")


def _seconds_text(v: Any) -> str | None:
    return None if v is None else format(Decimal(v).normalize(), "f")


def _undefined(details: dict[str, Any], value: Any, why: str) -> dict[str, Any]:
    if value is None:
        details["undefined"] = why
    return details


_EMPTY = "empty denominator"

#: Why a metric decided by the customer events has no value when no event has been ingested at all: a churn
#: rate or a revenue sum over an empty event feed is not 0, it is unknown (docs/scorecard.md, "No data").
NO_EVENTS = (
    "no data: no customer events ingested (churned, purchase, monthly revenue); "
    "load them with `outcomes ingest events FILE`"
)


def _handled(t: ibis.Table) -> ibis.Value:
    return t.in_closed & ~t.abandoned


def _rate(
    r: MetricRequest, num: int, den: int, basis: str, num_label: str, den_label: str, **extra: Any
) -> MetricValue:
    value = _ratio(num, den)
    details = {"basis": basis, num_label: num, den_label: den, **extra}
    return MetricValue(r, value, num, den, _undefined(details, value, _EMPTY))


def _mean_value(r: MetricRequest, total: Any, n: int, basis: str, label: str, **extra: Any) -> MetricValue:
    total = total if total is not None else 0
    value = _mean(total, n)
    num = total if isinstance(total, int) else Decimal(total)
    details = {"basis": basis, label: n, "sum": _seconds_text(num) if isinstance(num, Decimal) else num, **extra}
    return MetricValue(r, value, num, n, _undefined(details, value, f"no {label}"))


def _none(r: MetricRequest, why: str, basis: str = "closed") -> Reader:
    return lambda row: MetricValue(r, None, None, None, {"basis": basis, "undefined": why})


def _offered(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "offered", lambda t: t.in_open)

    def read(row: dict[str, Any]) -> MetricValue:
        return MetricValue(r, Fraction(row[n]), row[n], None, {"basis": "opened", "contacts": row[n]})

    return read


def _handled_metric(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "handled", _handled)

    def read(row: dict[str, Any]) -> MetricValue:
        return MetricValue(r, Fraction(row[n]), row[n], None, {"basis": "closed", "contacts": row[n]})

    return read


def _abandonment_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    ab = p.count(i, "abandoned", lambda t: t.in_open & t.abandoned)
    n = p.count(i, "offered", lambda t: t.in_open)
    return lambda row: _rate(r, row[ab], row[n], "opened", "abandoned", "offered")


def _service_level(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    T = DEFAULT_THRESHOLD_SECONDS if r.threshold is None else r.threshold
    tl = ibis.literal(T, type=_EXACT)

    def live(t: ibis.Table) -> ibis.Value:
        return t.in_open & t.live

    within = p.count(i, f"sl_ans_le_{T}", lambda t: live(t) & ~t.abandoned & (t.wait <= tl))
    after = p.count(i, f"sl_ans_gt_{T}", lambda t: live(t) & ~t.abandoned & (t.wait > tl))
    ab_after = p.count(i, f"sl_ab_gt_{T}", lambda t: live(t) & t.abandoned & (t.wait > tl))
    short = p.count(i, f"sl_ab_le_{T}", lambda t: live(t) & t.abandoned & (t.wait <= tl))
    unknown = p.count(i, "sl_no_wait", lambda t: live(t) & t.wait.isnull())

    def read(row: dict[str, Any]) -> MetricValue:
        den = row[within] + row[after] + row[ab_after]
        return _rate(
            r,
            row[within],
            den,
            "opened",
            "answered_within",
            "counted",
            threshold_seconds=T,
            channels=list(LIVE_CHANNELS),
            answered_after=row[after],
            abandoned_after=row[ab_after],
            short_abandons=row[short],
            without_wait=row[unknown],
        )

    return read


def _asa_seconds(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    total = p.c(i, "asa_sum", lambda t, s: t.wait.sum(where=s & t.in_open & ~t.abandoned))
    n = p.count(i, "asa_n", lambda t: t.in_open & ~t.abandoned & t.wait.notnull())
    answered = p.count(i, "answered", lambda t: t.in_open & ~t.abandoned)

    def read(row: dict[str, Any]) -> MetricValue:
        return _mean_value(r, row[total], row[n], "opened", "answered_with_wait", answered=row[answered])

    return read


def _aht_seconds(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    def agent(t: ibis.Table) -> ibis.Value:
        return _handled(t) & (t.handled_by.fill_null("") == "agent")

    total = p.c(i, "aht_sum", lambda t, s: t.handle.sum(where=s & agent(t)))
    n = p.count(i, "aht_n", lambda t: agent(t) & t.handle.notnull())
    handled = p.count(i, "agent_handled", agent)

    def read(row: dict[str, Any]) -> MetricValue:
        return _mean_value(r, row[total], row[n], "closed", "agent_handled_with_time", agent_handled=row[handled])

    return read


def _repeat_metric(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    if p.repeat is None:
        return _none(r, "the contract has no resolution outcome with repeat_contact")

    def base(t: ibis.Table) -> ibis.Value:
        return _handled(t) & t.customer_id.notnull()

    n = p.count(i, "rep_base", base)
    rep = p.count(i, "rep_yes", lambda t: base(t) & t.repeated)
    unobserved = p.count(i, "rep_unobserved", lambda t: base(t) & ~t.repeated & t.repeat_unobserved)
    rc = p.repeat.repeat_contact

    def read(row: dict[str, Any]) -> MetricValue:
        num = row[rep] if r.name == "repeat_contact_rate" else row[n] - row[rep]
        return _rate(
            r,
            num,
            row[n],
            "closed",
            "repeated" if r.name == "repeat_contact_rate" else "not_repeated",
            "handled_with_customer",
            within_seconds=rc.within,
            same=list(rc.same),
            window_not_observed=row[unobserved],
        )

    return read


def _verified_resolution_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    if p.outcome_evidence("resolution") is None:
        return _none(r, "the contract has no resolution outcome")
    counted = p.status_count("resolution", i, "counted")
    pending = p.status_count("resolution", i, "pending")
    repeat = p.e("resolution", i, "repeat", lambda t, s: _count(t, s & (t.reason == "repeat_contact")))
    anonymous = p.e(
        "resolution", i, "anonymous", lambda t, s: _count(t, s & (t.reason == "unverifiable_customer"))
    )

    def read(row: dict[str, Any]) -> MetricValue:
        reached = row[counted] + row[pending] + row[repeat]
        return _rate(
            r, row[counted], reached, "closed", "counted", "reached_repeat_check",
            pending=row[pending], repeat_contact=row[repeat],
            unverifiable_customer_not_reached=row[anonymous],
        )  # fmt: skip

    return read


def _reopen_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "resolved", lambda t: t.in_closed & t.resolved)
    re_ = p.count(i, "reopened", lambda t: t.in_closed & t.resolved & t.reopened.fill_null(False))
    return lambda row: _rate(r, row[re_], row[n], "closed", "reopened", "resolved")


def _contained(p: MetricPlan, r: MetricRequest, i: int, den_name: str, den_cond) -> Reader:
    if p.outcome_evidence("containment") is None:
        return _none(r, "the contract has no containment outcome")
    counted = p.status_count("containment", i, "counted")
    pending = p.status_count("containment", i, "pending")
    den = p.count(i, den_name, den_cond)
    return lambda row: _rate(r, row[counted], row[den], "closed", "contained", den_name, pending=row[pending])


def _containment_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    return _contained(p, r, i, "handled", _handled)


def _bot_resolution_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    return _contained(p, r, i, "bot_handled", lambda t: t.in_closed & (t.handled_by.fill_null("") == "bot"))


def _csat_top2box(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "csat_n", lambda t: t.in_closed & t.csat.notnull())
    top = p.count(i, "csat_top2", lambda t: t.in_closed & (t.csat >= 4))
    return lambda row: _rate(r, row[top], row[n], "closed", "top2", "ratings")


def _csat_mean(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "csat_n", lambda t: t.in_closed & t.csat.notnull())
    total = p.c(i, "csat_sum", lambda t, s: t.csat.cast("int64").sum(where=s & t.in_closed))
    return lambda row: _mean_value(r, row[total], row[n], "closed", "ratings")


def _survey_response_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    rated = p.count(i, "rated_handled", lambda t: _handled(t) & t.csat.notnull())
    n = p.count(i, "handled", _handled)
    return lambda row: _rate(r, row[rated], row[n], "closed", "rated", "handled")


def _nps(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "nps_n", lambda t: t.in_closed & t.nps.notnull())
    pro = p.count(i, "nps_promoters", lambda t: t.in_closed & (t.nps >= 9))
    det = p.count(i, "nps_detractors", lambda t: t.in_closed & (t.nps <= 6))

    def read(row: dict[str, Any]) -> MetricValue:
        num = 100 * (row[pro] - row[det])
        value = _ratio(num, row[n])
        details = {
            "basis": "closed",
            "responses": row[n],
            "promoters": row[pro],
            "passives": row[n] - row[pro] - row[det],
            "detractors": row[det],
        }
        return MetricValue(r, value, num, row[n], _undefined(details, value, "no nps scores"))

    return read


def _ces_mean(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "ces_n", lambda t: t.in_closed & t.ces.notnull())
    total = p.c(i, "ces_sum", lambda t, s: t.ces.cast("int64").sum(where=s & t.in_closed))
    return lambda row: _mean_value(r, row[total], row[n], "closed", "scores")


def _qa_mean(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "qa_n", lambda t: t.in_closed & t.qa.notnull())
    total = p.c(i, "qa_sum", lambda t, s: t.qa.sum(where=s & t.in_closed))
    return lambda row: _mean_value(r, row[total], row[n], "closed", "scored")


def _transcript_details(p: MetricPlan, i: int, reader: Reader) -> Reader:
    """Every transcript metric says how many closed contacts had scores (coverage), and why it is undefined."""
    scored = p.count(i, "ts_scored_n", lambda t: t.in_closed & t.ts_scored)
    closed = p.count(i, "ts_closed_n", lambda t: t.in_closed)

    def read(row: dict[str, Any]) -> MetricValue:
        v = reader(row)
        details = {**v.details, "scored_contacts": row[scored], "closed_contacts": row[closed]}
        if v.value is None and row[scored] == 0:
            details["undefined"] = "no transcript scores for the period: run `outcomes analyze`"
        return MetricValue(v.request, v.value, v.numerator, v.denominator, details)

    return read


def _qa_auto_mean(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "ts_qa_n", lambda t: t.in_closed & t.ts_qa.notnull())
    total = p.c(i, "ts_qa_sum", lambda t, s: t.ts_qa.sum(where=s & t.in_closed))
    return _transcript_details(p, i, lambda row: _mean_value(r, row[total], row[n], "closed", "scored"))


def _negative_end_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    below = ibis.literal(Decimal(NEGATIVE_END_BELOW), type=_EXACT)
    num = p.count(i, "ts_neg", lambda t: t.in_closed & (t.ts_end < below))
    den = p.count(i, "ts_end_n", lambda t: t.in_closed & t.ts_end.notnull())
    return _transcript_details(
        p, i, lambda row: _rate(r, row[num], row[den], "closed", "negative_end", "with_customer_sentiment")
    )


def _sentiment_shift_mean(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    n = p.count(i, "ts_shift_n", lambda t: t.in_closed & t.ts_shift.notnull())
    total = p.c(i, "ts_shift_sum", lambda t, s: t.ts_shift.sum(where=s & t.in_closed))
    return _transcript_details(p, i, lambda row: _mean_value(r, row[total], row[n], "closed", "scored"))


def _signal_rate(column: str, label: str):
    def metric(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
        num = p.count(i, f"{column}_yes", lambda t: t.in_closed & t[column].fill_null(False))
        den = p.count(i, f"{column}_n", lambda t: t.in_closed & t[column].notnull())
        return _transcript_details(p, i, lambda row: _rate(r, row[num], row[den], "closed", label, "scored"))

    return metric


def _save_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    if p.outcome_evidence("save") is None:
        return _none(r, "the contract has no save outcome")
    saves = p.status_count("save", i, "counted")
    pending = p.status_count("save", i, "pending")
    n = p.count(i, "cancel", lambda t: t.in_closed & (t.intent.fill_null("") == "cancel"))
    return lambda row: _rate(r, row[saves], row[n], "closed", "saves", "cancel_contacts", pending=row[pending])


def _churn_rate(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    def cond(t: ibis.Table) -> ibis.Value:
        return t.in_closed & t.customer_id.notnull()

    n = p.c(i, "churn_customers", lambda t, s: t.customer_id.nunique(where=s & cond(t)))
    churned = p.c(i, "churned", lambda t, s: t.customer_id.nunique(where=s & cond(t) & t.churn_at.notnull()))
    unobserved = p.c(
        i,
        "churn_unobserved",
        lambda t, s: t.customer_id.nunique(where=s & cond(t) & t.churn_at.isnull() & t.churn_unobserved),
    )
    return lambda row: _rate(
        r, row[churned], row[n], "closed", "churned", "customers",
        window_seconds=CHURN_WINDOW_SECONDS, not_churned_window_not_observed=row[unobserved],
    )  # fmt: skip


def _revenue_retained(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    if p.outcome_evidence("save") is None:
        return _none(r, "the contract has no save outcome")
    counted = p.status_count("save", i, "counted")
    total = p.e("save", i, "value", lambda t, s: t.value.sum(where=s & (t.status == "counted")))
    no_value = p.e(
        "save", i, "no_value", lambda t, s: _count(t, s & (t.status == "counted") & t.value.isnull())
    )
    pending = p.status_count("save", i, "pending")
    pending_value = p.e("save", i, "pending_value", lambda t, s: t.value.sum(where=s & (t.status == "pending")))

    def top(t: ibis.Table, s: ibis.Value) -> ibis.Value:
        entry = ibis.struct({"customer_id": t.customer_id, "interaction_id": t.interaction_id, "value": t.value})
        return entry.collect(
            where=s & (t.status == "counted"),
            order_by=[ibis.desc(t.value), t.customer_id, t.interaction_id],
        )[:EVIDENCE_CAP]

    listed = p.e("save", i, "top", top)

    def read(row: dict[str, Any]) -> MetricValue:
        value = Decimal(row[total]) if row[total] is not None else Decimal("0.00")
        entries = [{**e, "value": _money(e["value"])} for e in row[listed] or []]
        details = {
            "basis": "closed",
            "saves": row[counted],
            "saves_without_revenue": row[no_value],
            "total": _money(value),
            "customers": entries,
            "customers_listed": len(entries),
            "pending": row[pending],
            "pending_value": _money(row[pending_value] or Decimal("0.00")),
        }
        return MetricValue(r, value, value, None, details)

    return read


def _revenue_influenced(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    W = DEFAULT_INFLUENCE_WINDOW_SECONDS if r.window is None else r.window
    cols = p.influenced(i, W)

    def contact(t: ibis.Table) -> ibis.Value:
        return t.in_closed & t.resolved & t.customer_id.notnull()

    contacts = p.count(i, "resolved_customer", contact)
    unobserved = p.count(
        i,
        f"influence_unobserved_{W}",
        lambda t: contact(t) & not_observed(t.closed_at + _seconds(W), p.clocks.events),
    )

    def read(row: dict[str, Any]) -> MetricValue:
        total = row[cols["total"]]
        value = Decimal(total) if total is not None else Decimal("0.00")
        entries = [{**e, "amount": _money(e["amount"])} for e in row[cols["top"]] or []]
        details = {
            "basis": "closed",
            "window_seconds": W,
            "resolved_contacts": row[contacts],
            "window_not_observed": row[unobserved],
            "purchases": row[cols["purchases"]] or 0,
            "purchases_without_amount": row[cols["unpriced"]] or 0,
            "total": _money(value),
            "customers_total": row[cols["customers"]] or 0,
            "customers": entries,
            "customers_listed": len(entries),
        }
        return MetricValue(r, value, value, None, details)

    return read


def _cost_per_verified_resolution(p: MetricPlan, r: MetricRequest, i: int, settled: Decimal | None) -> Reader:
    if p.outcome_evidence("resolution") is None:
        return _none(r, "the contract has no resolution outcome")
    counted = p.status_count("resolution", i, "counted")

    def read(row: dict[str, Any]) -> MetricValue:
        n = row[counted]
        details: dict[str, Any] = {"basis": "closed", "counted_resolutions": n, "settled_total": _money(settled)}
        if settled is None:
            return MetricValue(r, None, None, n, {**details, "undefined": "no settled total given"})
        value = Fraction(settled) / n if n else None
        return MetricValue(r, value, settled, n, _undefined(details, value, _EMPTY))

    return read


def _right_channel_share(p: MetricPlan, r: MetricRequest, i: int) -> Reader:
    if r.right_channels is None:
        return _none(r, "not measured: no right-channel mapping")
    mapping = r.right_channels
    # one set of columns per mapping, so that two mappings in one call do not share a column
    tag = hashlib.sha256(repr(mapping).encode()).hexdigest()[:10]
    intents = [intent for intent, _ in mapping]

    def mapped(t: ibis.Table) -> ibis.Value:
        return _handled(t) & t.intent.isin(intents)

    def right(t: ibis.Table) -> ibis.Value:
        on_right = functools.reduce(
            lambda a, b: a | b,
            [(t.intent == intent) & t.channel.isin(list(channels)) for intent, channels in mapping],
        )
        return mapped(t) & on_right.fill_null(False)

    num = p.count(i, f"rc_right_{tag}", right)
    den = p.count(i, f"rc_mapped_{tag}", mapped)
    handled = p.count(i, "handled", _handled)

    def read(row: dict[str, Any]) -> MetricValue:
        return _rate(
            r, row[num], row[den], "closed", "on_right_channel", "handled_with_mapped_intent",
            not_mapped=row[handled] - row[den], mapping={k: list(v) for k, v in mapping},
        )  # fmt: skip

    return read


_METRICS: dict[str, Callable[[MetricPlan, MetricRequest, int], Reader]] = {
    "offered": _offered,
    "handled": _handled_metric,
    "abandonment_rate": _abandonment_rate,
    "service_level": _service_level,
    "asa_seconds": _asa_seconds,
    "aht_seconds": _aht_seconds,
    "fcr_rate": _repeat_metric,
    "verified_resolution_rate": _verified_resolution_rate,
    "reopen_rate": _reopen_rate,
    "repeat_contact_rate": _repeat_metric,
    "containment_rate": _containment_rate,
    "bot_resolution_rate": _bot_resolution_rate,
    "csat_top2box": _csat_top2box,
    "csat_mean": _csat_mean,
    "survey_response_rate": _survey_response_rate,
    "nps": _nps,
    "ces_mean": _ces_mean,
    "qa_mean": _qa_mean,
    "save_rate": _save_rate,
    "churn_rate": _churn_rate,
    "revenue_retained": _revenue_retained,
    "revenue_influenced": _revenue_influenced,
    "right_channel_share": _right_channel_share,
    "qa_auto_mean": _qa_auto_mean,
    "negative_end_rate": _negative_end_rate,
    "sentiment_shift_mean": _sentiment_shift_mean,
    "churn_signal_rate": _signal_rate("ts_churn", "churn_signal"),
    "upsell_after_resolution_rate": _signal_rate("ts_upsell", "upsell_after_resolution"),
}
assert set(_METRICS) | {"cost_per_verified_resolution"} == set(METRIC_NAMES) | set(EXTRA_METRICS) | TRANSCRIPT_METRICS


def _without_events(contract: Contract, r: MetricRequest, clocks: Clocks) -> bool:
    """Whether `r` is decided by customer events and none has been ingested (the event clock is unknown).
    A metric whose outcome the contract lacks keeps that reason: it would have no value with events either."""
    m = CATALOGUE[r.name]
    if not m.events or clocks.events is not None:
        return False
    return m.outcome_kind is None or outcome_of_kind(contract, m.outcome_kind) is not None


def _plan(
    contract: Contract,
    interactions: ibis.Table,
    events: ibis.Table,
    window: Window,
    clocks: Clocks,
    requests: Sequence[MetricRequest],
    settled_total: Decimal | None,
    evidence: ibis.Table | None = None,
    transcript_scores: ibis.Table | None = None,
) -> tuple[MetricPlan, list[Reader]]:
    for r in requests:
        check_request(contract, r)
    plan = MetricPlan(contract, interactions, events, window, clocks, requests, evidence, transcript_scores)
    readers = []
    for r in requests:
        i = plan.set_index(r.workflows)
        if r.name == "cost_per_verified_resolution":
            settled = r.settled_total if r.settled_total is not None else settled_total
            readers.append(_cost_per_verified_resolution(plan, r, i, settled))
        elif _without_events(contract, r, clocks):
            readers.append(_none(r, NO_EVENTS))
        else:
            readers.append(_METRICS[r.name](plan, r, i))
    return plan, readers


def measure_metrics(
    contract: Contract,
    interactions: ibis.Table,
    events: ibis.Table,
    window: Window,
    clocks: Clocks,
    requests: Sequence[MetricRequest],
    *,
    con: ibis.BaseBackend | None = None,
    settled_total: Decimal | None = None,
    evidence: ibis.Table | None = None,
    transcript_scores: ibis.Table | None = None,
) -> list[MetricValue]:
    """Measure every request (in their order) with one query on `con` (default: the tables' backend).

    `interactions` and `events` are the facts (e.g. `FactsStore.interactions(as_of_batch)`); `clocks` decide
    which look-ahead windows are observed (pending saves and containments are not counted). `settled_total`
    is used by cost_per_verified_resolution requests that carry none themselves. `evidence`: the evidence
    already written for this contract version, period and facts (a settlement's), read instead of measuring
    the outcomes again; the caller vouches that it is of the same inputs. `transcript_scores`: the
    per-interaction transcript scores (default: the `transcript_metrics` view of the interactions' backend).
    """
    plan, readers = _plan(
        contract, interactions, events, window, clocks, requests, settled_total, evidence, transcript_scores
    )
    expr = plan.expression()
    row: dict[str, Any] = {}
    if expr is not None:
        backend = con if con is not None else expr.get_backend()
        rows = backend.to_pyarrow(expr).to_pylist()
        row = rows[0]
    return [read(row) for read in readers]


def metric_sql(
    contract: Contract,
    interactions: ibis.Table,
    events: ibis.Table,
    window: Window,
    clocks: Clocks,
    request: MetricRequest,
    *,
    dialect: str = "duckdb",
) -> str | None:
    """The SQL one metric compiles to (one row of aggregates), for `explain`; None when it needs no query."""
    plan, _ = _plan(contract, interactions, events, window, clocks, [request], None)
    expr = plan.expression()
    return None if expr is None else str(ibis.to_sql(expr, dialect=dialect))
