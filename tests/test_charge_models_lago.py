"""Charge models that usage-billing users know, checked against Lago's own cases.

The cases are those of lago-api's charge-model specs (getlago/lago-api,
spec/services/charges/charge_models/graduated_service_spec.rb, volume_service_spec.rb and
package_service_spec.rb): a tier's flat fee (graduated: the flat fee of every tier the count reaches; volume:
that of the tier it reaches) and package pricing (whole packages after free units). Lago writes a tier as
`from_value..to_value`; here it is `up_to` (inclusive), the same bounds.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal as D

import pytest

from outcomes.contract import load_contract_text
from outcomes.contract.schema import OutcomeFee, PriceTier
from outcomes.pricing.charge_models import CHARGE_MODELS, last_unit_price, price_count
from outcomes.pricing.tiers import graduated, package, volume

# graduated_service_spec.rb: {0..10: per unit 10, flat 2}, {11..20: 5, flat 3}, {21..: 5, flat 3}
LAGO_GRADUATED = [
    PriceTier(up_to=10, unit=D("10"), flat=D("2")),
    PriceTier(up_to=20, unit=D("5"), flat=D("3")),
    PriceTier(unit=D("5"), flat=D("3")),
]
# volume_service_spec.rb: {0..100: per unit 2, flat 10}, {101..200: 1, flat 0}, {201..: 0.5, flat 50}
LAGO_VOLUME = [
    PriceTier(up_to=100, unit=D("2.00"), flat=D("10.00")),
    PriceTier(up_to=200, unit=D("1.00"), flat=D("0")),
    PriceTier(unit=D("0.50"), flat=D("50.00")),
]


@pytest.mark.parametrize(
    ("count", "amount"),
    [
        (0, "0"),  # "does not apply the flat amount for 0": a count of 0 reaches no tier
        (1, "12"),  # 1 x 10 + flat 2
        (10, "102"),  # 10 x 10 + 2, the top of tier 1
        (11, "110"),  # 102 + (1 x 5 + flat 3): reaching tier 2 adds its flat fee
        (12, "115"),  # 102 + (2 x 5 + 3)
        (21, "163"),  # 102 + (10 x 5 + 3) + (1 x 5 + 3): every tier reached charges its flat fee
    ],
)
def test_graduated_charges_the_flat_fee_of_every_tier_reached(count, amount):
    assert graduated(count, LAGO_GRADUATED).amount == D(amount)


@pytest.mark.parametrize(
    ("count", "amount"),
    [
        (0, "0"),  # "does not apply the flat amount"
        (1, "12.00"),  # 1 x 2 + flat 10
        (100, "210.00"),  # the limit of the first range: 100 x 2 + 10
        (101, "101.00"),  # the second range: 101 x 1, its flat fee is 0
        (200, "200.00"),
        (300, "200.00"),  # the last range: 300 x 0.5 + flat 50, the other tiers' flat fees not charged
    ],
)
def test_volume_charges_only_the_flat_fee_of_the_tier_reached(count, amount):
    assert volume(count, LAGO_VOLUME).amount == D(amount)


def test_a_flat_fee_is_in_the_breakdown_an_auditor_reads():
    g = graduated(11, LAGO_GRADUATED)
    assert g.breakdown == [
        {"tier": 1, "from": 1, "to": 10, "units": 10, "unit": D("10"), "flat": D("2"), "amount": D("102")},
        {"tier": 2, "from": 11, "to": 20, "units": 1, "unit": D("5"), "flat": D("3"), "amount": D("8")},
    ]
    assert g.reached == 2
    v = volume(300, LAGO_VOLUME)
    assert v.breakdown == [
        {
            "tier": 3,
            "from": 201,
            "to": None,
            "units": 300,
            "unit": D("0.50"),
            "flat": D("50.00"),
            "amount": D("200.00"),
        },
    ]
    # tiers without a flat fee keep the rows they always had
    assert "flat" not in graduated(3, [PriceTier(unit=D("1"))]).breakdown[0]


@pytest.mark.parametrize(
    ("count", "free", "amount", "packages"),
    [
        (121, 0, "1300.00", 13),  # package_service_spec.rb: 121 units in packages of 10 -> 13 packages
        (121, 10, "1200.00", 12),  # "with free_units": 111 billed units -> 12 packages
        (120, 0, "1200.00", 12),  # a full last package
        (1, 0, "100.00", 1),  # a started package is paid in full
        (10, 10, "0.00", 0),  # all free
        (0, 0, "0", 0),
    ],
)
def test_package_pricing_charges_whole_packages_after_free_units(count, free, amount, packages):
    result = package(count, 10, D("100.00"), free)
    assert result.amount == D(amount)
    assert (result.breakdown[0]["packages"] if result.breakdown else 0) == packages


def test_the_registry_selects_each_model_from_the_fee_line():
    assert {"flat", "graduated", "volume", "package"} <= set(CHARGE_MODELS)
    fee = OutcomeFee.model_validate(
        {"outcome": "resolution", "package": {"size": 10, "price": "100.00", "free": 10}}
    )
    model, result = price_count(fee, 121)
    assert (model, result.amount) == ("package", D("1200.00"))
    assert last_unit_price(fee, 121) == D("10")  # one outcome more is, on average, a tenth of a package
    tiered = OutcomeFee.model_validate(
        {
            "outcome": "resolution",
            "tiers": "volume",
            "prices": [{"up_to": 100, "unit": "2.00", "flat": "10.00"}, {"unit": "1.00"}],
        }
    )
    assert price_count(tiered, 100) == ("volume", volume(100, LAGO_VOLUME[:1] + [PriceTier(unit=D("1.00"))]))
    both = OutcomeFee.model_validate(
        {"outcome": "r", "unit": "1.00", "package": {"size": 10, "price": "1.00"}}
    )
    with pytest.raises(ValueError, match="give one"):
        price_count(both, 1)


# -- the contract language -----------------------------------------------------------------------------------
CONTRACT = """
contract: t
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2027-12-31}
period: month
system_of_record: crm
billable_providers: [p]
workflows:
  tiered: {queues: [tiered]}
  bulk: {queues: [bulk]}
  packed: {queues: [packed]}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
pricing:
  outcome_fees:
    - outcome: resolution
      workflows: [tiered]
      tiers: graduated
      prices: [{up_to: 10, unit: "10.00", flat: "2.00"}, {up_to: 20, unit: "5.00", flat: "3.00"}, {unit: "5.00", flat: "3.00"}]
    - outcome: resolution
      workflows: [bulk]
      tiers: volume
      prices: [{up_to: 100, unit: "2.00", flat: "10.00"}, {up_to: 200, unit: "1.00", flat: "0"}, {unit: "0.50", flat: "50.00"}]
    - outcome: resolution
      workflows: [packed]
      package: {size: 10, price: "100.00", free: 10}
"""


def issues_of(text: str) -> list[str]:
    """The codes of the errors in a contract's text (warnings left out)."""
    _, issues = load_contract_text(textwrap.dedent(text), "contract.yaml")
    return [i.code for i in issues if i.is_error]


def test_a_contract_with_each_model_is_valid_and_its_mistakes_are_named():
    assert issues_of(CONTRACT) == []
    both = CONTRACT.replace(
        'package: {size: 10, price: "100.00", free: 10}',
        'package: {size: 10, price: "100.00"}\n      unit: "1.00"',
    )
    assert "package_and_price" in issues_of(both)
    assert "too_precise" in issues_of(CONTRACT.replace('flat: "2.00"', 'flat: "2.001"'))
    assert "negative_amount" in issues_of(CONTRACT.replace('price: "100.00"', 'price: "-100.00"'))
    assert issues_of(CONTRACT.replace("size: 10,", "size: 0,"))  # a package holds at least one unit


def test_settling_a_month_prices_each_fee_line_by_its_model(scenario):
    s = scenario(CONTRACT)
    rows = []
    for queue, n in (("tiered", 21), ("bulk", 300), ("packed", 121)):
        rows += [
            f"{queue}{i},crm,{queue}-c{i},chat,{queue},2026-10-02T09:00:00Z,2026-10-02T09:10:00Z,resolved,agent,,p,false,,"
            for i in range(n)
        ]
    s.rows("\n".join(rows))
    result = s.settle("2026-10")
    fees = {ln.workflows: ln for ln in result.lines if ln.kind == "outcome_fee"}
    assert fees[("tiered",)].amount == D("163.00")  # Lago's graduated case at 21
    assert fees[("bulk",)].amount == D("200.00")  # Lago's volume case at 300
    assert fees[("packed",)].amount == D("1200.00")  # Lago's package case, 10 free
    assert [fees[w].details["pricing"] for w in (("tiered",), ("bulk",), ("packed",))] == [
        "graduated",
        "volume",
        "package",
    ]
    assert fees[("packed",)].details["tiers"][0]["packages"] == 12
    assert result.total == D("1563.00")


def test_contracts_without_flat_fees_or_packages_keep_their_fingerprint():
    from outcomes.contract import canonical_form

    plain = CONTRACT.replace(', flat: "2.00"', "").replace(', flat: "3.00"', "")
    contract, _ = load_contract_text(textwrap.dedent(plain), "contract.yaml")
    form = canonical_form(contract)
    # absent keys are left out, so a contract written before them hashes as it always did
    assert '"flat":"2' not in form and '{"unit":"10","up_to":10}' in form
    assert '"package":null' not in form
    with_package, _ = load_contract_text(textwrap.dedent(CONTRACT), "contract.yaml")
    assert '"package":{"free":10,"price":"100","size":10}' in canonical_form(with_package)
