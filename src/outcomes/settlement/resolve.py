"""One answer to "which contract version, which period, which windows and clocks, inside the term?" for every
command that measures a period: settle (and its rerun and re-pricing), status, the scorecard, integrity and
uplift.

- The period label is parsed in the contract's period kind (YYYY-MM, or YYYY-Qn), here and nowhere else.
- The version that settles a period is the one whose `effective_from` is the latest at or before the later of
  the period's start and the term's start (CONTRACT.md), so a term that starts mid-period settles its first,
  partial period with its first version.
- The window is the period's local days in the contract's time zone, as naive UTC, clipped to the term; the
  clocks are how far each feed has been observed (as of a batch when one is given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from outcomes.contract import Contract
from outcomes.ledger import ContractVersion, Ledger, load_version
from outcomes.metrics.outcomes import Clocks
from outcomes.metrics.scope import Window
from outcomes.period import Period

if TYPE_CHECKING:
    from outcomes.facts import Facts


def latest_version(ledger: Ledger, contract_id: str) -> Contract:
    """The contract as its latest registered version states it (its period kind and term)."""
    return load_version(ledger.contract_version(contract_id))


def period_of(ledger: Ledger, contract_id: str, label: str | Period) -> Period:
    """A period label in the contract's own period kind; a clear error (PeriodError) for anything else."""
    if isinstance(label, Period):
        return label
    return Period.parse(label, latest_version(ledger, contract_id).period)


def version_for(ledger: Ledger, contract_id: str, period: Period) -> tuple[Contract, ContractVersion]:
    """The version that settles `period`: effective at the later of the period's start and the term's start."""
    term_start = latest_version(ledger, contract_id).term.start
    return ledger.contract_for(contract_id, max(period.start, term_start))


@dataclass(frozen=True)
class Resolution:
    """A contract's period as every measurement sees it."""

    contract: Contract
    version_row: ContractVersion
    period: Period
    window: Window  # the period inside the term (naive UTC, half-open)
    clocks: Clocks
    batch: int | None  # the facts as of this ingest batch (None: all of them)

    @property
    def before_term(self) -> bool:
        return self.period.end <= self.contract.term.start

    @property
    def after_term(self) -> bool:
        return self.period.start > self.contract.term.end

    @property
    def in_term(self) -> bool:
        return not (self.before_term or self.after_term)

    def outside_term(self) -> str:
        c = self.contract
        return f"period {self.period.label} lies outside the term of {c.contract} ({c.term.start} to {c.term.end})"

    @property
    def full_window(self) -> Window:
        """The period's bounds, not clipped to the term (a baseline usually precedes the contract)."""
        start, end = self.period.utc_bounds(self.contract.zone)
        return Window(self.period, start, end)

    @property
    def settleable_after(self) -> datetime:
        """The contact clock must pass this instant (naive UTC) before every repeat window of the period closes."""
        return self.window.end + timedelta(seconds=self.contract.longest_repeat_window())

    @property
    def complete(self) -> bool:
        """Every look-ahead window of the period has been observed by the contact feed."""
        return self.clocks.contacts is not None and self.clocks.contacts > self.settleable_after

    def begun(self, now: datetime | None = None) -> bool:
        """The period's first local day has started (a period that has not begun cannot be settled)."""
        return self.period.start <= today_in(self.contract.zone, now)

    def local(self, dt: datetime | None) -> str | None:
        return local_text(dt, self.contract.zone)


def local_text(dt: datetime | None, zone: ZoneInfo) -> str | None:
    """A naive-UTC instant as ISO text in the contract's zone, to the minute (None stays None)."""
    return None if dt is None else dt.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="minutes")


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


def resolve(
    ledger: Ledger,
    facts: Facts | Any,
    contract_id: str,
    period: str | Period,
    *,
    as_of_batch: int | None = None,
    version: int | None = None,
) -> Resolution:
    """Resolve a contract's period: `version` pins a version (a rerun, a re-pricing); `as_of_batch` reads the
    clocks as of an ingest batch."""
    p = period_of(ledger, contract_id, period)
    if version is None:
        contract, row = version_for(ledger, contract_id, p)
    else:
        row = ledger.contract_version(contract_id, version)
        contract = load_version(row)
    clocks = Clocks(
        contacts=facts.contact_clock(contract.system_of_record, as_of_batch=as_of_batch),
        events=facts.event_clock(as_of_batch=as_of_batch),
    )
    return Resolution(contract, row, p, Window.of(contract, p), clocks, as_of_batch)


def term_periods(contract: Contract, until: date | None = None) -> list[Period]:
    """The periods of the term in order, from the one holding its first day to the one holding `until` (default
    the term's last day)."""
    last = contract.term.end if until is None else min(until, contract.term.end)
    p = Period.containing(contract.term.start, contract.period)
    out = []
    while p.start <= last:
        out.append(p)
        p = p.next()
    return out


def resolve_contract(
    facts: Facts | Any, contract: Contract, period: str | Period, *, as_of_batch: int | None = None
) -> Resolution:
    """Resolve a period under a contract that need not be registered (a file: `outcomes compare`, the
    simulator): the same window and clocks as `resolve`, with no ledger row behind the version."""
    p = period if isinstance(period, Period) else Period.parse(period, contract.period)
    clocks = Clocks(
        contacts=facts.contact_clock(contract.system_of_record, as_of_batch=as_of_batch),
        events=facts.event_clock(as_of_batch=as_of_batch),
    )
    return Resolution(contract, None, p, Window.of(contract, p), clocks, as_of_batch)  # type: ignore[arg-type]
