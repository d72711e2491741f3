"""Proration of a period only partly inside the term (CONTRACT.md, "Pricing a period").

The term is inclusive of `start` and `end`; a period is half-open [start, end) in local calendar days. In a
period only partly inside the term, the base fee, `minimum`, `maximum` and the value-share `baseline` are
multiplied by (term days in the period / days in the period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from outcomes.contract.schema import Term
from outcomes.period import Period
from outcomes.pricing.money import CONTEXT

_SHOWN_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Proration:
    term_days: int  # days of the period inside the term
    period_days: int  # days in the period

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.term_days, self.period_days)

    @property
    def text(self) -> str:
        """'17/31', as day counts (not reduced)."""
        return f"{self.term_days}/{self.period_days}"

    @property
    def decimal(self) -> Decimal:
        """For display only (6 places); the arithmetic uses the exact day counts."""
        return CONTEXT.divide(Decimal(self.term_days), Decimal(self.period_days)).quantize(
            _SHOWN_PLACES, context=CONTEXT
        )

    @property
    def partial(self) -> bool:
        return self.term_days != self.period_days

    def apply(self, amount: Decimal) -> Decimal:
        """amount x term_days / period_days, multiplying first so there is only one (50-digit) division."""
        if not self.partial:
            return amount
        return CONTEXT.divide(CONTEXT.multiply(amount, Decimal(self.term_days)), Decimal(self.period_days))

    def details(self) -> dict[str, Any]:
        return {
            "term_days": self.term_days,
            "period_days": self.period_days,
            "proration": self.text,
            "proration_decimal": self.decimal,
        }


def proration(term: Term, period: Period) -> Proration:
    """Days of `period` inside the inclusive `term`, over the days of `period`."""
    first = max(term.start, period.start)
    after_last = min(term.end + timedelta(days=1), period.end)
    return Proration(max(0, (after_last - first).days), period.days)


def term_overlaps(term: Term, period: Period) -> bool:
    return term.start < period.end and term.end >= period.start


def effective_day(term: Term, period: Period) -> date:
    """The later of the period's start and the term's start: the day whose glide-path phase applies."""
    return max(period.start, term.start)
