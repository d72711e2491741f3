"""Pricing: a pure core. Contract values and period counts in, priced lines with their evidence out.

One small component per fee type (lago's charge models), each returning a `Line` whose `details` explain its
arithmetic. `price_period` runs CONTRACT.md steps 1-3; `finish_period` appends steps 4-7 computed by the
settlement with `service_credits`, `earn_back`, `productivity_line` and its adjustments.
"""

from outcomes.pricing.base_fee import base_fee_line
from outcomes.pricing.bounds import bounds_lines, maximum_line, minimum_line
from outcomes.pricing.credits import (
    EarnBackStatus,
    MeasureResult,
    earn_back,
    earn_back_status,
    service_credits,
)
from outcomes.pricing.glide import Phase, phase_for
from outcomes.pricing.lines import KINDS, Line, make_line, sum_amounts
from outcomes.pricing.money import minor_unit, money_text, round_money
from outcomes.pricing.outcome_fee import outcome_fee_line, outcome_fee_lines
from outcomes.pricing.period_total import PricedPeriod, finish_period, price_period
from outcomes.pricing.productivity import productivity_line
from outcomes.pricing.proration import Proration, proration
from outcomes.pricing.tiers import TierResult, flat, graduated, volume
from outcomes.pricing.value_share import value_share_line

__all__ = [
    "KINDS",
    "EarnBackStatus",
    "Line",
    "MeasureResult",
    "Phase",
    "PricedPeriod",
    "Proration",
    "TierResult",
    "base_fee_line",
    "bounds_lines",
    "earn_back",
    "earn_back_status",
    "finish_period",
    "flat",
    "graduated",
    "make_line",
    "maximum_line",
    "minimum_line",
    "minor_unit",
    "money_text",
    "outcome_fee_line",
    "outcome_fee_lines",
    "phase_for",
    "price_period",
    "productivity_line",
    "proration",
    "round_money",
    "service_credits",
    "sum_amounts",
    "value_share_line",
    "volume",
]
