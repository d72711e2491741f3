"""`outcomes compare`: the same period priced under several contracts gives exactly what each settles at, and
records nothing."""

from __future__ import annotations

import json
from decimal import Decimal as D

from typer.testing import CliRunner

from outcomes.cli import app
from outcomes.contract import load_contract_text
from outcomes.settlement.settle import settle
from outcomes.simulator.compare import compare
from outcomes.simulator.scenario import Costs
from test_pricing_models import HEADER, ROWS, _contract

runner = CliRunner()

FTE = '  seats: {agents: 2, rate: "3000.00"}'
HYBRID = '  base_fee: "1000.00"\n  outcome_fees: [{outcome: resolution, unit: "6.00"}]'
PER_CONTACT = '  volume_fees: [{basis: contact, unit: "4.10"}]'


def _file(tmp_path, name, pricing):
    text = _contract(pricing).replace("contract: models", f"contract: {name}")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    contract, issues = load_contract_text(text, str(path))
    assert contract is not None, issues
    return str(path), contract


def test_compare_gives_each_contract_the_total_its_settlement_gives_and_records_nothing(scenario, tmp_path):
    s = scenario(_contract(HYBRID).replace("contract: models", "contract: hybrid"))
    s.rows(ROWS, header=HEADER)
    ledger, facts = s.ws.ledger(), s.ws.facts()
    files = [
        _file(tmp_path, "fte", FTE),
        _file(tmp_path, "hybrid", HYBRID),
        _file(tmp_path, "contact", PER_CONTACT),
    ]
    tables_before = set(facts.con.execute("SELECT table_name FROM information_schema.tables").fetchall())

    table = compare(ledger, facts, files, "2026-06")

    assert ledger.settlements("hybrid") == []  # compare recorded nothing
    assert (
        set(facts.con.execute("SELECT table_name FROM information_schema.tables").fetchall()) == tables_before
    )
    settled = settle(ledger, facts, "hybrid", "2026-06")
    by_name = {r["contract"]: r for r in table["rows"]}
    assert D(by_name["hybrid"]["invoice"]) == settled.total == D("1012.00")
    assert D(by_name["fte"]["invoice"]) == D("6000.00")
    assert D(by_name["contact"]["invoice"]) == D("12.30")  # 3 agent-handled contacts
    # two verified resolutions (a1, a2) under every contract's (shared) definition
    assert [r["verified_resolutions"] for r in table["rows"]] == [2, 2, 2]
    assert by_name["hybrid"]["cost_per_verified_resolution"] == "506.00"
    # run rate over a year, and the saving against the first contract
    assert by_name["hybrid"]["annual_saving_vs_first"] == str((D("6000") - D("1012")) * 12) + ".00"


def test_a_cost_model_gives_the_provider_margin(scenario, tmp_path):
    s = scenario(_contract(FTE))
    s.rows(ROWS, header=HEADER)
    costs = Costs.model_validate(
        {
            "provider": {"agent_hour": "36.00", "occupancy": "0.50", "fixed_per_period": "100.00"},
            "buyer": {"per_bot_contact": "1.00"},
        }
    )
    [row] = compare(s.ws.ledger(), s.ws.facts(), [_file(tmp_path, "fte", FTE)], "2026-06", costs=costs)[
        "rows"
    ]
    # agent handle time 61 + 60 s (a3 none; the abandoned a4 is not handled) = 121 s, paid at 50% occupancy:
    # 242 s = 0.0672... h x 36 = 2.42, plus 100 fixed
    assert row["provider_cost"] == "102.42"
    assert row["provider_margin"] == "5897.58"
    assert row["buyer_cost"] == "6001.00"  # one bot contact (b1) on the buyer's own platform


def test_the_command_prints_json_and_a_chart(scenario, tmp_path):
    s = scenario(_contract(HYBRID))
    s.rows(ROWS, header=HEADER)
    a, _ = _file(tmp_path, "fte", FTE)
    chart = tmp_path / "compare.svg"
    result = runner.invoke(
        app,
        [
            "compare",
            a,
            "models",
            "--period",
            "2026-06",
            "--json",
            "--chart",
            str(chart),
            "-w",
            str(s.ws.root),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["invoice"] for r in data["rows"]] == ["6000.00", "1012.00"]  # a file, then a registered id
    assert chart.read_text().startswith("<svg")


def test_every_example_contract_is_valid_and_prices_its_own_structure():
    from pathlib import Path

    from outcomes.contract import load_contract
    from outcomes.simulator.basis import structure_of

    folder = Path(__file__).resolve().parents[1] / "examples" / "simulator"
    structures = {}
    for path in sorted(folder.glob("*.yaml")):
        contract, issues = load_contract(path)
        assert contract is not None and not issues, (path, [str(i) for i in issues])
        structures[path.stem] = structure_of(contract)
    assert structures["fte"] == structures["fte-staffed"] == "seats (FTE)"
    assert structures["per-contact"] == "per contact" and structures["per-minute"] == "per handled minute"
    assert structures["per-resolution"] == "per verified resolution"
    assert structures["hybrid-3"] == "base fee + per verified resolution"
    assert structures["value-share"] == "base fee + value share"
