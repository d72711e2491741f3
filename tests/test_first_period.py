"""A term that starts mid-period settles its first, partial period (CONTRACT.md: the version whose
effective_from is the latest at or before the later of the period's start and the term's start settles it):
base fee and minimum prorated, tiers, the glide-path phase of the term's start, and service levels measured
over the part of the period inside the term only."""

from __future__ import annotations

from decimal import Decimal

from typer.testing import CliRunner

from outcomes.cli import app

CONTRACT = """
contract: midmonth
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-08-16, end: 2027-08-15}
period: month
system_of_record: crm
workflows:
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    handled_by: [agent]
    repeat_contact: {within: 5d, same: [customer], channels: any}
pricing:
  base_fee: "3100.00"
  outcome_fees:
    - {outcome: resolution, tiers: graduated, prices: [{up_to: 2, unit: "10.00"}, {unit: "5.00"}]}
  minimum: "3300.00"
service_levels:
  at_risk: "0.10"
  measures:
    - {metric: abandonment_rate, target: "<= 0.30", weight: "1"}
glide_path:
  - {from: 2026-08-16, base_fee: "1", outcome_fees: "0.5"}
  - {from: 2026-10-01, outcome_fees: "1"}
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by"

# Before the term (5 August): a resolution and an abandoned call that must count nowhere. Inside it: three
# resolutions and one abandoned call, so abandonment is 1/4 = 0.25 (met); with the days before the term it
# would be 2/6 = 0.33 (missed).
ROWS = """
r0,crm,a,voice,general,2026-08-05T09:00:00Z,2026-08-05T09:10:00Z,resolved,agent
x0,crm,b,voice,general,2026-08-05T10:00:00Z,2026-08-05T10:01:00Z,abandoned,
r1,crm,c,voice,general,2026-08-17T09:00:00Z,2026-08-17T09:10:00Z,resolved,agent
r2,crm,d,voice,general,2026-08-20T09:00:00Z,2026-08-20T09:10:00Z,resolved,agent
r3,crm,e,voice,general,2026-08-25T09:00:00Z,2026-08-25T09:10:00Z,resolved,agent
x1,crm,f,voice,general,2026-08-26T10:00:00Z,2026-08-26T10:01:00Z,abandoned,
"""


def test_the_first_partial_period_settles_with_the_first_version(scenario):
    s = scenario(CONTRACT)
    s.rows(ROWS, header=HEADER)
    r = s.settle("2026-08")
    lines = {ln.kind: ln for ln in r.lines}
    assert r.contract.version == 1 and r.status == "final"
    # 16 of August's 31 days are inside the term
    assert lines["base_fee"].amount == Decimal("1600.00")  # 3100.00 x 16/31
    # r1, r2, r3 (r0 closed before the term): graduated 2 x 10.00 + 1 x 5.00, at the first phase's 0.5
    fee = lines["outcome_fee"]
    assert fee.quantity == 3 and fee.amount == Decimal("12.50")
    assert fee.details["tiers"][0]["units"] == 2 and fee.details["tiers"][1]["units"] == 1
    # the minimum prorated the same way: 3300.00 x 16/31 = 1703.2258..., topping up 1612.50
    assert lines["minimum"].amount == Decimal("90.73")
    assert r.total == Decimal("1703.23")
    # abandonment over 16-31 August only: 1 of 4 offered, met, so no credit
    (measure,) = r.measure_results
    assert measure["met"] is True and Decimal(measure["actual"]) == Decimal("0.25")
    assert "service_credit" not in lines


def test_the_cli_settles_the_first_period_and_status_lists_it(tmp_path):
    runner = CliRunner()
    ws = str(tmp_path / "ws")
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT.strip() + "\n")
    data = tmp_path / "rows.csv"
    later = "z9,crm,z,chat,general,2026-10-01T00:00:00Z,,open,agent\n"  # moves the clock past the windows
    data.write_text(HEADER + "\n" + ROWS.strip() + "\n" + later)
    assert runner.invoke(app, ["init", ws]).exit_code == 0
    assert runner.invoke(app, ["contract", "add", str(contract), "-w", ws]).exit_code == 0
    assert runner.invoke(app, ["ingest", "interactions", str(data), "-w", ws]).exit_code == 0
    import json

    st = json.loads(runner.invoke(app, ["status", "-w", ws, "--json"]).output)[0]
    assert [u["period"] for u in st["unsettled"]] == ["2026-08", "2026-09", "2026-10"]
    assert st["unsettled"][0]["settleable"] is True
    r = runner.invoke(app, ["settle", "midmonth", "--period", "2026-08", "-w", ws, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["total"] == "1703.23"
    st = json.loads(runner.invoke(app, ["status", "-w", ws, "--json"]).output)[0]
    assert [u["period"] for u in st["unsettled"]] == ["2026-09", "2026-10"]
    # the month before the term is still refused, now for what it is
    r = runner.invoke(app, ["settle", "midmonth", "--period", "2026-07", "-w", ws])
    assert r.exit_code == 1 and "2026-07 lies outside the term of midmonth" in r.output
