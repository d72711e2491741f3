"""The one orchestrator: load the contract version -> check the data clock -> measure outcomes (evidence)
-> price the period -> record an immutable settlement with its fingerprint.

Everything heavy runs in the facts engine through Ibis; everything priced runs in the pure pricing core.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import ibis

from outcomes import __version__
from outcomes.contract import Contract, contract_hash
from outcomes.errors import OutcomesError
from outcomes.ledger import Ledger, LedgerError, Settlement, SettlementLine, SettlementOutcome, load_version
from outcomes.ledger.audit import now_text
from outcomes.metrics.library import MetricRequest, measure_metrics
from outcomes.metrics.outcomes import Clocks, evidence
from outcomes.metrics.scope import Window
from outcomes.period import Period
from outcomes.pricing.credits import service_credits
from outcomes.pricing.lines import Line, jsonable
from outcomes.pricing.money import minor_unit, money_text, round_money
from outcomes.pricing.period_total import finish_period, price_period
from outcomes.pricing.productivity import productivity_line
from outcomes.pricing.value_share import lift_notices
from outcomes.settlement import service_levels as levels
from outcomes.settlement.adjustments import adjustments_for
from outcomes.settlement.value_share import lift_gate

SAMPLE_IDS = 5


class SettlementRefused(OutcomesError):
    """The period cannot be settled (yet): the message says why and what to do."""

    code = "settlement_refused"


@dataclass
class OutcomeMeasure:
    """What one outcome measured in the period: counts by workflow, fate and reason, and the SQL behind them."""

    name: str
    kind: str
    sql: str
    rows: list[dict[str, Any]]  # {workflow, status, reason, n, value}
    evidence_table: str

    def counted(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in self.rows:
            if r["status"] == "counted":
                out[r["workflow"]] += r["n"]
        return dict(out)

    def value(self) -> Decimal:
        return sum(
            (Decimal(str(r["value"])) for r in self.rows if r["status"] == "counted" and r["value"]),
            Decimal("0"),
        )

    def summary(self, workflows: list[str] | None = None) -> dict[str, Any]:
        """Counts by fate and reason, over the given workflows (all when None)."""
        rows = [r for r in self.rows if workflows is None or r["workflow"] in workflows]
        excluded: dict[str, int] = defaultdict(int)
        for r in rows:
            if r["status"] == "excluded":
                excluded[r["reason"]] += r["n"]
        return {
            "candidates": sum(r["n"] for r in rows),
            "counted": sum(r["n"] for r in rows if r["status"] == "counted"),
            "pending": sum(r["n"] for r in rows if r["status"] == "pending"),
            "excluded": dict(sorted(excluded.items())),
        }


@dataclass
class SettlementResult:
    contract: Contract
    period: Period
    status: str
    fingerprint: str
    input_digest: str
    facts_batch: int
    lines: list[Line]
    measures: list[OutcomeMeasure]
    notices: list[dict[str, Any]] = field(default_factory=list)
    settlement_id: int | None = None
    uuid: str = ""
    measure_results: list[dict[str, Any]] = field(default_factory=list)
    metric_values: dict[str, str | None] = field(default_factory=dict)
    adjusted_disputes: list[int] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal("0"))

    def __post_init__(self) -> None:
        # CONTRACT.md: a total below zero is a credit note; it is shown, never hidden or carried silently.
        if self.total < 0 and not any(n.get("code") == "credit_note" for n in self.notices):
            self.notices.append(
                {
                    "code": "credit_note",
                    "message": f"the period's total is {money_text(self.total)} {self.contract.currency}: "
                    "a credit note, owed to the buyer",
                }
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "settlement": self.settlement_id,
            "contract": self.contract.contract,
            "version": self.contract.version,
            "period": self.period.label,
            "status": self.status,
            "fingerprint": self.fingerprint,
            "currency": self.contract.currency,
            "lines": [line_dict(ln, self.contract.currency) for ln in self.lines],
            "total": money_text(self.total),
            "notices": self.notices,
            "measures": self.measure_results,
            "metrics": self.metric_values,
        }


def _unit_text(value: Decimal | None, currency: str) -> str | None:
    """A unit price without the trailing zeros a glide factor adds (2.4000 -> 2.40), never below the minor unit."""
    if value is None:
        return None
    minor = minor_unit(currency)
    text = format(value.normalize(), "f")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return format(value.quantize(Decimal(1).scaleb(-minor)), "f") if decimals <= minor else text


def line_dict(ln: Line, currency: str) -> dict[str, Any]:
    d = ln.to_dict()
    d["unit_price"] = _unit_text(ln.unit_price, currency)
    d["quantity"] = None if ln.quantity is None else format(ln.quantity.normalize(), "f")
    return {
        "kind": d["kind"],
        "label": d["label"],
        "outcome": d["outcome"],
        "workflows": d["workflows"],
        "quantity": d["quantity"],
        "unit_price": d["unit_price"],
        "amount": d["amount"],
        "unrounded": d["unrounded"],
        "details": d["details"],
    }


def fingerprint(contract: Contract, period: Period, input_digest: str) -> str:
    """Contract canonical hash + digest of the facts read + outcomes version (not the engine's)."""
    body = json.dumps(
        [contract.contract, period.label, contract_hash(contract), input_digest, __version__],
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def settleable_after(contract: Contract, window: Window) -> datetime:
    """The data clock must pass this instant (naive UTC) before the period's repeat windows are all observed."""
    return window.end + timedelta(seconds=contract.longest_repeat_window())


def _local(dt: datetime, contract: Contract) -> str:
    return dt.replace(tzinfo=UTC).astimezone(contract.zone).isoformat(timespec="minutes")


def measure(
    facts,
    contract: Contract,
    window: Window,
    interactions: ibis.Table,
    events: ibis.Table,
    clocks: Clocks,
    table: str,
) -> list[OutcomeMeasure]:
    """Run every outcome's evidence query into one evidence table; return the counts and SQL per outcome.

    Each outcome's expression is compiled by the facts store in its own dialect (DuckDB or Spark SQL): that
    SQL is what the store runs and what `outcomes explain` shows."""
    sqls = {
        name: facts.compile(evidence(contract, name, interactions, events, window, clocks))
        for name in contract.outcomes
    }
    # Each outcome's SQL is compiled once: the evidence table is their UNION ALL (one schema for all).
    grouped = facts.write_evidence(table, list(sqls.values()))
    out = []
    for name, sql in sqls.items():
        rows = [
            {k: r[k] for k in ("workflow", "status", "reason", "n", "value")}
            for r in grouped
            if r["outcome"] == name
        ]
        rows.sort(key=lambda r: (str(r["workflow"]), r["status"], str(r["reason"])))
        out.append(OutcomeMeasure(name, contract.outcomes[name].kind, sql, rows, table))
    return out


def compute(
    ledger: Ledger,
    facts,
    contract_id: str,
    period_label: str,
    *,
    provisional: bool = False,
    as_of_batch: int | None = None,
    evidence_table: str | None = None,
    version: int | None = None,
    with_adjustments: bool = True,
) -> SettlementResult:
    """Measure and price a period without recording anything (settle, preview and rerun share this).

    `version` pins the contract version (a rerun uses the settled one); by default the version in effect
    at the period's start settles it.
    """
    latest = ledger.contract_version(contract_id)
    kind = json.loads(latest.canonical)["period"]
    period = Period.parse(period_label, kind)
    if version is None:
        contract, _row = ledger.contract_for(contract_id, period.start)
    else:
        contract = load_version(ledger.contract_version(contract_id, version))
    if period.end <= contract.term.start:
        raise SettlementRefused(
            f"period {period.label} lies outside the term of {contract_id} "
            f"({contract.term.start} to {contract.term.end})"
        )
    after_term = period.start > contract.term.end
    if after_term and not with_adjustments:
        raise SettlementRefused(
            f"period {period.label} lies outside the term of {contract_id} "
            f"({contract.term.start} to {contract.term.end})"
        )
    batch = facts.latest_batch() if as_of_batch is None else as_of_batch
    digest = facts.digest(as_of_batch=batch)
    table = evidence_table or f"evidence_{uuid.uuid4().hex[:12]}"
    if after_term:
        # After the term only what verifies late is billed: an adjustment-only settlement.
        adjustments = adjustment_lines(ledger, facts, contract_id, period.label, batch, digest)
        disputes = ledger.accepted_unadjusted_disputes(contract_id)
        adjustments += [dispute_line(d, contract.currency) for d in disputes]
        if not adjustments:
            raise SettlementRefused(
                f"period {period.label} lies after the term of {contract_id} (ended {contract.term.end}) "
                "and nothing settled earlier has changed: there is nothing to bill"
            )
        return SettlementResult(
            contract=contract,
            period=period,
            status="final",
            fingerprint=fingerprint(contract, period, digest),
            input_digest=digest,
            facts_batch=batch,
            lines=adjustments,
            measures=[],
            notices=[{"code": "after_term", "message": "adjustments only"}],
            uuid=table.removeprefix("evidence_"),
        )
    window = Window.of(contract, period)
    clocks = Clocks(
        contacts=facts.contact_clock(contract.system_of_record, as_of_batch=batch),
        events=facts.event_clock(as_of_batch=batch),
    )
    needed = settleable_after(contract, window)
    complete = clocks.contacts is not None and clocks.contacts > needed
    if not complete and not provisional:
        seen = (
            "no contacts"
            if clocks.contacts is None
            else f"contacts up to {_local(clocks.contacts, contract)}"
        )
        raise SettlementRefused(
            f"{contract_id} {period.label} cannot be settled yet: its repeat-contact windows close at "
            f"{_local(needed, contract)} ({contract.timezone}) and the facts hold {seen} from "
            f"{contract.system_of_record}. Settle once contacts opened after {_local(needed, contract)} "
            "have been ingested, or use --provisional to bill what is verifiable now."
        )
    status = "final" if complete else "provisional"
    interactions = facts.interactions(as_of_batch=batch)
    events = facts.events(as_of_batch=batch)
    measures = measure(facts, contract, window, interactions, events, clocks, table)
    counts = {(m.name, wf): n for m in measures for wf, n in m.counted().items()}
    values = {}
    wanted = levels.requests(contract)
    if wanted:
        values = {
            v.request: v
            for v in measure_metrics(
                contract, interactions, events, window, clocks, wanted, evidence=facts.evidence(table)
            )
        }
    value = None
    vs = contract.pricing.value_share
    if vs is not None and vs.metric == "revenue_retained":
        value = sum((m.value() for m in measures if m.kind == "save"), Decimal("0"))
    elif vs is not None:
        v = values[MetricRequest("revenue_influenced", window=vs.window)].value
        value = Decimal("0") if v is None else Decimal(v)
    lift = None
    if vs is not None and vs.require_significant_lift is not None:
        lift = lift_gate(contract, period, interactions, events, clocks)
    priced = price_period(contract, period, counts, value=value, lift=lift)
    results = levels.assess(contract, values)
    credits = service_credits(contract.service_levels, results, priced.period_base, contract.currency)
    earlier = [s for s in settled_periods(ledger, contract_id) if s.period < period.label]
    returned = levels.earn_backs(contract, period.label, results, earlier)
    productivity = None
    if contract.automation is not None:
        contained = sum(n for m in measures if m.kind == "containment" for n in m.counted().values())
        handled = values[MetricRequest("handled")].value or 0
        productivity = productivity_line(contract.automation, int(contained), int(handled), contract.currency)
    adjustments, disputes = [], []
    if with_adjustments:
        adjustments = adjustment_lines(ledger, facts, contract_id, period.label, batch, digest)
        disputes = ledger.accepted_unadjusted_disputes(contract_id)
        adjustments += [dispute_line(d, contract.currency) for d in disputes]
    priced = finish_period(
        priced, credits=credits, earn_backs=returned, productivity=productivity, adjustments=adjustments
    )
    lines = [_with_evidence(ln, contract, measures) for ln in priced.lines]
    notices = _notices(contract, measures, status) + levels.trigger_notices(contract, values)
    notices += lift_notices(priced.lines)
    return SettlementResult(
        contract=contract,
        period=period,
        status=status,
        fingerprint=fingerprint(contract, period, digest),
        input_digest=digest,
        facts_batch=batch,
        lines=lines,
        measures=measures,
        notices=notices,
        uuid=table.removeprefix("evidence_"),
        measure_results=levels.results_json(results),
        adjusted_disputes=[d.id for d in disputes],
        metric_values={_request_text(r): _value_text(v) for r, v in values.items()},
    )


def _request_text(r) -> str:
    scope = f"[{','.join(r.workflows)}]" if r.workflows else ""
    extra = "".join(f";{k}={getattr(r, k)}" for k in ("threshold", "window") if getattr(r, k, None))
    return f"{r.name}{scope}{extra}"


def _value_text(v) -> str | None:
    return None if v.value is None else format(levels.as_decimal(v.value), "f")


def settled_periods(ledger: Ledger, contract_id: str) -> list[levels.SettledPeriod]:
    """Earlier settlements' measure results and credits: what earn-backs count on."""
    out = []
    for s in ledger.settlements(contract_id):
        credits = []
        for ln in s.lines:
            if ln.kind == "service_credit":
                d = json.loads(ln.details)
                credits.append((ln.seq, int(d["measure"]), Decimal(ln.amount), d.get("metric", "")))
        out.append(levels.SettledPeriod(s.id, s.period, json.loads(s.measures or "[]"), credits))
    return out


def dispute_line(d, currency: str) -> Line:
    """An accepted dispute billed as an adjustment of the line it disputed, at the amount agreed.

    A dispute accepted without an amount is corrected through the data (the re-priced period bills it); its
    line is then 0 and only records that the dispute was settled here.
    """
    amount = d.claimed_adjustment if d.claimed_adjustment is not None else Decimal("0")
    return Line(
        kind="adjustment",
        label=f"dispute {d.id} accepted: {d.period} line {d.line_seq} ({d.line_label})",
        amount=round_money(amount, currency),
        unrounded=amount,
        details={
            "adjusts": {
                "settlement": d.settlement_id,
                "period": d.period,
                "line": d.line_seq,
                "kind": d.line_kind,
                "label": d.line_label,
            },
            "dispute": d.id,
            "opened_by": d.opened_by,
            "reason": d.reason,
            "interaction_ids": list(d.interaction_ids),
            "amount_claimed": d.amount_claimed,
        },
    )


def adjustment_lines(
    ledger: Ledger, facts, contract_id: str, before: str, batch: int, digest: str
) -> list[Line]:
    """Step 7: every earlier settled period whose facts changed since, re-priced and billed as a difference."""
    lines: list[Line] = []
    for s in ledger.settlements(contract_id):
        if s.period >= before or s.input_digest == digest:
            continue
        table = f"evidence_adj_{uuid.uuid4().hex[:12]}"
        try:
            again = compute(
                ledger,
                facts,
                contract_id,
                s.period,
                provisional=True,
                as_of_batch=batch,
                evidence_table=table,
                version=s.version,
                with_adjustments=False,
            )
            lines += adjustments_for(ledger, facts, s, again.lines, table, digest)
        finally:
            facts.drop_table(table)
    return lines


def _with_evidence(ln: Line, contract: Contract, measures: list[OutcomeMeasure]) -> Line:
    """Attach to an outcome-fee line the fate of its candidates (counts by reason) and where the ids are."""
    if ln.kind != "outcome_fee" or ln.outcome is None:
        return ln
    m = next((m for m in measures if m.name == ln.outcome), None)
    if m is None:
        return ln
    details = dict(ln.details)
    details["verification"] = m.summary(list(ln.workflows))
    details["evidence_table"] = m.evidence_table
    return replace(ln, details=details)


def _notices(contract: Contract, measures: list[OutcomeMeasure], status: str) -> list[dict[str, Any]]:
    notices = []
    pending = {m.name: m.summary()["pending"] for m in measures}
    pending = {k: v for k, v in pending.items() if v}
    if pending:
        notices.append(
            {
                "code": "pending_outcomes",
                "message": "outcomes whose look-ahead window is still open are not billed yet; they are billed "
                "as late lines once they verify",
                "pending": pending,
            }
        )
    if status == "provisional":
        notices.append(
            {"code": "provisional", "message": "settled before every repeat-contact window closed"}
        )
    return notices


def settle(
    ledger: Ledger, facts, contract_id: str, period_label: str, *, provisional: bool = False
) -> SettlementResult:
    period_kind = json.loads(ledger.contract_version(contract_id).canonical)["period"]
    period = Period.parse(period_label, period_kind)
    existing = ledger.find_settlement(contract_id, period.label)
    if existing is not None:
        # Say whether the inputs changed since, without recording anything: the fingerprint needs no pricing.
        contract = load_version(ledger.contract_version(contract_id, existing.version))
        now = fingerprint(contract, period, facts.digest())
        same = (
            "unchanged (same fingerprint)"
            if now == existing.fingerprint
            else (f"changed since (fingerprint now {now}); the difference is billed as adjustments")
        )
        raise SettlementRefused(
            f"{contract_id} {period.label} is already settled: settlement {existing.id}, {existing.status}, "
            f"total {existing.total} {existing.currency}, fingerprint {existing.fingerprint}. "
            f"The inputs are {same}. A settled period is never changed."
        )
    result = compute(ledger, facts, contract_id, period.label, provisional=provisional)
    row = Settlement(
        uuid=result.uuid,
        contract=contract_id,
        version=result.contract.version,
        contract_hash=contract_hash(result.contract),
        period=result.period.label,
        period_start=result.period.start.isoformat(),
        period_end=result.period.end.isoformat(),
        status=result.status,
        fingerprint=result.fingerprint,
        input_digest=result.input_digest,
        facts_batch=result.facts_batch,
        outcomes_version=__version__,
        currency=result.contract.currency,
        total=money_text(result.total),
        notices=json.dumps(result.notices, sort_keys=True),
        measures=json.dumps(result.measure_results, sort_keys=True),
        metrics=json.dumps(result.metric_values, sort_keys=True),
        created_at=now_text(),
    )
    # The ledger keeps exactly the lines `--json` prints: one rendering, not two.
    lines = [
        SettlementLine(
            seq=i,
            kind=ln["kind"],
            label=ln["label"],
            outcome=ln["outcome"],
            workflows=json.dumps(ln["workflows"]),
            quantity=ln["quantity"],
            unit_price=ln["unit_price"],
            amount=ln["amount"],
            unrounded=ln["unrounded"],
            details=json.dumps(ln["details"], sort_keys=True),
        )
        for i, ln in enumerate(result.to_dict()["lines"], start=1)
    ]
    outcomes = [
        SettlementOutcome(
            outcome=m.name,
            kind=m.kind,
            sql=m.sql,
            counts=json.dumps(jsonable(m.rows), sort_keys=True),
            evidence_table=m.evidence_table,
        )
        for m in result.measures
    ]
    try:
        recorded = ledger.record_settlement(row, lines, outcomes, adjusted_disputes=result.adjusted_disputes)
    except LedgerError:
        facts.drop_table(f"evidence_{result.uuid}")
        raise
    result.settlement_id = recorded.id
    return result
