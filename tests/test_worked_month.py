"""../shared/examples/worked-month, settled by hand row by row: every row's fate and every line must match.

The expectations are read from the example's README tables, so the test follows the hand settlement
rather than a copy of it.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from conftest import WORKED_MONTH
from outcomes.cli import app

runner = CliRunner()


def _table(readme: str, first_header: str) -> list[list[str]]:
    lines = readme.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    rows = []
    for ln in lines[start + 2 :]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip().strip("|").split("|")])
    return rows


def _fate(text: str):
    """'counted (refunds)' | 'excluded `repeat_contact` (w5)' | '—' | 'not a candidate (...)'."""
    if m := re.match(r"counted \((\w+)\)", text):
        return ("counted", None, None, m.group(1))
    if text == "counted":
        return ("counted", None, None, None)
    if m := re.match(r"excluded `(\w+)`(?: \((\w+)\))?", text):
        return ("excluded", m.group(1), m.group(2), None)
    return None  # not a candidate


@pytest.fixture(scope="module")
def settled(tmp_path_factory):
    ws = tmp_path_factory.mktemp("worked") / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", str(ws), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["accepted"] == 14
    r = runner.invoke(app, ["settle", "worked-example", "--period", "2026-10", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    return ws, json.loads(r.output)


def test_every_row_has_the_fate_the_hand_settlement_gives(settled):
    import duckdb

    ws, invoice = settled
    readme = (WORKED_MONTH / "README.md").read_text()
    expected = {}
    for row, res, cont, *_ in _table(readme, "row"):
        expected[("resolution", row)] = _fate(res)
        expected[("containment", row)] = _fate(cont)
    table = invoice["lines"][1]["details"]["evidence_table"]
    con = duckdb.connect(str(ws / "facts.duckdb"), read_only=True)
    got = {
        (o, i): (s, r, rep, wf)
        for o, i, s, r, rep, wf in con.execute(
            f'SELECT outcome, interaction_id, status, reason, repeat_id, workflow FROM "{table}"'
        ).fetchall()
    }
    con.close()
    for key, fate in expected.items():
        if fate is None:
            assert key not in got, f"{key} should not be a candidate"
            continue
        status, reason, repeat, workflow = fate
        assert got[key][0] == status, key
        assert got[key][1] == reason, key
        assert got[key][2] == repeat, key
        if workflow:
            assert got[key][3] == workflow, key


def test_every_line_and_the_total_match_the_hand_invoice(settled):
    _, invoice = settled
    readme = (WORKED_MONTH / "README.md").read_text()
    rows = _table(readme, "line")
    amounts = [r[3].strip("*") for r in rows]
    assert [ln["amount"] for ln in invoice["lines"]] == amounts[:-1]
    assert invoice["total"] == amounts[-1]
    assert [ln["quantity"] for ln in invoice["lines"][:4]] == [r[1] for r in rows[:4]]
    assert [ln["unit_price"] for ln in invoice["lines"][:4]] == [r[2] for r in rows[:4]]
    assert [ln["kind"] for ln in invoice["lines"]] == [
        "base_fee", "outcome_fee", "outcome_fee", "outcome_fee", "maximum",
    ]  # fmt: skip
    assert invoice["currency"] == "GBP" and invoice["period"] == "2026-10" and invoice["version"] == 1
    assert invoice["fingerprint"].startswith("sha256:")


def test_settling_again_is_refused_naming_the_settlement(settled):
    ws, invoice = settled
    r = runner.invoke(app, ["settle", "worked-example", "--period", "2026-10", "-w", str(ws)])
    assert r.exit_code == 1
    assert f"settlement {invoice['settlement']}" in r.output and "same fingerprint" in r.output


def test_explain_traces_each_outcome_line_to_ids_and_sql(settled):
    ws, invoice = settled
    r = runner.invoke(app, ["explain", "worked-example/2026-10", "2", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    (part,) = json.loads(r.output)
    assert part["clause"]["outcomes"]["resolution"]["min_csat"] == 3
    ids = {s["interaction_id"] for s in part["samples"] if s["status"] == "counted"}
    assert ids == {"w1", "w2", "w10", "w13"}
    assert {"w4": "w5"} == {s["interaction_id"]: s["repeat_id"] for s in part["samples"] if s["repeat_id"]}
    assert "LEAD" in part["sql"] and "zendesk" in part["sql"]
    r = runner.invoke(app, ["explain", str(invoice["settlement"]), "-w", str(ws)])
    assert r.exit_code == 0 and "maximum" in r.output


def test_the_explained_sql_reruns_to_the_same_counts(settled):
    """The auditor's path: take the SQL from explain, run it on the facts, count the same."""
    import duckdb

    ws, _ = settled
    r = runner.invoke(app, ["explain", "worked-example/2026-10", "4", "-w", str(ws), "--json"])
    (part,) = json.loads(r.output)
    con = duckdb.connect(str(ws / "facts.duckdb"), read_only=True)
    rows = con.execute(f"SELECT interaction_id, status FROM ({part['sql']}) ORDER BY 1").fetchall()
    con.close()
    assert rows == [("w7", "counted"), ("w8", "excluded")]


def test_csv_and_show_print_the_recorded_invoice(settled):
    ws, invoice = settled
    r = runner.invoke(app, ["show", str(invoice["settlement"]), "-w", str(ws), "--csv"])
    assert r.exit_code == 0
    last = r.output.strip().splitlines()[-1].split(",")
    assert last[-2] == "2030.00"
    r = runner.invoke(app, ["show", "worked-example/2026-10", "-w", str(ws), "--json"])
    shown = json.loads(r.output)
    assert shown["lines"] == invoice["lines"] and shown["total"] == invoice["total"]
