"""The live scorecard equals a fresh computation of the period after every batch, whatever the batches' order:
late repeats turn an earlier contact's fate, corrections move a contact to another customer or workflow, the
clocks move pending contacts to counted."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SCENARIO_NOW
from outcomes.server.live import LiveBoard
from outcomes.synthetic.generate import generate
from outcomes.workspace import init_workspace


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("month")
    generate(out, contacts=1500, months=1, seed=11, start="2026-06")
    return out


def _batches(table: pa.Table, n: int, rng: random.Random) -> list[pa.Table]:
    idx = list(range(table.num_rows))
    rng.shuffle(idx)
    size = -(-len(idx) // n)
    return [table.take(idx[i : i + size]) for i in range(0, len(idx), size)]


def _corrections(table: pa.Table, rng: random.Random) -> pa.Table:
    """A few rows sent again with other content: another customer, another queue, another status."""
    picked = table.take(rng.sample(range(table.num_rows), 40))
    customers = picked.column("customer_id").to_pylist()
    customers = customers[1:] + customers[:1]  # each moves to another customer (some to none)
    queues = picked.column("queue").to_pylist()[::-1]
    status = ["resolved" if i % 2 else "open" for i in range(picked.num_rows)]
    picked = picked.set_column(
        picked.schema.get_field_index("customer_id"),
        "customer_id",
        pa.array(customers, picked.schema.field("customer_id").type),
    )
    picked = picked.set_column(
        picked.schema.get_field_index("queue"), "queue", pa.array(queues, picked.schema.field("queue").type)
    )
    return picked.set_column(
        picked.schema.get_field_index("status"),
        "status",
        pa.array(status, picked.schema.field("status").type),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_counts_equal_a_fresh_computation_after_every_batch_in_any_order(month, tmp_path, seed):
    rng = random.Random(seed)
    ws = init_workspace(tmp_path / "ws")
    try:
        contract_text = (month / "contract.yaml").read_text()
        from outcomes.contract import read_contract

        ws.ledger().add_contract(read_contract(month / "contract.yaml"), contract_text, "contract.yaml")
        facts = ws.facts()
        board = LiveBoard(ws.ledger(), facts)
        interactions = pq.read_table(month / "interactions.parquet")
        events = pq.read_table(month / "events.parquet")
        parts = [("interactions", b) for b in _batches(interactions, 6, rng)]
        parts += [("events", b) for b in _batches(events, 2, rng)]
        rng.shuffle(parts)
        parts.insert(rng.randrange(3, len(parts) + 1), ("interactions", _corrections(interactions, rng)))
        board.catch_up()
        checked = 0
        for i, (kind, table) in enumerate(parts):
            path = tmp_path / f"b{i}.parquet"
            pq.write_table(table, path)
            facts.ingest(kind, path, now=SCENARIO_NOW)
            board.catch_up()
            snap = board.snapshot("demo-bank-northwind")
            assert snap is not None and snap["as_of_batch"] == facts.latest_batch()
            for p in snap["periods"]:
                kept = board.counts("demo-bank-northwind", p["period"])
                assert kept == board.fresh_counts("demo-bank-northwind", p["period"]), (i, kind, p["period"])
                checked += sum(r[5] for r in kept)
        assert checked > 1000  # the periods compared were not empty
        june = board.counts("demo-bank-northwind", "2026-06")
        statuses = {r[3] for r in june}
        assert {"counted", "excluded"} <= statuses
        assert any(r[4] == "repeat_contact" for r in june)
    finally:
        ws.close()


def test_a_late_repeat_turns_the_earlier_contacts_fate(scenario):
    s = scenario(
        """
        contract: late
        version: 1
        parties: {buyer: B, provider: P}
        currency: USD
        timezone: UTC
        term: {start: 2026-01-01, end: 2026-12-31}
        period: month
        system_of_record: crm
        workflows: {general: {default: true}}
        outcomes:
          resolution: {kind: resolution, repeat_contact: {within: 7d, same: [customer]}}
        pricing: {outcome_fees: [{outcome: resolution, unit: "1.00"}]}
        """
    )
    facts = s.ws.facts()
    board = LiveBoard(s.ws.ledger(), facts)
    s.rows(
        "a1,crm,c1,chat,q,2026-03-10T09:00:00Z,2026-03-10T09:10:00Z,resolved,agent,,p,false,,", clock=False
    )
    s.rows(
        "x1,crm,c9,chat,q,2026-03-20T09:00:00Z,2026-03-20T09:10:00Z,resolved,agent,,p,false,,", clock=False
    )
    board.catch_up()
    march = {(r[3], r[4]): r[5] for r in board.counts("late", "2026-03")}
    # the clock (20 March) is past a1's window (17 March), not x1's
    assert march == {("counted", None): 1, ("pending", None): 1}
    # a contact of c1 opened on 12 March arrives late: a1 was not resolved after all
    s.rows(
        "a2,crm,c1,chat,q,2026-03-12T09:00:00Z,2026-03-12T09:30:00Z,resolved,agent,,p,false,,", clock=False
    )
    board.catch_up()
    march = {(r[3], r[4]): r[5] for r in board.counts("late", "2026-03")}
    assert march == {("counted", None): 1, ("pending", None): 1, ("excluded", "repeat_contact"): 1}
    assert board.counts("late", "2026-03") == board.fresh_counts("late", "2026-03")


def test_two_contracts_are_kept_in_one_update(tmp_path):
    """Each contract's counts equal a fresh computation when one batch touches both."""
    from server_helpers import make_server, row

    srv = make_server(tmp_path)
    try:
        import json

        rows = [
            row("t1", "c1", "2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z", queue="disputes"),
            row("t2", "c1", "2026-03-04T09:00:00Z", "2026-03-04T09:20:00Z"),
        ]
        for key, batch in (("a", rows[:1]), ("b", rows[1:])):
            h = srv.h("buyer-admin", **{"Idempotency-Key": key, "Content-Type": "application/json"})
            srv.client.post(
                "/api/contracts/acme-northwind/interactions", content=json.dumps(batch), headers=h
            )
            srv.writer.catch_up()
        board = srv.writer.board
        for cid in ("acme-northwind", "globex-initech"):
            assert board.counts(cid, "2026-03") == board.fresh_counts(cid, "2026-03")
        assert sum(r[5] for r in board.counts("globex-initech", "2026-03")) == 2
    finally:
        srv.writer.close()


def test_a_save_without_any_customer_event_has_no_data_not_zero(scenario):
    """No event ingested: the save's value and counted share are null with the reason; once events arrive the
    same rows carry numbers."""
    s = scenario(
        """
        contract: keep
        version: 1
        parties: {buyer: B, provider: P}
        currency: USD
        timezone: UTC
        term: {start: 2026-01-01, end: 2026-12-31}
        period: month
        system_of_record: crm
        workflows: {general: {default: true}}
        outcomes:
          save: {kind: save, handled_by: [agent], retained_for: 30d}
        pricing: {outcome_fees: [{outcome: save, unit: "5.00"}]}
        """
    )
    facts = s.ws.facts()
    board = LiveBoard(s.ws.ledger(), facts)
    s.rows(
        "k1,crm,c1,chat,q,2026-03-10T09:00:00Z,2026-03-10T09:10:00Z,resolved,agent,,p,false,cancel,\n"
        "x1,crm,c9,chat,q,2026-04-20T09:00:00Z,2026-04-20T09:10:00Z,resolved,agent,,p,false,,",
        clock=False,
    )
    board.catch_up()
    snap = board.snapshot("keep")
    cells = [o for p in snap["periods"] for wf in p["workflows"] for o in wf["outcomes"]]
    assert cells and snap["event_clock"] is None
    for o in cells:
        assert o["value"] is None and o["counted_share"] is None
        assert o["undefined"].startswith("no data: no customer events ingested")
    s.events("c1,renewed,2026-01-01T00:00:00Z,,40.00\nzz,renewed,2026-04-20T00:00:00Z,,")
    board.catch_up()
    snap = board.snapshot("keep")
    march = next(p for p in snap["periods"] if p["period"] == "2026-03")
    (o,) = march["workflows"][0]["outcomes"]
    assert o["undefined"] is None and o["counted"] == 1 and o["value"] == "40.00"
