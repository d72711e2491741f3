"""Pricing models as contracts: seats (FTE), per handled contact, per handled minute, beside the outcome fees.

Each scenario: a few lines of contract, a small table of contacts, then the invoice a settlement gives."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from outcomes.contract import load_contract_text

CONTRACT = """
contract: models
version: 1
parties: {{buyer: Buyer, provider: Provider}}
currency: USD
timezone: UTC
term: {{start: {start}, end: 2027-12-31}}
period: month
system_of_record: crm
workflows:
  billing: {{queues: [billing]}}
  general: {{default: true}}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {{within: 7d, same: [customer]}}
pricing:
{pricing}
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,provider,reopened,handle_seconds"

ROWS = """
a1,crm,c1,voice,billing,2026-06-02T09:00:00Z,2026-06-02T09:05:00Z,resolved,agent,p,false,61
a2,crm,c2,voice,billing,2026-06-02T10:00:00Z,2026-06-02T10:05:00Z,resolved,agent,p,false,60
a3,crm,c3,chat,other,2026-06-03T10:00:00Z,2026-06-03T10:05:00Z,open,agent,p,false,
a4,crm,c4,voice,other,2026-06-03T11:00:00Z,2026-06-03T11:01:00Z,abandoned,agent,p,false,300
b1,crm,c5,bot,other,2026-06-04T11:00:00Z,2026-06-04T11:01:00Z,resolved,bot,p,false,30
x1,vendor,c6,voice,billing,2026-06-04T12:00:00Z,2026-06-04T12:05:00Z,resolved,agent,p,false,600
"""


def _contract(pricing: str, start: str = "2026-01-01") -> str:
    return CONTRACT.format(pricing=pricing, start=start)


def _settle(scenario, pricing: str, start: str = "2026-01-01"):
    s = scenario(_contract(pricing, start))
    s.rows(ROWS, header=HEADER)
    return s.settle("2026-06")


def _line(result, kind):
    [line] = [ln for ln in result.lines if ln.kind == kind]
    return line


def test_seats_bill_agents_times_rate(scenario):
    result = _settle(scenario, '  seats: {agents: 12, rate: "4500.00"}')
    line = _line(result, "seat_fee")
    assert line.amount == D("54000.00") and line.quantity == 12
    assert result.total == D("54000.00")


def test_seats_are_prorated_like_the_base_fee_in_a_partial_first_month(scenario):
    # the term starts on 16 June: 15 of June's 30 days
    result = _settle(scenario, '  seats: {agents: 10, rate: "3000.00"}', start="2026-06-16")
    assert _line(result, "seat_fee").amount == D("15000.00")


def test_per_contact_bills_agent_handled_contacts_of_the_system_of_record(scenario):
    # a1, a2, a3 are agent-handled and not abandoned; a4 is abandoned, b1 is a bot, x1 not from the CRM
    result = _settle(scenario, '  volume_fees: [{basis: contact, unit: "4.10"}]')
    line = _line(result, "volume_fee")
    assert line.quantity == 3 and line.amount == D("12.30")
    assert line.details["counts"] == {"billing": 2, "general": 1}


def test_per_contact_can_include_bot_contacts_and_be_scoped_to_workflows(scenario):
    pricing = """  volume_fees:
    - {basis: contact, unit: "1.00", handled_by: [agent, bot], workflows: [general]}"""
    result = _settle(scenario, pricing)
    assert _line(result, "volume_fee").quantity == 2  # a3 and b1


def test_per_handled_minute_rounds_each_contact_up_to_the_minute(scenario):
    # a1 61 s -> 2 minutes, a2 60 s -> 1, a3 no handle time -> 0
    result = _settle(scenario, '  volume_fees: [{basis: handled_minute, unit: "0.85"}]')
    line = _line(result, "volume_fee")
    assert line.quantity == 3 and line.amount == D("2.55")


def test_volume_fees_take_graduated_tiers(scenario):
    pricing = """  volume_fees:
    - {basis: contact, tiers: graduated, prices: [{up_to: 2, unit: "5.00"}, {unit: "1.00"}]}"""
    assert _settle(scenario, pricing).total == D("11.00")


def test_hybrid_base_plus_per_resolution(scenario):
    # a1 and a2 resolved and never repeated; a3 is open, b1 a bot contact (resolution is agent-only)
    result = _settle(scenario, '  base_fee: "1000.00"\n  outcome_fees: [{outcome: resolution, unit: "6.00"}]')
    assert result.total == D("1012.00")


def _issues(pricing: str):
    _, issues = load_contract_text(_contract(pricing), "c.yaml")
    return [(i.code, i.field) for i in issues if i.level == "error"]


def test_a_contract_priced_by_seats_or_volume_alone_is_valid():
    assert _issues('  seats: {agents: 3, rate: "100.00"}') == []
    assert _issues('  seats: {agents: from_data, rate: "100.00"}') == []
    assert _issues('  volume_fees: [{basis: handled_minute, unit: "0.8"}]') == []


def test_new_pricing_keys_are_validated_on_their_line():
    assert ("unknown_workflow", "pricing.volume_fees[0].workflows[0]") in _issues(
        '  volume_fees: [{basis: contact, unit: "1.00", workflows: [biling]}]'
    )
    assert ("unsorted_tiers", "pricing.volume_fees[0].prices[1].up_to") in _issues(
        "  volume_fees: [{basis: contact, tiers: volume, prices: "
        '[{up_to: 5, unit: "2"}, {up_to: 3, unit: "1"}, {unit: "1"}]}]'
    )
    assert ("negative_amount", "pricing.seats.rate") in _issues('  seats: {agents: 3, rate: "-1.00"}')
    assert ("too_precise", "pricing.seats.rate") in _issues('  seats: {agents: 3, rate: "1.001"}')
    assert ("bad_value", "pricing.seats.agents") in _issues('  seats: {agents: true, rate: "1.00"}')
    assert ("bad_value", "pricing.volume_fees[0].basis") in _issues(
        '  volume_fees: [{basis: call, unit: "1"}]'
    )
    assert ("out_of_range", "pricing.seats.shrinkage") in _issues(
        '  seats: {agents: from_data, rate: "1.00", shrinkage: "1.2"}'
    )


# --- the pure components, without a settlement ------------------------------------------------------------


def _model(pricing: str, extra: str = ""):
    from ruamel.yaml import YAML

    from outcomes.contract.schema import Contract

    return Contract.model_validate(YAML(typ="safe").load(_contract(pricing) + extra))


def test_seats_follow_the_glide_paths_base_fee_factor():
    from outcomes.period import Period
    from outcomes.pricing.period_total import price_period

    c = _model(
        '  seats: {agents: 4, rate: "1000.00"}',
        'glide_path:\n  - {from: 2026-01-01}\n  - {from: 2026-06-01, base_fee: "0.75", outcome_fees: "1.2"}\n',
    )
    [line] = price_period(c, Period.parse("2026-06"), {}).lines
    assert line.kind == "seat_fee" and line.amount == D("3000.00") and line.unit_price == D("750.00")


def test_seats_from_data_take_the_staffed_number():
    from outcomes.period import Period
    from outcomes.pricing.period_total import price_period

    c = _model('  seats: {agents: from_data, rate: "1000.00"}')
    priced = price_period(c, Period.parse("2026-06"), {}, agents=7, staffing={"model": "erlang_c"})
    [line] = priced.lines
    assert line.amount == D("7000.00") and line.details["agents_from"] == "data"
    with pytest.raises(ValueError, match="staffed number"):
        price_period(c, Period.parse("2026-06"), {})


def test_volume_fees_count_only_their_handlers_and_workflows_and_are_not_on_the_glide_path():
    from outcomes.period import Period
    from outcomes.pricing.period_total import price_period

    c = _model(
        "  volume_fees:\n"
        '    - {basis: contact, unit: "2.00", workflows: [billing]}\n'
        '    - {basis: handled_minute, unit: "0.50", handled_by: [agent, bot]}\n',
        'glide_path:\n  - {from: 2026-01-01, base_fee: "0.5", outcome_fees: "0.5"}\n',
    )
    volumes = {
        ("contact", "billing", "agent"): 10,
        ("contact", "billing", "bot"): 99,  # bots are not billed per contact here
        ("contact", "general", "agent"): 50,  # nor another workflow
        ("handled_minute", "billing", "agent"): 30,
        ("handled_minute", "general", "bot"): 4,
    }
    contact, minute = price_period(c, Period.parse("2026-06"), {}, volumes=volumes).lines
    assert (contact.quantity, contact.amount) == (10, D("20.00"))
    assert (minute.quantity, minute.amount) == (34, D("17.00"))


def test_a_contract_without_the_new_keys_keeps_its_hash():
    from outcomes.contract import canonical_form, contract_hash

    plain = _model('  base_fee: "10.00"')
    assert '"seats"' not in canonical_form(plain) and '"volume_fees"' not in canonical_form(plain)
    with_empty = plain.model_copy(update={"pricing": plain.pricing.model_copy(update={"volume_fees": []})})
    assert contract_hash(with_empty) == contract_hash(plain)


def test_seats_from_data_are_staffed_per_half_hour_with_erlang_c(scenario):
    # offered to agents: a1, a2, a3 and the abandoned a4, one per half hour (b1 is a bot's, x1 not from the CRM);
    # at 60.5 s of mean handle time (a1, a2) one agent answers 80% within 20 s in each: 4 half hours on the
    # phones = 2 h, / (1 - 0.5 shrinkage) = 4 paid hours, / 0.5 h an agent = 8 agents
    from outcomes.pricing.staffing import Demand, Target, required

    assert required(Demand(1, 1800, 60.5), Target(service_level=0.8, answer_within_seconds=20)).agents == 1
    pricing = '  seats: {agents: from_data, rate: "100.00", shrinkage: "0.5", agent_hours: "0.5"}'
    line = _line(_settle(scenario, pricing), "seat_fee")
    assert line.quantity == 8 and line.amount == D("800.00")
    staffing = line.details["staffing"]
    assert staffing["offered"] == 4 and staffing["intervals_with_demand"] == 4
    assert staffing["aht_seconds"] == D("60.5") and staffing["hours_on_phones"] == D(2)
