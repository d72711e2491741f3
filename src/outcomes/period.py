"""Settlement periods: calendar months or quarters, half-open, cut in the contract's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from outcomes.errors import OutcomesError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)


class PeriodError(OutcomesError, ValueError):
    """A period label that is not one of the contract's periods (YYYY-MM, or YYYY-Qn for quarters)."""

    code = "period"


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    start: date  # first local day, inclusive
    end: date  # first local day of the next period, exclusive
    kind: str = "month"

    @classmethod
    def parse(cls, label: str, kind: str = "month") -> Period:
        """'2026-10' for a month; '2026-Q4' (or the quarter's first month, '2026-10') for a quarter."""
        text = label.strip()
        if kind == "quarter":
            m = _QUARTER.match(text)
            if m:
                start = date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
                return cls(start, _add_months(start, 3), "quarter")
            m = _MONTH.match(text)
            if m and (int(m.group(2)) - 1) % 3 == 0:
                start = date(int(m.group(1)), int(m.group(2)), 1)
                return cls(start, _add_months(start, 3), "quarter")
            raise PeriodError(f"period {label!r} is not a quarter: write it as YYYY-Qn, e.g. 2026-Q4")
        m = _MONTH.match(text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise PeriodError(f"period {label!r} is not a month: write it as YYYY-MM, e.g. 2026-10")
        start = date(int(m.group(1)), int(m.group(2)), 1)
        return cls(start, _add_months(start, 1), "month")

    @classmethod
    def containing(cls, day: date, kind: str = "month") -> Period:
        if kind == "quarter":
            start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
            return cls(start, _add_months(start, 3), "quarter")
        start = date(day.year, day.month, 1)
        return cls(start, _add_months(start, 1), "month")

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def next(self) -> Period:
        return Period.containing(self.end, self.kind)

    def previous(self) -> Period:
        return Period.containing(date.fromordinal(self.start.toordinal() - 1), self.kind)

    def utc_bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Local midnights of start and end as naive UTC datetimes (how the facts store keeps time)."""
        return local_midnight_utc(self.start, zone), local_midnight_utc(self.end, zone)

    def __str__(self) -> str:
        return self.label


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
