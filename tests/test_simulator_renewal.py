"""`outcomes renewal`: the renewal pack's sections and figures, from the ledger and the facts, as JSON and PDF."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from outcomes.settlement.settle import settle
from outcomes.workspace import find_workspace
from simulator_data import EXAMPLES, generated_workspace, run

pytestmark = pytest.mark.slow  # two generated months, settled

SECTIONS = (
    "Summary",
    "Trends",
    "Outcomes by workflow",
    "Targets against actuals",
    "Disputes",
    "Integrity findings",
    "Pilots and uplift",
    "The same outcomes under other structures",
)


@pytest.fixture(scope="module")
def settled(tmp_path_factory):
    ws_path = generated_workspace(tmp_path_factory.mktemp("renewal"), contacts=2000, months=2)
    run("contract", "add", str(EXAMPLES / "ai-augmented.yaml"), "-w", str(ws_path))
    ws = find_workspace(ws_path)
    try:
        results = [settle(ws.ledger(), ws.facts(), "sim-ai-augmented", p) for p in ("2026-06", "2026-07")]
        ws.ledger().open_dispute(results[0].settlement_id, 1, party="buyer", reason="fixed fee billed twice?")
    finally:
        ws.close()
    return ws_path, results


def test_the_pack_holds_the_settled_figures_and_the_alternatives(settled, tmp_path):
    ws, results = settled
    pdf = tmp_path / "pack.pdf"
    out = run(
        "renewal",
        "sim-ai-augmented",
        "--from",
        "2026-06",
        "--to",
        "2026-07",
        "--alternative",
        str(EXAMPLES / "fte.yaml"),
        "--scenario",
        str(EXAMPLES / "scenarios" / "costs.yaml"),
        "--json",
        "--pdf",
        str(pdf),
        "--html",
        str(tmp_path / "pack.html"),
        "-w",
        str(ws),
    )
    pack = json.loads(out)
    assert [p["period"] for p in pack["periods"]] == ["2026-06", "2026-07"]
    assert D(pack["totals"]["billed"]) == sum(r.total for r in results)
    credits = sum(ln.amount for r in results for ln in r.lines if ln.kind == "service_credit")
    assert D(pack["totals"]["credits"]) == credits
    # the verified resolutions of each period: the settlement's counted resolutions
    for p, r in zip(pack["periods"], results, strict=True):
        counted = sum(n for m in r.measures if m.kind == "resolution" for n in m.counted().values())
        assert p["verified_resolutions"] == counted
    # the contract's targets (fcr_rate, csat_top2box) against actuals in both periods
    assert [(m["period"], m["metric"]) for m in pack["measures"]] == [
        ("2026-06", "fcr_rate"),
        ("2026-06", "csat_top2box"),
        ("2026-07", "fcr_rate"),
        ("2026-07", "csat_top2box"),
    ]
    [dispute] = pack["disputes"]
    assert dispute["period"] == "2026-06" and dispute["state"] == "open"
    assert pack["integrity"] is not None and pack["pilots"] == []
    by_name = {a["name"]: a for a in pack["alternatives"]}
    assert by_name["fte"]["invoice"] == "110000.00"  # 11 seats x 5,000, two months
    assert D(by_name["sim-ai-augmented"]["invoice"]) == sum(r.total for r in results)

    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    for section in SECTIONS:
        assert section in text, section
    assert "fixed fee billed twice?" in text and "110000.00" in text and pack["totals"]["billed"] in text


def test_a_window_without_settlements_is_refused(settled):
    ws, _ = settled
    from typer.testing import CliRunner

    from outcomes.cli import app

    result = CliRunner().invoke(
        app, ["renewal", "sim-ai-augmented", "--from", "2026-09", "--to", "2026-10", "-w", str(ws)]
    )
    assert result.exit_code == 1 and "no settlement from 2026-09 to 2026-10" in result.output
