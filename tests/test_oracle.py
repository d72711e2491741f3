"""The settlement's counts on a generated month, recomputed by hand-written SQL that shares no code with it."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from oracle import oracle_sql
from outcomes.contract import read_contract
from outcomes.metrics.scope import Window
from outcomes.period import Period
from outcomes.settlement.settle import compute
from outcomes.synthetic.generate import generate
from outcomes.workspace import init_workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from floor import floor_sql  # noqa: E402

NOW = datetime(2027, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle")
    generate(root / "data", contacts=20_000, months=1, seed=11, start="2026-06")
    ws = init_workspace(root / "ws")
    contract = read_contract(root / "data" / "contract.yaml")
    ws.ledger().add_contract(contract, (root / "data" / "contract.yaml").read_text(), "contract.yaml")
    ws.facts().ingest("interactions", root / "data" / "interactions.parquet", now=NOW)
    ws.facts().ingest("events", root / "data" / "events.parquet", now=NOW)
    result = compute(ws.ledger(), ws.facts(), contract.contract, "2026-06")
    yield root, ws, contract, result
    ws.close()


def _ours(result, outcome: str) -> Counter:
    c: Counter = Counter()
    m = next(m for m in result.measures if m.name == outcome)
    for r in m.rows:
        c[(r["workflow"], r["reason"] or r["status"])] += r["n"]
    return c


@pytest.mark.parametrize("outcome", ["resolution", "containment"])
def test_hand_written_sql_counts_the_same_fates(month, outcome):
    _, ws, contract, result = month
    o = contract.outcomes[outcome]
    window = Window.of(contract, Period.parse("2026-06"))
    sql = oracle_sql(
        table="(SELECT * FROM interactions WHERE _until IS NULL)",
        outcome_kind=o.kind,
        sor=contract.system_of_record,
        providers=contract.billable_providers,
        queue_map={n: w.queues for n, w in contract.workflows.items()},
        default_workflow=contract.default_workflow(),
        start=window.start,
        end=window.end,
        within_seconds=o.repeat_contact.within,
        same_workflow="workflow" in o.repeat_contact.same,
        min_csat=o.min_csat,
        handlers=list(o.handlers()),
    )
    theirs = Counter({(wf, fate): n for wf, fate, n in ws.facts().con.execute(sql).fetchall()})
    assert sum(theirs.values()) > 1000
    assert _ours(result, outcome) == theirs


def test_the_benchmark_floor_query_agrees_on_every_outcome(month):
    root, _, contract, result = month
    window = Window.of(contract, Period.parse("2026-06"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = floor_sql(
        contract, str(root / "data" / "interactions.parquet"), str(root / "data" / "events.parquet"),
        window.start, window.end,
    )
    theirs: dict[str, Counter] = {}
    for outcome, wf, fate, n in con.execute(sql).fetchall():
        theirs.setdefault(outcome, Counter())[(wf, fate)] += n
    for name in contract.outcomes:
        assert _ours(result, name) == theirs[name], name
    # the generated month exercises every reason code the contract can produce
    reasons = {fate for c in theirs.values() for _, fate in c}
    assert {"wrong_source", "other_provider", "not_handled_by", "not_resolved", "reopened", "low_csat",
            "unverifiable_customer", "repeat_contact", "churned", "duplicate_save", "counted"} <= reasons
