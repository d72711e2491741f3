"""Canonical fact columns, their validation rules, and the DDL of the facts store.

Everything here is data: the ingest (``validate.py``) compiles it to one SQL statement, and the store
(``store.py``) creates its tables from it. Time is stored as naive UTC ``TIMESTAMP`` (microseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("voice", "chat", "email", "messaging", "social", "bot")
STATUSES = ("resolved", "open", "pending", "abandoned", "transferred")
HANDLERS = ("bot", "agent")
EVENTS = ("churned", "renewed", "saved", "purchase", "downgrade")
TRUE_TEXTS = ("true", "1", "yes")
FALSE_TEXTS = ("false", "0", "no")

#: The longest text a canonical field may hold (characters); a longer one quarantines its row as
#: field_too_long. Ids, queues, names and intent labels are far shorter; a longer value is a column shifted by a
#: stray delimiter, a transcript in the wrong column, or an attempt to bloat the store.
MAX_FIELD_CHARS = 1_000

#: Rows the CSV reader cannot split or decode (facts/rejects.py): they come before any check of a value.
READ_REASONS = (
    "too_few_fields",
    "too_many_fields",
    "bad_encoding",
    "bad_quoting",
    "line_too_long",
    "unreadable_row",
)

#: Quarantine reason codes, in the order they are tried (a row gets the first that applies).
INTERACTION_REASONS = (
    *READ_REASONS,
    "bad_json",
    "nul_byte",
    "field_too_long",
    "missing_id",
    "missing_source",
    "bad_timestamp",
    "missing_timezone",
    "unknown_channel",
    "unknown_status",
    "unknown_handled_by",
    "bad_boolean",
    "bad_number",
    "csat_out_of_range",
    "nps_out_of_range",
    "ces_out_of_range",
    "qa_out_of_range",
    "closed_before_opened",
    "future_timestamp",
    "duplicate_id",
)
EVENT_REASONS = (
    *READ_REASONS,
    "bad_json",
    "nul_byte",
    "field_too_long",
    "missing_customer",
    "unknown_event",
    "bad_timestamp",
    "missing_timezone",
    "bad_amount",
    "future_timestamp",
    "duplicate_id",
)
REASONS = tuple(dict.fromkeys(INTERACTION_REASONS + EVENT_REASONS))

#: How far after the time of ingest an opened_at (or an event's ``at``) may lie before it is quarantined.
FUTURE_TOLERANCE_HOURS = 24


@dataclass(frozen=True)
class Field:
    """One canonical column.

    kind: ``text`` (trimmed, '' -> NULL), ``enum`` (trimmed, lower-cased, one of ``values``), ``ts``
    (timestamp -> naive UTC), ``bool``, ``seconds`` (number >= 0), ``int`` (integer score in lo..hi),
    ``score`` (number in lo..hi), ``money`` (decimal with at most 2 places; ``lo`` = 0 forbids negatives).
    """

    name: str
    kind: str
    sql_type: str
    required: bool = False
    values: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None


INTERACTION_FIELDS: tuple[Field, ...] = (
    Field("interaction_id", "text", "VARCHAR", required=True),
    Field("source", "text", "VARCHAR", required=True),
    Field("customer_id", "text", "VARCHAR"),
    Field("channel", "enum", "VARCHAR", required=True, values=CHANNELS),
    Field("queue", "text", "VARCHAR"),
    Field("opened_at", "ts", "TIMESTAMP", required=True),
    Field("first_response_at", "ts", "TIMESTAMP"),
    Field("closed_at", "ts", "TIMESTAMP"),
    Field("status", "enum", "VARCHAR", required=True, values=STATUSES),
    Field("handled_by", "enum", "VARCHAR", values=HANDLERS),
    Field("agent_id", "text", "VARCHAR"),
    Field("provider", "text", "VARCHAR"),
    Field("reopened", "bool", "BOOLEAN"),
    Field("wait_seconds", "seconds", "DOUBLE"),
    Field("handle_seconds", "seconds", "DOUBLE"),
    Field("csat", "int", "SMALLINT", lo=1, hi=5),
    Field("nps", "int", "SMALLINT", lo=0, hi=10),
    Field("ces", "int", "SMALLINT", lo=1, hi=7),
    Field("qa_score", "score", "DOUBLE", lo=0, hi=100),
    Field("intent", "text", "VARCHAR"),
)

EVENT_FIELDS: tuple[Field, ...] = (
    Field("customer_id", "text", "VARCHAR", required=True),
    Field("event", "enum", "VARCHAR", required=True, values=EVENTS),
    Field("at", "ts", "TIMESTAMP", required=True),
    Field("amount", "money", "DECIMAL(18,2)"),
    Field("monthly_revenue", "money", "DECIMAL(18,2)", lo=0),
)


@dataclass(frozen=True)
class Kind:
    name: str  # 'interactions' | 'events' (also the table name)
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


KINDS: dict[str, Kind] = {
    "interactions": Kind(
        "interactions",
        INTERACTION_FIELDS,
        key=("source", "interaction_id"),
        reasons=INTERACTION_REASONS,
    ),
    "events": Kind(
        "events",
        EVENT_FIELDS,
        key=("customer_id", "event", "at"),
        reasons=EVENT_REASONS,
    ),
}

SCHEMA_VERSION = "1"


def _fact_table_ddl(kind: Kind) -> str:
    cols = ",\n  ".join(f'"{f.name}" {f.sql_type}' for f in kind.fields)
    return (
        f"CREATE TABLE IF NOT EXISTS {kind.name} (\n  {cols},\n"
        "  _batch INTEGER NOT NULL,\n  _until INTEGER,\n  _hash VARCHAR NOT NULL\n)"
    )


DDL: tuple[str, ...] = (
    _fact_table_ddl(KINDS["interactions"]),
    _fact_table_ddl(KINDS["events"]),
    """CREATE TABLE IF NOT EXISTS batches (
  batch INTEGER PRIMARY KEY,
  kind VARCHAR NOT NULL,
  file VARCHAR NOT NULL,
  file_sha256 VARCHAR,
  format VARCHAR,
  timezone VARCHAR,
  ingested_at TIMESTAMP NOT NULL,
  rows BIGINT NOT NULL,
  accepted BIGINT NOT NULL,
  duplicates BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  quarantined BIGINT NOT NULL,
  skipped BIGINT NOT NULL,
  reasons JSON NOT NULL
)""",
    # The digest's running sums as of each batch (count and the two 64-bit halves of the row hashes, mod
    # 2^64), kept by every ingest in its own transaction, so a digest costs one lookup, not a table scan.
    """CREATE TABLE IF NOT EXISTS digest_sums (
  batch INTEGER NOT NULL,
  tbl VARCHAR NOT NULL,
  n BIGINT NOT NULL,
  hi UBIGINT NOT NULL,
  lo UBIGINT NOT NULL,
  PRIMARY KEY (batch, tbl)
)""",
    # The facts chain (FactsStore.chain): per batch, the digest as of it and the chain value after it. The
    # ledger's `facts.ingest` entry of the batch records both, in the audit chain.
    """CREATE TABLE IF NOT EXISTS batch_digests (
  batch INTEGER PRIMARY KEY,
  digest VARCHAR NOT NULL,
  chain VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
  batch INTEGER NOT NULL,
  kind VARCHAR NOT NULL,
  file VARCHAR NOT NULL,
  "row" BIGINT,
  field VARCHAR,
  reason VARCHAR NOT NULL,
  message VARCHAR,
  raw VARCHAR
)""",
    "CREATE TABLE IF NOT EXISTS facts_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # Idempotency keys of batches sent to the shared server (facts/receipts.py): written in the ingest's own
    # transaction, so a key is recorded exactly when its rows are.
    """CREATE TABLE IF NOT EXISTS ingest_receipts (
  tenant VARCHAR NOT NULL,
  key VARCHAR NOT NULL,
  body_sha256 VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  batch INTEGER NOT NULL,
  response JSON NOT NULL,
  received_at TIMESTAMP NOT NULL,
  PRIMARY KEY (tenant, key)
)""",
)
