"""Settlement as a whole: fingerprints, refusal, term edges and the JSON/CSV shapes users script against."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import SCENARIO_NOW, WORKED_MONTH
from outcomes.cli import app
from outcomes.settlement.settle import SettlementRefused, compute
from outcomes.workspace import init_workspace

runner = CliRunner()


def _workspace(tmp_path, name, files):
    ws = init_workspace(tmp_path / name)
    path = WORKED_MONTH / "contract.yaml"
    from outcomes.contract import read_contract

    ws.ledger().add_contract(read_contract(path), path.read_text(), str(path))
    for f in files:
        ws.facts().ingest("interactions", f, now=SCENARIO_NOW)
    return ws


def test_same_facts_give_the_same_fingerprint_whatever_the_format_or_batches(tmp_path):
    csv = WORKED_MONTH / "interactions.csv"
    table = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    parquet = tmp_path / "all.parquet"
    pq.write_table(table, parquet)
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(table.slice(7), first)
    pq.write_table(table.slice(0, 7), second)
    results = []
    for name, files in [("csv", [csv]), ("parquet", [parquet]), ("split", [first, second])]:
        ws = _workspace(tmp_path, name, files)
        results.append(compute(ws.ledger(), ws.facts(), "worked-example", "2026-10"))
        ws.close()
    assert len({r.fingerprint for r in results}) == 1
    assert len({r.total for r in results}) == 1


def test_a_changed_fact_changes_the_fingerprint(tmp_path):
    ws = _workspace(tmp_path, "ws", [WORKED_MONTH / "interactions.csv"])
    before = compute(ws.ledger(), ws.facts(), "worked-example", "2026-10")
    changed = tmp_path / "changed.csv"
    lines = (WORKED_MONTH / "interactions.csv").read_text().splitlines()
    changed.write_text("\n".join([lines[0], lines[3].replace(",2,,,,", ",4,,,,")]) + "\n")  # w3's CSAT 2 -> 4
    summary = ws.facts().ingest("interactions", changed, now=SCENARIO_NOW)
    assert summary.updated == 1
    after = compute(ws.ledger(), ws.facts(), "worked-example", "2026-10")
    assert after.fingerprint != before.fingerprint
    assert after.lines[1].quantity == before.lines[1].quantity + 1  # w3 now counts
    again = compute(ws.ledger(), ws.facts(), "worked-example", "2026-10", as_of_batch=1)
    assert again.fingerprint == before.fingerprint  # facts as of the first batch are still readable
    ws.close()


def test_periods_outside_the_term_and_unknown_contracts_are_refused(tmp_path):
    from outcomes.ledger import LedgerError

    ws = _workspace(tmp_path, "ws", [WORKED_MONTH / "interactions.csv"])
    # the version of a period before the term is the first one (CONTRACT.md): the period is outside its term
    with pytest.raises(SettlementRefused, match="2025-12 lies outside the term of worked-example"):
        compute(ws.ledger(), ws.facts(), "worked-example", "2025-12")
    with pytest.raises(SettlementRefused, match="2028-01 has not begun"):
        compute(ws.ledger(), ws.facts(), "worked-example", "2028-01", provisional=True)
    later = datetime(2028, 2, 1, tzinfo=UTC)
    with pytest.raises(SettlementRefused, match="after the term .* nothing to bill"):
        compute(ws.ledger(), ws.facts(), "worked-example", "2028-01", now=later)
    with pytest.raises(LedgerError, match="no contract 'nope'"):
        compute(ws.ledger(), ws.facts(), "nope", "2026-10")
    with pytest.raises(ValueError, match="YYYY-MM"):
        compute(ws.ledger(), ws.facts(), "worked-example", "October")
    ws.close()


def test_settle_json_has_the_documented_shape(tmp_path):
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", str(ws)])
    runner.invoke(app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws)])
    r = runner.invoke(app, ["settle", "worked-example", "-p", "2026-10", "-w", str(ws), "--json"])
    inv = json.loads(r.output)
    assert {"contract", "version", "period", "fingerprint", "currency", "lines", "total"} <= set(inv)
    for line in inv["lines"]:
        assert {"kind", "outcome", "workflows", "quantity", "unit_price", "amount", "details"} <= set(line)
        assert isinstance(line["amount"], str)
    assert inv["lines"][-1]["amount"] == "-3.25"  # credits and caps are negative
    assert inv["lines"][1]["outcome"] == "resolution" and inv["lines"][1]["workflows"] == ["refunds"]
    r = runner.invoke(app, ["settlements", "-w", str(ws), "--json"])
    assert json.loads(r.output)[0]["total"] == "2030.00"
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws)])
    assert r.exit_code == 0 and "intact" in r.output


def test_the_cli_refuses_an_early_settlement_with_the_date_and_allows_provisional(tmp_path):
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", str(ws)])
    early = tmp_path / "early.csv"
    lines = (WORKED_MONTH / "interactions.csv").read_text().splitlines()
    early.write_text("\n".join(lines[:-1]) + "\n")  # without w14, nothing is known after 31 October
    runner.invoke(app, ["ingest", "interactions", str(early), "-w", str(ws)])
    r = runner.invoke(app, ["settle", "worked-example", "-p", "2026-10", "-w", str(ws)])
    assert r.exit_code == 1 and "2026-11-06T00:00+00:00" in r.output and "--provisional" in r.output
    r = runner.invoke(
        app, ["settle", "worked-example", "-p", "2026-10", "-w", str(ws), "--provisional", "--json"]
    )
    assert r.exit_code == 0
    inv = json.loads(r.output)
    assert inv["status"] == "provisional"
    assert {n["code"] for n in inv["notices"]} == {"pending_outcomes", "provisional"}


def test_commands_outside_a_workspace_say_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTCOMES_WORKSPACE", raising=False)
    r = runner.invoke(app, ["settlements"])
    assert r.exit_code == 1 and "outcomes init" in r.output


def test_rerun_matches_and_fails_after_facts_change_behind_the_ledgers_back(tmp_path):
    import duckdb

    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", str(ws)])
    runner.invoke(app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws)])
    runner.invoke(app, ["settle", "worked-example", "-p", "2026-10", "-w", str(ws)])
    r = runner.invoke(app, ["rerun", "1", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["ok"] is True
    # a later, proper correction does not disturb the rerun (it reads the facts as of the settled batch)
    fix = tmp_path / "fix.csv"
    lines = (WORKED_MONTH / "interactions.csv").read_text().splitlines()
    fix.write_text("\n".join([lines[0], lines[3].replace(",2,,,,", ",4,,,,")]) + "\n")
    r = runner.invoke(app, ["ingest", "interactions", str(fix), "-w", str(ws), "--allow-changes-to-settled"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["rerun", "1", "-w", str(ws)]).exit_code == 0
    # an edit made directly in the database, keeping the counts, is still caught
    con = duckdb.connect(str(ws / "facts.duckdb"))
    con.execute("UPDATE interactions SET handle_seconds = 1 WHERE interaction_id = 'w1'")
    con.close()
    r = runner.invoke(app, ["rerun", "1", "-w", str(ws), "--json"])
    report = json.loads(r.output)
    assert r.exit_code == 1 and report["tampered_rows"]["interactions"] == 1
    # and one that changes a count breaks the line and the fingerprint's facts
    con = duckdb.connect(str(ws / "facts.duckdb"))
    con.execute("UPDATE interactions SET reopened = true WHERE interaction_id = 'w2'")
    con.close()
    report = json.loads(runner.invoke(app, ["rerun", "1", "-w", str(ws), "--json"]).output)
    assert [ln["match"] for ln in report["lines"]][:2] == [True, False]


def test_settle_profile_times_every_stage_on_stderr_and_leaves_the_invoice_alone(tmp_path):
    ws = str(tmp_path / "ws")
    runner.invoke(app, ["init", ws])
    runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", ws])
    runner.invoke(app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", ws])
    r = runner.invoke(app, ["settle", "worked-example", "-p", "2026-10", "-w", ws, "--json", "--profile"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["total"] == "2030.00"  # stdout stays the invoice alone
    stages = ("resolve", "clock", "measure", "value inputs", "price", "adjustments", "finish", "record")
    at = [r.stderr.find(f" {s} ") for s in stages]
    assert -1 not in at and at == sorted(at), r.stderr  # every stage, in the order they run
