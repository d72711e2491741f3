"""The facts store: versioned interactions and customer events in DuckDB, ingested idempotently.

    store = FactsStore("facts.duckdb")                       # or ':memory:'
    summary = store.ingest("interactions", Path("interactions.csv"), timezone=None)
    store.interactions()          # ibis table of the current versions, canonical columns, naive-UTC times
    store.interactions(3)         # ... as of batch 3
    store.digest(summary.batch)   # content digest of the facts visible as of that batch

Storage. Tables ``interactions`` and ``events`` hold the canonical columns (CONTRACT.md, "Data") plus
``_batch`` (the batch that wrote the version), ``_until`` (the batch that superseded it; NULL = current) and
``_hash`` (md5 hex of the row's canonical text). A version is visible as of batch B when
``_batch <= B AND (_until IS NULL OR _until > B)``. Times are naive UTC ``TIMESTAMP`` (microseconds).
``batches`` records every ingest (file, its SHA-256, format, time zone, counts, reasons) and ``quarantine``
every refused row (batch, kind, file, row, field, reason, message, raw JSON text).

Ingest. Keys: (source, interaction_id) for interactions; (customer_id, event, at) for events. A valid row
whose key is new is ``accepted``; one whose current version has the same ``_hash`` is a ``duplicate``
(nothing written); one with other content is ``updated`` (the current version is closed with
``_until = batch`` and the new one inserted: nothing is ever overwritten). The same key twice in one file:
identical rows count as duplicates; different contents quarantine every such row as ``duplicate_id``.
Every ingest that reads its file records a batch, even when all its rows are duplicates, so the audit trail
shows each attempt; such a batch changes no fact and no digest. The writes of one file (quarantine rows,
version closes, inserts, batch row) are ONE transaction: an error or Ctrl-C leaves the store as it was.

Quarantine reasons, in the order they are tried (a row gets the first that applies, with its 1-based data
row number and the field). Rows a CSV reader cannot read as rows come first (``rejects.py``; the message
names the line): ``too_few_fields``, ``too_many_fields``, ``bad_encoding`` (not UTF-8), ``bad_quoting``,
``line_too_long``, ``unreadable_row``. Then: ``bad_json`` (JSON lines only), ``nul_byte`` (a text field holding
U+0000), ``field_too_long`` (a text field over ``schema.MAX_FIELD_CHARS``), ``missing_id``, ``missing_source``,
``bad_timestamp`` (unparseable or, for opened_at, empty), ``missing_timezone`` (no offset or zone and no
``timezone`` given), ``unknown_channel``, ``unknown_status``, ``unknown_handled_by``, ``bad_boolean``,
``bad_number`` (not a number, or negative seconds), ``csat_out_of_range`` (integer 1-5),
``nps_out_of_range`` (0-10), ``ces_out_of_range`` (1-7), ``qa_out_of_range`` (0-100),
``closed_before_opened``, ``future_timestamp`` (more than 24 h after the time of ingest), ``duplicate_id``.
Events: the reader's reasons, ``bad_json``, ``nul_byte``, ``field_too_long``, ``missing_customer``, ``unknown_event``, ``bad_timestamp``, ``missing_timezone``,
``bad_amount`` (not a decimal with at most 2 places; ``monthly_revenue`` also not negative),
``future_timestamp`` (``at`` more than 24 h ahead: a future event would move the event clock),
``duplicate_id``.

Row hash: ``_hash = md5(canonical text)``, the canonical text being the typed canonical values in column
order joined by U+001F, NULL as an empty string; texts as stored (trimmed; enums lower-cased; a text holding
U+001F or starting with U+001E is written U+001E <UTF-8 byte length> ':' <text>), timestamps as integer
microseconds since 1970-01-01 UTC, booleans ``true``/``false``, seconds and qa_score with 6 decimals
(``60.000000``), scores as integers, amounts with 2 decimals. ``row_hash_sql(KINDS[kind])`` recomputes it
from the stored columns. So the same row read from CSV, Parquet or JSON has the same hash.

Digest: ``"sha256:" + sha256(text)`` where ``text`` is ``"outcomes.facts.digest/v1\\n"`` then, for
``interactions`` and then ``events``, a line ``"<table> <n> <hi> <lo>\\n"``: ``n`` the number of visible
versions, ``hi``/``lo`` the sums modulo 2^64 of the first/last 16 hex digits of their ``_hash`` as unsigned
64-bit integers, each as 16 lower-case hex digits. It depends only on the visible rows' content, never on
storage order, batch split or input format, and is one aggregate over one column.
"""

from .engine import Facts
from .errors import IngestError
from .schema import (
    CHANNELS,
    EVENT_REASONS,
    EVENTS,
    HANDLERS,
    INTERACTION_REASONS,
    KINDS,
    REASONS,
    STATUSES,
)
from .store import DIGEST_VERSION, FactsStore, IngestSummary
from .validate import canonical_text_sql, row_hash_sql

__all__ = [
    "CHANNELS",
    "DIGEST_VERSION",
    "EVENTS",
    "EVENT_REASONS",
    "HANDLERS",
    "INTERACTION_REASONS",
    "KINDS",
    "REASONS",
    "STATUSES",
    "Facts",
    "FactsStore",
    "IngestError",
    "IngestSummary",
    "canonical_text_sql",
    "row_hash_sql",
]
