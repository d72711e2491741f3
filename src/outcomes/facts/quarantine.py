"""The quarantine keeps each refused row once.

Every ingest that reads a file records a batch and counts what it refused (`batches.quarantined`, the summary),
so the audit trail shows each attempt. The quarantine table, which lists the refused rows themselves, does not
repeat them: a row refused again for the same reason (the same file, row, field, reason and raw text) by a later
batch is already listed under the batch that first refused it. So re-ingesting a file does not double
`outcomes quarantine list`; a row that is fixed and refused for another reason is listed again.
"""

from __future__ import annotations

import duckdb


def quarantine_once(con: duckdb.DuckDBPyConnection, batch: int) -> int:
    """Inside the ingest's transaction: drop this batch's quarantine rows that an earlier batch already holds;
    returns how many."""
    (n,) = con.execute(
        "SELECT count(*) FROM quarantine AS q WHERE q.batch = ? AND EXISTS (SELECT 1 FROM quarantine AS e "
        "WHERE e.batch < q.batch AND e.kind = q.kind AND e.file = q.file AND e.row IS NOT DISTINCT FROM q.row "
        "AND e.field IS NOT DISTINCT FROM q.field AND e.reason = q.reason AND e.raw IS NOT DISTINCT FROM q.raw)",
        [batch],
    ).fetchone()
    if n:
        con.execute(
            "DELETE FROM quarantine AS q WHERE q.batch = ? AND EXISTS (SELECT 1 FROM quarantine AS e "
            "WHERE e.batch < q.batch AND e.kind = q.kind AND e.file = q.file AND e.row IS NOT DISTINCT FROM q.row "
            "AND e.field IS NOT DISTINCT FROM q.field AND e.reason = q.reason AND e.raw IS NOT DISTINCT FROM q.raw)",
            [batch],
        )
    return int(n)
