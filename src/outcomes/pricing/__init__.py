"""Pricing: a pure core. Contract values and period counts in, priced lines with their evidence out.

One small component per fee type (lago's charge models), each returning a `Line` whose `details` explain its
arithmetic. `price_period` runs CONTRACT.md steps 1-3; `finish_period` appends steps 4-7 computed by the
settlement with `service_credits`, `earn_back`, `productivity_line` and its adjustments.

Import the component you need from its module (`outcomes.pricing.tiers`, `...period_total`): this package
loads nothing itself, so a light import (the money helpers) does not pull in every component.
"""
