"""The facts store: a DuckDB file holding versioned interactions and customer events.

Every ingest is one batch, entirely in SQL over the file (no Python loop over rows):

1. read + type + validate every row into a connection-local temporary stage (``validate.stage_query``);
2. find keys repeated within the file: identical repeats count as ``duplicates``, repeats with different
   content are all quarantined as ``duplicate_id``;
3. in ONE transaction (all or nothing: any error or KeyboardInterrupt rolls it back and the store is
   exactly as before): compare each valid row with the current version of its key: same ``_hash`` ->
   ``duplicates`` (nothing written); other content -> ``updated`` (the current version gets
   ``_until = batch``, the new one is inserted, nothing is overwritten); unknown key -> ``accepted``;
   write the quarantine rows, close superseded versions, insert new versions and record the batch.

A batch is recorded for every ingest that reads its file, even when nothing changes (re-ingesting a file
gives a batch whose rows are all duplicates), so the audit trail shows every attempt. Such a batch changes
no fact, so ``digest(b)`` equals ``digest(b - 1)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import ibis

from . import rejects
from .dialect import EVIDENCE_COMPRESSION, to_sql
from .errors import IngestError
from .quarantine import quarantine_once
from .schema import DDL, KINDS, SCHEMA_VERSION, Kind
from .sources import Source, detect_format, ident, lit, open_source, read_error_text
from .validate import StageQuery, raw_query, row_hash_sql, stage_query
from .versions import check_batch, visible

Progress = Callable[[str, int, int], None]
#: Called inside an ingest's transaction before it commits (see FactsStore.ingest); raising rolls it back.
Check = Callable[[duckdb.DuckDBPyConnection, "IngestSummary"], None]

_STAGE = "_facts_stage"
_GROUPS = "_facts_groups"
_DUPS = "_facts_dups"
_TEMPS = (_STAGE, _GROUPS, _DUPS)
_WRITE_STEPS = 4
_TWO64 = 1 << 64

DIGEST_VERSION = "outcomes.facts.digest/v1"
CHAIN_VERSION = "outcomes.facts.chain/v1"
CHAIN_GENESIS = "sha256:" + "0" * 64


@dataclass(frozen=True)
class _Staged:
    file: str
    fmt: str
    rows: int
    reasons: list[str]  # by _ci - 1
    fields: list[str | None]
    repeats: int  # rows with _ci = 0 (identical repeats of an earlier row of the file)
    quarantined: int  # rows with _ci > 0


@dataclass
class IngestSummary:
    batch: int | None
    kind: str
    file: str
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    quarantined: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    # the digest of the facts as of this batch, and the facts chain's value after it (see FactsStore.chain)
    digest: str | None = None
    facts_chain: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _file_sha256(path: Path, out: dict[str, str]) -> None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        out["sha256"] = digest.hexdigest()
    except OSError:  # the reader reports the problem
        pass


#: The order a batch of interactions is stored in. Settlement's hot step is the repeat-contact window
#: (partitioned by customer, in contact order): rows already in that order make its sort cheaper, and
#: clustering by month lets a period's reads skip the row groups of other months. Order never changes what is
#: read: the digest and every query are independent of it. Events are stored as they come (no window sorts
#: them).
STORAGE_ORDER = {
    "interactions": "date_trunc('month', opened_at), source, customer_id, opened_at, closed_at NULLS LAST, "
    "interaction_id",
}

#: How much write-ahead log a store that defers checkpoints (`FactsStore.defer_checkpoints`) lets build up:
#: about 285 batches of 5,000 interactions (0.94 MB each in the log, bench/server.py's batches).
WAL_LIMIT = "256MiB"

#: A SQL string literal ('' inside is a quote): what changes between two batches' staging queries.
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
#: How many staging query shapes a connection remembers as order-preserving (a few per kind and format).
_ORDER_SAFE_KEPT = 256

#: Where a file-backed store keeps evidence files, relative to the facts file's folder.
EVIDENCE_DIR = "evidence"
#: An evidence file being written (renamed without it once complete).
PARTIAL_SUFFIX = ".partial"


class FactsStore:
    """Versioned facts in one DuckDB database (a file, or ``':memory:'``)."""

    engine = "duckdb"

    def __init__(self, path: Path | str, *, memory_limit: str | None = None, threads: int | None = None):
        self.path = str(path)
        config: dict[str, Any] = {}
        if memory_limit:  # None or '' -> DuckDB's default (80% of RAM)
            config["memory_limit"] = memory_limit
        if threads:  # None or 0 -> DuckDB's default (one per core)
            config["threads"] = int(threads)
        self.con: duckdb.DuckDBPyConnection = duckdb.connect(self.path, config=config)
        _configure(self.con)
        self._ibis: ibis.BaseBackend | None = None
        self._order_safe: set[str] = set()  # staging query shapes whose plan keeps the rows' order
        self.evidence_dir: Path | None = None
        if self.path != ":memory:":
            self.evidence_dir = Path(self.path).resolve().parent / EVIDENCE_DIR
        self._create_schema()
        if self.evidence_dir is not None:
            self._follow_evidence()

    # -- schema ---------------------------------------------------------------------------------
    def _create_schema(self) -> None:
        self.con.begin()
        try:
            for ddl in DDL:
                self.con.execute(ddl)
            found = self.con.execute("SELECT value FROM facts_meta WHERE key = 'schema_version'").fetchone()
            if found is None:
                self.con.execute("INSERT INTO facts_meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
            elif found[0] != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: facts store schema version {found[0]} is not supported "
                    f"(this outcomes version reads {SCHEMA_VERSION})"
                )
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def ibis(self) -> ibis.BaseBackend:
        if self._ibis is None:
            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def close(self) -> None:
        self.con.close()

    def defer_checkpoints(self, wal_limit: str = WAL_LIMIT) -> None:
        """Write batches to the write-ahead log until it holds `wal_limit`, not DuckDB's 16 MB: for a process that
        takes a stream of small batches (the server), which then calls `checkpoint` when the stream pauses.

        A checkpoint costs about a second at 1.4M stored rows (2 s at 14M) however few rows it adds, and DuckDB's
        default ran one every 10 to 20 batches of 5,000 rows, inside a batch's commit: a third of the ingest's
        time (bench/server.py, the floors). The log is replayed if the process stops before a checkpoint, so no
        committed batch is lost. A setting of the database, so of every session too."""
        self.con.execute(f"SET checkpoint_threshold = {lit(wal_limit)}")

    def checkpoint(self) -> None:
        """Write the log's batches into the database file (DuckDB's CHECKPOINT)."""
        self.con.execute("CHECKPOINT")

    def session(self) -> FactsStore:
        """The same store through a connection of its own (its own temporary tables and transaction): several
        sessions stage batches at once, each writing its batch under the `write_lock` given to `ingest`.
        Close it after use; closing it leaves the store open."""
        other = copy.copy(self)
        other.con = self.con.cursor()
        _configure(other.con)
        other._ibis = None
        return other

    def __enter__(self) -> FactsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------
    @staticmethod
    def _visible_sql(as_of_batch: int | None) -> str:
        if as_of_batch is None:
            return "_until IS NULL"
        b = check_batch(as_of_batch)
        return f"(_batch <= {b} AND (_until IS NULL OR _until > {b}))"

    def versions(self, name: str) -> ibis.Table:
        """Every stored version of a facts table, with `_batch`, `_until` and `_hash` (its history)."""
        return self.ibis().table(name)

    def _table(self, name: str, as_of_batch: int | None) -> ibis.Table:
        return visible(self.versions(name), name, as_of_batch)

    def interactions(self, as_of_batch: int | None = None) -> ibis.Table:
        """Interactions visible now (or as of a batch), canonical columns, times as naive UTC."""
        return self._table("interactions", as_of_batch)

    def events(self, as_of_batch: int | None = None) -> ibis.Table:
        """Customer events visible now (or as of a batch), canonical columns, times as naive UTC."""
        return self._table("events", as_of_batch)

    def latest_batch(self) -> int:
        return int(self.con.execute("SELECT coalesce(max(batch), 0) FROM batches").fetchone()[0])

    def contact_clock(self, system_of_record: str, as_of_batch: int | None = None) -> datetime | None:
        """The latest opened_at (naive UTC) among visible interactions whose source is system_of_record."""
        # a literal, not a bound parameter: the first parameterised query makes DuckDB's Python client import
        # pandas/numpy/pyarrow (about half a second that a settlement would otherwise pay)
        row = self.con.execute(
            f"SELECT max(opened_at) FROM interactions WHERE source = {lit(system_of_record)} "
            f"AND {self._visible_sql(as_of_batch)}"
        ).fetchone()
        return row[0]

    def event_clock(self, as_of_batch: int | None = None) -> datetime | None:
        """The latest `at` (naive UTC) among visible customer events."""
        visible = self._visible_sql(as_of_batch)
        return self.con.execute(f'SELECT max("at") FROM events WHERE {visible}').fetchone()[0]

    def digest(self, as_of_batch: int | None = None, *, recount: bool = False) -> str:
        """A digest of the fact versions visible as of a batch (default: now).

        It depends only on the visible rows' content: per table, the row count and the sums modulo 2^64 of
        the two 64-bit halves of every row's ``_hash`` (md5 of the row's canonical text), written as
        ``"<version>\\n<table> <count> <sum_hi:016x> <sum_lo:016x>\\n"`` for interactions then events, and
        hashed with SHA-256. Storage order, batch split and input format do not change it.

        ``recount``: sum the rows as stored now instead of reading the sums the ingest kept, so that rows
        deleted or edited behind the ingest's back change the result (`outcomes rerun`, `audit verify`).
        """
        batch = self.latest_batch() if as_of_batch is None else check_batch(as_of_batch)
        if recount:
            return self.recounted_digests(upto=batch).get(batch) or _digest_text(
                {name: (0, 0, 0) for name in ("interactions", "events")}
            )
        return _digest_text({name: self._digest_sums(name, batch) for name in ("interactions", "events")})

    def recounted_digests(self, upto: int | None = None) -> dict[int, str]:
        """The digest as of every batch (1 .. `upto`, default the latest), recomputed from the rows as stored
        now in one pass per table: the versions each batch wrote minus those it closed, summed batch by batch."""
        last = self.latest_batch() if upto is None else check_batch(upto)
        per_table: dict[str, tuple[dict[int, tuple[int, int, int]], dict[int, tuple[int, int, int]]]] = {}
        for name in ("interactions", "events"):
            sums = (
                "count(*), coalesce(sum(CAST(('0x' || substr(_hash, 1, 16)) AS UBIGINT)), 0), "
                "coalesce(sum(CAST(('0x' || substr(_hash, 17, 16)) AS UBIGINT)), 0)"
            )
            added = {
                int(b): (int(n), int(hi), int(lo))
                for b, n, hi, lo in self.con.execute(
                    f"SELECT _batch, {sums} FROM {name} GROUP BY _batch"
                ).fetchall()
            }
            closed = {
                int(b): (int(n), int(hi), int(lo))
                for b, n, hi, lo in self.con.execute(
                    f"SELECT _until, {sums} FROM {name} WHERE _until IS NOT NULL GROUP BY _until"
                ).fetchall()
            }
            per_table[name] = (added, closed)
        running = {name: (0, 0, 0) for name in per_table}
        out: dict[int, str] = {}
        for b in range(1, last + 1):
            for name, (added, closed) in per_table.items():
                n, hi, lo = running[name]
                an, ahi, alo = added.get(b, (0, 0, 0))
                cn, chi, clo = closed.get(b, (0, 0, 0))
                running[name] = (n + an - cn, hi + ahi - chi, lo + alo - clo)
            out[b] = _digest_text(running)
        return out

    def chain(self) -> list[tuple[int, str, str]]:
        """The facts chain as the ingests kept it: (batch, digest as of the batch, chain value) for every batch
        of interactions or events written since it exists. chain(b) = SHA-256 of [CHAIN_VERSION, chain of the
        batch before it in this list, b, digest(b)], so the last value commits to every digest before it."""
        return [
            (int(b), str(d), str(c))
            for b, d, c in self.con.execute(
                "SELECT batch, digest, chain FROM batch_digests ORDER BY batch"
            ).fetchall()
        ]

    def _keep_chain(self, batch: int, digest: str) -> tuple[str, str]:
        """Inside the ingest's transaction: the chain's next value after `batch`, whose digest is `digest`."""
        found = self.con.execute(
            f"SELECT chain FROM batch_digests WHERE batch < {int(batch)} ORDER BY batch DESC LIMIT 1"
        ).fetchone()
        value = chain_value(CHAIN_GENESIS if found is None else str(found[0]), batch, digest)
        self.con.execute(f"INSERT INTO batch_digests VALUES ({int(batch)}, {lit(digest)}, {lit(value)})")
        return digest, value

    def _digest_sums(self, name: str, batch: int) -> tuple[int, int, int]:
        """(count, sum of hash high halves, sum of low halves) mod 2^64 of the versions visible as of `batch`:
        kept per batch by the ingest, else summed over the table (a store written before they were kept)."""
        row = self.con.execute(
            f"SELECT n, hi, lo FROM digest_sums WHERE batch = {int(batch)} AND tbl = {lit(name)}"
        ).fetchone()
        if row is None:
            row = self._hash_sums(name, self._visible_sql(batch))
        return int(row[0]), int(row[1]) % _TWO64, int(row[2]) % _TWO64

    def _hash_sums(self, name: str, where: str) -> tuple[int, int, int]:
        n, hi, lo = self.con.execute(
            f"SELECT count(*), {_half_sums('_hash')} FROM {name} WHERE {where}"
        ).fetchone()
        return int(n), int(hi) % _TWO64, int(lo) % _TWO64

    def _keep_digest_sums(
        self,
        batch: int,
        table: str,
        written: tuple[int, int, int] = (0, 0, 0),
        closed: tuple[int, int, int] = (0, 0, 0),
    ) -> dict[str, tuple[int, int, int]]:
        """Inside the ingest's transaction: the running sums as of `batch` = those as of the batch before,
        plus the versions this batch wrote to `table` (`written`: count and hash sums), minus the versions it
        closed (`closed`); kept, and returned for the digest. A batch of another table (transcripts) carries
        them over."""
        before = {
            str(t): (int(n), int(hi), int(lo))
            for t, n, hi, lo in self.con.execute(
                f"SELECT tbl, n, hi, lo FROM digest_sums WHERE batch = {int(batch) - 1}"
            ).fetchall()
        }
        sums: dict[str, tuple[int, int, int]] = {}
        for name in ("interactions", "events"):
            if batch <= 1:
                n, hi, lo = 0, 0, 0
            elif name in before:
                n, hi, lo = before[name]
            else:  # a store written before the sums were kept
                n, hi, lo = self._digest_sums(name, batch - 1)
            if name == table:
                n = n + written[0] - closed[0]
                hi, lo = (hi + written[1] - closed[1]) % _TWO64, (lo + written[2] - closed[2]) % _TWO64
            sums[name] = (n, hi % _TWO64, lo % _TWO64)
        self.con.execute(
            "INSERT INTO digest_sums VALUES "
            + ", ".join(f"({int(batch)}, {lit(name)}, {n}, {hi}, {lo})" for name, (n, hi, lo) in sums.items())
        )
        return sums

    def tampered_rows(self, as_of_batch: int | None) -> dict[str, int]:
        """Rows visible as of the batch (None: every stored version) whose stored `_hash` no longer matches
        their content: an edit made behind the ingest's back (`outcomes rerun`, `outcomes audit verify`)."""
        visible = "TRUE" if as_of_batch is None else self._visible_sql(as_of_batch)
        return {
            name: int(
                self.con.execute(
                    f"SELECT count(*) FROM {name} WHERE {visible} AND _hash <> {row_hash_sql(KINDS[name])}"
                ).fetchone()[0]
            )
            for name in ("interactions", "events")
        }

    # -- evidence -------------------------------------------------------------------------------
    def write_evidence(self, table: str, sqls: list[str]) -> list[dict[str, Any]]:
        """Write the evidence of every outcome (one SQL query each, one schema for all) under the name `table`;
        return the counts by outcome, workflow, status and reason with the sum of `value`.

        A file-backed store writes evidence as a Parquet file in `evidence/` beside the facts file, read through
        a view of the same name: writing Parquet costs about 60% of what a DuckDB table costs (measured: `make
        bench`), and an auditor can open the file with any tool. An in-memory store keeps a table.
        """
        union = "\nUNION ALL\n".join(f"SELECT * FROM (\n{sql}\n)" for sql in sqls)
        con = self.con
        self.drop_table(table)
        (keep_order,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
        # Row order means nothing in evidence, so the write need not keep it; the setting is put back as it was.
        con.execute("SET preserve_insertion_order = false")
        try:
            if self.evidence_dir is not None:
                self.evidence_dir.mkdir(parents=True, exist_ok=True)
                # written under a temporary name and renamed once complete: a process killed mid-write leaves
                # a `.partial` file (`outcomes doctor` removes it), never a truncated file under the real name
                final = self._evidence_file(table)
                partial = final.with_name(final.name + PARTIAL_SUFFIX)
                con.execute(f"COPY ({union}) TO {lit(str(partial))} (FORMAT parquet)")
                os.replace(partial, final)
                self._evidence_view(table)
            else:
                # Naming each text column's compression (the one DuckDB settles on anyway) spares the write
                # DuckDB's trial of every method.
                columns = ", ".join(
                    f'"{name}" {kind}'
                    + (
                        f" USING COMPRESSION {EVIDENCE_COMPRESSION[name]}"
                        if name in EVIDENCE_COMPRESSION
                        else ""
                    )
                    for name, kind, *_ in con.execute(f"DESCRIBE {union}").fetchall()
                )
                con.execute(f'CREATE TABLE "{table}" ({columns})')
                con.execute(f'INSERT INTO "{table}" {union}')
        except BaseException:
            self.drop_table(table)
            if self.evidence_dir is not None:
                partial = self._evidence_file(table)
                partial.with_name(partial.name + PARTIAL_SUFFIX).unlink(missing_ok=True)
            raise
        finally:
            con.execute(f"SET preserve_insertion_order = {'true' if keep_order else 'false'}")
        cur = con.execute(
            "SELECT outcome, workflow, status, reason, count(*) AS n, sum(value) AS value "
            f'FROM "{table}" GROUP BY ALL'
        )
        return _dicts(cur)

    def _evidence_view(self, table: str) -> None:
        # an absolute path, so that any DuckDB client opening the facts file reads the evidence by name
        self.con.execute(
            f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM read_parquet({lit(str(self._evidence_file(table)))})'
        )

    def _follow_evidence(self) -> None:
        """Point evidence views at this folder's files when the workspace has moved since they were made."""
        assert self.evidence_dir is not None
        here = lit("%" + str(self.evidence_dir) + "/%")
        for (name,) in self.con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND view_name LIKE 'evidence%' "
            f"AND sql NOT LIKE {here}"
        ).fetchall():
            if self._evidence_file(name).exists():
                self._evidence_view(name)

    def evidence_location(self, table: str) -> str:
        """Where the evidence of `table` is kept: its Parquet file (an in-memory store: the table itself)."""
        return (
            str(self._evidence_file(table)) if self.evidence_dir is not None else f"table {table} in memory"
        )

    def _evidence_file(self, table: str) -> Path:
        assert self.evidence_dir is not None
        return self.evidence_dir / f"{table}.parquet"

    def drop_table(self, table: str) -> None:
        """Drop an evidence table (or view and its file), if it exists."""
        found = self.con.execute(
            f"SELECT table_type FROM information_schema.tables WHERE table_name = {lit(table)}"
        ).fetchone()
        if found is not None:
            kind = "VIEW" if found[0] == "VIEW" else "TABLE"
            self.con.execute(f'DROP {kind} "{table}"')
        if self.evidence_dir is not None:
            self._evidence_file(table).unlink(missing_ok=True)

    def compile(self, expr: ibis.Expr) -> str:
        """The DuckDB SQL of an Ibis expression over this store (what write_evidence runs, explain shows)."""
        return to_sql(expr)

    def evidence(self, table: str) -> ibis.Table:
        """A stored evidence table as an Ibis table."""
        return self.ibis().table(table)

    def evidence_names(self) -> dict[str, list[str]]:
        """What evidence the store holds, for `outcomes doctor`: views and tables named `evidence…`, the
        Parquet files of the evidence folder, and the `.partial` files of writes that never finished."""
        found = {
            "tables": [
                str(r[0])
                for r in self.con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'evidence%' "
                    "ORDER BY 1"
                ).fetchall()
            ],
            "files": [],
            "partial": [],
        }
        if self.evidence_dir is not None and self.evidence_dir.is_dir():
            for p in sorted(self.evidence_dir.iterdir()):
                if p.name.endswith(PARTIAL_SUFFIX):
                    found["partial"].append(p.name)
                elif p.suffix == ".parquet":
                    found["files"].append(p.stem)
        return found

    def remove_partial(self, name: str) -> None:
        if self.evidence_dir is not None and name.endswith(PARTIAL_SUFFIX) and "/" not in name:
            (self.evidence_dir / name).unlink(missing_ok=True)

    def has_table(self, table: str) -> bool:
        found = self.con.execute(
            f"SELECT count(*) FROM information_schema.tables WHERE table_name = {lit(table)}"
        ).fetchone()[0]
        return bool(found)

    def quarantine(self, batch: int | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE batch = ?", [batch]) if batch is not None else ("", [])
        cur = self.con.execute(
            'SELECT batch, kind, file, "row", field, reason, message, raw FROM quarantine '
            f'{where} ORDER BY batch, "row"',
            params,
        )
        return _dicts(cur)

    def batches(self) -> list[dict[str, Any]]:
        cur = self.con.execute("SELECT * FROM batches ORDER BY batch")
        out = _dicts(cur)
        for row in out:
            row["reasons"] = json.loads(row["reasons"]) if row["reasons"] else {}
        return out

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(
        self,
        kind: Literal["interactions", "events"],
        file: Path,
        *,
        fmt: str | None = None,
        timezone: str | None = None,
        now: datetime | None = None,
        progress: Progress | None = None,
        name: str | None = None,
        check: Check | None = None,
        write_lock: AbstractContextManager[Any] | None = None,
    ) -> IngestSummary:
        """Ingest one canonical file as one batch; all or nothing.

        ``fmt``: csv | parquet | jsonl (default: from the file name). ``timezone``: the zone of naive
        timestamp texts (without it they are quarantined as ``missing_timezone``). ``now``: the time of
        ingest (default: the current time), used for ``future_timestamp`` and recorded as ``ingested_at``.
        ``progress(stage, done, total)`` is called on the caller's thread with stages ``read`` (percent of
        the file, total 100), ``validate`` (rows) and ``write`` (steps). ``name``: what the batch and the
        quarantine record as the file (default: its path), e.g. a batch received by the server.
        ``check(con, summary)`` is called inside the write transaction, after the batch is written and before
        it is committed: what it writes commits with the batch, and an exception it raises rolls the whole batch
        back (e.g. the refusal of a change to a settled period; the server's idempotency receipt).
        ``write_lock``: held around the write transaction only, so that sessions (`session`) read and validate
        their files at the same time and write one after the other.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be 'interactions' or 'events', not {kind!r}")
        spec = KINDS[kind]
        path = Path(file)
        if timezone is not None:
            _check_timezone(self.con, path, timezone)
        moment = _naive_utc(now if now is not None else datetime.now(UTC))
        fmt_name = detect_format(path, fmt)
        if not path.is_file():
            raise IngestError(f"{path}: file not found; check the path")
        report = progress or _no_progress

        sha: dict[str, str] = {}
        hasher = threading.Thread(target=_file_sha256, args=(path, sha), daemon=True)
        hasher.start()
        try:
            # only the CSV reader keeps rejected lines (facts/rejects.py)
            csv = fmt_name == "csv"
            with self._ingesting(*(rejects.TEMP_TABLES if csv else ())):
                if csv:
                    rejects.clear(self.con)
                source = open_source(self.con, spec, path, fmt_name)
                query = stage_query(spec, source, timezone=timezone, now=moment)
                staged = self._stage(spec, path, source, query, report)
                if name is not None:
                    staged = replace(staged, file=name)
                hasher.join()
                with write_lock or nullcontext(), self._transaction():
                    summary = self._write(spec, staged, moment, timezone, sha.get("sha256"), report)
                    batch = int(summary.batch or 0)
                    found = (
                        rejects.quarantine(self.con, batch, spec.name, staged.file, len(source.types))
                        if csv
                        else {}
                    )
                    if found:
                        rejects.add_to_batch(self.con, summary, found)
                    if summary.quarantined:
                        quarantine_once(self.con, batch)
                    if check is not None:
                        check(self.con, summary)
        finally:
            hasher.join()
        return summary

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """All or nothing: a failure (or Ctrl-C) rolls every write of the block back."""
        self.con.begin()
        try:
            yield
            self.con.commit()
        except BaseException as exc:
            try:
                self.con.rollback()
            except duckdb.Error as failed:  # keep the original error in front
                exc.add_note(f"rolling the ingest back failed too: {failed}")
            raise

    @contextmanager
    def _ingesting(self, *temp_tables: str) -> Iterator[None]:
        """Around an ingest: Ctrl-C surfaces as KeyboardInterrupt, and the temporary tables are dropped."""
        try:
            yield
        except Exception as exc:
            # Ctrl-C while DuckDB runs a statement on this thread surfaces as "Query interrupted"
            if isinstance(exc, duckdb.InterruptException) or isinstance(exc.__cause__, KeyboardInterrupt):
                raise KeyboardInterrupt from exc
            raise
        finally:
            self._drop_temps(*temp_tables)

    def ingest_relation(
        self,
        kind: Literal["interactions", "events"],
        relation_sql: str,
        *,
        source_file: Path | str,
        fmt: str,
        timezone: str | None = None,
        now: datetime | None = None,
        progress: Progress | None = None,
        check: Check | None = None,
    ) -> IngestSummary:
        """Ingest a SQL relation (a connector's mapped source) as one batch, through the same validation
        and write path as :meth:`ingest`; all or nothing.

        ``relation_sql`` yields one row per source unit (a source row, or a folded case) with: ``s_<name>``
        for each canonical column it provides (raw values, usually text), ``_src_row`` (the unit's 1-based
        source data row: its first row for a folded case), ``_skip`` (NULL, or the reason why the source
        says to ignore the unit) and ``_src_raw`` (the unit's source values as text). Skipped units are
        counted in ``skipped`` and ``reasons`` and written nowhere else; ``rows`` counts every unit. The
        quarantine and the batch name ``source_file`` and the SOURCE row numbers; ``fmt`` is recorded as
        the batch's format (e.g. ``mapping:technion-bank``).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be 'interactions' or 'events', not {kind!r}")
        spec = KINDS[kind]
        path = Path(source_file)
        if timezone is not None:
            _check_timezone(self.con, path, timezone)
        moment = _naive_utc(now if now is not None else datetime.now(UTC))
        report = progress or _no_progress
        sha: dict[str, str] = {}
        _file_sha256(path, sha)
        mapped = "_facts_mapped"
        con = self.con
        with self._ingesting(mapped):
            report("read", 0, 100)
            try:
                self._run_with_progress(
                    f"CREATE OR REPLACE TEMP TABLE {mapped} AS SELECT *, CASE WHEN _skip IS NULL THEN "
                    "count(*) FILTER (WHERE _skip IS NULL) OVER (ORDER BY _src_row ROWS UNBOUNDED PRECEDING) "
                    f"END AS _pos FROM ({relation_sql}) AS r ORDER BY _src_row",
                    report,
                )
            except (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException) as exc:
                raise IngestError(f"{path}: cannot read the file ({read_error_text(exc)})") from None
            skips = {
                str(r): int(n)
                for r, n in con.execute(
                    f"SELECT _skip, count(*) FROM {mapped} WHERE _skip IS NOT NULL GROUP BY 1 ORDER BY 1"
                ).fetchall()
            }
            described = con.execute(f"DESCRIBE SELECT * FROM {mapped}").fetchall()
            types = {
                str(r[0])[2:]: str(r[1])
                for r in described
                if str(r[0]).startswith("s_") and str(r[0])[2:] in spec.columns
            }
            types["source_row"] = "BIGINT"
            types["source_values"] = "VARCHAR"
            relation = (
                f"SELECT *, _src_row AS s_source_row, _src_raw AS s_source_values FROM {mapped} "
                "WHERE _skip IS NULL"
            )
            source = Source(fmt, relation, types, False)
            query = stage_query(spec, source, timezone=timezone, now=moment)
            staged = self._stage(spec, path, source, query, report)
            with self._transaction():
                summary = self._write(spec, staged, moment, timezone, sha.get("sha256"), report)
                batch = summary.batch
                con.execute(
                    f'UPDATE quarantine SET "row" = m._src_row FROM {mapped} AS m '
                    f'WHERE quarantine.batch = {batch} AND quarantine."row" = m._pos'
                )
                if summary.reasons.get("duplicate_id"):
                    # the duplicate_id message lists the rows holding the key: source rows too
                    rows_re = lit(r"\(rows ([0-9, ]+)\)$")
                    con.execute(
                        "UPDATE quarantine SET message = regexp_replace(quarantine.message, "
                        f"{rows_re}, '(source rows ' || f.rows || ')') FROM (SELECT q.rowid AS rid, "
                        "string_agg(CAST(m._src_row AS VARCHAR), ', ' ORDER BY m._src_row) AS rows "
                        f"FROM quarantine AS q, unnest(string_split(regexp_extract(q.message, {rows_re}, 1), "
                        f"', ')) AS t(p) JOIN {mapped} AS m ON m._pos = TRY_CAST(t.p AS BIGINT) "
                        f"WHERE q.batch = {batch} AND q.reason = 'duplicate_id' GROUP BY q.rowid) AS f "
                        "WHERE quarantine.rowid = f.rid"
                    )
                skipped = sum(skips.values())
                reasons = dict(summary.reasons)
                for reason, n in skips.items():
                    reasons[reason] = reasons.get(reason, 0) + n
                summary.rows += skipped
                summary.skipped = skipped
                summary.reasons = dict(sorted(reasons.items()))
                con.execute(
                    "UPDATE batches SET rows = ?, skipped = ?, reasons = ? WHERE batch = ?",
                    [summary.rows, skipped, json.dumps(summary.reasons, sort_keys=True), batch],
                )
                quarantine_once(con, int(batch or 0))
                if check is not None:
                    check(con, summary)
        return summary

    def _stage(self, spec: Kind, path: Path, source: Source, query: StageQuery, report: Progress) -> _Staged:
        """Read, type and validate every row into a temporary stage table (no persistent change).

        A row's number is its rowid + 1 in the stage. ``_ci`` is NULL for a valid row, > 0 for a
        quarantined one (1-based index into ``_Staged.reasons``), 0 for an identical repeat of an earlier
        row of the file. The stage is built outside the write transaction on purpose: DuckDB scans a table
        created inside the running transaction on one thread only.
        """
        con = self.con
        key = [ident(k) for k in spec.key]
        key_cols = ", ".join(key)
        reasons = list(query.reasons) + ["duplicate_id"]
        fields = list(query.fields) + [spec.key[-1] if spec.name == "interactions" else ",".join(spec.key)]

        self._check_order_preserving(query.sql)
        report("read", 0, 100)
        try:
            self._run_with_progress(f"CREATE TEMP TABLE {_STAGE} AS {query.sql}", report)
        except (duckdb.InvalidInputException, duckdb.IOException) as exc:
            raise IngestError(
                f"{path}: cannot read the file as {source.fmt} ({read_error_text(exc)})"
            ) from None
        report("read", 100, 100)
        not_null = " AND ".join(f"{k} IS NOT NULL" for k in key)
        bad = reasons.index("bad_json") + 1 if source.lines is not None and "bad_json" in reasons else -1
        # one pass for the counts: keys repeated within the file are possible only where two rows' key hashes
        # are equal (usually none: then no grouping at all)
        rows, keyed, distinct, repeats, quarantined, bad_json = (
            int(x)
            for x in con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {not_null}), "
                f"count(DISTINCT hash({key_cols})) FILTER (WHERE {not_null}), count(*) FILTER (WHERE _ci = 0), "
                f"count(*) FILTER (WHERE _ci > 0), count(*) FILTER (WHERE _ci = {bad}) FROM {_STAGE}"
            ).fetchone()
        )
        if quarantined:
            con.execute(
                f"UPDATE {_STAGE} SET _raw = d._raw, _message = d._message FROM ({query.details}) AS d "
                f"WHERE {_STAGE}._ci > 0 AND {_STAGE}.rowid + 1 = d._row"
            )
        if bad_json:
            con.execute(
                f"UPDATE {_STAGE} SET _raw = l.line FROM ({source.lines}) AS l "
                f"WHERE {_STAGE}._ci = {bad} AND {_STAGE}.rowid + 1 = l._row"
            )

        # keys repeated within the file (usually none): identical repeats are duplicates, repeats with
        # different content are all quarantined (duplicate_id). Candidates come from a 64-bit hash of the
        # key, which is cheap to group on; the exact keys are then grouped among the candidates only.
        report("validate", 0, rows)
        if distinct == keyed:
            return _Staged(str(path), source.fmt, rows, reasons, fields, repeats, quarantined)
        keyed_rows = f"{_STAGE} WHERE {not_null}"
        con.execute(
            f"CREATE TEMP TABLE {_GROUPS} AS SELECT {key_cols}, count(*) AS n, "
            "min(coalesce(_hash, _raw)) <> max(coalesce(_hash, _raw)) AS conflict "
            f"FROM {keyed_rows} AND hash({key_cols}) IN "
            f"(SELECT hash({key_cols}) FROM {keyed_rows} GROUP BY ALL HAVING count(*) > 1) "
            "GROUP BY ALL HAVING count(*) > 1"
        )
        repeated, conflicts = con.execute(
            f"SELECT count(*) FILTER (WHERE NOT conflict), count(*) FILTER (WHERE conflict) FROM {_GROUPS}"
        ).fetchone()
        if conflicts:
            self._quarantine_conflicts(spec, source, len(reasons))
        if repeated:
            g_join = " AND ".join(f"s.{k} = g.{k}" for k in key)
            con.execute(
                f"UPDATE {_STAGE} SET _ci = 0 WHERE rowid IN (SELECT s.rowid FROM {_STAGE} AS s "
                f"JOIN {_GROUPS} AS g ON {g_join} WHERE NOT g.conflict AND s._ci IS NULL "
                f"QUALIFY row_number() OVER (PARTITION BY {', '.join(f's.{k}' for k in key)} "
                "ORDER BY s.rowid) > 1)"
            )
        repeats, quarantined = con.execute(
            f"SELECT count(*) FILTER (WHERE _ci = 0), count(*) FILTER (WHERE _ci > 0) FROM {_STAGE}"
        ).fetchone()
        return _Staged(str(path), source.fmt, rows, reasons, fields, int(repeats), int(quarantined))

    def _write(
        self,
        spec: Kind,
        staged: _Staged,
        moment: datetime,
        timezone: str | None,
        file_sha256: str | None,
        report: Progress,
    ) -> IngestSummary:
        """Inside the transaction: classify the staged rows against the store and write the batch."""
        con = self.con
        table = spec.name
        key = [ident(k) for k in spec.key]
        key_cols = ", ".join(key)
        cols = ", ".join(ident(c) for c in spec.columns)
        batch = int(con.execute("SELECT coalesce(max(batch), 0) + 1 FROM batches").fetchone()[0])

        # compare the valid rows with the current versions of their keys; the same pass sums the hashes of
        # the versions the batch writes (new keys and changed content) and of those it closes, for the digest
        valid = f"(SELECT {key_cols}, _hash FROM {_STAGE} WHERE _ci IS NULL)"
        current = f"(SELECT {key_cols}, _hash FROM {table} WHERE _until IS NULL)"
        c_join = " AND ".join(f"s.{k} = c.{k}" for k in key)
        written, closed = "c._hash IS NULL OR c._hash <> s._hash", "c._hash <> s._hash"
        accepted, same, updated, w_hi, w_lo, c_hi, c_lo = (
            int(x)
            for x in con.execute(
                "SELECT count(*) FILTER (WHERE c._hash IS NULL), count(*) FILTER (WHERE c._hash = s._hash), "
                f"count(*) FILTER (WHERE c._hash <> s._hash), {_half_sums('s._hash', written)}, "
                f"{_half_sums('c._hash', closed)} FROM {valid} AS s LEFT JOIN {current} AS c ON {c_join}"
            ).fetchone()
        )
        by_reason = (
            {
                str(r): int(n)
                for r, n in con.execute(
                    f"SELECT {_list_sql(staged.reasons)}[_ci], count(*) FROM {_STAGE} WHERE _ci > 0 "
                    "GROUP BY ALL ORDER BY 1"
                ).fetchall()
            }
            if staged.quarantined
            else {}
        )
        repeats = staged.repeats
        quarantined = sum(by_reason.values())
        report("validate", staged.rows, staged.rows)

        # write: quarantine, close superseded versions, insert new versions, record the batch
        report("write", 0, _WRITE_STEPS)
        if quarantined:
            con.execute(
                f"INSERT INTO quarantine SELECT {batch}, {lit(table)}, {lit(staged.file)}, rowid + 1, "
                f"{_list_sql(staged.fields)}[_ci], {_list_sql(staged.reasons)}[_ci], _message, _raw "
                f"FROM {_STAGE} WHERE _ci > 0 ORDER BY rowid"
            )
        report("write", 1, _WRITE_STEPS)
        if updated:
            t_join = " AND ".join(f"{table}.{k} = s.{k}" for k in key)
            con.execute(
                f"UPDATE {table} SET _until = {batch} FROM {valid} AS s "
                f"WHERE {table}._until IS NULL AND {t_join} AND {table}._hash <> s._hash"
            )
        report("write", 2, _WRITE_STEPS)
        if accepted or updated:
            # leave out the rows whose current version has the same content (duplicates); the superseded
            # versions of updated rows were closed above
            unchanged = (
                f"AND NOT EXISTS (SELECT 1 FROM {current} AS c WHERE {c_join} AND c._hash = s._hash)"
                if same
                else ""
            )
            con.execute(
                f"INSERT INTO {table} ({cols}, _batch, _until, _hash) "
                f"SELECT {cols}, {batch}, NULL, _hash FROM {_STAGE} AS s WHERE s._ci IS NULL {unchanged}"
                + (f" ORDER BY {STORAGE_ORDER[table]}" if table in STORAGE_ORDER else "")
            )
        report("write", 3, _WRITE_STEPS)
        summary = IngestSummary(
            batch=batch,
            kind=table,
            file=staged.file,
            rows=staged.rows,
            accepted=accepted,
            duplicates=same + repeats,
            updated=updated,
            quarantined=quarantined,
            skipped=0,
            reasons=by_reason,
        )
        con.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch,
                table,
                staged.file,
                file_sha256,
                staged.fmt,
                timezone,
                moment,
                summary.rows,
                summary.accepted,
                summary.duplicates,
                summary.updated,
                summary.quarantined,
                summary.skipped,
                json.dumps(summary.reasons, sort_keys=True),
            ],
        )
        sums = self._keep_digest_sums(batch, table, (accepted + updated, w_hi, w_lo), (updated, c_hi, c_lo))
        summary.digest, summary.facts_chain = self._keep_chain(batch, _digest_text(sums))
        report("write", _WRITE_STEPS, _WRITE_STEPS)
        return summary

    def _quarantine_conflicts(self, spec: Kind, source: Source, dup_index: int) -> None:
        """Quarantine every valid row whose key appears in the file again with different content."""
        con = self.con
        key = [ident(k) for k in spec.key]
        join = " AND ".join(f"s.{k} = g.{k}" for k in key)
        if spec.name == "interactions":
            label = "'interaction_id ''' || s.interaction_id || ''' of source ''' || s.source || ''''"
        else:
            label = (
                "'customer_id ''' || s.customer_id || ''', event ''' || s.event || ''', at ' || "
                "CAST(s.\"at\" AS VARCHAR) || ' UTC'"
            )
        partition = ", ".join(f"s.{k}" for k in key)
        con.execute(
            f"CREATE TEMP TABLE {_DUPS} AS SELECT s.rowid + 1 AS _row, s._ci, {label} || ' appears ' || g.n "
            "|| ' times in the file with different content (rows ' || "
            f"array_to_string(list(s.rowid + 1) OVER (PARTITION BY {partition} ORDER BY s.rowid "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), ', ') || ')' AS _message "
            f"FROM {_STAGE} AS s JOIN {_GROUPS} AS g ON {join} WHERE g.conflict"
        )
        con.execute(
            f"UPDATE {_STAGE} SET _ci = {dup_index}, _hash = NULL, _message = d._message, _raw = r._raw "
            f"FROM {_DUPS} AS d, ({raw_query(source)}) AS r "
            f"WHERE d._ci IS NULL AND {_STAGE}.rowid + 1 = d._row AND r._row = d._row"
        )

    def _run_with_progress(self, sql: str, report: Progress) -> None:
        """Run sql on a worker thread, reporting DuckDB's query progress; Ctrl-C interrupts the query. Nobody
        listening (the server's batches): on this thread."""
        con = self.con
        if report is _no_progress:
            con.execute(sql)
            return
        outcome: dict[str, BaseException] = {}

        def work() -> None:
            try:
                con.execute(sql)
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        try:
            last = -1
            while worker.is_alive():
                worker.join(0.1)
                pct = con.query_progress()
                if pct is not None and pct >= 0 and int(pct) != last and int(pct) < 100:
                    last = int(pct)
                    report("read", last, 100)
        except BaseException:
            con.interrupt()
            worker.join()
            raise
        if "error" in outcome:
            raise outcome["error"]

    def _check_order_preserving(self, sql: str) -> None:
        """Row numbers are positions in the stage: refuse a plan that could reorder the rows.

        Planning the staging query costs as much as running it on a batch of thousands of rows, and its plan's
        operators depend on the query's shape, not on its texts (file name, time of ingest): a shape seen to be
        safe once is not planned again by this store (its sessions included)."""
        shape = _STRING_LITERAL.sub("''", sql)
        if shape in self._order_safe:
            return
        try:
            plan = "\n".join(str(r[1]) for r in self.con.execute(f"EXPLAIN {sql}").fetchall())
        except (duckdb.InvalidInputException, duckdb.IOException):
            return  # an unreadable file: reading it reports the problem
        operators = set(re.findall(r"│\s*([A-Z][A-Z_]+[A-Z])\s*│", plan))
        reordering = sorted(
            op
            for op in operators
            if re.search(r"JOIN|WINDOW|AGGREGATE|GROUP_BY|DISTINCT|ORDER|TOP_N|UNION", op)
        )
        if reordering:
            raise RuntimeError(
                f"internal error: the staging plan uses {', '.join(reordering)}, which may reorder rows, so "
                "row numbers would be wrong; this DuckDB version plans the validation query differently"
            )
        if len(self._order_safe) >= _ORDER_SAFE_KEPT:
            self._order_safe.clear()
        self._order_safe.add(shape)

    def _drop_temps(self, *more: str) -> None:
        """Drop the ingest's temporary tables that exist (listed once: a statement per name costs more)."""
        wanted = set(_TEMPS) | set(more)
        try:
            found = [
                str(r[0])
                for r in self.con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE temporary AND database_name = 'temp'"
                ).fetchall()
            ]
        except duckdb.Error:
            found = sorted(wanted)
        for name in found:
            if name in wanted:
                try:
                    self.con.execute(f"DROP TABLE IF EXISTS temp.{name}")
                except duckdb.Error:
                    pass


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    """A connection's settings (a cursor does not inherit them)."""
    con.execute("SET TimeZone = 'UTC'")
    # query_progress() feeds the ingest's progress callback; DuckDB itself prints nothing
    con.execute("SET enable_progress_bar = true")
    # row numbers come from the order in which rows are staged, which must be the file's order
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar_print = false")


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _half_sums(hash_col: str, where: str | None = None) -> str:
    """SQL: the sums of the high and low 64-bit halves of a hex md5 column (over the rows where `where` holds;
    0 when none), as the digest adds them."""
    only = f" FILTER (WHERE {where})" if where else ""
    return ", ".join(
        f"coalesce(sum(CAST(('0x' || substr({hash_col}, {start}, 16)) AS UBIGINT)){only}, 0)"
        for start in (1, 17)
    )


def _digest_text(sums: dict[str, tuple[int, int, int]]) -> str:
    lines = [DIGEST_VERSION]
    for name in ("interactions", "events"):
        n, hi, lo = sums[name]
        lines.append(f"{name} {n} {hi % _TWO64:016x} {lo % _TWO64:016x}")
    text = "\n".join(lines) + "\n"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def chain_value(previous: str, batch: int, digest: str) -> str:
    body = json.dumps([CHAIN_VERSION, previous, int(batch), digest], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def _check_timezone(con: duckdb.DuckDBPyConnection, path: Path, tz: str) -> None:
    try:
        ZoneInfo(tz)
        con.execute("SELECT CAST(timezone(?, TIMESTAMP '2000-01-01') AS VARCHAR)", [tz]).fetchone()
    except (ZoneInfoNotFoundError, ValueError, duckdb.Error):
        raise IngestError(
            f"{path}: unknown time zone {tz!r}; use an IANA zone name such as Europe/London or UTC"
        ) from None


def _list_sql(values: list[str | None]) -> str:
    return "[" + ", ".join("NULL" if v is None else lit(v) for v in values) + "]"


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
