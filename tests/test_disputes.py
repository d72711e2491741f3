"""Disputes on SQLite and PostgreSQL: the lifecycle, every illegal step, append-only rows, the audit chain,
and the hand-over to the next settlement (accepted -> adjusted); then the `outcomes dispute` commands."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

import test_ledger
from outcomes.ledger import Ledger, LedgerError, Settlement, SettlementLine

ledger = test_ledger.ledger  # the fixture: a fresh ledger on SQLite and on PostgreSQL (search_path schema)

TABLES = ("disputes", "dispute_events", "audit_log")


def _settle(lg: Ledger, period: str = "2026-10", contract: str = "acme", currency: str = "GBP") -> Settlement:
    row = Settlement(
        uuid=uuid.uuid4().hex, contract=contract, version=1, contract_hash="h", period=period,
        period_start=f"{period}-01", period_end=f"{period}-28", status="final", fingerprint="sha256:x",
        input_digest="d", facts_batch=1, outcomes_version="0", currency=currency, total="460.00", notices="[]",
        created_at="now",
    )  # fmt: skip
    lines = [
        SettlementLine(seq=seq, kind=kind, label=label, outcome=None, workflows="[]", quantity="1",
                       unit_price=amount, amount=amount, unrounded=amount, details="{}")
        for seq, kind, label, amount in [(1, "base_fee", "base fee", "400.00"),
                                         (2, "outcome_fee", "resolution", "60.00")]
    ]  # fmt: skip
    return lg.record_settlement(row, lines, [])


def _rows(lg: Ledger) -> dict[str, set[tuple]]:
    with lg.engine.connect() as c:
        return {t: {tuple(r) for r in c.execute(text(f"SELECT * FROM {t}"))} for t in TABLES}


def _audit_actions(lg: Ledger) -> list[str]:
    with lg.engine.connect() as c:
        return [r[0] for r in c.execute(text("SELECT action FROM audit_log ORDER BY seq"))]


# the lifecycle --------------------------------------------------------------------------------------------
def test_a_buyers_dispute_answered_accepted_and_adjusted_in_the_next_settlement(ledger):
    october = _settle(ledger)
    d = ledger.open_dispute(
        "acme/2026-10", 2, party="buyer", reason="three resolutions were repeat contacts",
        interaction_ids=["i-7", "i-9", "i-7", " i-12 "], amount="12.5",
    )  # fmt: skip
    assert (d.state, d.settlement_id, d.line_seq, d.line_label, d.line_amount) == (
        "open",
        october.id,
        2,
        "resolution",
        "60.00",
    )
    assert d.opened_by == "buyer" and d.against == "provider"
    assert d.interaction_ids == ("i-7", "i-9", "i-12") and d.amount_claimed == "12.50"
    assert d.claimed_adjustment == Decimal("-12.50")  # the buyer claims it back
    assert d.opened_at == d.events[0].at

    d = ledger.answer_dispute(d.id, party="provider", note="i-12 is not a repeat; the others are")
    assert d.state == "answered"
    assert ledger.accepted_unadjusted_disputes("acme") == []
    d = ledger.accept_dispute(d.id, note="agreed for i-7 and i-9")
    assert d.state == "accepted" and d.events[-1].party == "provider"

    waiting = ledger.accepted_unadjusted_disputes("acme")
    assert [(w.id, w.settlement_id, w.line_seq, w.amount_claimed, w.interaction_ids) for w in waiting] == [
        (d.id, october.id, 2, "12.50", ("i-7", "i-9", "i-12"))
    ]
    assert ledger.accepted_unadjusted_disputes("other-contract") == []

    november = _settle_with(ledger, "2026-11", adjusted=[d.id])
    d = ledger.dispute(d.id)
    assert d.state == "adjusted" and d.adjusted_in == november.id
    assert [(e.seq, e.action, e.party) for e in d.events] == [
        (1, "open", "buyer"), (2, "answer", "provider"), (3, "accept", "provider"), (4, "adjusted", None)
    ]  # fmt: skip
    assert d.events[-1].note == f"billed in settlement {november.id} (acme/2026-11)"
    assert ledger.accepted_unadjusted_disputes("acme") == []
    assert _audit_actions(ledger) == [
        "settlement.record", "dispute.open", "dispute.answer", "dispute.accept",
        "settlement.record", "dispute.adjusted",
    ]  # fmt: skip
    report = ledger.verify_audit()
    assert report.ok and report.entries == 6


def _settle_with(lg: Ledger, period: str, adjusted: list[int]) -> Settlement:
    row = Settlement(
        uuid=uuid.uuid4().hex, contract="acme", version=1, contract_hash="h", period=period,
        period_start=f"{period}-01", period_end=f"{period}-28", status="final", fingerprint="sha256:y",
        input_digest="d", facts_batch=2, outcomes_version="0", currency="GBP", total="-12.50", notices="[]",
        created_at="now",
    )  # fmt: skip
    line = SettlementLine(seq=1, kind="adjustment", label="dispute adjustment", outcome=None, workflows="[]",
                          quantity=None, unit_price=None, amount="-12.50", unrounded="-12.50", details="{}")  # fmt: skip
    return lg.record_settlement(row, [line], [], adjusted_disputes=adjusted)


def test_a_providers_dispute_rejected_straight_from_open(ledger):
    _settle(ledger)
    d = ledger.open_dispute(1, 1, party="provider", reason="the base fee was prorated twice", amount="40")
    assert d.against == "buyer" and d.claimed_adjustment == Decimal("40.00")
    d = ledger.reject_dispute(d.id, note="the term started on the 15th: prorated once")
    assert d.state == "rejected" and d.events[-1].party == "buyer"
    assert ledger.disputes(state="rejected")[0].id == d.id
    assert ledger.accepted_unadjusted_disputes("acme") == []
    assert _audit_actions(ledger)[-2:] == ["dispute.open", "dispute.reject"]


def test_accepted_straight_from_open_and_rejected_after_an_answer(ledger):
    _settle(ledger)
    a = ledger.open_dispute("acme/2026-10", 2, party="buyer", reason="double count")
    b = ledger.open_dispute("acme/2026-10", 2, party="buyer", reason="wrong tier")
    a = ledger.accept_dispute(a.id, party="provider")
    assert a.state == "accepted" and a.claimed_adjustment is None  # re-priced from the facts
    ledger.answer_dispute(b.id, party="provider", note="the tier is right: see the details")
    b = ledger.reject_dispute(b.id, note="tier 1 ends at 5000")
    assert [(x.id, x.state) for x in ledger.disputes("acme")] == [(a.id, "accepted"), (b.id, "rejected")]
    assert [x.id for x in ledger.disputes(settlement="acme/2026-10", state="accepted")] == [a.id]
    assert ledger.verify_audit().ok


def test_marking_adjusted_inside_the_callers_transaction(ledger):
    _settle(ledger)
    d = ledger.accept_dispute(ledger.open_dispute(1, 2, party="buyer", reason="x").id)
    later = _settle(ledger, "2026-11")
    with pytest.raises(RuntimeError), ledger.session() as s, s.begin():
        ledger.mark_disputes_adjusted(s, [d.id], later.id)
        raise RuntimeError("the caller's transaction fails after marking")
    assert ledger.dispute(d.id).state == "accepted"  # rolled back with the caller
    with ledger.session() as s, s.begin():
        ledger.mark_disputes_adjusted(s, [d.id], later.id)
    assert ledger.dispute(d.id).adjusted_in == later.id
    assert ledger.verify_audit().ok


def test_a_refused_adjustment_leaves_no_settlement_behind(ledger):
    _settle(ledger)
    d = ledger.open_dispute(1, 2, party="buyer", reason="not accepted yet")
    before = _rows(ledger)
    with pytest.raises(
        LedgerError, match=f"dispute {d.id} is open; only an accepted dispute can be adjusted"
    ):
        _settle_with(ledger, "2026-11", adjusted=[d.id])
    assert [s.period for s in ledger.settlements()] == ["2026-10"]
    assert _rows(ledger) == before


# nothing is ever updated or deleted ------------------------------------------------------------------------
def test_every_step_only_adds_rows(ledger):
    _settle(ledger)
    snapshots = [_rows(ledger)]
    a = ledger.open_dispute(1, 1, party="buyer", reason="r", interaction_ids="x,y", amount="1.00")
    snapshots.append(_rows(ledger))
    ledger.answer_dispute(a.id, party="provider", note="n")
    snapshots.append(_rows(ledger))
    ledger.accept_dispute(a.id)
    snapshots.append(_rows(ledger))
    _settle_with(ledger, "2026-11", adjusted=[a.id])
    snapshots.append(_rows(ledger))
    b = ledger.open_dispute(1, 2, party="provider", reason="r2")
    snapshots.append(_rows(ledger))
    ledger.reject_dispute(b.id, note="no")
    snapshots.append(_rows(ledger))
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        for table in TABLES:
            assert before[table] <= after[table], table  # every earlier row is still there, unchanged
        assert sum(len(after[t]) for t in TABLES) > sum(len(before[t]) for t in TABLES)
    last = snapshots[-1]
    assert (len(last["disputes"]), len(last["dispute_events"])) == (2, 6)


# illegal steps ---------------------------------------------------------------------------------------------
def _dispute_in(lg: Ledger, state: str) -> int:
    """A dispute opened by the buyer and brought to `state`."""
    if not lg.settlements():
        _settle(lg)
    d = lg.open_dispute(1, 2, party="buyer", reason="why")
    if state == "answered":
        lg.answer_dispute(d.id, party="provider", note="because")
    elif state == "accepted":
        lg.accept_dispute(d.id)
    elif state == "rejected":
        lg.reject_dispute(d.id, note="no")
    elif state == "adjusted":
        lg.accept_dispute(d.id)
        _settle_with(lg, "2026-11", adjusted=[d.id])
    assert lg.dispute(d.id).state == state
    return d.id


STEPS = {
    "answer": lambda lg, i: lg.answer_dispute(i, party="provider", note="n"),
    "accept": lambda lg, i: lg.accept_dispute(i),
    "reject": lambda lg, i: lg.reject_dispute(i, note="n"),
}


@pytest.mark.parametrize(
    "state,action,message",
    [
        (
            "answered",
            "answer",
            "dispute {id} is already answered; it can now be accepted or rejected, not answered again",
        ),
        *[
            (state, action, "dispute {id} is " + state + "{where}; a closed dispute cannot be " + past)
            for state in ("accepted", "rejected", "adjusted")
            for action, past in (("answer", "answered"), ("accept", "accepted"), ("reject", "rejected"))
        ],
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(ledger, state, action, message):
    dispute_id = _dispute_in(ledger, state)
    where = f" (in settlement {ledger.dispute(dispute_id).adjusted_in})" if state == "adjusted" else ""
    before = _rows(ledger)
    with pytest.raises(LedgerError) as exc:
        STEPS[action](ledger, dispute_id)
    assert str(exc.value) == message.format(id=dispute_id, where=where)
    assert _rows(ledger) == before and ledger.dispute(dispute_id).state == state


@pytest.mark.parametrize("state", ["open", "answered", "rejected", "adjusted"])
def test_only_an_accepted_dispute_can_be_adjusted(ledger, state):
    dispute_id = _dispute_in(ledger, state)
    later = _settle(ledger, "2026-12")
    before = _rows(ledger)
    expected = (
        f"dispute {dispute_id} is already adjusted in settlement"
        if state == "adjusted"
        else f"dispute {dispute_id} is {state}; only an accepted dispute can be adjusted"
    )
    with pytest.raises(LedgerError, match=expected), ledger.session() as s, s.begin():
        ledger.mark_disputes_adjusted(s, [dispute_id], later.id)
    assert _rows(ledger) == before


def test_wrong_adjustments_are_refused(ledger):
    dispute_id = _dispute_in(ledger, "accepted")
    other = _settle(ledger, "2026-11", contract="other")
    cases = [
        ([dispute_id], other.id, f"dispute {dispute_id} is about acme/2026-10; it cannot be adjusted in settlement "
                                 f"{other.id} of other"),
        ([dispute_id], 1, f"dispute {dispute_id} is about settlement 1 itself"),
        ([dispute_id, dispute_id], 1, "disputes listed more than once"),
        ([dispute_id], 999, "no settlement 999"),
        ([424242], other.id, "no dispute 424242"),
    ]  # fmt: skip
    before = _rows(ledger)
    for ids, settlement_id, message in cases:
        with pytest.raises(LedgerError, match=message), ledger.session() as s, s.begin():
            ledger.mark_disputes_adjusted(s, ids, settlement_id)
    assert _rows(ledger) == before


def test_only_the_other_party_answers_accepts_or_rejects(ledger):
    dispute_id = _dispute_in(ledger, "open")
    before = _rows(ledger)
    for step in (
        lambda: ledger.answer_dispute(dispute_id, party="buyer", note="n"),
        lambda: ledger.accept_dispute(dispute_id, party="buyer"),
        lambda: ledger.reject_dispute(dispute_id, party="buyer", note="withdrawn"),
    ):
        with pytest.raises(
            LedgerError, match=f"dispute {dispute_id} was opened by the buyer; only the provider"
        ):
            step()
    assert _rows(ledger) == before


@pytest.mark.parametrize(
    "step,message",
    [
        (lambda lg, i: lg.answer_dispute(i, party="provider", note="  "), "an answer needs a note"),
        (lambda lg, i: lg.reject_dispute(i, note=""), "a rejection needs a note"),
        (
            lambda lg, i: lg.answer_dispute(i, party="auditor", note="n"),
            "party must be `buyer` or `provider`",
        ),
        (lambda lg, i: lg.answer_dispute(i + 100, party="provider", note="n"), "no dispute"),
    ],
)
def test_incomplete_steps_are_refused(ledger, step, message):
    dispute_id = _dispute_in(ledger, "open")
    before = _rows(ledger)
    with pytest.raises(LedgerError, match=message):
        step(ledger, dispute_id)
    assert _rows(ledger) == before


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"settlement": 99}, "no settlement '99'"),
        ({"line": 7}, r"settlement 1 \(acme/2026-10\) has no line 7 \(lines 1-2"),
        ({"party": "auditor"}, "party must be `buyer` or `provider`"),
        ({"reason": "   "}, "needs a reason"),
        ({"amount": "twelve"}, "is not a decimal amount"),
        ({"amount": "0"}, "must be more than zero"),
        ({"amount": "-5.00"}, "must be more than zero"),
        ({"amount": "NaN"}, "must be more than zero"),
        ({"amount": "1.234"}, r"has more decimals than GBP has \(2\)"),
        # issue 15: 99,999,999 claimed on a line of 60.00 was accepted and billed as a credit note
        ({"amount": "99999999"}, r"amount claimed 99999999.00 GBP is more than line 2 .* billed \(60.00 GBP\)"),
        ({"amount": "60.01"}, "a dispute claims at most the whole line"),
        ({"amount": "1e30"}, "more than line 2"),
    ],
)
def test_a_dispute_that_cannot_be_opened(ledger, kwargs, message):
    _settle(ledger)
    before = _rows(ledger)
    args = {"settlement": 1, "line": 2, "party": "buyer", "reason": "r", **kwargs}
    with pytest.raises(LedgerError, match=message):
        ledger.open_dispute(args.pop("settlement"), args.pop("line"), **args)
    assert _rows(ledger) == before


def test_a_claim_of_the_whole_line_is_allowed_and_a_negative_line_caps_by_its_size(ledger):
    _settle(ledger)
    assert ledger.open_dispute(1, 2, party="buyer", reason="r", amount="60.00").amount_claimed == "60.00"
    _settle_with(ledger, "2026-11", [])
    assert ledger.open_dispute(2, 1, party="provider", reason="r", amount="12.50").amount_claimed == "12.50"
    with pytest.raises(LedgerError, match=r"billed \(-12.50 GBP\)"):
        ledger.open_dispute(2, 1, party="provider", reason="r", amount="12.51")


def test_amounts_follow_the_settlements_currency(ledger):
    _settle(ledger, "2026-10", contract="tokyo", currency="JPY")
    with pytest.raises(LedgerError, match=r"more decimals than JPY has \(0\)"):
        ledger.open_dispute("tokyo/2026-10", 1, party="buyer", reason="r", amount="12.5")
    assert (
        ledger.open_dispute("tokyo/2026-10", 1, party="buyer", reason="r", amount="120").amount_claimed
        == "120"
    )


def test_a_history_edited_behind_the_ledgers_back_is_reported(ledger):
    dispute_id = _dispute_in(ledger, "rejected")
    with ledger.engine.begin() as c:
        c.execute(text("UPDATE dispute_events SET action = 'adjusted' WHERE seq = 2"))
    with pytest.raises(LedgerError, match=f"dispute {dispute_id} has an impossible history"):
        ledger.dispute(dispute_id)


# the commands ----------------------------------------------------------------------------------------------
@pytest.fixture
def workspace(tmp_path):
    from outcomes.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    _settle(ws.ledger())
    ws.close()
    return str(tmp_path / "ws")


def _cli(*args: str):
    from typer.testing import CliRunner

    from outcomes.cli.disputes import dispute_app

    return CliRunner().invoke(dispute_app, list(args))


def test_the_dispute_commands(workspace):
    w = ("-w", workspace)
    r = _cli("open", "acme/2026-10", "2", "--reason", "repeats", "--ids", "a,b,c", "--amount", "7.50",
             "--party", "buyer", *w)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "dispute 1 opened by the buyer on acme/2026-10 line 2 (resolution, 60.00 GBP)" in r.output
    assert "7.50 GBP claimed back to the buyer" in r.output
    r = _cli("answer", "1", "--note", "b is not a repeat", "--party", "buyer", *w)
    assert r.exit_code == 1
    assert "error: dispute 1 was opened by the buyer; only the provider" in r.output
    assert _cli("answer", "1", "--note", "b is not a repeat", "--party", "provider", *w).exit_code == 0
    r = _cli("accept", "1", "--note", "a and c", *w)
    assert r.exit_code == 0 and "the next settlement of acme adjusts it" in r.output
    r = _cli("reject", "1", "--note", "too late", *w)
    assert (
        r.exit_code == 1 and "error: dispute 1 is accepted; a closed dispute cannot be rejected" in r.output
    )
    assert _cli("open", "1", "1", "--reason", "proration", "--party", "provider", *w).exit_code == 0
    assert _cli("reject", "2", "--note", "prorated once", *w).exit_code == 0

    listed = json.loads(_cli("list", "--json", *w).output)
    assert [(d["id"], d["state"], d["opened_by"], d["amount_claimed"]) for d in listed] == [
        (1, "accepted", "buyer", "7.50"), (2, "rejected", "provider", None)
    ]  # fmt: skip
    assert listed[0]["interaction_ids"] == ["a", "b", "c"]
    assert [e["action"] for e in listed[0]["events"]] == ["open", "answer", "accept"]
    only = json.loads(_cli("list", "--state", "rejected", "--contract", "acme", "--json", *w).output)
    assert [d["id"] for d in only] == [2]
    r = _cli("list", "--contract", "nobody", "--json", *w)  # a typo is an error, not "no disputes"
    assert r.exit_code == 1 and "no contract 'nobody' is registered" in r.output
    r = _cli("list", *w)
    assert r.exit_code == 0 and "accepted" in r.output and "rejected" in r.output
    r = _cli("show", "1", *w)
    assert r.exit_code == 0 and "answered by the provider: b is not a repeat" in r.output


def test_dispute_command_errors(workspace, tmp_path):
    w = ("-w", workspace)
    r = _cli("open", "1", "9", "--reason", "r", "--party", "buyer", *w)
    assert r.exit_code == 1 and "error: settlement 1 (acme/2026-10) has no line 9" in r.output
    r = _cli("open", "1", "1", "--reason", "r", "--party", "auditor", *w)
    assert r.exit_code == 2  # a usage error: the choices are listed
    r = _cli("show", "5", *w)
    assert r.exit_code == 1 and "error: no dispute 5" in r.output
    r = _cli("list", "-w", str(tmp_path / "nowhere"))
    assert r.exit_code == 1 and "error:" in r.output and "not an outcomes workspace" in r.output


def test_every_dispute_command_has_help():
    import typer

    from outcomes.cli.disputes import dispute_app

    group = typer.main.get_command(dispute_app)
    assert (group.help or "").strip()
    assert sorted(group.commands) == ["accept", "answer", "list", "open", "reject", "show"]
    for name, cmd in group.commands.items():
        assert (cmd.help or "").strip(), name
        r = _cli(name, "--help")
        assert r.exit_code == 0 and "--workspace" in r.output and "-w" in r.output, name
