"""The facts store as a whole: versions as of a batch, the digest, all-or-nothing ingest, reopening."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.facts import KINDS, FactsStore, IngestError, canonical_text_sql, row_hash_sql

NOW = datetime(2027, 1, 1, tzinfo=UTC)
HEADER = "interaction_id,source,customer_id,channel,opened_at,closed_at,status,csat"


def csv(tmp_path: Path, name: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def row(i: str, csat: int | str = "", *, source: str = "crm", day: int = 3, channel: str = "chat") -> str:
    return f"{i},{source},c-{i},{channel},2026-10-{day:02d}T09:00:00Z,2026-10-{day:02d}T09:30:00Z,resolved,{csat}"


def snapshot(store: FactsStore) -> dict:
    """Everything an ingest may touch, for before/after comparisons."""
    q = store.con.execute
    return {
        "interactions": q("SELECT * FROM interactions ORDER BY ALL").fetchall(),
        "events": q("SELECT * FROM events ORDER BY ALL").fetchall(),
        "batches": q("SELECT * FROM batches ORDER BY batch").fetchall(),
        "quarantine": q("SELECT * FROM quarantine ORDER BY ALL").fetchall(),
        "digest": store.digest(),
        "latest": store.latest_batch(),
    }


@pytest.fixture
def store():
    s = FactsStore(":memory:")
    yield s
    s.close()


# -- versions and batches -------------------------------------------------------------------------------


def test_as_of_batch_views(store, tmp_path):
    store.ingest("interactions", csv(tmp_path, "1.csv", row("a", 1), row("b", 2)), now=NOW)
    store.ingest("interactions", csv(tmp_path, "2.csv", row("b", 3), row("c", 4)), now=NOW)
    store.ingest("interactions", csv(tmp_path, "3.csv", row("b", 5), row("a", 1)), now=NOW)

    def view(batch):
        return {r["interaction_id"]: r["csat"] for r in store.interactions(batch).to_pyarrow().to_pylist()}

    assert view(0) == {}
    assert view(1) == {"a": 1, "b": 2}
    assert view(2) == {"a": 1, "b": 3, "c": 4}
    assert view(3) == view(None) == view(99) == {"a": 1, "b": 5, "c": 4}
    assert store.interactions().columns == KINDS["interactions"].columns
    assert [b["batch"] for b in store.batches()] == [1, 2, 3] and store.latest_batch() == 3
    assert [(b["accepted"], b["updated"], b["duplicates"]) for b in store.batches()] == [
        (2, 0, 0),
        (1, 1, 0),
        (0, 1, 1),
    ]


def test_as_of_batch_must_be_a_batch_number(store):
    for bad in (-1, "2", 1.5, True):
        with pytest.raises(ValueError, match="as_of_batch"):
            store.interactions(bad)


def test_batches_and_quarantine_records(store, tmp_path):
    f = csv(tmp_path, "f.csv", row("a", 1), row("b", 9))
    s = store.ingest("interactions", f, now=NOW)
    [b] = store.batches()
    assert b["batch"] == s.batch == 1 and b["kind"] == "interactions" and b["file"] == str(f)
    assert b["file_sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert b["format"] == "csv" and b["ingested_at"] == datetime(2027, 1, 1)
    assert (b["rows"], b["accepted"], b["quarantined"], b["reasons"]) == (2, 1, 1, {"csat_out_of_range": 1})
    [q] = store.quarantine()
    assert set(q) == {"batch", "kind", "file", "row", "field", "reason", "message", "raw"}
    assert store.quarantine(1) == [q] and store.quarantine(2) == []


def test_the_store_is_a_file_that_reopens(tmp_path):
    path = tmp_path / "facts.duckdb"
    with FactsStore(path) as s:
        s.ingest("interactions", csv(tmp_path, "f.csv", row("a", 1)), now=NOW)
        digest = s.digest()
    with FactsStore(path, memory_limit="512MB", threads=1) as s:  # the schema is created idempotently
        assert s.digest() == digest and s.latest_batch() == 1
        assert s.ibis().list_tables()  # the raw connection and the ibis backend share one database
        assert s.con.execute("SELECT current_setting('threads')").fetchone()[0] == 1


def test_deferred_checkpoints_keep_every_batch_when_the_process_dies_before_one(tmp_path):
    """A store that defers checkpoints (the server's) holds its batches in the write-ahead log: a process killed
    before any checkpoint loses none of them, and its digests and chain reopen as they were."""
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "facts.duckdb"
    files = [csv(tmp_path, f"f{i}.csv", row(f"a{i}", 1), row(f"b{i}", 2, day=4)) for i in range(3)]
    script = textwrap.dedent(
        f"""
        import json, os, sys
        from datetime import datetime, UTC
        from outcomes.facts import FactsStore
        s = FactsStore({str(path)!r})
        s.defer_checkpoints()
        for f in {[str(f) for f in files]!r}:
            s.ingest("interactions", f, now=datetime(2026, 10, 20, tzinfo=UTC))
        print(json.dumps([s.digest(), [list(c) for c in s.chain()]]), flush=True)
        os._exit(0)  # no close, no checkpoint: as a kill would leave it
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    digest, chain = __import__("json").loads(out.stdout)
    wal = Path(str(path) + ".wal")
    assert wal.exists() and wal.stat().st_size > 0  # the batches were in the log only
    with FactsStore(path) as s:
        assert s.latest_batch() == 3 and s.digest() == digest == s.digest(recount=True)
        assert [list(c) for c in s.chain()] == chain
        assert s.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 6
        s.defer_checkpoints()
        s.ingest("interactions", csv(tmp_path, "g.csv", row("c", 3)), now=NOW)
        assert wal.stat().st_size > 0
        s.checkpoint()
        assert not wal.exists() or wal.stat().st_size == 0


# -- the digest ---------------------------------------------------------------------------------------


def test_digest_format_and_empty_store(store):
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", store.digest())
    assert store.digest() == FactsStore(":memory:").digest()


def test_digest_unchanged_by_reingest_changed_by_an_update(store, tmp_path):
    f = csv(tmp_path, "f.csv", row("a", 1), row("b", 2))
    store.ingest("interactions", f, now=NOW)
    d1 = store.digest()
    store.ingest("interactions", f, now=NOW)
    assert store.digest() == d1
    store.ingest("interactions", csv(tmp_path, "g.csv", row("b", 3)), now=NOW)
    assert store.digest() != d1
    assert store.digest(1) == store.digest(2) == d1
    assert store.digest(3) == store.digest()


def test_digest_covers_events_too(store, tmp_path):
    store.ingest("interactions", csv(tmp_path, "f.csv", row("a", 1)), now=NOW)
    d = store.digest()
    ev = tmp_path / "e.csv"
    ev.write_text("customer_id,event,at\nc-a,churned,2026-10-09T00:00:00Z\n")
    store.ingest("events", ev, now=NOW)
    assert store.digest() != d and store.digest(1) == d


def test_digest_depends_only_on_content_not_on_order_batches_or_history(tmp_path):
    rows = [row(str(i), i % 5 + 1, day=i % 27 + 1) for i in range(30)]
    with FactsStore(":memory:") as one:
        one.ingest("interactions", csv(tmp_path, "all.csv", *rows), now=NOW)
        expected = one.digest()
    with FactsStore(":memory:") as split:
        split.ingest("interactions", csv(tmp_path, "b.csv", *reversed(rows[10:])), now=NOW)
        split.ingest("interactions", csv(tmp_path, "a.csv", *rows[:12]), now=NOW)  # overlaps: duplicates
        assert split.digest() == expected
    with FactsStore(":memory:") as history:  # wrong values first, corrected later
        history.ingest("interactions", csv(tmp_path, "w.csv", *[r[:-1] + "9" for r in rows[:5]]), now=NOW)
        history.ingest("interactions", csv(tmp_path, "all.csv", *rows), now=NOW)
        assert history.digest() == expected and history.digest(1) != expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.tuples(st.sampled_from(["chat", "voice", "email"]), st.one_of(st.none(), st.integers(1, 5))),
        min_size=1,
        max_size=12,
    ),
    order=st.randoms(use_true_random=False),
    cut=st.integers(0, 12),
)
def test_digest_is_a_function_of_the_visible_rows(tmp_path_factory, data, order, cut):
    tmp = tmp_path_factory.mktemp("d")
    rows = [row(f"r{i}", "" if c is None else c, channel=ch) for i, (ch, c) in enumerate(data)]
    shuffled = rows[:]
    order.shuffle(shuffled)
    with FactsStore(":memory:") as a, FactsStore(":memory:") as b:
        a.ingest("interactions", csv(tmp, "a.csv", *rows), now=NOW)
        if shuffled[:cut]:
            b.ingest("interactions", csv(tmp, "b1.csv", *shuffled[:cut]), now=NOW)
        if shuffled[cut:]:
            b.ingest("interactions", csv(tmp, "b2.csv", *shuffled[cut:]), now=NOW)
        assert a.digest() == b.digest()


def test_stored_hashes_can_be_recomputed_from_the_stored_values(store, tmp_path):
    store.ingest("interactions", csv(tmp_path, "f.csv", row("a", 4), row("b"), row("c\x1fd", 1)), now=NOW)
    ev = tmp_path / "e.csv"
    ev.write_text("customer_id,event,at,amount,monthly_revenue\nc1,purchase,2026-10-01T00:00:00Z,-12.5,\n")
    store.ingest("events", ev, now=NOW)
    for kind in ("interactions", "events"):
        wrong = store.con.execute(f"SELECT count(*) FROM {kind} WHERE _hash <> {row_hash_sql(KINDS[kind])}")
        assert wrong.fetchone()[0] == 0
    text = store.con.execute(f"SELECT {canonical_text_sql(KINDS['events'])} FROM events").fetchone()[0]
    assert text == "c1\x1fpurchase\x1f1790812800000000\x1f-12.50\x1f"
    # a text holding the separator is length-prefixed, so the canonical text stays unambiguous
    (escaped,) = store.con.execute(
        f"SELECT {canonical_text_sql(KINDS['interactions'])} FROM interactions WHERE interaction_id = 'c\x1fd'"
    ).fetchone()
    assert escaped.startswith("\x1e3:c\x1fd\x1fcrm\x1f\x1e5:c-c\x1fd\x1fchat\x1f")


def test_hash_is_md5_of_the_typed_values(store, tmp_path):
    store.ingest("interactions", csv(tmp_path, "f.csv", row("a", 4)), now=NOW)
    (h,) = store.con.execute("SELECT _hash FROM interactions").fetchone()
    assert re.fullmatch(r"[0-9a-f]{32}", h)
    # the same values, typed differently in the file (offset, spacing, case) give the same hash
    store2 = FactsStore(":memory:")
    f = tmp_path / "g.csv"
    f.write_text(HEADER + "\n a ,crm,c-a,CHAT,2026-10-03T10:00:00+01:00,2026-10-03 09:30:00Z,Resolved,4.0\n")
    store2.ingest("interactions", f, now=NOW)
    assert store2.con.execute("SELECT _hash FROM interactions").fetchone()[0] == h


# -- all or nothing -----------------------------------------------------------------------------------


class Exploding:
    """A connection that raises `exc` when a statement starting with `prefix` is executed."""

    def __init__(self, con: duckdb.DuckDBPyConnection, prefix: str, exc: BaseException):
        self._con, self._prefix, self._exc = con, prefix, exc

    def execute(self, sql: str, *args):
        if sql.lstrip().startswith(self._prefix):
            raise self._exc
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _mixed_file(tmp_path: Path) -> Path:
    # against the base: one update (b), one new row (c), one duplicate (a), one quarantined row
    return csv(tmp_path, "mixed.csv", row("a", 1), row("b", 5), row("c", 3), row("bad", 7))


def _base(store: FactsStore, tmp_path: Path) -> None:
    store.ingest(
        "interactions", csv(tmp_path, "base.csv", row("a", 1), row("b", 2), row("x", "oops")), now=NOW
    )


@pytest.mark.parametrize(
    "prefix",
    [
        "INSERT INTO batches",  # after quarantine rows, version closes and inserts were written
        "INSERT INTO interactions",  # after the old version of b was closed
        "UPDATE interactions",
        "INSERT INTO quarantine",
    ],
)
@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_a_crash_mid_ingest_leaves_the_store_exactly_as_before(store, tmp_path, prefix, exc):
    _base(store, tmp_path)
    before = snapshot(store)
    real = store.con
    store.con = Exploding(real, prefix, exc)
    with pytest.raises(type(exc)):
        store.ingest("interactions", _mixed_file(tmp_path), now=NOW)
    store.con = real
    assert snapshot(store) == before
    assert store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0
    # and the store still works: the same file then ingests normally, as the next batch
    s = store.ingest("interactions", _mixed_file(tmp_path), now=NOW)
    assert (s.batch, s.accepted, s.updated, s.duplicates, s.quarantined) == (2, 1, 1, 1, 1)


def test_ctrl_c_after_the_inserts_rolls_back(store, tmp_path):
    _base(store, tmp_path)
    before = snapshot(store)

    def progress(stage, done, total):
        if (stage, done) == ("write", 3):  # quarantine, version closes and inserts are done
            assert store.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 4
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.ingest("interactions", _mixed_file(tmp_path), now=NOW, progress=progress)
    assert snapshot(store) == before


def test_ctrl_c_while_reading(store, tmp_path):
    _base(store, tmp_path)
    before = snapshot(store)

    def progress(stage, done, total):
        if stage == "read":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.ingest("interactions", _mixed_file(tmp_path), now=NOW, progress=progress)
    assert snapshot(store) == before


class CtrlCWhileReading(Exploding):
    """Ctrl-C arrives on the caller's thread while DuckDB reads the file on the worker thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        super().__init__(con, "never", RuntimeError())
        self.polls = 0

    def query_progress(self):
        self.polls += 1
        raise KeyboardInterrupt


def test_ctrl_c_interrupts_the_running_read(store, tmp_path):
    _base(store, tmp_path)
    before = snapshot(store)
    big = csv(tmp_path, "big.csv", *[row(f"r{i}", i % 5 + 1) for i in range(100_000)])
    real = store.con
    store.con = CtrlCWhileReading(real)
    with pytest.raises(KeyboardInterrupt):
        store.ingest("interactions", big, now=NOW, progress=lambda *a: None)
    assert store.con.polls == 1
    store.con = real
    assert snapshot(store) == before
    assert store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0
    assert store.ingest("interactions", big, now=NOW).accepted == 100_000


def test_a_crash_leaves_a_file_store_as_before_after_reopening(tmp_path):
    path = tmp_path / "facts.duckdb"
    s = FactsStore(path)
    _base(s, tmp_path)
    before = snapshot(s)
    real = s.con
    s.con = Exploding(real, "INSERT INTO batches", RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        s.ingest("interactions", _mixed_file(tmp_path), now=NOW)
    s.con = real
    s.close()
    with FactsStore(path) as again:
        assert snapshot(again) == before


def test_an_ingest_error_changes_nothing(store, tmp_path):
    _base(store, tmp_path)
    before = snapshot(store)
    bad = tmp_path / "bad.csv.gz"  # not gzip at all
    bad.write_text(HEADER + "\n" + row("q", 1) + "\n")
    with pytest.raises(IngestError, match="bad.csv"):
        store.ingest("interactions", bad, now=NOW)
    assert snapshot(store) == before


# -- row numbers in a file large enough to be read in parallel -----------------------------------------


@pytest.mark.parametrize(
    ("name", "options"), [("big.csv", "(HEADER)"), ("big.parquet", "(FORMAT parquet, ROW_GROUP_SIZE 8192)")]
)
def test_row_numbers_follow_the_file_on_a_parallel_read(tmp_path, name, options):
    n = 200_000
    bad = {7, 65_537, 123_457, 199_999}
    f = tmp_path / name
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT 'i' || i AS interaction_id, 'crm' AS source, 'c' || (i % 997) AS customer_id,
                 CASE WHEN i IN ({", ".join(map(str, bad))}) THEN 'fax' ELSE 'chat' END AS channel,
                 '2026-10-03T09:00:00Z' AS opened_at, 'resolved' AS status,
                 repeat('x', 150) AS queue
            FROM range(1, {n + 1}) t(i) ORDER BY i) TO '{f}' {options}"""
    )
    with FactsStore(":memory:", threads=2) as s:
        summary = s.ingest("interactions", f, now=NOW)
        assert (summary.rows, summary.accepted, summary.quarantined) == (n, n - len(bad), len(bad))
        got = [(q["row"], q["raw"]) for q in s.quarantine()]
    assert [r for r, _ in got] == sorted(bad)
    assert all(f'"interaction_id":"i{r}"' in raw for r, raw in got)


def test_a_plan_that_could_reorder_rows_is_refused(store):
    with pytest.raises(RuntimeError, match="may reorder rows"):
        store._check_order_preserving("SELECT a, count(*) FROM range(10) t(a) GROUP BY a")
    store._check_order_preserving("SELECT a + 1 FROM range(10) t(a) WHERE a > 2")


def test_the_order_check_plans_a_shape_once_and_never_remembers_a_refused_one(store):
    """A batch's staging query differs from the last one's only in its texts (the file, the time of ingest)."""
    store._check_order_preserving("SELECT a FROM range(10) t(a) WHERE 'batch-1.parquet' <> 'x'")
    store._check_order_preserving("SELECT a FROM range(10) t(a) WHERE 'batch-2.parquet' <> 'it''s'")
    assert len(store._order_safe) == 1
    store._check_order_preserving("SELECT a, a FROM range(10) t(a) WHERE 'batch-3.parquet' <> 'x'")
    assert len(store._order_safe) == 2
    for _ in range(2):
        with pytest.raises(RuntimeError, match="may reorder rows"):
            store._check_order_preserving("SELECT 'f', count(*) FROM range(10) t(a) GROUP BY a")
    assert len(store._order_safe) == 2


def test_the_digest_kept_by_each_ingest_equals_a_full_recount(tmp_path):
    """Each batch keeps the digest's running sums (plus what it wrote, minus what it closed): the same digest
    as summing the whole table as of that batch."""
    from datetime import UTC, datetime

    from outcomes.facts import FactsStore

    wm = Path(__file__).resolve().parents[2] / "shared" / "examples" / "worked-month" / "interactions.csv"
    if not wm.exists():
        wm = Path(__file__).resolve().parents[1] / ".." / "shared" / "examples" / "worked-month" / "interactions.csv"
    lines = wm.read_text().splitlines()
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("\n".join(lines[:9]) + "\n")
    second.write_text("\n".join([lines[0], lines[3].replace(",2,,,,", ",4,,,,"), *lines[9:]]) + "\n")
    now = datetime(2027, 1, 1, tzinfo=UTC)
    store = FactsStore(tmp_path / "f.duckdb")
    for f in (first, second, second):  # accepted, then an update and new rows, then duplicates only
        store.ingest("interactions", f, now=now)
    kept = [store.digest(b) for b in (1, 2, 3)] + [store.digest()]
    store.con.execute("DELETE FROM digest_sums")
    recounted = [store.digest(b) for b in (1, 2, 3)] + [store.digest()]
    assert kept == recounted
    assert kept[0] != kept[1] and kept[1] == kept[2] == kept[3]
    store.close()


def test_evidence_is_a_parquet_file_read_by_name_that_follows_a_moved_workspace(tmp_path):
    home = tmp_path / "ws"
    home.mkdir()
    with FactsStore(home / "facts.duckdb") as store:
        counts = store.write_evidence(
            "evidence_t1",
            ["SELECT 'resolution' AS outcome, 'a' AS workflow, 'counted' AS status, NULL AS reason, "
             "CAST(1.5 AS DECIMAL(18,2)) AS value FROM range(3)"],
        )
        assert counts == [
            {"outcome": "resolution", "workflow": "a", "status": "counted", "reason": None, "n": 3,
             "value": Decimal("4.50")}
        ]
        assert (home / "evidence" / "evidence_t1.parquet").exists()
    # any DuckDB client reads the evidence by name
    con = duckdb.connect(str(home / "facts.duckdb"), read_only=True)
    assert con.execute('SELECT count(*) FROM "evidence_t1"').fetchone() == (3,)
    con.close()
    moved = tmp_path / "moved"
    home.rename(moved)
    with FactsStore(moved / "facts.duckdb") as store:
        assert store.con.execute('SELECT count(*) FROM "evidence_t1"').fetchone() == (3,)
        store.drop_table("evidence_t1")
        assert not (moved / "evidence" / "evidence_t1.parquet").exists()
        store.drop_table("evidence_t1")  # dropping what is gone is no error


def test_a_batch_is_stored_by_month_then_customer_in_contact_order(store, tmp_path):
    """The repeat-contact window's order is the storage order, so settlement's sort finds it done."""
    path = tmp_path / "mixed.csv"
    path.write_text(
        HEADER + "\n"
        "b2,crm,c-b,chat,2026-10-05T09:00:00Z,2026-10-05T09:30:00Z,resolved,\n"
        "a9,crm,c-a,chat,2026-11-01T09:00:00Z,2026-11-01T09:30:00Z,resolved,\n"
        "b1,crm,c-b,chat,2026-10-02T09:00:00Z,2026-10-02T09:30:00Z,resolved,\n"
        "a2,crm,c-a,chat,2026-10-09T09:00:00Z,2026-10-09T09:30:00Z,resolved,\n"
        "a1,crm,c-a,chat,2026-10-09T09:00:00Z,2026-10-09T09:10:00Z,resolved,\n",
        encoding="utf-8",
    )
    store.ingest("interactions", path)
    stored = [r[0] for r in store.con.execute("SELECT interaction_id FROM interactions ORDER BY rowid").fetchall()]
    # October first (customer a: same opening, earlier close first; then customer b), then November
    assert stored == ["a1", "a2", "b1", "b2", "a9"]


def test_an_export_counts_what_it_wrote_and_replaces_each_table_whole(store, tmp_path):
    import pyarrow.parquet as pq

    from outcomes.facts.export import export_parquet

    store.ingest("interactions", csv(tmp_path, "a.csv", row("1"), row("2")))
    store.ingest("interactions", csv(tmp_path, "b.csv", row("2", 5), row("3")))  # 2 updated: a second version
    out = tmp_path / "export"
    (out / "interactions").mkdir(parents=True)
    (out / "interactions" / "stale.parquet").write_text("from an earlier export")
    summary = export_parquet(store, out)
    assert summary.rows == {"interactions": 4, "events": 0, "batches": 2}
    assert summary.folder == str(out.resolve()) and summary.digest == store.digest()
    assert sorted(p.name for p in out.iterdir()) == ["batches", "events", "interactions"]  # no partial left
    assert [p.name for p in (out / "interactions").iterdir()] == ["part-0.parquet"]
    assert pq.read_table(out / "interactions" / "part-0.parquet").num_rows == 4
