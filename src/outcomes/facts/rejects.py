"""Rows of a CSV file that cannot be read as rows: quarantined with their line and reason, the rest read.

DuckDB's CSV reader keeps what it cannot read in a rejects table (`store_rejects`): a line with too few or too
many fields, text that is not UTF-8 (a latin-1 row in a UTF-8 file), a quote that is not closed, a line longer
than the reader's maximum. Each becomes a quarantine row with the line DuckDB read it on, a reason and the
line's text, and every other row of the file is ingested as usual. So one bad line never refuses a file.

Lines and rows. The reader skips what it rejects, so the rows it returns are numbered among the readable ones;
the quarantine names rows of the file, so the readable rows' numbers are moved past the rejected rows before
them. A rejected row's `row` is its line less the header; DuckDB counts a quoted field that spans lines as one
line and counts blank lines, so in a file with either, a reject's line is the reader's, not the editor's.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb


def lit(value: str) -> str:
    """A SQL string literal (as sources.lit; sources imports this module)."""
    return "'" + value.replace("'", "''") + "'"


TABLE = "_facts_rejects"
SCAN = "_facts_reject_scans"
_ROWS = "_facts_reject_rows"

#: What the reader reports -> the quarantine reason.
REASONS: dict[str, str] = {
    "MISSING COLUMNS": "too_few_fields",
    "TOO MANY COLUMNS": "too_many_fields",
    "INVALID ENCODING": "bad_encoding",
    "INVALID UNICODE": "bad_encoding",
    "UNQUOTED VALUE": "bad_quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}

TEMP_TABLES = (TABLE, SCAN, _ROWS)  # dropped after every ingest

OPTIONS = f", store_rejects=true, rejects_table={lit(TABLE)}, rejects_scan={lit(SCAN)}, rejects_limit=0"


def clear(con: duckdb.DuckDBPyConnection) -> None:
    for name in TEMP_TABLES:
        try:
            con.execute(f"DROP TABLE IF EXISTS temp.{name}")
        except duckdb.Error:
            pass


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            f"SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = {lit(TABLE)}"
        ).fetchone()[0]
    )


def quarantine(
    con: duckdb.DuckDBPyConnection, batch: int, kind: str, file: str, columns: int
) -> dict[str, int]:
    """Inside the ingest's transaction: move this batch's quarantine rows past the rejected rows before them,
    add the rejected rows, and return their counts by reason (empty when the reader rejected nothing)."""
    if not _exists(con):
        return {}
    # a file read twice (the stage, then the raw values of conflicting rows) is rejected twice: keep one scan
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in REASONS.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_ROWS} AS SELECT line, line - 1 AS r, "
        f"row_number() OVER (ORDER BY line) AS k, CASE error_type {cases} ELSE 'unreadable_row' END AS reason, "
        "error_message, csv_line FROM (SELECT *, row_number() OVER (PARTITION BY line ORDER BY scan_id) AS n "
        f"FROM {TABLE} WHERE scan_id = (SELECT min(scan_id) FROM {TABLE})) WHERE n = 1"
    )
    found = {
        str(reason): int(n)
        for reason, n in con.execute(f"SELECT reason, count(*) FROM {_ROWS} GROUP BY 1 ORDER BY 1").fetchall()
    }
    if not found:
        return {}
    # the p-th readable row is row p + (the rejected rows r with fewer readable rows before them than p)
    con.execute(f'UPDATE quarantine SET "row" = "row" + {_shift(chr(34) + "row" + chr(34))} WHERE batch = {int(batch)}')
    rows_re = lit(r"\(rows ([0-9, ]+)\)$")
    con.execute(
        "UPDATE quarantine SET message = regexp_replace(quarantine.message, "
        f"{rows_re}, '(rows ' || f.rows || ')') FROM (SELECT q.rowid AS rid, string_agg(CAST(p + "
        f"{_shift('p')} AS VARCHAR), ', ' ORDER BY p) AS rows FROM quarantine AS q, "
        f"(SELECT CAST(unnest(string_split(regexp_extract(q2.message, {rows_re}, 1), ', ')) AS BIGINT) AS p, "
        "q2.rowid AS qid FROM quarantine AS q2 "
        f"WHERE q2.batch = {int(batch)} AND q2.reason = 'duplicate_id') AS t WHERE t.qid = q.rowid "
        "GROUP BY q.rowid) AS f WHERE quarantine.rowid = f.rid"
    )
    found_fields = "coalesce(nullif(regexp_extract(error_message, 'Found: (\\d+)', 1), ''), 'another number of')"
    message = (
        "CASE reason "
        f"WHEN 'too_few_fields' THEN 'line ' || line || ': ' || {found_fields} || ' field(s), the header has {columns}' "
        f"WHEN 'too_many_fields' THEN 'line ' || line || ': ' || {found_fields} || ' fields, the header has {columns}' "
        "WHEN 'bad_encoding' THEN 'line ' || line || ': the text is not UTF-8 (latin-1 or another encoding?); "
        "save the file as UTF-8' "
        "WHEN 'bad_quoting' THEN 'line ' || line || ': a quoted field is not closed, or text follows its "
        "closing quote' "
        "WHEN 'line_too_long' THEN 'line ' || line || ': longer than the reader''s maximum line size' "
        "ELSE 'line ' || line || ': ' || error_message END"
    )
    con.execute(
        f"INSERT INTO quarantine SELECT {int(batch)}, {lit(kind)}, {lit(file)}, r, NULL, reason, {message}, "
        f"csv_line FROM {_ROWS} ORDER BY r"
    )
    return found


def _shift(pos: str) -> str:
    return f"(SELECT count(*) FROM {_ROWS} AS j WHERE j.r - j.k < {pos})"


def add_to_batch(con: duckdb.DuckDBPyConnection, summary: Any, found: dict[str, int]) -> None:
    """Count the rejected rows in the batch's summary and its `batches` row."""
    n = sum(found.values())
    reasons = dict(summary.reasons)
    for reason, k in found.items():
        reasons[reason] = reasons.get(reason, 0) + k
    summary.rows += n
    summary.quarantined += n
    summary.reasons = dict(sorted(reasons.items()))
    con.execute(
        "UPDATE batches SET rows = ?, quarantined = ?, reasons = ? WHERE batch = ?",
        [
            summary.rows,
            summary.quarantined,
            json.dumps(summary.reasons, sort_keys=True),
            summary.batch,
        ],
    )
