"""The ledger schema, migrated by Alembic. The scripts ship inside the package; no alembic.ini is needed.

`upgrade(engine)` brings a database to the newest revision (`head()`); `Ledger(url)` calls it on open. Two
processes opening the same new database at once are safe: the upgrade runs in one transaction holding a
lock (SQLite: `BEGIN IMMEDIATE`, the other waits on its busy timeout; PostgreSQL: a transaction-level advisory
lock), and the second one then finds the schema at head and does nothing.

A ledger created before migrations existed (tables made by `create_all`, no `alembic_version`) holds exactly
the tables of the first revision: it is stamped at that revision, then upgraded.

For developers, a new revision after a model change::

    from alembic import command
    from outcomes.ledger.migrations import config
    command.revision(config("sqlite:////tmp/scratch.sqlite"), "what changed", autogenerate=True)

(on a scratch database upgraded to head first), then review the generated file in `versions/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from outcomes.errors import OutcomesError

SCRIPT_LOCATION = Path(__file__).resolve().parent
FIRST_REVISION = "0001"
# pg_advisory_xact_lock key held while a PostgreSQL ledger is being migrated (the bytes of "outcomes").
MIGRATION_LOCK = int.from_bytes(b"outcomes", "big")


class SchemaError(OutcomesError):
    """The database cannot be brought to this version's schema (e.g. it was migrated by a newer outcomes)."""

    code = "ledger_schema"


def config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged scripts, for a URL or an open connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this version of outcomes knows."""
    heads = _scripts().get_heads()
    if len(heads) != 1:  # pragma: no cover - a packaging mistake, caught by the tests
        raise SchemaError(f"the ledger migrations have {len(heads)} heads ({', '.join(heads)}); expected one")
    return heads[0]


def revisions() -> list[str]:
    """Every known revision, oldest first."""
    return [s.revision for s in reversed(list(_scripts().walk_revisions()))]


def current(connection: Connection) -> str | None:
    """The revision a database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Migrate the database to head (a no-op when it is there already); returns the revision."""
    target = head()
    with engine.connect() as conn:
        if current(conn) == target:
            return target
    with engine.connect() as conn:
        _lock(conn)
        rev = current(conn)
        if rev is None and inspect(conn).has_table("audit_log"):
            command.stamp(config(connection=conn), FIRST_REVISION)  # created by create_all before 0001
            rev = FIRST_REVISION
        if rev is not None and rev not in revisions():
            raise SchemaError(
                f"the ledger schema is at revision {rev}, which this version of outcomes does not know "
                f"(newest known: {target}); it was migrated by a newer outcomes: upgrade outcomes"
            )
        command.upgrade(config(connection=conn), "head")
        conn.commit()
    return target


def _lock(conn: Connection) -> None:
    """Start the migration transaction holding a lock that a concurrent migration waits for."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # pysqlite would start a deferred transaction only at the first INSERT; take the write lock now.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
