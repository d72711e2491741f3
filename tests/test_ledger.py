"""The ledger on SQLite and on PostgreSQL: contract versions, immutable settlements, the audit chain."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from conftest import WORKED_MONTH, postgres_url
from outcomes.contract import load_contract_text, read_contract
from outcomes.ledger import DuplicateSettlement, Ledger, LedgerError, Settlement, SettlementLine


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        lg = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        yield lg
        lg.close()
        return
    url = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    lg = Ledger(f"{url}{sep}options=-csearch_path%3D{schema}")
    yield lg
    lg.close()
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _contract(version: int = 1, effective_from: str | None = None, unit: str = "4.00"):
    body = (WORKED_MONTH / "contract.yaml").read_text()
    body = body.replace("version: 1", f"version: {version}").replace('unit: "4.00"', f'unit: "{unit}"')
    if effective_from:
        body = body.replace("period: month", f"period: month\neffective_from: {effective_from}")
    c, issues = load_contract_text(body, f"v{version}.yaml")
    assert c is not None, issues
    return c, body


def _settlement(contract_id="worked-example", period="2026-10", fp="sha256:x"):
    return Settlement(
        uuid=uuid.uuid4().hex, contract=contract_id, version=1, contract_hash="h", period=period,
        period_start="2026-10-01", period_end="2026-11-01", status="final", fingerprint=fp, input_digest="d",
        facts_batch=1, outcomes_version="0", currency="GBP", total="1.00", notices="[]", created_at="now",
    )


def _line():
    return SettlementLine(seq=1, kind="base_fee", label="base fee", outcome=None, workflows="[]", quantity="1",
                          unit_price="1.00", amount="1.00", unrounded="1.00", details="{}")


def test_amendments_are_new_versions_and_old_ones_stay_readable(ledger):
    from datetime import date

    v1, text1 = _contract()
    assert ledger.add_contract(v1, text1, "v1.yaml").created
    assert not ledger.add_contract(v1, text1, "v1.yaml").created  # same content: nothing new
    changed, text_changed = _contract(unit="4.50")
    with pytest.raises(LedgerError, match="bump `version`"):
        ledger.add_contract(changed, text_changed, "v1b.yaml")
    v2_missing, t2m = _contract(version=2, unit="4.50")
    with pytest.raises(LedgerError, match="effective_from"):
        ledger.add_contract(v2_missing, t2m, "v2.yaml")
    v2, text2 = _contract(version=2, effective_from="2026-11-01", unit="4.50")
    ledger.add_contract(v2, text2, "v2.yaml")
    assert [r.version for r in ledger.contract_versions("worked-example")] == [1, 2]
    october, _ = ledger.contract_for("worked-example", date(2026, 10, 1))
    november, _ = ledger.contract_for("worked-example", date(2026, 11, 1))
    assert (october.version, november.version) == (1, 2)
    assert str(october.pricing.outcome_fees[1].unit) == "4.00"
    assert ledger.contract_version("worked-example", 1).source_text == text1


def test_one_settlement_per_contract_and_period(ledger):
    first = ledger.record_settlement(_settlement(), [_line()], [])
    with pytest.raises(DuplicateSettlement, match=f"settlement {first.id}"):
        ledger.record_settlement(_settlement(fp="sha256:other"), [_line()], [])
    assert [s.id for s in ledger.settlements()] == [first.id]
    assert ledger.settlement("worked-example/2026-10").id == first.id
    assert ledger.settlement(str(first.id)).lines[0].amount == "1.00"


def test_every_change_is_in_an_intact_audit_chain(ledger):
    c, body = _contract()
    ledger.add_contract(c, body, "v1.yaml")
    ledger.record_settlement(_settlement(), [_line()], [])
    ledger.record_ingest({"kind": "interactions", "file": "x.csv", "batch": 1, "rows": 3})
    report = ledger.verify_audit()
    assert report.ok and report.entries == 3


@pytest.mark.parametrize("tamper", ["edit", "remove", "reorder"])
def test_audit_tampering_in_the_database_is_detected(ledger, tamper):
    c, body = _contract()
    ledger.add_contract(c, body, "v1.yaml")
    for p in ("2026-10", "2026-11", "2026-12"):
        ledger.record_settlement(_settlement(period=p), [_line()], [])
    with ledger.engine.begin() as conn:
        if tamper == "edit":
            conn.execute(text("UPDATE audit_log SET payload = replace(payload, '1.00', '9.00') WHERE seq = 3"))
        elif tamper == "remove":
            conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        else:
            conn.execute(text("UPDATE audit_log SET seq = 99 WHERE seq = 2"))
            conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 3"))
            conn.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = 99"))
    report = ledger.verify_audit()
    assert not report.ok
    assert report.first_bad == {"edit": 3, "remove": 2, "reorder": 2}[tamper]


def test_a_contract_edited_behind_the_ledgers_back_is_refused(ledger):
    from datetime import date

    c, body = _contract()
    ledger.add_contract(c, body, "v1.yaml")
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE contract_versions SET source_text = replace(source_text, '2000.00', '2500.00')"))
    with pytest.raises(LedgerError, match="does not match its registered hash"):
        ledger.contract_for("worked-example", date(2026, 10, 1))


def test_cli_contract_add_refuses_an_invalid_file_with_its_line(tmp_path):
    from typer.testing import CliRunner

    from outcomes.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text((WORKED_MONTH / "contract.yaml").read_text().replace("currency: GBP", "curency: GBP"))
    r = CliRunner().invoke(app, ["init", str(tmp_path / "ws")])
    r = CliRunner().invoke(app, ["contract", "add", str(bad), "-w", str(tmp_path / "ws")])
    assert r.exit_code == 1 and "bad.yaml:4: curency" in r.output and "currency" in r.output
    assert read_contract(WORKED_MONTH / "contract.yaml").currency == "GBP"


def test_a_row_edited_behind_the_ledgers_back_is_named_by_verify(ledger):
    """Every row of money or state is covered by the audit chain: an UPDATE in the database is caught."""
    ledger.record_settlement(_settlement(), [_line()], [])
    assert ledger.verify_audit().ok
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE settlements SET total = '999999.99'"))
    report = ledger.verify_audit()
    assert not report.ok and report.first_bad == 1
    assert report.rows[0].startswith("settlements row 1: its content differs")
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE settlements SET total = '1.00'"))
        conn.execute(text("DELETE FROM settlement_lines"))
    assert ledger.verify_audit().rows == ("settlement_lines row 1: was deleted outside outcomes (audit entry 1 recorded it)",)


def test_the_chain_must_extend_a_kept_head(ledger):
    from outcomes.ledger.heads import parse

    ledger.record_settlement(_settlement(period="2026-10"), [_line()], [])
    kept = parse(ledger.head().line())
    ledger.record_settlement(_settlement(period="2026-11"), [_line()], [])
    assert ledger.verify_audit(kept).ok
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM settlement_lines WHERE settlement_id = 2"))
        conn.execute(text("DELETE FROM settlements WHERE id = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    assert ledger.verify_audit().ok  # a shorter chain is consistent on its own ...
    assert ledger.verify_audit(kept).ok  # ... and still extends a head kept before the removed entry,
    later = parse("2 sha256:" + "a" * 64)
    report = ledger.verify_audit(later)  # but not one kept after it
    assert not report.ok and "truncated" in report.problem
