"""The canonical form and hash: the same for files that mean the same, different when the meaning changes."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from outcomes.contract import Contract, canonical_form, contract_hash, load_contract_text
from outcomes.contract.fingerprint import decimal_text

ORIGINAL = """\
contract: acme-northwind
version: 1
parties: {buyer: Acme Bank, provider: Northwind CX}
currency: USD
timezone: America/New_York
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: buyer_crm
workflows:
  card_disputes: {queues: [disputes, chargebacks]}
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer, workflow]}
  containment:
    kind: containment
    repeat_contact: {within: 72h}
pricing:
  base_fee: "25000.00"
  outcome_fees:
    - outcome: resolution
      workflows: [card_disputes]
      tiers: graduated
      prices: [{up_to: 5000, unit: "7.50"}, {unit: "5.00"}]
    - outcome: resolution
      workflows: [general]
      unit: "4.00"
    - outcome: containment
      unit: "0.99"
service_levels:
  at_risk: "0.12"
  measures:
    - {metric: csat_top2box, target: ">= 0.80", weight: "0.4"}
    - {metric: service_level, target: ">= 0.80", weight: "0.6"}
"""

# The same contract: keys reordered, comments, other quoting, "7.5" for "7.50", 168h for 7d, sets reordered,
# defaults written out (effective_from, handled_by, reopened, channels, same, pool, no_data, glide factor
# defaults are absent here, fee-line workflows for the containment line, service_level threshold, audit).
SAME = """\
# Amended layout, same meaning.
version: 1
contract: 'acme-northwind'
period: "month"
currency: USD
parties:
  provider: Northwind CX
  buyer: "Acme Bank"
timezone: America/New_York
term:
  end: 2027-12-31
  start: "2026-01-01"
effective_from: 2026-01-01        # the default, written out
system_of_record: buyer_crm
workflows:
  general: {default: true, queues: []}
  card_disputes:
    queues: [chargebacks, disputes]   # order of a queue list means nothing
    default: false
outcomes:
  containment:
    repeat_contact: {within: 3d, same: [customer], channels: any}
    kind: containment
    handled_by: [bot]
    reopened: exclude
  resolution:
    handled_by: [agent]
    reopened: exclude
    kind: resolution
    repeat_contact:
      same: [workflow, customer]
      within: 168h
pricing:
  outcome_fees:
    - outcome: resolution
      prices:
        - {unit: 7.5, up_to: 5000}
        - unit: "5"
      workflows: [card_disputes]
      tiers: graduated
    - {outcome: resolution, workflows: [general], unit: 4.000}
    - outcome: containment
      workflows: [general, card_disputes]
      unit: ".99"
  base_fee: 25000
service_levels:
  no_data: ignore
  pool: "1.0"
  measures:
    - {weight: ".4", metric: csat_top2box, target: ">=0.8"}
    - {metric: service_level, target: ">= 0.800", weight: "0.60", threshold: 20s}
  at_risk: "0.120"
audit: {buyer_may_rerun: true}
"""


def load(text: str) -> Contract:
    contract, issues = load_contract_text(text)
    assert contract is not None, "\n".join(map(str, issues))
    return contract


def test_same_meaning_same_hash() -> None:
    a, b = load(ORIGINAL), load(SAME)
    assert canonical_form(a) == canonical_form(b)
    assert contract_hash(a) == contract_hash(b)


def test_hash_shape_and_stability() -> None:
    h = contract_hash(load(ORIGINAL))
    assert h.startswith("sha256:") and len(h) == len("sha256:") + 64
    assert h == contract_hash(load(ORIGINAL))


def test_canonical_form_is_compact_sorted_json() -> None:
    form = canonical_form(load(ORIGINAL))
    data = json.loads(form)
    assert form == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert data["pricing"]["outcome_fees"][0]["prices"][0] == {"unit": "7.5", "up_to": 5000}
    assert data["pricing"]["base_fee"] == "25000"
    assert data["service_levels"]["measures"][0]["target"] == ">= 0.8"
    assert data["service_levels"]["measures"][1]["threshold"] == "20s"
    assert data["outcomes"]["resolution"]["repeat_contact"]["within"] == "7d"
    assert data["effective_from"] == "2026-01-01"
    assert data["outcomes"]["containment"]["handled_by"] == ["bot"]
    assert data["pricing"]["outcome_fees"][2]["workflows"] == ["card_disputes", "general"]
    assert data["glide_path"] == []


def test_canonical_form_does_not_change_the_model() -> None:
    contract = load(ORIGINAL)
    before = contract.model_dump(mode="json", by_alias=True)
    canonical_form(contract)
    assert contract.model_dump(mode="json", by_alias=True) == before
    assert str(contract.pricing.outcome_fees[0].prices[0].unit) == "7.50"


def change(old: str, new: str) -> str:
    assert ORIGINAL.count(old) == 1
    return ORIGINAL.replace(old, new)


def test_a_change_of_meaning_changes_the_hash() -> None:
    base = contract_hash(load(ORIGINAL))
    changes = [
        ('{up_to: 5000, unit: "7.50"}', '{up_to: 5000, unit: "7.51"}'),  # a price
        ("{up_to: 5000,", "{up_to: 5001,"),  # a tier bound
        ("tiers: graduated", "tiers: volume"),
        ("version: 1", "version: 2\neffective_from: 2026-01-01"),
        ("end: 2027-12-31", "end: 2027-12-30"),
        ("within: 72h", "within: 71h"),
        ('target: ">= 0.80", weight: "0.4"', 'target: ">= 0.81", weight: "0.4"'),
        ("same: [customer, workflow]", "same: [customer]"),
        ("    kind: resolution\n", "    kind: resolution\n    reopened: allow\n"),
        (
            '    - {metric: service_level, target: ">= 0.80", weight: "0.6"}',
            '    - {metric: service_level, target: ">= 0.80", weight: "0.6", threshold: 30s}',
        ),
    ]
    hashes = {contract_hash(load(change(old, new))) for old, new in changes}
    assert base not in hashes
    assert len(hashes) == len(changes)


def test_fee_line_order_is_kept() -> None:
    """Fee lines are a list whose order is shown on the invoice: reordering them is a different form."""
    swapped = change(
        '    - outcome: resolution\n      workflows: [general]\n      unit: "4.00"\n', ""
    ).replace(
        '      unit: "0.99"\n',
        '      unit: "0.99"\n    - outcome: resolution\n      workflows: [general]\n      unit: "4.00"\n',
    )
    assert contract_hash(load(swapped)) != contract_hash(load(ORIGINAL))


def test_decimal_text() -> None:
    cases = {
        "7.50": "7.5",
        "7.5": "7.5",
        "25000.00": "25000",
        "1E+3": "1000",
        "-0.00": "0",
        "0": "0",
        "0.10": "0.1",
        "-1.230": "-1.23",
        "100": "100",
        "12345678901234567890.1234567890": "12345678901234567890.123456789",
    }
    for given_text, expected in cases.items():
        assert decimal_text(Decimal(given_text)) == expected


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9),
    st.integers(min_value=0, max_value=6),
)
def test_trailing_zeros_never_change_the_hash(value: Decimal, zeros: int) -> None:
    plain = format(value, "f")
    padded = plain + ("0" * zeros if "." in plain else "." + "0" * zeros if zeros else "")
    a = ORIGINAL.replace('base_fee: "25000.00"', f'base_fee: "{plain}"')
    b = ORIGINAL.replace('base_fee: "25000.00"', f'base_fee: "{padded}"')
    ca, cb = load_contract_text(a)[0], load_contract_text(b)[0]
    if ca is None:  # a negative base fee is refused; the padded text must be refused alike
        assert cb is None
        return
    assert contract_hash(ca) == contract_hash(cb)
