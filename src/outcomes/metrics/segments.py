"""Segments of a pilot (which contacts belong to it) and the per-unit counts an uplift needs (docs/uplift.md).

A segment selects contacts by their `queue`, `agent_id`, `customer_id` or `workflow`: every criterion given
must hold (AND), and within one criterion any listed value matches (OR). The same segment is written
`queue=A,B` on the command line (`customer=@ids.txt` reads ids from a file) and `{queue: [A, B]}` in a
contract (`LiftSegment`).

`unit_counts` is the Ibis query: for each group (pilot, control) and period it returns one row per *cluster*
(a customer, or a contact without customer id) with, per metric, the numerator and denominator that cluster
contributes. The flags come from the metric library's own plan (`MetricPlan.contacts()`: repeat, churn, billable
scope) and the save outcome's evidence, so the metric is the library's: summed over a segment's clusters, the
counts are exactly the library's numerator and denominator over that segment's contacts (a test checks this).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis

from outcomes.contract.metrics import CATALOGUE
from outcomes.contract.schema import Contract, LiftSegment
from outcomes.errors import OutcomesError
from outcomes.metrics.library import MetricPlan, MetricRequest
from outcomes.metrics.outcomes import Clocks
from outcomes.metrics.scope import Window

#: The segment criteria, in the order they are shown.
CRITERIA: tuple[str, ...] = ("queue", "agent", "customer", "workflow")

#: The metrics an uplift can estimate: (natural unit resampled, which direction is better).
UPLIFT_METRICS: dict[str, tuple[str, str]] = {
    n: (m.uplift, m.better) for n, m in CATALOGUE.items() if m.uplift is not None and m.better is not None
}


class SegmentError(OutcomesError, ValueError):
    """A segment written wrongly: the message names the option or key and how to write it."""

    code = "segment"


@dataclass(frozen=True)
class Segment:
    """Criteria -> the values that match (`describe()` says it in short)."""

    criteria: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, model: LiftSegment) -> Segment:
        """From a contract's `LiftSegment`."""
        crit = tuple(
            (name, tuple(getattr(model, name)))
            for name in CRITERIA
            if getattr(model, name) is not None
        )
        return cls(crit)

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.criteria}

    def describe(self) -> str:
        """Short text; long customer lists are summarised by their size."""
        parts = []
        for k, v in self.criteria:
            shown = ",".join(v) if len(v) <= 5 else f"{len(v)} ids"
            parts.append(f"{k}={shown}")
        return "; ".join(parts)


def parse_segment(texts: Sequence[str], option: str = "--pilot") -> Segment:
    """`["queue=A,B", "agent=a1"]` -> a Segment (criteria ANDed). `customer=@FILE` reads one id per line
    (blank lines and lines starting with # are skipped; a first line `customer_id` is a header)."""
    if not texts:
        raise SegmentError(f"{option}: give at least one criterion, e.g. {option} queue=retention_pilot")
    crit: dict[str, tuple[str, ...]] = {}
    for text in texts:
        name, sep, rest = text.partition("=")
        name = name.strip()
        if not sep or name not in CRITERIA:
            raise SegmentError(
                f"{option} {text!r}: write CRITERION=VALUES with CRITERION one of {', '.join(CRITERIA)}, "
                f"e.g. {option} queue=A,B or {option} customer=@ids.txt"
            )
        if name in crit:
            raise SegmentError(f"{option}: {name} is given twice; list all values once, e.g. {name}=A,B")
        rest = rest.strip()
        if rest.startswith("@"):
            if name != "customer" and name != "agent":
                raise SegmentError(f"{option} {text!r}: @FILE is for customer (or agent) ids only")
            values = _read_ids(Path(rest[1:]), option, name)
        else:
            values = tuple(v.strip() for v in rest.split(",") if v.strip())
        if not values:
            raise SegmentError(f"{option} {text!r}: no values after '='; e.g. {option} {name}=A,B")
        crit[name] = tuple(sorted(set(values)))  # a set: order and repeats mean nothing
    ordered = tuple((k, crit[k]) for k in CRITERIA if k in crit)
    return Segment(ordered)


def _read_ids(path: Path, option: str, name: str) -> tuple[str, ...]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SegmentError(f"{option} {name}=@{path}: cannot read the file ({exc.__class__.__name__}); "
                           "give a UTF-8 text file with one id per line") from None  # fmt: skip
    ids = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    if ids and ids[0] in ("customer_id", "agent_id"):
        ids = ids[1:]
    if not ids:
        raise SegmentError(f"{option} {name}=@{path}: the file lists no ids (one id per line)")
    return tuple(ids)


def check_segment(contract: Contract, segment: Segment, option: str) -> None:
    for name, values in segment.criteria:
        if name == "workflow":
            unknown = [v for v in values if v not in contract.workflows]
            if unknown:
                raise SegmentError(
                    f"{option}: workflow {unknown[0]!r} is not defined in {contract.contract} "
                    f"(workflows: {', '.join(contract.workflows)})"
                )


# ------------------------------------------------------------------------------------------------- query


#: Longer lists of values are matched through an in-memory table rather than a literal IN list.
LITERAL_LIST_MAX = 1000


def _matches(t: ibis.Table, segment: Segment) -> ibis.Value:
    cond = ibis.literal(True)
    column = {"queue": "queue", "agent": "agent_id", "customer": "customer_id", "workflow": "workflow"}
    for name, values in segment.criteria:
        col = t[column[name]]
        if len(values) > LITERAL_LIST_MAX:
            ids = ibis.memtable({"v": list(values)}, schema={"v": "string"})
            cond = cond & col.isin(ids.v)
        else:
            cond = cond & col.isin(list(values))
    return cond


def _period_rows(
    contract: Contract,
    interactions: ibis.Table,
    events: ibis.Table,
    window: Window,
    clocks: Clocks,
    segments: Mapping[str, Segment],
    metrics: Sequence[str],
) -> ibis.Table:
    """One row per cluster of the groups' contacts closed in `window`: per group and metric the cluster's
    numerator, denominator and pending count (columns `<group>__<metric>_num|den|pending`)."""
    plan = MetricPlan(contract, interactions, events, window, clocks, [MetricRequest(m) for m in metrics])
    t = plan.contacts()
    if any(name == "agent" for seg in segments.values() for name, _ in seg.criteria):
        sor = interactions.filter(interactions.source == contract.system_of_record)
        agents = sor.select(agent_iid="interaction_id", agent_id="agent_id")
        t = t.left_join(agents, t.interaction_id == agents.agent_iid).drop("agent_iid")
    t = t.mutate(**{f"in_{g}": _matches(t, seg) for g, seg in segments.items()})
    t = t.filter(t.in_closed & ibis.or_(*(t[f"in_{g}"] for g in segments)))
    if "save_rate" in metrics:
        ev = plan.outcome_evidence("save")
        if ev is None:  # no save outcome: save_rate is undefined
            t = t.mutate(save_status=ibis.null("string"))
        else:
            ev = ev.filter(ev.source == contract.system_of_record)
            ev = ev.select(save_iid="interaction_id", save_status="status")
            t = t.left_join(ev, t.interaction_id == ev.save_iid).drop("save_iid")
    t = t.mutate(
        cluster=ibis.ifelse(t.customer_id.notnull(), "c:" + t.customer_id, "i:" + t.interaction_id)
    )
    has_customer = t.customer_id.notnull()
    never = ibis.literal(False)
    # per metric: (row is in the denominator, row is in the numerator, row is pending); None = undefined
    rows: dict[str, tuple[ibis.Value, ibis.Value, ibis.Value]] = {}
    if "save_rate" in metrics:
        cancel = t.intent.fill_null("") == "cancel"
        rows["save_rate"] = (cancel, cancel & (t.save_status == "counted"), cancel & (t.save_status == "pending"))
    if "csat_top2box" in metrics:
        rows["csat_top2box"] = (t.csat.notnull(), t.csat.notnull() & (t.csat >= 4), never)
    if "fcr_rate" in metrics:
        if plan.repeat is None:  # no resolution outcome with repeat_contact: fcr_rate is undefined
            rows["fcr_rate"] = (never, never, never)
        else:
            base = ~t.abandoned & has_customer
            rows["fcr_rate"] = (base, base & ~t.repeated, base & ~t.repeated & t.repeat_unobserved)
    if "churn_rate" in metrics:
        rows["churn_rate"] = (
            has_customer,
            has_customer & t.churn_at.notnull(),
            has_customer & t.churn_at.isnull() & t.churn_unobserved,
        )
    cols: dict[str, ibis.Value] = {}
    for g in segments:
        member = t[f"in_{g}"]
        cols[f"{g}__contacts"] = t.count(where=member)
        for m, (den, num, pending) in rows.items():
            for part, cond in (("den", den), ("num", num), ("pending", pending)):
                if m == "churn_rate":
                    # a customer is one unit: counted once, churned if any of their contacts churned
                    cols[f"{g}__{m}_{part}"] = (member & cond).max().cast("int64")
                else:
                    cols[f"{g}__{m}_{part}"] = t.count(where=member & cond)
    return t.group_by("cluster").aggregate(**cols)


@dataclass(frozen=True)
class UnitCounts:
    """Per-cluster counts of one group in one period: cluster ids and per metric (num, den, pending)."""

    group: str
    period: str
    clusters: tuple[str, ...]
    counts: Mapping[str, tuple[tuple[int, ...], tuple[int, ...], int]]
    contacts: int = 0  # the group's contacts in the period, counted or not by any metric


def unit_counts(
    contract: Contract,
    interactions: ibis.Table,
    events: ibis.Table,
    clocks: Clocks,
    periods: Sequence[tuple[str, Window, Mapping[str, Segment]]],
    metrics: Sequence[str],
    *,
    con: ibis.BaseBackend | None = None,
) -> list[UnitCounts]:
    """For every (period label, window, {group: segment}): one query, and per group its per-cluster counts
    (clusters without any count for a metric are left out of that metric by the caller)."""
    out = []
    for label, window, segments in periods:
        expr = _period_rows(contract, interactions, events, window, clocks, segments, metrics)
        backend = con if con is not None else expr.get_backend()
        data: dict[str, Any] = backend.to_pyarrow(expr.order_by("cluster")).to_pydict()
        clusters = tuple(data["cluster"])
        for g in segments:
            counts = {}
            for m in metrics:
                num = tuple(int(v or 0) for v in data[f"{g}__{m}_num"])
                den = tuple(int(v or 0) for v in data[f"{g}__{m}_den"])
                counts[m] = (num, den, sum(int(v or 0) for v in data[f"{g}__{m}_pending"]))
            contacts = sum(int(v or 0) for v in data[f"{g}__contacts"])
            out.append(UnitCounts(g, label, clusters, counts, contacts))
    return out


#: How many existing values an "empty segment" error lists per criterion.
SHOWN_VALUES = 20


def known_values(contract: Contract, interactions: ibis.Table, window: Window, segment: Segment) -> str:
    """What a segment could have selected in `window`: the queues, agents and workflows that exist there
    (for a segment that selects nothing, e.g. a misspelt queue), with the closest match when one is near."""
    import difflib

    t = interactions.filter(
        (interactions.source == contract.system_of_record)
        & (interactions.closed_at >= window.start)
        & (interactions.closed_at < window.end)
    )
    column = {"queue": "queue", "agent": "agent_id"}
    said = []
    for name, values in segment.criteria:
        if name in column:
            col = t[column[name]]
            rows = t.filter(col.notnull()).select(v=col).distinct().order_by("v").limit(10000)
            have = [str(v) for v in rows.to_pyarrow().column("v").to_pylist()]
        elif name == "workflow":
            have = sorted(contract.workflows)
        else:
            n = t.filter(t.customer_id.notnull()).customer_id.nunique().to_pyarrow().as_py()
            said.append(f"none of its {len(values)} customer ids has a contact there ({n} customers do)")
            continue
        missing = [v for v in values if v not in have]
        near = [f"{v!r} (did you mean {m[0]!r}?)" for v in missing if (m := difflib.get_close_matches(v, have, 1))]
        shown = ", ".join(have[:SHOWN_VALUES]) + (f", ... ({len(have)} in all)" if len(have) > SHOWN_VALUES else "")
        text = f"{name} values there: {shown or 'none'}"
        if near:
            text += "; " + ", ".join(near)
        said.append(text)
    return "; ".join(said) or "no contact of the contract was closed in that period"
