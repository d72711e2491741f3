"""Idempotency receipts: a batch sent with a key is ingested exactly once, however often it is retried.

A receipt (tenant, key, the SHA-256 of the body, the batch, the response) is written by the ingest's own
transaction (`FactsStore.ingest(..., check=record(...))`), so it exists exactly when the batch's rows do: a
write that fails leaves no receipt and the retry ingests; a write that succeeded leaves one and the retry gets
the first response back. Two concurrent first attempts with one key cannot both commit: batches are written one
after the other, and the second finds the first's receipt in its own write transaction (`AlreadyRecorded`: its
whole batch rolls back and the caller replays the first response); the primary key stands behind that check.

Receipts are kept `KEEP_DAYS` days (`prune`), well over the 7 days a client may retry within.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from .sources import lit
from .store import IngestSummary

KEEP_DAYS = 30


@dataclass(frozen=True)
class Receipt:
    tenant: str
    key: str
    body_sha256: str
    kind: str
    batch: int
    response: dict[str, Any]
    received_at: datetime


def find(con: duckdb.DuckDBPyConnection, tenant: str, key: str) -> Receipt | None:
    row = con.execute(
        "SELECT tenant, key, body_sha256, kind, batch, response, received_at FROM ingest_receipts "
        f"WHERE tenant = {lit(tenant)} AND key = {lit(key)}"
    ).fetchone()
    if row is None:
        return None
    return Receipt(row[0], row[1], row[2], row[3], int(row[4]), json.loads(row[5]), row[6])


class AlreadyRecorded(Exception):
    """The key's receipt was written (by another attempt) before this attempt's write: its batch rolls back."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(f"Idempotency-Key {receipt.key!r} already ingested as batch {receipt.batch}")
        self.receipt = receipt


def record(
    tenant: str,
    key: str,
    body_sha256: str,
    received_at: datetime,
    response: Callable[[duckdb.DuckDBPyConnection, IngestSummary], dict[str, Any]],
    written: list[dict[str, Any]] | None = None,
) -> Callable[[duckdb.DuckDBPyConnection, IngestSummary], None]:
    """The `check` hook of an ingest: write the receipt, with the response the batch gets, in its transaction;
    raise AlreadyRecorded (rolling the batch back) if another attempt with the key was written first.
    ``written``: gets the response as stored (what a retry will be answered), once the hook has run."""

    def write(con: duckdb.DuckDBPyConnection, summary: IngestSummary) -> None:
        earlier = find(con, tenant, key)
        if earlier is not None:
            raise AlreadyRecorded(earlier)
        body = json.dumps(response(con, summary), sort_keys=True, default=str)
        con.execute(
            "INSERT INTO ingest_receipts VALUES (?, ?, ?, ?, ?, ?, ?)",
            [tenant, key, body_sha256, summary.kind, summary.batch, body, received_at],
        )
        if written is not None:
            written.append(json.loads(body))

    return write


def prune(con: duckdb.DuckDBPyConnection, now: datetime, days: int = KEEP_DAYS) -> int:
    """Forget receipts older than `days` days; returns how many."""
    cutoff = now - timedelta(days=days)
    (n,) = con.execute("SELECT count(*) FROM ingest_receipts WHERE received_at < ?", [cutoff]).fetchone()
    if n:
        con.execute("DELETE FROM ingest_receipts WHERE received_at < ?", [cutoff])
    return int(n)
