"""A workspace: one folder holding the settings, the facts store (DuckDB) and the ledger (SQLite by default).

Commands find it from `--workspace DIR`, else `OUTCOMES_WORKSPACE`, else the current directory. Settings come
from `outcomes.toml` in the workspace; environment variables override them (useful in CI and containers).

The facts engine is DuckDB (the file `facts.path`) unless `facts.engine = "spark"`: then settlement reads the
facts with a Spark session (`facts.spark_master`) from a Parquet folder (`facts.spark_parquet`) or catalog
tables (`facts.spark_tables`), and writes evidence under `facts.spark_evidence` (docs/spark.md).

One process at a time opens the facts store: DuckDB lets one process open its file, and a second one used to
end in a 60-line lock traceback. So opening the facts takes the **workspace lock** (`WorkspaceLock`, a file
lock on `.outcomes.lock` that records the holder's command, process and start): a second process waits for
it up to `wait` seconds, then stops with "workspace busy: <command> since <time>". Commands that read or
write the ledger only (show, settlements, disputes, audit, users) do not take it: the ledger's own
transactions keep them consistent (docs/ledger.md "Concurrency").
"""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from outcomes.errors import OutcomesError

if TYPE_CHECKING:
    from outcomes.facts import Facts, FactsStore
    from outcomes.ledger import Ledger

SETTINGS_FILE = "outcomes.toml"

# setting -> environment variable that overrides it
ENVIRONMENT = {
    "facts_path": "OUTCOMES_FACTS_PATH",
    "ledger_url": "OUTCOMES_LEDGER_URL",
    "memory_limit": "OUTCOMES_MEMORY_LIMIT",
    "threads": "OUTCOMES_THREADS",
    "engine": "OUTCOMES_FACTS_ENGINE",
    "spark_master": "OUTCOMES_SPARK_MASTER",
    "spark_parquet": "OUTCOMES_SPARK_PARQUET",
    "spark_tables": "OUTCOMES_SPARK_TABLES",
    "spark_evidence": "OUTCOMES_SPARK_EVIDENCE",
    "spark_evidence_database": "OUTCOMES_SPARK_EVIDENCE_DATABASE",
}

ENGINES = ("duckdb", "spark")
SPARK_TABLE_NAMES = ("interactions", "events", "batches")

DEFAULT_SETTINGS = """\
# outcomes workspace settings. Environment variables override each key:
# OUTCOMES_FACTS_PATH, OUTCOMES_LEDGER_URL, OUTCOMES_MEMORY_LIMIT, OUTCOMES_THREADS, OUTCOMES_FACTS_ENGINE,
# OUTCOMES_SPARK_MASTER, OUTCOMES_SPARK_PARQUET, OUTCOMES_SPARK_TABLES, OUTCOMES_SPARK_EVIDENCE,
# OUTCOMES_SPARK_EVIDENCE_DATABASE.

[facts]
# The facts store (interactions, customer events, evidence): a DuckDB file, relative to this folder.
path = "facts.duckdb"
# DuckDB spills to disk beyond this (e.g. "4GB"); empty means DuckDB's default (80% of memory).
memory_limit = ""
threads = 0   # 0: all cores
# "duckdb" (the file above) or "spark": settle from facts Spark reads (docs/spark.md). Ingest always writes
# the DuckDB file; `outcomes facts export DIR` writes it as Parquet for Spark.
engine = "duckdb"
# With engine = "spark": the cluster ("spark://host:7077", "yarn", "k8s://...", "local[*]"; empty: whatever
# spark-submit or the environment sets), and where the facts are: a Parquet folder (relative to this folder,
# or a URI such as "s3a://bucket/facts") holding interactions/, events/ and batches/ ...
spark_master = ""
spark_parquet = ""
# ... or catalog tables by name: spark_tables = { interactions = "db.interactions", events = "db.events",
# batches = "db.batches" }
# Evidence written by Spark: a folder or URI the cluster can write (default: evidence/ in this folder), or a
# catalog database (spark_evidence_database = "outcomes_evidence").
spark_evidence = ""
spark_evidence_database = ""
# [facts.spark_conf] lists extra Spark settings, e.g. "spark.executor.memory" = "8g".

[ledger]
# Settlements, contracts, audit log: SQLAlchemy URL. SQLite file by default; PostgreSQL for a shared server,
# e.g. "postgresql+psycopg://user@host:5432/outcomes".
url = "sqlite:///ledger.sqlite"
"""


class WorkspaceError(OutcomesError):
    code = "workspace"

    pass


class WorkspaceBusy(WorkspaceError):
    code = "workspace_busy"


LOCK_FILE = ".outcomes.lock"
DEFAULT_WAIT = 30.0

#: Locks this process holds, by lock file: (open file, how many holders). The lock is the process's: DuckDB
#: shares one database between the connections of a process, so a second Workspace in the same process (a
#: test, the server's threads) shares the lock instead of waiting for itself.
_HELD: dict[str, list] = {}
_HELD_GUARD = threading.Lock()


class WorkspaceLock:
    """The workspace's one-process-at-a-time lock (`fcntl.flock` on `.outcomes.lock`; the kernel releases it
    when the process ends, however it ends, so a killed command leaves no stale lock)."""

    def __init__(self, root: Path):
        self.path = str(root / LOCK_FILE)
        self.held = False

    def holder(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as fh:
                found = json.loads(fh.read() or "{}")
            return found if isinstance(found, dict) else {}
        except (OSError, ValueError):
            return {}

    def _try(self, command: str) -> bool:
        import fcntl

        with _HELD_GUARD:
            if self.path in _HELD:
                _HELD[self.path][1] += 1
                self.held = True
                return True
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while held
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                return False
            fh.seek(0)
            fh.truncate()
            since = datetime.now(UTC).isoformat(timespec="seconds")
            fh.write(json.dumps({"command": command, "pid": os.getpid(), "since": since}))
            fh.flush()
            _HELD[self.path] = [fh, 1]
            self.held = True
            return True

    def acquire(
        self,
        command: str,
        wait: float = DEFAULT_WAIT,
        waiting: Callable[[str], AbstractContextManager] | None = None,
    ) -> None:
        """Take the lock, waiting up to `wait` seconds (`waiting(who)` is entered meanwhile: a spinner)."""
        if self._try(command):
            return
        deadline = time.monotonic() + max(0.0, wait)
        with (waiting or (lambda _who: nullcontext()))(self._who()):
            while time.monotonic() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
                if self._try(command):
                    return
        h = self.holder()
        raise WorkspaceBusy(
            f"workspace busy: {h.get('command', 'another outcomes command')} since {h.get('since', '?')} "
            f"(process {h.get('pid', '?')}); waited {wait:g} s",
            hint="let it finish and try again, or wait longer with `outcomes --wait SECONDS ...` "
            "(or OUTCOMES_WAIT)",
        )

    def _who(self) -> str:
        h = self.holder()
        return f"{h.get('command', 'another outcomes command')} (process {h.get('pid', '?')}) since {h.get('since', '?')}"

    def release(self) -> None:
        if not self.held:
            return
        import fcntl

        self.held = False
        with _HELD_GUARD:
            entry = _HELD.get(self.path)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del _HELD[self.path]
                fcntl.flock(entry[0].fileno(), fcntl.LOCK_UN)
                entry[0].close()


@dataclass
class Settings:
    root: Path
    facts_path: Path
    ledger_url: str
    memory_limit: str | None = None
    threads: int | None = None
    engine: str = "duckdb"
    spark_master: str | None = None
    spark_parquet: str | None = None
    spark_tables: dict[str, str] = field(default_factory=dict)
    spark_evidence: str | None = None
    spark_evidence_database: str | None = None
    spark_conf: dict[str, str] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Settings:
        path = root / SETTINGS_FILE
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(
                f"{path}: not valid TOML ({exc}); fix the file or run `outcomes init` again"
            ) from None
        facts = raw.get("facts", {})
        ledger = raw.get("ledger", {})
        values = {
            "facts_path": str(facts.get("path", "facts.duckdb")),
            "ledger_url": str(ledger.get("url", "sqlite:///ledger.sqlite")),
            "memory_limit": str(facts.get("memory_limit", "")),
            "threads": str(facts.get("threads", 0)),
            "engine": str(facts.get("engine", "duckdb")),
            "spark_master": str(facts.get("spark_master", "")),
            "spark_parquet": str(facts.get("spark_parquet", "")),
            "spark_tables": facts.get("spark_tables", {}),
            "spark_evidence": str(facts.get("spark_evidence", "")),
            "spark_evidence_database": str(facts.get("spark_evidence_database", "")),
        }
        for key, var in ENVIRONMENT.items():
            if os.environ.get(var):
                values[key] = os.environ[var]
        facts_path = Path(values["facts_path"])
        if not facts_path.is_absolute():
            facts_path = root / facts_path
        try:
            threads = int(values["threads"]) or None
        except ValueError:
            raise WorkspaceError(
                f"{path}: facts.threads must be a whole number, got {values['threads']!r}"
            ) from None
        engine = values["engine"].strip().lower()
        if engine not in ENGINES:
            raise WorkspaceError(
                f'{path}: facts.engine must be "duckdb" or "spark", got {values["engine"]!r} '
                f"(or check {ENVIRONMENT['engine']})"
            )
        tables = _spark_tables(values["spark_tables"], path)
        conf = facts.get("spark_conf", {})
        if not isinstance(conf, dict):
            raise WorkspaceError(f"{path}: facts.spark_conf must be a table of Spark settings")
        return cls(
            root=root,
            facts_path=facts_path,
            ledger_url=_absolute_sqlite(values["ledger_url"], root),
            memory_limit=values["memory_limit"] or None,
            threads=threads,
            engine=engine,
            spark_master=values["spark_master"] or None,
            spark_parquet=_location(values["spark_parquet"], root),
            spark_tables=tables,
            spark_evidence=_location(values["spark_evidence"], root),
            spark_evidence_database=values["spark_evidence_database"] or None,
            spark_conf={str(k): str(v) for k, v in conf.items()},
            raw=raw,
        )


def _location(value: str, root: Path) -> str | None:
    """A folder relative to the workspace, or a URI (``s3a://...``, ``hdfs://...``) as written."""
    if not value:
        return None
    if "://" in value or value.startswith("file:"):
        return value
    p = Path(value)
    return str(p if p.is_absolute() else (root / p).resolve())


def _spark_tables(value, path: Path) -> dict[str, str]:
    """facts.spark_tables: a TOML table, or (from OUTCOMES_SPARK_TABLES) "interactions=db.i,events=db.e"."""
    if isinstance(value, str):
        pairs = [p.strip() for p in value.split(",") if p.strip()]
        if any("=" not in p for p in pairs):
            raise WorkspaceError(
                f"{ENVIRONMENT['spark_tables']}: write the tables as interactions=db.table,events=db.table"
            )
        value = dict(p.split("=", 1) for p in pairs)
    if not isinstance(value, dict):
        raise WorkspaceError(
            f'{path}: facts.spark_tables must be a table such as {{ interactions = "db.t" }}'
        )
    tables = {str(k).strip(): str(v).strip() for k, v in value.items() if str(v).strip()}
    unknown = sorted(set(tables) - set(SPARK_TABLE_NAMES))
    if unknown:
        raise WorkspaceError(
            f"{path}: facts.spark_tables names {', '.join(unknown)}; the tables are "
            + ", ".join(SPARK_TABLE_NAMES)
        )
    return tables


def _absolute_sqlite(url: str, root: Path) -> str:
    """A relative SQLite path is relative to the workspace, not to wherever the command runs."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((root / url[len(prefix) :]).resolve())
    return url


class Workspace:
    def __init__(
        self,
        root: Path,
        *,
        command: str = "outcomes",
        wait: float = DEFAULT_WAIT,
        waiting: Callable[[str], AbstractContextManager] | None = None,
    ):
        self.root = root
        self.settings = Settings.load(root)
        self._facts = None
        self._duckdb = None
        self._ledger = None
        # the workspace lock, taken when the facts store is first opened (see the module's docstring)
        self.command, self.wait, self.waiting = command, wait, waiting
        self.lock = WorkspaceLock(root)

    @property
    def evidence_dir(self) -> Path:
        return self.root / "evidence"

    def facts(self) -> Facts:
        """The facts engine of the settings: the DuckDB store, or the facts Spark reads."""
        if self._facts is None:
            if self.settings.engine == "spark":
                self._facts = self._spark_facts()
            else:
                self._facts = self.duckdb_facts()
        return self._facts

    def duckdb_facts(self) -> FactsStore:
        """The DuckDB facts store (where ingest writes, whatever the engine)."""
        if self.settings.engine != "spark":
            if self._facts is None:
                self._facts = self._open_duckdb()
            return self._facts
        if self._duckdb is None:
            self._duckdb = self._open_duckdb()
        return self._duckdb

    def _open_duckdb(self):
        from outcomes.facts import FactsStore

        if not self.lock.held:
            self.lock.acquire(self.command, self.wait, self.waiting)
        try:
            return FactsStore(
                self.settings.facts_path,
                memory_limit=self.settings.memory_limit,
                threads=self.settings.threads,
            )
        except Exception as exc:
            import duckdb

            if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
                # a process of an older outcomes (which took no workspace lock) holds the file
                self.lock.release()
                raise WorkspaceBusy(
                    f"workspace busy: {self.settings.facts_path} is open in another process "
                    f"({' '.join(str(exc).split())[:200]})",
                    hint="let it finish and try again",
                ) from None
            self.lock.release()
            raise

    def _spark_facts(self):
        s = self.settings
        where = self.root / SETTINGS_FILE
        if (s.spark_parquet is None) == (not s.spark_tables):
            raise WorkspaceError(
                f"{where}: facts.engine is spark: set exactly one of facts.spark_parquet (a Parquet folder, "
                f"{ENVIRONMENT['spark_parquet']}) or facts.spark_tables (catalog tables, "
                f"{ENVIRONMENT['spark_tables']})"
            )
        try:
            from outcomes.facts.spark import SparkFacts, SparkFactsError, spark_session
        except ImportError as exc:
            raise WorkspaceError(
                f"facts.engine is spark but pyspark cannot be imported ({exc}); install outcomes with its "
                "pinned dependencies (`make setup`)"
            ) from None
        try:
            session = spark_session(s.spark_master, s.spark_conf)
        except Exception as exc:  # no Java, a master that cannot be reached
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WorkspaceError(
                f"facts.engine is spark but no Spark session could start at "
                f"{s.spark_master or 'the default master'} ({first}); check Java 17 (JAVA_HOME) and "
                f"facts.spark_master / {ENVIRONMENT['spark_master']}"
            ) from None
        evidence = None if s.spark_evidence_database else (s.spark_evidence or str(self.evidence_dir))
        try:
            return SparkFacts(
                session,
                parquet=s.spark_parquet,
                tables=s.spark_tables or None,
                evidence_path=evidence,
                evidence_database=s.spark_evidence_database,
            )
        except SparkFactsError as exc:
            raise WorkspaceError(str(exc)) from None

    def ledger(self) -> Ledger:
        if self._ledger is None:
            from outcomes.ledger import Ledger

            self._ledger = Ledger(self.settings.ledger_url)
        return self._ledger

    def close(self) -> None:
        if self._facts is not None:
            self._facts.close()
            self._facts = None
        if self._duckdb is not None:
            self._duckdb.close()
            self._duckdb = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self.lock.release()


def init_workspace(root: Path, **options) -> Workspace:
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    settings = root / SETTINGS_FILE
    if not settings.exists():
        settings.write_text(DEFAULT_SETTINGS, encoding="utf-8")
    ws = Workspace(root, **options)
    ws.duckdb_facts()  # creates the DuckDB file and its tables
    ws.ledger()  # creates the ledger schema
    return ws


def find_workspace(explicit: Path | None = None, **options) -> Workspace:
    if explicit is not None:
        root, how = explicit, "--workspace"
    elif os.environ.get("OUTCOMES_WORKSPACE"):
        root, how = Path(os.environ["OUTCOMES_WORKSPACE"]), "OUTCOMES_WORKSPACE"
    else:
        root, how = Path.cwd(), "the current directory"
    root = root.resolve()
    if not (root / SETTINGS_FILE).exists():
        raise WorkspaceError(
            f"{root} ({how}) is not an outcomes workspace: no {SETTINGS_FILE}. "
            f"Create one with `outcomes init {root}` or point --workspace / OUTCOMES_WORKSPACE at one."
        )
    return Workspace(root, **options)
