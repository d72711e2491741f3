"""Batches are read and validated side by side and written one after the other: scenarios that force two
attempts through the reading step together, so the write step has to tell them apart."""

from __future__ import annotations

import json
import threading

from outcomes.facts import store as store_module
from server_helpers import row

BATCH_A = [row(f"a{i}", f"c{i}", "2026-03-02T09:00:00Z", "2026-03-02T09:20:00Z") for i in range(5)]
BATCH_B = [row(f"b{i}", f"c{i}", "2026-03-09T09:00:00Z", "2026-03-09T09:20:00Z") for i in range(5)]


def _both_staged_before_either_writes(monkeypatch, parties: int = 2) -> threading.Barrier:
    """Hold every attempt after its validation until `parties` attempts have validated theirs."""
    barrier = threading.Barrier(parties, timeout=30)
    real = store_module.FactsStore._stage

    def stage(self, *args, **kwargs):
        staged = real(self, *args, **kwargs)
        barrier.wait()
        return staged

    monkeypatch.setattr(store_module.FactsStore, "_stage", stage)
    return barrier


def _ingest(srv, rows, key, results):
    results.append(
        srv.writer.ingest(
            tenant="Acme Bank",
            key=key,
            kind="interactions",
            body=json.dumps(rows).encode(),
            fmt="json",
            timezone=None,
            actor="test",
            contract="acme-northwind",
        )
    )


def _run(*targets):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_two_batches_validated_together_are_written_as_two_batches(srv, monkeypatch):
    _both_staged_before_either_writes(monkeypatch)
    results: list = []
    _run(lambda: _ingest(srv, BATCH_A, "a", results), lambda: _ingest(srv, BATCH_B, "b", results))
    assert sorted(r.response["batch"] for r in results) == [1, 2]
    assert [r.replayed for r in results] == [False, False]
    with srv.writer.facts() as facts:
        assert facts.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 10
        # each batch's digest is the one a recount of the stored rows gives: the second write saw the first
        assert facts.digest(2) == facts.digest(2, recount=True) and facts.digest(1) == facts.digest(
            1, recount=True
        )
        assert [b for b, _, _ in facts.chain()] == [1, 2]


def test_one_key_validated_twice_at_once_is_written_once_and_replayed(srv, monkeypatch):
    _both_staged_before_either_writes(monkeypatch)
    results: list = []
    _run(lambda: _ingest(srv, BATCH_A, "same", results), lambda: _ingest(srv, BATCH_A, "same", results))
    assert sorted(r.replayed for r in results) == [False, True]
    assert {r.response["batch"] for r in results} == {1}
    with srv.writer.facts() as facts:
        assert facts.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 5
        assert facts.latest_batch() == 1
        assert facts.con.execute("SELECT count(*) FROM ingest_receipts").fetchone()[0] == 1


def test_one_key_with_another_body_validated_at_the_same_time_is_refused(srv, monkeypatch):
    from outcomes.server.problems import HTTPProblem

    _both_staged_before_either_writes(monkeypatch)
    results: list = []
    errors: list = []

    def attempt(rows):
        try:
            _ingest(srv, rows, "same", results)
        except HTTPProblem as exc:
            errors.append(exc)

    _run(lambda: attempt(BATCH_A), lambda: attempt(BATCH_B))
    # whichever wrote first holds the key; the other is refused (409), never written
    assert (len(results), len(errors)) == (1, 1)
    assert errors[0].code == "idempotency_key_reused" and not results[0].replayed
    with srv.writer.facts() as facts:
        assert facts.latest_batch() == 1
        assert facts.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 5
