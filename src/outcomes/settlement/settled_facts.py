"""An ingest that would change the facts of a settled period says so before it commits, and needs consent.

A settled period is never edited: when its facts change, the next settlement bills the difference as
adjustment lines (adjustments.py). That is how late data and corrections are meant to work, but an ingest
that does it by accident (a file whose ids collide with settled facts, a re-export with other values) would
claw back a settled month without a word. So every ingest through the workspace runs this check inside its
transaction, before it commits:

- the rows it wrote or superseded are matched with every recorded settlement: an interaction counts for a
  settled period when its `source` is the contract's system of record and its `opened_at` or `closed_at`
  lies between the period's start and its *reach* (the period's end plus the contract's longest window:
  repeat contact, `retained_for`, the value-share window), since a contact in that span can change the
  period's outcomes; a customer event counts when its `at` lies in that span;
- when any does, the ingest is refused ("nothing was ingested") with, per period: the rows, the settlement,
  what has been billed for it so far and the largest possible adjustment: at most everything billed back, and
  upward at most up to the contract's `maximum` (no bound when it has none);
- with `allow=True` (`--allow-changes-to-settled`) the ingest commits, and the same figures are reported.

New facts of open periods (past every settled period's reach) need nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from outcomes.contract.schema import Contract
from outcomes.errors import OutcomesError
from outcomes.ledger import Ledger, load_version
from outcomes.period import local_midnight_utc
from outcomes.pricing.money import money_text


class ChangesToSettled(OutcomesError):
    """An ingest that would change facts of settled periods, without --allow-changes-to-settled."""

    code = "changes_to_settled"


@dataclass(frozen=True)
class SettledSpan:
    """A settled period and the facts that can change it (naive UTC, half-open)."""

    contract: str
    period: str
    settlement: int
    status: str
    source: str  # the contract's system of record
    start: Any  # datetime
    reach: Any  # datetime
    billed: Decimal
    currency: str
    maximum: Decimal | None


@dataclass(frozen=True)
class SettledChange:
    span: SettledSpan
    rows: int

    def to_dict(self) -> dict[str, Any]:
        s = self.span
        up = "no bound (the contract has no maximum)" if s.maximum is None else money_text(
            max(Decimal(0), s.maximum - s.billed), s.currency
        )
        return {
            "contract": s.contract,
            "period": s.period,
            "settlement": s.settlement,
            "status": s.status,
            "rows": self.rows,
            "billed": money_text(s.billed, s.currency),
            "currency": s.currency,
            "largest_adjustment_down": money_text(s.billed, s.currency),
            "largest_adjustment_up": up,
        }

    def line(self) -> str:
        d = self.to_dict()
        up = d["largest_adjustment_up"]
        up_text = up if up.startswith("no bound") else f"{up} {d['currency']} more"
        return (
            f"{self.rows:,} row(s) of {d['contract']} {d['period']} (settlement #{d['settlement']}, {d['status']}, "
            f"billed {d['billed']} {d['currency']}): the next settlement may adjust it by up to "
            f"{d['largest_adjustment_down']} {d['currency']} back or {up_text}"
        )


def _reach_seconds(contract: Contract) -> int:
    """The longest span after a period's end in which a fact can still change the period's outcomes."""
    spans = [contract.longest_repeat_window()]
    spans += [o.retained_for or 0 for o in contract.outcomes.values()]
    if contract.pricing.value_share is not None:
        spans.append(contract.pricing.value_share.window or 0)
    if contract.service_levels is not None:
        spans += [m.window or 0 for m in contract.service_levels.measures]
    return max(spans)


def settled_spans(ledger: Ledger) -> list[SettledSpan]:
    """Every settled period of every contract, once (its first settlement), with what it has been billed."""
    from outcomes.settlement.adjustments import billed_so_far

    spans: dict[tuple[str, str], SettledSpan] = {}
    versions: dict[tuple[str, int], Contract] = {}
    for s in ledger.settlements():
        key = (s.contract, s.period)
        if key in spans:
            continue
        if (s.contract, s.version) not in versions:
            versions[(s.contract, s.version)] = load_version(ledger.contract_version(s.contract, s.version))
        contract = versions[(s.contract, s.version)]
        zone = contract.zone
        end = local_midnight_utc(date.fromisoformat(s.period_end), zone)
        billed = sum((Decimal(v["amount"]) for v in billed_so_far(ledger, s.contract, s.period).values()), Decimal(0))
        spans[key] = SettledSpan(
            contract=s.contract,
            period=s.period,
            settlement=s.id,
            status=s.status,
            source=contract.system_of_record,
            start=local_midnight_utc(date.fromisoformat(s.period_start), zone),
            reach=end + timedelta(seconds=_reach_seconds(contract)),
            billed=billed,
            currency=s.currency,
            maximum=contract.pricing.maximum,
        )
    return list(spans.values())


def _ts(value: Any) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def changes(con: Any, kind: str, batch: int, spans: list[SettledSpan]) -> list[SettledChange]:
    """The settled periods whose facts batch `batch` wrote or superseded, with the rows of each (in SQL)."""
    if not spans:
        return []
    windows = ", ".join(
        f"({i}, {_lit(s.source)}, {_ts(s.start)}, {_ts(s.reach)})" for i, s in enumerate(spans)
    )
    if kind == "interactions":
        changed = (
            "SELECT source, interaction_id, opened_at, closed_at FROM interactions "
            f"WHERE _batch = {int(batch)} OR _until = {int(batch)}"
        )
        hits = (
            "c.source = w.src AND ((c.opened_at >= w.lo AND c.opened_at < w.hi) OR "
            "(c.closed_at >= w.lo AND c.closed_at < w.hi))"
        )
        key = "c.source, c.interaction_id"
    else:
        changed = f'SELECT customer_id, event, "at" FROM events WHERE _batch = {int(batch)} OR _until = {int(batch)}'
        hits = 'c."at" >= w.lo AND c."at" < w.hi'
        key = 'c.customer_id, c.event, c."at"'
    found = dict(
        con.execute(
            f"SELECT w.i, count(DISTINCT ({key})) FROM ({changed}) AS c "
            f"JOIN (VALUES {windows}) AS w(i, src, lo, hi) ON {hits} GROUP BY w.i"
        ).fetchall()
    )
    return [SettledChange(s, int(found[i])) for i, s in enumerate(spans) if found.get(i)]


class SettledFactsCheck:
    """The check an ingest runs before it commits (FactsStore.ingest's `check`): refuses, or with `allow`
    records, the changes it would make to settled periods (`.found` after the ingest)."""

    def __init__(self, ledger: Ledger, *, allow: bool = False) -> None:
        self.spans = settled_spans(ledger)
        self.allow = allow
        self.found: list[SettledChange] = []

    def __call__(self, con: Any, summary: Any) -> None:
        if summary.batch is None or not (summary.accepted or summary.updated):
            return
        self.found = changes(con, summary.kind, int(summary.batch), self.spans)
        if self.found and not self.allow:
            total = sum(c.rows for c in self.found)
            raise ChangesToSettled(
                f"{summary.file}: this ingest would change the facts of {len(self.found)} settled period(s), "
                f"{total:,} row(s) in all; nothing was ingested:\n  "
                + "\n  ".join(c.line() for c in self.found),
                hint="a settled period is never edited: corrections are billed as adjustments by the next "
                "settlement. If these changes are meant, ingest again with --allow-changes-to-settled",
            )
