"""The server's hold on the workspace: the one writer.

The server opens the workspace once and every write goes through this object: batches in (`ingest`),
settlements (`settle`), dispute steps, comments and access changes. The facts store is one DuckDB connection,
used under one lock (`facts()`), reads included; the ledger is SQLAlchemy, whose transactions take the ledger's
own write lock. After a batch commits, the live board catches up on a worker thread, coalescing the batches
that arrived meanwhile, so a client's ingest does not wait for the scorecard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outcomes.facts import IngestError, receipts
from outcomes.ledger import audit
from outcomes.server.live import LiveBoard
from outcomes.server.problems import HTTPProblem

log = logging.getLogger("outcomes.server")

QUARANTINE_SAMPLE = 20
SESSIONS_KEPT = 4  # idle connections of the facts store kept for the next batches
LIVE_INTERVAL = 0.5  # seconds between two updates of the live board, at least
# ... and at least this many times the last update's duration: under a stream of batches the board takes at most
# a fifth of the time (its updates share the machine with the ingest, whose batches come first) and each update
# takes in more batches. With 2 (a third) the server ingested 45,800 rows/s, with 4 63,100, the live lag after the
# last batch 5.4 and 5.1 s (bench/server.py, 1.4M stored, one machine, minutes apart)
LIVE_REST = 4.0
# ... but never longer than this: under a stream of batches faster than the board's own rate its updates grow
# with the batches they take in, and a shorter cap would let the board take most of the machine (the ingest's
# rate fell by a third with 5 s); once batches stop the rest is cut short (`_rest`)
LIVE_REST_MAX = 30.0
# seconds without a batch (the live board up to date) before the facts are checkpointed: a checkpoint takes 1 s at
# 1.4M rows and 2 s at 14M, and batches that resume meanwhile run slower (with 1 s, the bench's next phase always
# met one: Parquet at 14M fell from 49,200 to 28,400 rows/s)
IDLE_CHECKPOINT = 5.0


@dataclass(frozen=True)
class IngestOutcome:
    response: dict[str, Any]
    replayed: bool


class Writer:
    """The workspace as the server holds it."""

    def __init__(
        self, workspace: Any, *, live: bool = True, now: Callable[[], datetime] | None = None
    ) -> None:
        self.ws = workspace
        self.ledger = workspace.ledger()
        self._lock = threading.RLock()
        self.store = workspace.duckdb_facts()  # where batches are written, whatever the engine
        # batches go to the log; the file is written when they pause (`_checkpoint_when_idle`), not every few
        # batches inside a batch's commit
        self.store.defer_checkpoints()
        self.now = now or (lambda: datetime.now(UTC))
        self.uploads = Path(tempfile.mkdtemp(prefix="outcomes-uploads-"))
        with self._lock:
            receipts.prune(self.store.con, self.now().replace(tzinfo=None))
            self.board = LiveBoard(self.ledger, self.store, main_lock=self._lock)
        self._dirty = threading.Event()
        self._written = 0  # batches written since the start (the live loop's sign that they keep coming)
        self._checkpointed = 0  # ... as of the last checkpoint
        self._checkpointer: Any = None  # the live loop's connection for checkpoints (False once closed)
        self._checkpoint_lock = threading.Lock()
        self._stop = threading.Event()
        self._sessions: list[Any] = []  # idle sessions of the facts store, for the next batches
        self._sessions_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        if live:
            self._worker = threading.Thread(target=self._live_loop, name="outcomes-live", daemon=True)
            self._worker.start()
            self._dirty.set()

    # the facts, under the lock --------------------------------------------------------------------------
    @contextmanager
    def facts(self) -> Iterator[Any]:
        """The facts engine of the settings (DuckDB, or Spark), used by one request at a time."""
        with self._lock:
            yield self.ws.facts()

    # batches ---------------------------------------------------------------------------------------------
    def ingest(
        self,
        *,
        tenant: str,
        key: str,
        kind: str,
        body: bytes,
        fmt: str,
        timezone: str | None,
        actor: str,
        contract: str,
    ) -> IngestOutcome:
        """Ingest a batch exactly once per (tenant, key): a retry gets the first response back.

        Batches are read and validated at the same time (each on a session of the store: its own connection)
        and written one after the other under the writer's lock, which is also where the key is checked: of two
        attempts with one key that both got past the first look, the second finds the first's receipt in its
        write transaction, rolls back and gets the first response."""
        body_sha = hashlib.sha256(body).hexdigest()
        # the first look reads the receipts on the attempt's own connection: no wait for another batch's write
        with self._sessions_lock:
            session = self._sessions.pop() if self._sessions else self.store.session()
        done = False
        try:
            outcome = self._ingest(session, tenant, key, kind, body, body_sha, fmt, timezone, actor, contract)
            done = True
            return outcome
        finally:
            # a connection is kept for the next batch only after a clean run (opening one costs a millisecond)
            with self._sessions_lock:
                if done and not self._stop.is_set() and len(self._sessions) < SESSIONS_KEPT:
                    self._sessions.append(session)
                else:
                    session.close()

    def _ingest(
        self,
        session: Any,
        tenant: str,
        key: str,
        kind: str,
        body: bytes,
        body_sha: str,
        fmt: str,
        timezone: str | None,
        actor: str,
        contract: str,
    ) -> IngestOutcome:
        suffix = ".parquet" if fmt == "parquet" else ".json"
        found = receipts.find(session.con, tenant, key)
        if found is not None:
            return self._replay(found, body_sha, kind, key)
        # a file per attempt: two attempts with one key may be read at the same time
        handle, name_on_disk = tempfile.mkstemp(suffix=suffix, dir=self.uploads)
        path = Path(name_on_disk)
        with open(handle, "wb") as fh:
            fh.write(body)
        received = self.now()
        name = f"api:{tenant}:{key}"

        def response(con: Any, summary: Any) -> dict[str, Any]:
            sample = con.execute(
                'SELECT "row", field, reason, message FROM quarantine WHERE batch = ? ORDER BY "row" LIMIT ?',
                [summary.batch, QUARANTINE_SAMPLE],
            ).fetchall()
            return {
                "batch": summary.batch,
                "kind": summary.kind,
                "idempotency_key": key,
                "rows": summary.rows,
                "accepted": summary.accepted,
                "duplicates": summary.duplicates,
                "updated": summary.updated,
                "quarantined": summary.quarantined,
                "reasons": dict(sorted(summary.reasons.items())),
                "quarantine_sample": [
                    {"row": r[0], "field": r[1], "reason": r[2], "message": r[3]} for r in sample
                ],
                "received_at": received.isoformat(timespec="microseconds"),
            }

        stored: list[dict[str, Any]] = []  # the response as the receipt keeps it
        try:
            summary = session.ingest(
                kind,
                path,
                fmt=fmt,
                timezone=timezone,
                now=received,
                name=name,
                check=receipts.record(tenant, key, body_sha, received.replace(tzinfo=None), response, stored),
                write_lock=self._lock,
            )
        except receipts.AlreadyRecorded as exc:
            return self._replay(exc.receipt, body_sha, kind, key)
        except IngestError as exc:
            # the message names the upload's temporary file: name what the client sent instead
            raise IngestError(str(exc).replace(str(path), "the request body"), hint=exc.hint) from None
        finally:
            path.unlink(missing_ok=True)
        data = summary.to_dict()
        data.update(contract=contract, tenant=tenant, idempotency_key=key)
        with audit.acting_as(actor):
            self.ledger.record_ingest(data)
        self._written += 1
        self._dirty.set()
        return IngestOutcome(stored[0], False)

    @staticmethod
    def _replay(found: receipts.Receipt, body_sha: str, kind: str, key: str) -> IngestOutcome:
        if found.body_sha256 != body_sha or found.kind != kind:
            raise HTTPProblem(
                "idempotency_key_reused",
                f"Idempotency-Key {key!r} was used on {found.received_at.isoformat()} for another batch "
                f"(batch {found.batch} of {found.kind}); a retry must send the same body",
                hint="use a new key for a new batch",
            )
        return IngestOutcome(found.response, True)

    # settlements -----------------------------------------------------------------------------------------
    def settle(self, contract: str, period: str, *, provisional: bool, actor: str) -> Any:
        from outcomes.settlement.settle import settle

        with self._lock, audit.acting_as(actor):
            return settle(self.ledger, self.ws.facts(), contract, period, provisional=provisional)

    def preview(self, contract: str, period: str) -> Any:
        """A provisional settle, not recorded: its evidence table is dropped afterwards."""
        from outcomes.settlement.settle import compute

        with self._lock:
            facts = self.ws.facts()
            result = compute(self.ledger, facts, contract, period, provisional=True)
            if result.measures:
                facts.drop_table(result.measures[0].evidence_table)
            return result

    # the live board --------------------------------------------------------------------------------------
    def _live_loop(self) -> None:
        while not self._stop.is_set():
            if not self._dirty.wait(timeout=IDLE_CHECKPOINT):
                self._checkpoint_when_idle()
                continue
            if self._stop.is_set():  # close() wakes the loop
                break
            self._dirty.clear()
            try:
                self.board.catch_up()  # on its own connection: batches keep arriving meanwhile
            except Exception:  # keep serving; the next batch tries again
                log.exception("the live scorecard could not catch up")
            self._rest(
                min(LIVE_REST_MAX, max(LIVE_INTERVAL, LIVE_REST * (self.board.last_update_seconds or 0.0)))
            )

    def _checkpoint_when_idle(self) -> None:
        """No batch for a while: write the logged batches into the facts file. On a connection of its own and
        without the writer's lock: DuckDB lets batches commit during a checkpoint (a second or two at 14M rows),
        so a stream that resumes meanwhile is slowed, not stopped (tests/test_server_api.py)."""
        with self._checkpoint_lock:  # the live loop's, and a caller's (tests, close)
            written = self._written
            if written == self._checkpointed or self._checkpointer is False:
                return
            try:
                if self._checkpointer is None:
                    self._checkpointer = self.store.session()
                self._checkpointer.checkpoint()
                self._checkpointed = written
            except Exception:  # the log keeps the batches; the next pause tries again
                log.exception("the facts store could not checkpoint")

    def _rest(self, seconds: float) -> None:
        """Let batches gather for the next update, but cut the rest short once they stop coming (a LIVE_INTERVAL
        without one): under a stream more batches share an update, and the last one shows soon after."""
        self._stop.wait(LIVE_INTERVAL)
        waited = LIVE_INTERVAL
        while waited < seconds and not self._stop.is_set():
            seen = self._written
            self._stop.wait(min(LIVE_INTERVAL, seconds - waited))
            waited += LIVE_INTERVAL
            if self._written == seen:
                return

    def catch_up(self) -> None:
        """Bring the live board up to date now (tests, and a page asked for before the first update)."""
        self.board.catch_up()

    def registered(self) -> None:
        """A contract (version) was registered: the live board picks it up."""
        self._dirty.set()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._dirty.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        with self._checkpoint_lock:
            if self._checkpointer:
                self._checkpointer.close()
            self._checkpointer = False
        with self._lock:
            self.ws.close()
        for p in self.uploads.glob("*"):
            p.unlink(missing_ok=True)
        self.uploads.rmdir()


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)
