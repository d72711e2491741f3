"""The cost model: what delivering a period costs the provider, and what the buyer pays beside the invoice.

Estimates from a scenario file's `costs` (docs/simulator.md), never from the contract: the provider's agent time
is the agent handle time of the period divided by the occupancy (paid hours that are not talk time), at a
loaded hourly cost, plus a fixed cost per period and a cost per bot contact. Money is Decimal, rounded to cents
once per figure.
"""

from __future__ import annotations

from decimal import Decimal

from outcomes.pricing.money import round_money
from outcomes.simulator.scenario import Costs

_SECONDS_PER_HOUR = Decimal(3600)


def provider_cost(costs: Costs, agent_seconds: float, bot_contacts: float, currency: str) -> Decimal:
    pc = costs.provider
    paid_hours = Decimal(str(round(agent_seconds, 3))) / _SECONDS_PER_HOUR / pc.occupancy
    bots = Decimal(str(round(bot_contacts, 3))) * pc.per_bot_contact
    return round_money(paid_hours * pc.agent_hour + pc.fixed_per_period + bots, currency)


def buyer_own_cost(costs: Costs, bot_contacts: float, currency: str) -> Decimal:
    bc = costs.buyer
    return round_money(
        bc.fixed_per_period + Decimal(str(round(bot_contacts, 3))) * bc.per_bot_contact, currency
    )
