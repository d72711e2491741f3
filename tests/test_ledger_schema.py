"""The ledger schema on SQLite and PostgreSQL: Alembic migrations against the models, ledgers made before
migrations, and two processes at once (opening a new ledger; recording the same period).

Light imports on purpose: the spawned worker processes import this module.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import time
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from outcomes.ledger import DuplicateSettlement, Ledger, LedgerError, Settlement, SettlementLine, migrations
from outcomes.ledger.models import Base
from outcomes.ledger.store import lock_for_write

OLD_TABLES = ["audit_log", "contract_versions", "settlements", "settlement_lines", "settlement_outcomes"]


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request, tmp_path):
    """A factory of URLs of empty databases: new SQLite files, or fresh PostgreSQL schemas (search_path)."""
    made: list[str] = []
    if request.param == "sqlite":

        def make() -> str:
            made.append(f"sqlite:///{tmp_path / f'ledger{len(made)}.sqlite'}")
            return made[-1]

        yield make
        return
    from conftest import postgres_url

    url = postgres_url()
    admin = create_engine(url)
    sep = "&" if "?" in url else "?"

    def make_pg() -> str:
        schema = f"t_{uuid.uuid4().hex[:10]}"
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{url}{sep}options=-csearch_path%3D{schema}"

    yield make_pg
    with admin.begin() as c:
        for schema in made:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _row(period: str, contract: str = "race") -> Settlement:
    return Settlement(
        uuid=uuid.uuid4().hex, contract=contract, version=1, contract_hash="h", period=period,
        period_start=f"{period}-01", period_end=f"{period}-28", status="final", fingerprint="sha256:x",
        input_digest="d", facts_batch=1, outcomes_version="0", currency="GBP", total="1.00", notices="[]",
        created_at="now",
    )  # fmt: skip


def _line() -> SettlementLine:
    return SettlementLine(seq=1, kind="base_fee", label="base fee", outcome=None, workflows="[]", quantity="1",
                          unit_price="1.00", amount="1.00", unrounded="1.00", details="{}")  # fmt: skip


def _schema(url: str) -> dict:
    """Everything reflection sees of the ledger's tables, normalized for comparison."""
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        out = {}
        for table in sorted(t for t in insp.get_table_names() if t != "alembic_version"):
            out[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c.get("autoincrement") is True)
                    for c in insp.get_columns(table)
                ],
                "pk": sorted(insp.get_pk_constraint(table)["constrained_columns"]),
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                    for f in insp.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)
                ),
                "uniques": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
                "checks": sorted(
                    (c["name"], " ".join(c["sqltext"].replace("(", " ").replace(")", " ").split()))
                    for c in insp.get_check_constraints(table)
                ),
            }
        return out
    finally:
        engine.dispose()


# migrations ------------------------------------------------------------------------------------------------
def test_the_migrated_schema_matches_the_models(new_url):
    url = new_url()
    lg = Ledger(url)
    try:
        assert lg.revision == migrations.head() == "0006"
        assert migrations.revisions() == ["0001", "0002", "0003", "0005", "0006"]
        with lg.engine.connect() as conn:
            assert migrations.current(conn) == "0006"
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
            tables = set(inspect(conn).get_table_names())
    finally:
        lg.close()
    assert diffs == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    # and what autogenerate does not compare (check constraints, index names) is the same as create_all's
    reference = new_url()
    engine = create_engine(reference)
    Base.metadata.create_all(engine)
    engine.dispose()
    assert _schema(url) == _schema(reference)


def test_every_revision_downgrades_and_upgrades_again(new_url):
    url = new_url()
    lg = Ledger(url)
    try:
        with lg.engine.connect() as conn:
            command.downgrade(migrations.config(connection=conn), "0001")
            conn.commit()
            assert set(inspect(conn).get_table_names()) == {*OLD_TABLES, "alembic_version"}
            command.downgrade(migrations.config(connection=conn), "base")
            conn.commit()
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    finally:
        lg.close()
    again = Ledger(url)
    assert again.revision == "0006" and again.verify_audit().ok
    again.close()


def test_a_ledger_made_before_migrations_is_stamped_and_upgraded(new_url):
    url = new_url()
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in OLD_TABLES])
    with engine.begin() as c:  # the settlements table as it was before migration 0003
        c.execute(text("ALTER TABLE settlements DROP COLUMN measures"))
        c.execute(text("ALTER TABLE settlements DROP COLUMN metrics"))
    settlements, lines = Base.metadata.tables["settlements"], Base.metadata.tables["settlement_lines"]
    old = {c.name for c in settlements.columns} - {"measures", "metrics"}
    with engine.begin() as c:
        row, line = _row("2026-10"), _line()
        values = {k: getattr(row, k) for k in sorted(old) if k != "id"} | {"id": 1}
        c.execute(
            text(
                f"INSERT INTO settlements ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})"
            ),
            values,
        )
        c.execute(
            lines.insert().values(
                settlement_id=1,
                **{
                    k.name: getattr(line, k.name)
                    for k in lines.columns
                    if k.name not in ("id", "settlement_id")
                },
            )
        )
    engine.dispose()
    lg = Ledger(url)
    try:
        assert lg.revision == "0006"
        assert [s.period for s in lg.settlements()] == ["2026-10"]
        d = lg.open_dispute("race/2026-10", 1, party="buyer", reason="works on an old ledger too")
        assert d.state == "open" and lg.verify_audit().ok
        # the rows written before the upgrade are covered by the one entry 0006 appended: an edit is caught
        with lg.engine.connect() as c:
            actions = [r[0] for r in c.execute(text("SELECT action FROM audit_log ORDER BY seq"))]
        assert actions == ["ledger.cover", "dispute.open"]
        with lg.engine.begin() as c:
            c.execute(text("UPDATE settlement_lines SET amount = '9.00'"))
        report = lg.verify_audit()
        assert not report.ok and report.rows[0].startswith("settlement_lines row 1: its content differs")
    finally:
        lg.close()


def test_a_ledger_migrated_by_a_newer_outcomes_is_refused(new_url):
    url = new_url()
    Ledger(url).close()
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(LedgerError, match="revision 0099, which this version of outcomes does not know"):
        Ledger(url)


def test_the_migration_scripts_ship_inside_the_package():
    where = migrations.SCRIPT_LOCATION
    for name in ("__init__.py", "env.py", "script.py.mako", "versions/__init__.py"):
        assert (where / name).is_file(), name
    assert sorted(p.name for p in (where / "versions").glob("0*.py")) == [
        "0001_ledger_tables.py",
        "0002_disputes.py",
        "0003_settlement_measures.py",
        "0005_people_and_access.py",
        "0006_row_coverage.py",
    ]


def test_sqlite_waits_for_a_busy_ledger_instead_of_failing(tmp_path):
    lg = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        with lg.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        lg.close()


# two processes at once -------------------------------------------------------------------------------------
def _open_worker(url: str, barrier, results) -> None:
    try:
        barrier.wait(timeout=60)
        lg = Ledger(url)
        results.put(("ok", lg.revision))
        lg.close()
    except BaseException as exc:  # report everything to the parent
        results.put(("error", repr(exc)))


def _record_worker(url: str, periods: list[str], barrier, results) -> None:
    try:
        lg = Ledger(url)
        for period in periods:
            barrier.wait(timeout=60)
            try:
                recorded = lg.record_settlement(_row(period), [_line()], [])
                results.put((period, "recorded", recorded.id))
            except DuplicateSettlement as exc:
                results.put((period, "duplicate", exc.existing.id))
        lg.close()
    except BaseException as exc:  # an IntegrityError or "database is locked" lands here: a failure
        results.put(("?", "error", repr(exc)))


def _blocked_worker(url: str, started, results) -> None:
    try:
        lg = Ledger(url)
        started.set()
        t0 = time.monotonic()
        recorded = lg.record_settlement(_row("2027-01"), [_line()], [])
        results.put(("recorded", recorded.id, time.monotonic() - t0))
        lg.close()
    except BaseException as exc:
        results.put(("error", repr(exc), 0.0))


def _run(target, args_for, n: int = 2) -> list:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(ctx), results)) for _ in range(n)]
    for p in procs:
        p.start()
    got = []
    try:
        deadline = time.monotonic() + 180
        for p in procs:
            p.join(max(1.0, deadline - time.monotonic()))
        while True:
            try:
                got.append(results.get(timeout=1))
            except queue_module.Empty:
                break
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    return got


def test_two_processes_opening_the_same_new_ledger(new_url):
    url = new_url()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    got = _run(_open_worker, lambda _ctx: (url, barrier))
    assert got == [("ok", "0006"), ("ok", "0006")]
    lg = Ledger(url)
    with lg.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    lg.close()


def test_two_processes_recording_the_same_period_make_one_settlement(new_url):
    url = new_url()
    Ledger(url).close()  # the race is about recording, not about creating the schema
    periods = ["2026-10", "2026-11", "2026-12"]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    got = _run(_record_worker, lambda _ctx: (url, periods, barrier))
    assert not [g for g in got if g[1] == "error"], got
    lg = Ledger(url)
    try:
        settled = {s.period: s.id for s in lg.settlements("race")}
        assert sorted(settled) == periods
        for period in periods:
            outcomes = sorted((kind, ident) for p, kind, ident in got if p == period)
            # one winner, and the loser's DuplicateSettlement names the winner's settlement
            assert outcomes == [("duplicate", settled[period]), ("recorded", settled[period])], (period, got)
        report = lg.verify_audit()
        assert report.ok and report.entries == len(periods)
    finally:
        lg.close()


def test_a_writer_waits_for_the_write_lock_instead_of_failing(new_url):
    url = new_url()
    lg = Ledger(url)
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    results = ctx.Queue()
    proc = ctx.Process(target=_blocked_worker, args=(url, started, results))
    try:
        with lg.session() as s, s.begin():
            lock_for_write(s)  # hold the ledger's write lock while the other process tries to record
            proc.start()
            assert started.wait(120)
            time.sleep(1.5)
            assert proc.is_alive()  # still waiting
        outcome, ident, waited = results.get(timeout=120)
        proc.join(60)
        assert outcome == "recorded", ident
        assert waited >= 1.0
        assert [s.id for s in lg.settlements()] == [ident]
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join()
        lg.close()
