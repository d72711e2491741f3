"""The one orchestrator of a period, in named stages:

    resolve -> clock -> measure -> value inputs -> price -> adjustments -> finish   (compute: nothing recorded)
    ... -> record                                                                  (settle)

resolve picks the contract version, the period's window inside the term and the data clocks
(`settlement/resolve.py`); clock refuses a period whose look-ahead windows are not yet observed (unless
provisional); measure writes every outcome's evidence in the facts engine (`settlement/measure.py`); value
inputs measure what the service levels, value share and automation clause need (metric library, lift gate);
price runs the pure pricing core; adjustments re-price earlier settled periods whose facts changed and bill
accepted disputes (`settlement/adjustments.py`); finish attaches the evidence to each line and the notices.
Each stage is timed (`outcomes settle --profile`).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from outcomes import __version__
from outcomes.contract import Contract, contract_hash
from outcomes.ledger import Ledger, LedgerError, Settlement, SettlementLine, SettlementOutcome, load_version
from outcomes.ledger.audit import now_text
from outcomes.period import Period
from outcomes.pricing.lines import Line, jsonable
from outcomes.pricing.money import money_text
from outcomes.pricing.value_share import lift_notices
from outcomes.settlement import service_levels as levels
from outcomes.settlement.adjustments import adjustment_lines, dispute_line
from outcomes.settlement.invoice import invoice, line_dict
from outcomes.settlement.measure import OutcomeMeasure
from outcomes.settlement.resolve import Resolution, period_of, resolve
from outcomes.settlement.stages import SettlementRefused, Timer, check_clock, check_events, price_resolved

if TYPE_CHECKING:
    from outcomes.facts import Facts

SAMPLE_IDS = 5


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
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (`settle --profile`)

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
        return invoice(
            settlement=self.settlement_id,
            contract=self.contract.contract,
            version=self.contract.version,
            period=self.period.label,
            status=self.status,
            fingerprint=self.fingerprint,
            currency=self.contract.currency,
            lines=[line_dict(ln, self.contract.currency) for ln in self.lines],
            total=money_text(self.total),
            notices=self.notices,
            measures=self.measure_results,
            metrics=self.metric_values,
        )


def fingerprint(contract: Contract, period: Period, input_digest: str) -> str:
    """Contract canonical hash + digest of the facts read + outcomes version (not the engine's)."""
    body = json.dumps(
        [contract.contract, period.label, contract_hash(contract), input_digest, __version__],
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def compute(
    ledger: Ledger,
    facts: Facts,
    contract_id: str,
    period_label: str,
    *,
    provisional: bool = False,
    as_of_batch: int | None = None,
    evidence_table: str | None = None,
    version: int | None = None,
    now: datetime | None = None,
) -> SettlementResult:
    """Measure and price a period without recording anything (settle, preview and rerun share this).

    `version` pins the contract version (a rerun uses the settled one); by default the version in effect at
    the later of the period's start and the term's start settles it (`resolve.version_for`).
    """
    timer = Timer()
    with timer("resolve"):
        batch = facts.latest_batch() if as_of_batch is None else as_of_batch
        res = resolve(ledger, facts, contract_id, period_label, as_of_batch=batch, version=version)
        digest = facts.digest(as_of_batch=batch)
        if res.before_term:
            raise SettlementRefused(res.outside_term())
    contract, period = res.contract, res.period
    table = evidence_table or f"evidence_{uuid.uuid4().hex[:12]}"
    if res.after_term:
        with timer("clock"):
            check_clock(res, provisional=True, now=now)  # refuses a period that has not begun
        return _after_term(ledger, facts, res, batch, digest, table, timer)
    with timer("clock"):
        status = check_clock(res, provisional=provisional, now=now)
        no_events = check_events(res, provisional=provisional)
    p = price_resolved(ledger, facts, res, table, timer)
    with timer("adjustments"):
        adjustments = adjustment_lines(ledger, facts, contract_id, period.label, batch, digest)
        disputes = ledger.accepted_unadjusted_disputes(contract_id)
        adjustments += [dispute_line(d, contract.currency) for d in disputes]
    with timer("finish"):
        priced = p.finished(contract, adjustments)
        lines = priced.lines
        notices = _notices(contract, p.measures, status) + no_events
        notices += levels.trigger_notices(contract, p.values)
        if no_events:  # what waits for the events is not verified: never a final settlement
            status = "provisional"
        notices += lift_notices(priced.lines)
    return SettlementResult(
        contract=contract,
        period=period,
        status=status,
        fingerprint=fingerprint(contract, period, digest),
        input_digest=digest,
        facts_batch=batch,
        lines=lines,
        measures=p.measures,
        notices=notices,
        uuid=table.removeprefix("evidence_"),
        measure_results=levels.results_json(p.results),
        adjusted_disputes=[d.id for d in disputes],
        metric_values={_request_text(r): _value_text(v) for r, v in p.values.items()},
        timings=timer.seconds,
    )


def _after_term(
    ledger: Ledger, facts: Facts, res: Resolution, batch: int, digest: str, table: str, timer: Timer
) -> SettlementResult:
    """After the term only what verifies late is billed: an adjustment-only settlement."""
    contract, period = res.contract, res.period
    with timer("adjustments"):
        adjustments = adjustment_lines(ledger, facts, contract.contract, period.label, batch, digest)
        disputes = ledger.accepted_unadjusted_disputes(contract.contract)
        adjustments += [dispute_line(d, contract.currency) for d in disputes]
    if not adjustments:
        raise SettlementRefused(
            f"period {period.label} lies after the term of {contract.contract} (ended {contract.term.end}) "
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
        adjusted_disputes=[d.id for d in disputes],
        timings=timer.seconds,
    )


def _request_text(r) -> str:
    scope = f"[{','.join(r.workflows)}]" if r.workflows else ""
    extra = "".join(f";{k}={getattr(r, k)}" for k in ("threshold", "window") if getattr(r, k, None))
    return f"{r.name}{scope}{extra}"


def _value_text(v) -> str | None:
    return None if v.value is None else format(levels.as_decimal(v.value), "f")


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
    ledger: Ledger,
    facts: Facts,
    contract_id: str,
    period_label: str,
    *,
    provisional: bool = False,
    now: datetime | None = None,
) -> SettlementResult:
    """Compute the period and record it: an immutable settlement with its fingerprint (step "record")."""
    period = period_of(ledger, contract_id, period_label)
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
    result = compute(ledger, facts, contract_id, period.label, provisional=provisional, now=now)
    started = time.perf_counter()
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
    result.timings["record"] = time.perf_counter() - started
    return result
