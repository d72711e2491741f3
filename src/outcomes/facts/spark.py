"""The facts store on Spark: the same versioned facts, read from Parquet or catalog tables (docs/spark.md).

``SparkFacts`` speaks the protocol settlement uses (the one ``FactsStore`` speaks): ``latest_batch()``,
``digest(as_of_batch)``, ``contact_clock()``, ``event_clock()``, ``interactions()``, ``events()``,
``compile(expr)``, ``write_evidence(table, sqls)``, ``evidence(table)``, ``has_table(table)`` and
``drop_table(table)``. Outcome and metric definitions are Ibis expressions, so the same definition runs here
and on DuckDB; a conformance suite (tests/test_spark_conformance.py) asserts identical results.

Where the facts are (the same columns as the DuckDB store: the canonical columns plus ``_batch``, ``_until``
and ``_hash``; see ``outcomes.facts``):

* ``parquet=DIR``: ``DIR/interactions``, ``DIR/events`` and, optionally, ``DIR/batches`` are Parquet
  folders (what ``outcomes facts export DIR`` writes). DIR is any URI Spark reads (a local folder, hdfs://,
  s3a://, abfss://).
* ``tables={"interactions": "db.interactions", "events": "db.events", "batches": "db.batches"}``: tables
  of the session's catalog (Hive metastore, or any catalog configured for the session), by name.

Spark reads nothing else. The ingest, the quarantine and the ledger stay with the DuckDB store and the
workspace: ingest there, export, settle here.

Time. The session runs in UTC with ``spark.sql.timestampType = TIMESTAMP_NTZ``; every timestamp column is
read as ``TIMESTAMP_NTZ`` (naive UTC, as in the DuckDB store) whether the table stores it as
``TIMESTAMP_NTZ`` or as ``TIMESTAMP`` (an instant, converted at UTC).

The digest is computed here, from ``_hash``, with the formula of ``FactsStore.digest()``: per table the count
of visible versions and the sums modulo 2^64 of the two 64-bit halves of every ``_hash``; so a settlement's
fingerprint is the same on both engines.

Evidence is written as Parquet under ``evidence_path`` (one folder per evidence table) or, with
``evidence_database``, as tables of that catalog database.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import reduce
from typing import Any

import ibis

from outcomes.errors import OutcomesError

from .schema import KINDS
from .store import DIGEST_VERSION
from .validate import canonical_text_of
from .versions import check_batch, visible

_TWO64 = 1 << 64
FACT_TABLES = ("interactions", "events")

#: The settings a session for outcomes needs (set by `spark_session`, checked by `SparkFacts`).
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
}


class SparkFactsError(OutcomesError):
    """The Spark facts cannot be read as configured: the message names the table or setting and the fix."""

    code = "spark"


def spark_session(master: str | None = None, conf: dict[str, str] | None = None, app_name: str = "outcomes"):
    """A SparkSession for outcomes: `master` (e.g. ``local[2]``, ``spark://host:7077``, ``yarn``; None keeps
    what spark-submit or the environment set), UTC, naive timestamps, plus `conf`."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in {**SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    for key, value in SESSION_CONF.items():  # a session that already existed keeps its other settings
        session.conf.set(key, value)
    return session


class SparkFacts:
    """Versioned facts read by a Spark session (see the module docstring)."""

    engine = "spark"

    def __init__(
        self,
        session,
        *,
        parquet: str | None = None,
        tables: dict[str, str] | None = None,
        evidence_path: str | None = None,
        evidence_database: str | None = None,
    ):
        if (parquet is None) == (tables is None):
            raise SparkFactsError(
                "give the facts as exactly one of: a Parquet folder, or catalog table names"
            )
        if evidence_path is None and evidence_database is None:
            raise SparkFactsError("give where evidence is written: an evidence folder or a catalog database")
        self.session = session
        for key, value in SESSION_CONF.items():
            session.conf.set(key, value)
        self.parquet = None if parquet is None else str(parquet).rstrip("/")
        self.tables = dict(tables or {})
        self.evidence_path = None if evidence_path is None else str(evidence_path).rstrip("/")
        self.evidence_database = evidence_database
        where = self.parquet if self.parquet is not None else repr(sorted(self.tables.items()))
        self._tag = hashlib.sha1(where.encode()).hexdigest()[:8]
        self._ibis = None
        self._views: dict[str, str] = {}
        self._has_batches = False
        self._register()

    # -- reading ----------------------------------------------------------------------------------
    def _source(self, name: str):
        """The DataFrame of one stored table, or None when an optional table (batches) is absent."""
        from pyspark.errors import AnalysisException

        if self.parquet is not None:
            location = f"{self.parquet}/{name}"
            try:
                return self.session.read.parquet(location)
            except AnalysisException as exc:
                if name == "batches":
                    return None
                raise SparkFactsError(
                    f"{location}: cannot read the {name} facts as Parquet ({_first_line(exc)}); export them "
                    "with `outcomes facts export DIR` or point facts.spark_parquet at the folder that holds "
                    f"{name}/ and events/"
                ) from None
        table = self.tables.get(name)
        if table is None:
            if name == "batches":
                return None
            raise SparkFactsError(f"no catalog table named for {name}: set facts.spark_tables.{name}")
        try:
            return self.session.table(table)
        except AnalysisException as exc:
            raise SparkFactsError(
                f"catalog table {table} ({name}): cannot be read ({_first_line(exc)}); check the name in "
                f"facts.spark_tables.{name} and the session's catalog settings"
            ) from None

    def _register(self) -> None:
        """One temporary view per fact table: the stored columns, timestamps as naive UTC."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampNTZType, TimestampType

        for name in FACT_TABLES:
            df = self._source(name)
            wanted = list(KINDS[name].columns) + ["_batch", "_until", "_hash"]
            missing = [c for c in wanted if c not in df.columns]
            if missing:
                where = f"{self.parquet}/{name}" if self.parquet is not None else self.tables[name]
                raise SparkFactsError(
                    f"{where}: the {name} table lacks column(s) {', '.join(missing)}; it needs the canonical "
                    "columns plus _batch, _until and _hash (export a DuckDB store with `outcomes facts export`)"
                )
            types = dict(df.dtypes)
            cols = []
            for c in wanted:
                col = F.col(f"`{c}`")
                kind = df.schema[c].dataType
                if isinstance(kind, TimestampType) and not isinstance(kind, TimestampNTZType):
                    col = col.cast(TimestampNTZType())  # an instant, read at UTC (the session's zone)
                elif c in ("_batch", "_until") and types[c] != "int":
                    col = col.cast("int")
                cols.append(col.alias(c))
            view = f"{name}_{self._tag}"
            df.select(*cols).createOrReplaceTempView(view)
            self._views[name] = view
        batches = self._source("batches")
        if batches is not None:
            view = f"batches_{self._tag}"
            batches.createOrReplaceTempView(view)
            self._views["batches"] = view
            self._has_batches = True

    def ibis(self):
        if self._ibis is None:
            self._ibis = ibis.pyspark.connect(self.session)
        return self._ibis

    def close(self) -> None:
        """Drop this store's temporary views; the session stays (it may be shared)."""
        for view in self._views.values():
            self.session.catalog.dropTempView(view)
        self._views = {}

    def __enter__(self) -> SparkFacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _df(self, name: str, as_of_batch: int | None):
        from pyspark.sql import functions as F

        df = self.session.table(self._views[name])
        if as_of_batch is None:
            return df.where(F.col("_until").isNull())
        b = check_batch(as_of_batch)
        return df.where((F.col("_batch") <= b) & (F.col("_until").isNull() | (F.col("_until") > b)))

    def versions(self, name: str) -> ibis.Table:
        """Every stored version of a facts table, with `_batch`, `_until` and `_hash` (its history)."""
        return self.ibis().table(self._views[name])

    def _table(self, name: str, as_of_batch: int | None) -> ibis.Table:
        return visible(self.versions(name), name, as_of_batch)

    def interactions(self, as_of_batch: int | None = None) -> ibis.Table:
        """Interactions visible now (or as of a batch), canonical columns, times as naive UTC."""
        return self._table("interactions", as_of_batch)

    def events(self, as_of_batch: int | None = None) -> ibis.Table:
        """Customer events visible now (or as of a batch), canonical columns, times as naive UTC."""
        return self._table("events", as_of_batch)

    def latest_batch(self) -> int:
        """The last batch recorded in `batches`; without that table, the last batch any version names."""
        from pyspark.sql import functions as F

        if self._has_batches:
            row = self.session.table(self._views["batches"]).agg(F.max("batch")).first()
            return int(row[0] or 0)
        best = 0
        for name in FACT_TABLES:
            row = self.session.table(self._views[name]).agg(F.max("_batch"), F.max("_until")).first()
            best = max([best] + [int(v) for v in row if v is not None])
        return best

    def contact_clock(self, system_of_record: str, as_of_batch: int | None = None) -> datetime | None:
        """The latest opened_at (naive UTC) among visible interactions whose source is system_of_record."""
        from pyspark.sql import functions as F

        df = self._df("interactions", as_of_batch)
        return df.where(F.col("source") == system_of_record).agg(F.max("opened_at")).first()[0]

    def event_clock(self, as_of_batch: int | None = None) -> datetime | None:
        """The latest `at` (naive UTC) among visible customer events."""
        from pyspark.sql import functions as F

        return self._df("events", as_of_batch).agg(F.max("at")).first()[0]

    def digest(self, as_of_batch: int | None = None) -> str:
        """The digest of `FactsStore.digest`, computed by Spark from the visible versions' `_hash`."""
        batch = self.latest_batch() if as_of_batch is None else check_batch(as_of_batch)
        lines = [DIGEST_VERSION]
        for name in FACT_TABLES:
            n, hi, lo = self._hash_sums(name, batch)
            lines.append(f"{name} {n} {hi:016x} {lo:016x}")
        text = "\n".join(lines) + "\n"
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def _hash_sums(self, name: str, batch: int) -> tuple[int, int, int]:
        """(count, sum of the hashes' high halves, sum of the low halves) mod 2^64, summed exactly: each half
        as an unsigned DECIMAL(20,0), the sums as DECIMAL(30,0) (exact up to 5e10 rows)."""
        from pyspark.sql import functions as F

        def half(start: int):
            return F.conv(F.substring("_hash", start, 16), 16, 10).cast("decimal(20,0)")

        row = self._df(name, batch).agg(F.count(F.lit(1)), F.sum(half(1)), F.sum(half(17))).first()
        n, hi, lo = row[0], row[1] or 0, row[2] or 0
        return int(n), int(hi) % _TWO64, int(lo) % _TWO64

    def tampered_rows(self, as_of_batch: int) -> dict[str, int]:
        """Rows visible as of the batch whose stored `_hash` no longer matches their content (the md5 of the
        canonical text, as the ingest wrote it; see `outcomes.facts.validate`)."""
        from pyspark.sql import functions as F

        out = {}
        for name in FACT_TABLES:
            text = _spark_canonical_text(name)
            df = self._df(name, check_batch(as_of_batch))
            out[name] = int(df.where(F.col("_hash") != F.md5(F.expr(text))).count())
        return out

    # -- evidence ---------------------------------------------------------------------------------
    def compile(self, expr: ibis.Expr) -> str:
        """The Spark SQL of an Ibis expression over this store's views: what the evidence is written from
        and what `outcomes explain` shows."""
        return str(self.ibis().compile(expr, pretty=True))

    def evidence_location(self, table: str) -> str:
        """Where the evidence of `table` is kept (a catalog table or a Parquet folder)."""
        _check_table_name(table)
        if self.evidence_database is not None:
            return f"{self.evidence_database}.{table}"
        return f"{self.evidence_path}/{table}"

    def write_evidence(self, table: str, sqls: list[str]) -> list[dict[str, Any]]:
        """Write the evidence of every outcome (one Spark SQL query each, one schema for all) into `table`;
        return the counts by outcome, workflow, status and reason with the sum of `value`."""
        from pyspark.sql import functions as F

        frames = [self.session.sql(sql) for sql in sqls]
        union = reduce(lambda a, b: a.unionByName(b), frames)
        where = self.evidence_location(table)
        try:
            if self.evidence_database is not None:
                union.write.mode("overwrite").format("parquet").saveAsTable(where)
            else:
                union.write.mode("overwrite").parquet(where)
        except BaseException:
            self.drop_table(table)
            raise
        written = self._read_evidence(table)
        written.createOrReplaceTempView(table)  # so `self.ibis().table(table)` reads it too, as on DuckDB
        rows = (
            written.groupBy("outcome", "workflow", "status", "reason")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("value").alias("value"))
            .collect()
        )
        return [r.asDict() for r in rows]

    def _read_evidence(self, table: str):
        where = self.evidence_location(table)
        if self.evidence_database is not None:
            return self.session.table(where)
        return self.session.read.parquet(where)

    def has_table(self, table: str) -> bool:
        """Whether the evidence table `table` is stored."""
        if self.evidence_database is not None:
            return bool(self.session.catalog.tableExists(table, self.evidence_database))
        fs, path = self._hadoop_path(self.evidence_location(table))
        return bool(fs.exists(path))

    def evidence(self, table: str) -> ibis.Table:
        """A stored evidence table as an Ibis table (for explain and the adjustments' fate changes)."""
        # a temporary view named as the table (evidence names are unique: evidence_<uuid>)
        self._read_evidence(table).createOrReplaceTempView(table)
        return self.ibis().table(table)

    def drop_table(self, table: str) -> None:
        """Remove an evidence table (its Parquet folder, or the catalog table)."""
        self.session.catalog.dropTempView(table)
        if self.evidence_database is not None:
            self.session.sql(f"DROP TABLE IF EXISTS {self.evidence_location(table)}")
            return
        fs, path = self._hadoop_path(self.evidence_location(table))
        if fs.exists(path):
            fs.delete(path, True)

    def _hadoop_path(self, location: str):
        jvm = self.session.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(location)
        return path.getFileSystem(self.session.sparkContext._jsc.hadoopConfiguration()), path

    # -- what only the DuckDB store does ----------------------------------------------------------
    def ingest(self, *args: Any, **kwargs: Any):
        from .errors import IngestError

        raise IngestError(
            "the facts engine is spark, which reads facts but does not ingest them: ingest into the DuckDB "
            "store (run the ingest with OUTCOMES_FACTS_ENGINE=duckdb), then `outcomes facts export DIR` and "
            "point facts.spark_parquet at DIR (docs/spark.md)"
        )

    def quarantine(self, batch: int | None = None) -> list[dict[str, Any]]:
        from .errors import IngestError

        raise IngestError(
            "the quarantine is kept by the DuckDB store, where ingest writes it; the facts engine is spark, which "
            "reads exported facts only: run this with OUTCOMES_FACTS_ENGINE=duckdb"
        )

    def batches(self) -> list[dict[str, Any]]:
        import json

        if not self._has_batches:
            return []
        rows = [r.asDict() for r in self.session.table(self._views["batches"]).orderBy("batch").collect()]
        for row in rows:
            reasons = row.get("reasons")
            row["reasons"] = json.loads(reasons) if reasons else {}
        return rows


def _spark_canonical_text(name: str) -> str:
    """Spark SQL of a row's canonical text, the same text `canonical_text_sql` gives in DuckDB."""
    parts = []
    for f in KINDS[name].fields:
        v = f"`{f.name}`"
        if f.kind in ("text", "enum"):
            part = (
                f"CASE WHEN instr({v}, chr(31)) > 0 OR startswith({v}, chr(30)) "
                f"THEN concat(chr(30), CAST(octet_length({v}) AS STRING), ':', {v}) ELSE {v} END"
            )
        elif f.kind == "ts":
            part = f"CAST(unix_micros(CAST({v} AS TIMESTAMP_LTZ)) AS STRING)"
        else:  # booleans, seconds and scores (6 decimals), integer scores, amounts: the same SQL works
            part = canonical_text_of(f, v).replace("TRY_CAST", "try_cast").replace("VARCHAR", "STRING")
        parts.append(f"coalesce({part}, '')")  # Spark's concat is NULL if any part is; DuckDB's skips it
    return "concat(" + ", chr(31), ".join(parts) + ")"


def _check_table_name(table: str) -> None:
    if not table.replace("_", "").isalnum():
        raise SparkFactsError(f"evidence table name {table!r}: use letters, digits and underscores only")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
