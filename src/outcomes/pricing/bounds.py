"""Minimum and maximum on the sum of the rounded lines so far (step 3); the result is the period base.

Both bounds are prorated in a period only partly inside the term. A `minimum` line tops the sum up to the
floor; a `maximum` line (negative) brings it down to the cap; neither appears when not binding. The line's
unrounded amount is (prorated bound - rounded sum), so the period base is the bound rounded once.
When a contract sets minimum > maximum (a validation matter), the maximum wins: it is applied last.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from outcomes.contract.schema import Contract
from outcomes.period import Period
from outcomes.pricing.lines import MAXIMUM, MINIMUM, Line, make_line, sum_amounts
from outcomes.pricing.money import in_context, money_text, round_money
from outcomes.pricing.proration import Proration, proration


def _bound_line(
    kind: str, bound: Decimal, subtotal: Decimal, prorate: Proration, currency: str
) -> Line | None:
    limit = prorate.apply(bound)
    limit_rounded = round_money(limit, currency)
    binding = subtotal < limit_rounded if kind == MINIMUM else subtotal > limit_rounded
    if not binding:
        return None
    word = "minimum" if kind == MINIMUM else "maximum"
    return make_line(
        kind,
        f"{word} {money_text(limit_rounded)} applied",
        limit - subtotal,
        currency,
        details={
            word: bound,
            **prorate.details(),
            f"prorated_{word}": limit,
            "sum_before": subtotal,
            "sum_after": limit_rounded,
        },
    )


@in_context
def bounds_lines(
    contract: Contract, period: Period, lines: Sequence[Line], *, prorate: Proration | None = None
) -> list[Line]:
    """The minimum and/or maximum line for the rounded `lines` so far ([] when neither binds)."""
    prorate = prorate or proration(contract.term, period)
    out: list[Line] = []
    running = sum_amounts(lines)
    for kind, bound in ((MINIMUM, contract.pricing.minimum), (MAXIMUM, contract.pricing.maximum)):
        if bound is None:
            continue
        line = _bound_line(kind, bound, running, prorate, contract.currency)
        if line is not None:
            out.append(line)
            running += line.amount
    return out
