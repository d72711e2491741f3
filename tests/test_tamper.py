"""Trust under attack: someone with a shell edits the workspace's files by hand. Each scenario is an edit the
issue found undetected; each must now fail `audit verify` (and `rerun` when it touches a settlement), naming
what changed."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pytest
from typer.testing import CliRunner

from conftest import WORKED_MONTH
from outcomes.cli import app

runner = CliRunner()

EVENTS = "customer_id,event,at,amount,monthly_revenue\na,renewed,2026-10-20T10:00:00Z,120.00,10.00\nz,churned,2026-10-22T10:00:00Z,,\n"


def ok(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture
def settled(tmp_path):
    """The worked month, ingested (interactions and two customer events) and settled; the invoice's head."""
    ws = str(tmp_path / "ws")
    ok("init", ws)
    ok("contract", "add", str(WORKED_MONTH / "contract.yaml"), "-w", ws)
    ok("ingest", "interactions", str(WORKED_MONTH / "interactions.csv"), "-w", ws)
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    ok("ingest", "events", str(events), "-w", ws)
    inv = json.loads(ok("settle", "worked-example", "-p", "2026-10", "-w", ws, "--json"))
    assert ok("audit", "verify", "-w", ws).startswith("audit chain intact")
    assert "rerun matches" in ok("rerun", "1", "-w", ws)
    return tmp_path / "ws", inv


def sql(path, *statements: str) -> None:
    con = sqlite3.connect(path)
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def facts_sql(ws, *statements: str) -> None:
    con = duckdb.connect(str(ws / "facts.duckdb"))
    for s in statements:
        con.execute(s)
    con.close()


def test_the_invoice_prints_the_head_after_its_settlement(settled):
    ws, inv = settled
    seq, digest = inv["audit_head"].split()
    assert int(seq) == 4 and digest.startswith("sha256:")  # contract, 2 ingests, the settlement
    shown = json.loads(ok("show", "1", "-w", str(ws), "--json"))
    assert shown["audit_head"] == inv["audit_head"]
    assert "audit head after this settlement: " + inv["audit_head"] in ok("show", "1", "-w", str(ws))
    assert ok("audit", "head", "-w", str(ws)).strip() == inv["audit_head"]


def test_a_total_edited_in_the_ledger_file_fails_verify_and_rerun(settled):
    ws, _ = settled
    sql(ws / "ledger.sqlite", "UPDATE settlements SET total = '999999.99' WHERE id = 1")
    assert "999999.99" in ok("show", "1", "-w", str(ws))  # the file says so; nothing else agrees
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws)])
    assert r.exit_code == 1
    assert "settlements row 1: its content differs from what was recorded" in r.output
    r = runner.invoke(app, ["rerun", "1", "-w", str(ws)])
    assert r.exit_code == 1 and "matches" not in r.output
    assert "total DIFFERS: recorded 999999.99, recomputed 2030.00" in r.output
    assert "ledger: settlements row 1" in r.output


def test_a_line_edited_or_a_row_inserted_by_hand_is_named(settled):
    ws, _ = settled
    sql(ws / "ledger.sqlite", "UPDATE settlement_lines SET amount = '0.01' WHERE settlement_id = 1 AND seq = 2")
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--ledger-only"])
    assert r.exit_code == 1 and "settlement_lines row " in r.output and "edited outside outcomes" in r.output
    sql(
        ws / "ledger.sqlite",
        "INSERT INTO organisations (id, name, created_at) VALUES (9, 'Mallory', 'now')",
    )
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--json", "--ledger-only"])
    report = json.loads(r.stdout)
    assert any(p.startswith("organisations row 9: is not covered") for p in report["ledger_rows"])


def test_removing_the_last_entries_with_a_settlement_and_a_dispute_fails_against_the_kept_head(settled):
    ws, inv = settled
    ok("dispute", "open", "worked-example/2026-10", "2", "--party", "buyer", "--reason", "r", "--amount", "4.00",
       "-w", str(ws))
    kept = ok("audit", "head", "-w", str(ws)).strip()  # the buyer keeps the head after its dispute
    invoice_head = inv["audit_head"]
    settlement_entry = int(invoice_head.split()[0])
    sql(
        ws / "ledger.sqlite",
        "DELETE FROM dispute_events",
        "DELETE FROM disputes",
        "DELETE FROM settlement_outcomes",
        "DELETE FROM settlement_lines",
        "DELETE FROM settlements",
        f"DELETE FROM audit_log WHERE seq >= {settlement_entry}",
    )
    # what is left is a consistent, shorter chain: only a head kept outside shows what is gone
    for head in (kept, invoice_head):
        r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--against", head, "--ledger-only"])
        assert r.exit_code == 1, r.output
        assert "the chain was truncated" in r.output


def test_a_rewritten_chain_fails_against_the_kept_head(settled):
    """Rewrite the settlement's entry and re-hash every entry after it: self-consistent, but not the kept one."""
    from outcomes.ledger import audit as chain

    ws, inv = settled
    con = sqlite3.connect(ws / "ledger.sqlite")
    rows = con.execute("SELECT seq, at, actor, action, subject, payload FROM audit_log ORDER BY seq").fetchall()
    prev = chain.GENESIS
    for seq, at, who, action, subject, payload in rows:
        payload = payload.replace('"2030.00"', '"2999.00"')
        h = chain.entry_hash(seq, at, who, action, subject, payload, prev)
        con.execute("UPDATE audit_log SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?", (payload, prev, h, seq))
        prev = h
    con.commit()
    con.close()
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--against", inv["audit_head"], "--ledger-only"])
    assert r.exit_code == 1 and "the chain was rewritten" in r.output


@pytest.mark.parametrize(
    "edit",
    [
        # an excluded interaction (w12: not the system of record) and the running sums that would hide it
        ["DELETE FROM interactions WHERE interaction_id = 'w12'", "DELETE FROM digest_sums"],
        ["DELETE FROM interactions WHERE interaction_id = 'w11'"],  # outside the period, read by it
        ["DELETE FROM events WHERE customer_id = 'z'"],
        # an edit that keeps the row's stored hash consistent with its new content
        ["UPDATE interactions SET queue = 'other', _hash = md5('x') WHERE interaction_id = 'w12'"],
        # an edit that changes a line: the rerun used to print "fingerprint matches" above the differing line
        ["UPDATE interactions SET reopened = true WHERE interaction_id = 'w2'"],
    ],
    ids=["excluded-interaction", "outside-period", "event", "rehashed-edit", "line-changing-edit"],
)
def test_facts_of_a_settled_period_deleted_or_edited_fail_verify_and_rerun(settled, edit):
    ws, _ = settled
    facts_sql(ws, *edit)
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws)])
    assert r.exit_code == 1, r.output
    assert "facts: " in r.output
    r = runner.invoke(app, ["rerun", "1", "-w", str(ws)])
    assert r.exit_code == 1, r.output
    assert "matches" not in r.output
    report = json.loads(runner.invoke(app, ["rerun", "1", "-w", str(ws), "--json"]).stdout)
    assert report["ok"] is False
    if edit[0].startswith("DELETE"):  # a deleted row changes what was read, hence the fingerprint
        assert report["fingerprint_matches"] is False
        assert report["input_digest"] != report["recorded_input_digest"]


def test_signed_heads_verify_with_the_signers_key_only(settled, tmp_path):
    ws, _ = settled
    ok("audit", "keygen", str(tmp_path / "buyer"))
    ok("audit", "keygen", str(tmp_path / "mallory"))
    assert (tmp_path / "buyer").stat().st_mode & 0o077 == 0  # the private key is its owner's only
    line = ok("audit", "sign", "--key", str(tmp_path / "buyer"), "--party", "buyer", "-w", str(ws)).strip()
    seq, digest, key, signature = line.split()
    assert key.startswith("ed25519:") and len(signature) == 128
    ok("audit", "verify", "-w", str(ws), "--against", line, "--key", str(tmp_path / "buyer.pub"))
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--against", line, "--key", str(tmp_path / "mallory.pub")])
    assert r.exit_code == 1 and "not the key given" in r.output
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--against", f"{seq} {digest} {key} {flipped}"])
    assert r.exit_code == 1 and "signature does not verify" in r.output
    # a head signed by mallory's key claiming to be the buyer's fails too
    forged = ok("audit", "sign", "--key", str(tmp_path / "mallory"), "-w", str(ws)).strip()
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--against", forged, "--key", str(tmp_path / "buyer.pub")])
    assert r.exit_code == 1 and "not the key given" in r.output


def test_a_recorded_signature_that_does_not_verify_fails_every_verify(settled):
    from outcomes.ledger import audit
    from outcomes.ledger.store import lock_for_write
    from outcomes.workspace import find_workspace

    ws, _ = settled
    w = find_workspace(ws)
    lg = w.ledger()
    head = lg.head()
    with lg.session() as s, s.begin():
        lock_for_write(s)
        audit.append(s, "audit.sign", "head", {"seq": head.seq, "hash": head.hash, "key": "ab" * 32,
                                               "signature": "cd" * 64, "party": "buyer"})
    w.close()
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--ledger-only"])
    assert r.exit_code == 1 and "does not verify (forged or edited)" in r.output


def test_a_bad_head_line_is_a_clean_error(settled):
    ws, _ = settled
    r = runner.invoke(app, ["audit", "verify", "-w", str(ws), "--against", "not a head"])
    assert r.exit_code == 1 and "is not an audit head" in r.output
