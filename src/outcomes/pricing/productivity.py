"""Productivity share (step 6): the buyer's share of the automation saving above the signing baseline.

credit = (contained - baseline_containment x handled) x human_contact_cost x productivity_share, floored at
0 and shown as a negative line (never a charge); outside the service-credit cap.
"""

from __future__ import annotations

from decimal import Decimal

from outcomes.contract.schema import Automation
from outcomes.pricing.lines import PRODUCTIVITY_SHARE, Line, make_line
from outcomes.pricing.money import in_context


@in_context
def productivity_line(
    automation: Automation | None, contained: int, handled: int, currency: str
) -> Line | None:
    """The productivity-share credit; None when the contract has no `automation`.

    At or below the baseline the line is still shown, at 0, with `details["status"]` `at_or_below_baseline`.
    """
    if automation is None:
        return None
    for name, n in (("contained", contained), ("handled", handled)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    expected = automation.baseline_containment * handled
    excess = contained - expected
    saving = excess * automation.human_contact_cost * automation.productivity_share
    above = saving > 0
    return make_line(
        PRODUCTIVITY_SHARE,
        "productivity share",
        -saving if above else Decimal(0),
        currency,
        details={
            "contained": contained,
            "handled": handled,
            "baseline_containment": automation.baseline_containment,
            "expected_contained": expected,
            "excess_contained": excess,
            "human_contact_cost": automation.human_contact_cost,
            "productivity_share": automation.productivity_share,
            "saving": saving,
            "status": "above_baseline" if above else "at_or_below_baseline",
        },
    )
