"""The live scorecard: each contract's verified outcomes by workflow in the current period, kept up to date as
batches arrive, from counts kept per (day, workflow, outcome, fate, reason), never recomputed from the month.

Why this is exact. An outcome's fate (metrics/outcomes.py `evidence`) depends on the contact's own row, on the
contacts of the same customer (the repeat-contact window and saves are partitioned by customer), on that
customer's CRM events, and on two clocks (the contact and event clocks). So after a batch:

1. the contacts whose fate can change are those of the customers the batch touched (a new or superseded
   version of one of their contacts or events; a contact without a customer only by its own key): their
   fates are computed again with the contract's own `evidence` expression, restricted to those customers,
   and the counts move by (new fates - old fates);
2. every other contact can only change through the clocks: a contact whose repeat window (or save window)
   the clock has now passed moves from pending to counted (or back, should a correction move a clock back),
   and the counts move with it.

A late repeat contact thus updates the earlier contact's fate (same customer), and the figures equal a fresh
computation of the period at every batch (tests/test_server_live.py compares them after random batch orders).

Kept in memory, in a database attached to the facts connection (derived: built when the server starts):
`live.fates` (a row per candidate of the tracked periods), `live.counts` (the counts) and `live.state` (per
contract: the periods tracked, the contract versions and the batch the figures are as of). The tracked periods are the one holding the contact
clock (the current period) and the one before it (whose late repeats still arrive). Reading the live
scorecard reads a snapshot in memory, refreshed after each update: no query.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from outcomes.contract import Contract, contract_hash
from outcomes.facts.schema import KINDS
from outcomes.ledger import Ledger, LedgerError
from outcomes.metrics.library import NO_EVENTS
from outcomes.metrics.outcomes import Clocks, evidence
from outcomes.metrics.scope import Window
from outcomes.period import Period

_DDL = (
    """CREATE TABLE IF NOT EXISTS live.fates (
  contract VARCHAR, period VARCHAR, outcome VARCHAR, source VARCHAR, interaction_id VARCHAR,
  customer_id VARCHAR, workflow VARCHAR, day DATE, status VARCHAR, reason VARCHAR, closed_at TIMESTAMP,
  value DECIMAL(18, 2)
)""",
    """CREATE TABLE IF NOT EXISTS live.counts (
  contract VARCHAR, period VARCHAR, outcome VARCHAR, day DATE, workflow VARCHAR, status VARCHAR,
  reason VARCHAR, n BIGINT, value DECIMAL(18, 2)
)""",
    """CREATE TABLE IF NOT EXISTS live.state (
  contract VARCHAR PRIMARY KEY, batch INTEGER, periods VARCHAR, contacts TIMESTAMP, events TIMESTAMP
)""",
)
_KEYS = ("outcome", "day", "workflow", "status", "reason")
_KEY_COLUMNS = ("interaction_id", "source", "customer_id")  # always read: the touched rows are found by them
_TOUCHED = "live.touched"
_NEW = "live.new"
_DELTA = "live.delta"
_IX = "live.ix"  # the touched customers' current interactions
_EV = "live.ev"  # ... and their events
_OLD = "live.old"  # the kept fates of the touched customers
_SCRATCH = (
    _TOUCHED,
    _NEW,
    _DELTA,
    _OLD,
)  # live.ix and live.ev stay (emptied at each use): compiled SQL names them
# Clocks that have seen everything: the evidence compiled with them decides exclusions only (see _evidence_sql).
_SEEN_ALL = Clocks(contacts=datetime(9999, 1, 1), events=datetime(9999, 1, 1))
_FATE_COLUMNS = (
    "contract, period, outcome, source, interaction_id, customer_id, workflow, day, status, reason, closed_at, "
    "value"
)


def _lit(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


@dataclass(frozen=True)
class Tracked:
    """A period the board keeps: its contract version (by hash) and its window."""

    period: Period
    contract: Contract
    hash: str

    @property
    def label(self) -> str:
        return self.period.label


class LiveBoard:
    """Live counts of every registered contract, kept in the facts store. Not thread-safe: the caller holds
    the facts lock around `catch_up` (the server's one writer does)."""

    def __init__(self, ledger: Ledger, facts: Any, main_lock: Any = None) -> None:
        self.ledger = ledger
        self.facts = facts
        # The board's own connection to the facts database: its transaction writes only the in-memory `live`
        # database and reads a snapshot of the facts, so it runs beside an ingest instead of after it. The
        # store's own connection (ibis, compiling) is used under `main_lock`, the writer's.
        self.con = facts.con.cursor()
        self._main_lock = main_lock if main_lock is not None else threading.RLock()
        self._lock = threading.Lock()
        # The live state is derived and rewritten at every batch: kept in memory (an in-memory database attached
        # to the facts connection), not in the facts file, whose commits would rewrite it on disk each time.
        self.con.execute("ATTACH IF NOT EXISTS ':memory:' AS live")
        for ddl in _DDL:
            self.con.execute(ddl)
        for table, kind in ((_IX, "interactions"), (_EV, "events")):
            cols = ", ".join(f'"{c}"' for c in KINDS[kind].columns)
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT {cols} FROM {kind} LIMIT 0")
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._contracts: dict[tuple, Contract | None] = {}
        self._sql: dict[tuple, str] = {}
        self._version = 0
        self._changed = threading.Condition()
        self.last_update_seconds: float | None = None
        self._memo = threading.local()  # .clocks: contact clocks read in the running update (its thread only)

    # reading ------------------------------------------------------------------------------------------
    def snapshot(self, contract_id: str) -> dict[str, Any] | None:
        return self._snapshots.get(contract_id)

    @property
    def version(self) -> int:
        return self._version

    def wait(self, after: int, timeout: float) -> int:
        """Block until the board's version passes `after` (or timeout); returns the version."""
        with self._changed:
            self._changed.wait_for(lambda: self._version > after, timeout=timeout)
            return self._version

    # updating -----------------------------------------------------------------------------------------
    def catch_up(self) -> int:
        """Bring every contract's figures to the facts' latest batch; returns how many contracts changed.

        One transaction: the batch, the clocks and the facts it reads are one snapshot of the store."""
        with self._lock:
            started = time.perf_counter()
            con = self.con
            ids = sorted({r.contract for r in self.ledger.contract_versions()})
            made: dict[str, dict[str, Any]] = {}
            self._memo.clocks = {}
            con.begin()
            try:
                (latest,) = con.execute("SELECT coalesce(max(batch), 0) FROM batches").fetchone()
                for cid in ids:
                    snap = self._catch_up_contract(cid, int(latest))
                    if snap is not None:
                        made[cid] = snap
                con.commit()
            except BaseException:
                con.rollback()
                raise
            finally:
                self._memo.clocks = None
                for table in _SCRATCH:
                    con.execute(f"DROP TABLE IF EXISTS {table}")
            self._snapshots.update(made)
            for gone in set(self._snapshots) - set(ids):
                del self._snapshots[gone]
            if made:
                with self._changed:
                    self._version += 1
                    self._changed.notify_all()
            self.last_update_seconds = time.perf_counter() - started
            return len(made)

    def _catch_up_contract(self, cid: str, latest: int) -> dict[str, Any] | None:
        """Inside catch_up's transaction: one contract's figures brought to `latest`; its new snapshot, or
        None when nothing changed."""
        con = self.con
        state = con.execute(
            f"SELECT batch, periods, contacts, events FROM live.state WHERE contract = {_lit(cid)}"
        ).fetchone()
        tracked = self._tracked(cid)
        wanted = {t.label: t.hash for t in tracked}
        before = json.loads(state[1]) if state is not None else {}
        if state is not None and state[0] == latest and before == wanted and cid in self._snapshots:
            return None
        clocks = self._clocks(tracked)
        rebuild = [t for t in tracked if state is None or before.get(t.label) != t.hash]
        keep = [t for t in tracked if t not in rebuild]
        for t in rebuild:
            self._rebuild(cid, t, clocks)
            # compiled now, while no batch waits for it: the first update after a quiet spell is then as quick
            # as the others
            self._evidence_sql(t, touched=True)
        if keep and state[0] != latest:
            self._apply(cid, keep, clocks, lo=int(state[0]), hi=latest)
        if keep and (state[2], state[3]) != (clocks.contacts, clocks.events):
            for t in keep:
                self._move_clocks(cid, t, clocks)
        for label in set(before) - set(wanted):
            for table in ("live.fates", "live.counts"):
                con.execute(f"DELETE FROM {table} WHERE contract = {_lit(cid)} AND period = {_lit(label)}")
        con.execute(f"DELETE FROM live.state WHERE contract = {_lit(cid)}")
        con.execute(
            "INSERT INTO live.state VALUES (?, ?, ?, ?, ?)",
            [cid, latest, json.dumps(wanted, sort_keys=True), clocks.contacts, clocks.events],
        )
        return self._snapshot(cid, tracked, clocks, latest)

    def _tracked(self, cid: str) -> list[Tracked]:
        """The current period (holding the contact clock, within the term) and the one before it."""
        rows = self.ledger.contract_versions(cid)
        signature = tuple((r.version, r.hash, r.effective_from) for r in rows)
        contract = self._contract_for(cid, signature, None)
        clock = self._contact_clock(contract.system_of_record)
        zone = contract.zone
        day = clock.replace(tzinfo=UTC).astimezone(zone).date() if clock is not None else contract.term.start
        day = min(max(day, contract.term.start), contract.term.end)
        current = Period.containing(day, contract.period)
        out = []
        for p in (current.previous(), current):
            c = self._contract_for(cid, signature, p)
            if c is None or p.end <= c.term.start or p.start > c.term.end:
                continue
            out.append(Tracked(p, c, contract_hash(c)))
        return out

    def _contract_for(self, cid: str, signature: tuple, period: Period | None) -> Contract | None:
        """The ledger's contract version for a period (None: the latest), remembered while the contract's
        registered versions stay the same (loading one parses and checks its text)."""
        key = (cid, signature, period.label if period is not None else None)
        if key not in self._contracts:
            from outcomes.ledger import load_version

            try:
                if period is None:
                    self._contracts[key] = load_version(self.ledger.contract_version(cid))
                else:
                    self._contracts[key] = self.ledger.contract_for(cid, period.start)[0]
            except LedgerError:
                self._contracts[key] = None
        return self._contracts[key]

    def _contact_clock(self, system_of_record: str) -> datetime | None:
        """The store's contact clock (FactsStore.contact_clock), read in the board's transaction (once per update:
        a scan of the interactions)."""
        memo = getattr(self._memo, "clocks", None)
        if memo is not None and system_of_record in memo:
            return memo[system_of_record]
        clock = self.con.execute(
            "SELECT max(opened_at) FROM interactions WHERE source = ? AND _until IS NULL", [system_of_record]
        ).fetchone()[0]
        if memo is not None:
            memo[system_of_record] = clock
        return clock

    def _clocks(self, tracked: list[Tracked]) -> Clocks:
        sor = tracked[-1].contract.system_of_record if tracked else None
        (events,) = self.con.execute('SELECT max("at") FROM events WHERE _until IS NULL').fetchone()
        return Clocks(contacts=self._contact_clock(sor) if sor else None, events=events)

    def _evidence_sql(self, t: Tracked, touched: bool) -> str:
        """The period's evidence query (every outcome, UNION ALL) over all facts or over the touched customers'
        (tables live.ix, live.ev), compiled once per contract version and period. It is compiled with clocks
        that have seen everything, so its fates do not depend on the clocks: `_fates_sql` decides pending from
        the real clocks (the same rule as the evidence's: a window not yet passed by its feed's clock)."""
        key = (t.hash, t.label, touched)
        if key in self._sql:
            return self._sql[key]
        with self._main_lock:
            if touched:
                interactions = self.facts.ibis().table(_IX.split(".")[1], database="live")
                events = self.facts.ibis().table(_EV.split(".")[1], database="live")
            else:
                interactions, events = self.facts.interactions(), self.facts.events()
            window = Window.of(t.contract, t.period)
            parts = [
                self.facts.compile(evidence(t.contract, name, interactions, events, window, _SEEN_ALL))
                for name in t.contract.outcomes
            ]
            self._sql[key] = "\nUNION ALL\n".join(f"SELECT * FROM (\n{sql}\n)" for sql in parts)
        return self._sql[key]

    def _fates_sql(self, cid: str, t: Tracked, clocks: Clocks, touched: bool) -> str:
        """SELECT of the period's fates as live.fates rows: every candidate, or the touched customers'."""
        zone = _lit(t.contract.timezone)
        status = (
            f"CASE WHEN reason IS NOT NULL THEN 'excluded' WHEN {self._waiting_sql(t, clocks)} THEN 'pending' "
            "ELSE 'counted' END"
        )
        return (
            f"SELECT {_lit(cid)} AS contract, {_lit(t.label)} AS period, outcome, source, interaction_id, "
            f"customer_id, workflow, CAST(timezone({zone}, CAST(closed_at AS TIMESTAMPTZ)) AS DATE) AS day, "
            f"{status} AS status, reason, closed_at, value FROM ({self._evidence_sql(t, touched)}) AS e"
        )

    def _rebuild(self, cid: str, t: Tracked, clocks: Clocks) -> None:
        """A period newly tracked (or a new contract version): its fates computed once, then kept by batches."""
        con = self.con
        where = f"contract = {_lit(cid)} AND period = {_lit(t.label)}"
        con.execute(f"DELETE FROM live.fates WHERE {where}")
        con.execute(f"DELETE FROM live.counts WHERE {where}")
        con.execute(f"INSERT INTO live.fates {self._fates_sql(cid, t, clocks, touched=False)}")
        con.execute(
            "INSERT INTO live.counts SELECT contract, period, outcome, day, workflow, status, reason, "
            f"count(*), sum(coalesce(value, 0)) FROM live.fates WHERE {where} GROUP BY ALL"
        )

    def _apply(self, cid: str, periods: list[Tracked], clocks: Clocks, *, lo: int, hi: int) -> None:
        """The batches (lo, hi]: recompute the touched customers' fates and move the counts by the change.

        The touched customers' facts are read once (one scan of each table) into small tables; the
        periods' evidence queries then run on those alone."""
        con = self.con
        for table in _SCRATCH:  # another contract's update in this transaction left its own
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(
            f"CREATE TABLE {_TOUCHED} AS "
            + " UNION ".join(
                f"SELECT DISTINCT customer_id, {key} AS key FROM {table} WHERE {col} > {lo} AND {col} <= {hi}"
                for table, key in (
                    (
                        "interactions",
                        "CASE WHEN customer_id IS NULL THEN source || chr(31) || interaction_id END",
                    ),
                    ("events", "NULL"),
                )
                for col in ("_batch", "_until")
            )
        )
        (n,) = con.execute(f"SELECT count(*) FROM {_TOUCHED}").fetchone()
        if not n:
            return
        customers = f"(SELECT customer_id FROM {_TOUCHED} WHERE customer_id IS NOT NULL)"
        keys = f"(SELECT key FROM {_TOUCHED} WHERE key IS NOT NULL)"
        icols, ecols = self._read_columns(periods)
        con.execute(f"DELETE FROM {_IX}")
        con.execute(f"DELETE FROM {_EV}")
        # two scans joined on one key each, not one scan with an OR of two semi-joins (which probes both for
        # every row): a contact without a customer is found by its own key only
        con.execute(
            f"INSERT INTO {_IX} SELECT {icols} FROM interactions WHERE _until IS NULL AND customer_id IN {customers} "
            f"UNION ALL SELECT {icols} FROM interactions WHERE _until IS NULL AND customer_id IS NULL AND "
            f"source || chr(31) || interaction_id IN {keys}"
        )
        con.execute(
            f"INSERT INTO {_EV} SELECT {ecols} FROM events WHERE _until IS NULL AND customer_id IN {customers}"
        )
        con.execute(
            f"CREATE TABLE {_NEW} AS "
            + " UNION ALL ".join(f"({self._fates_sql(cid, t, clocks, touched=True)})" for t in periods)
        )
        # the kept fates of the touched customers, found once (one scan of live.fates), then replaced; a DELETE ..
        # RETURNING instead took longer (DuckDB 1.5: 0.39 s against 0.27 s for both statements at 1.4M rows)
        labels = ", ".join(_lit(t.label) for t in periods)
        kept = f"contract = {_lit(cid)} AND period IN ({labels})"
        con.execute(
            f"CREATE TABLE {_OLD} AS SELECT rowid AS rid, period, outcome, day, workflow, status, reason, value "
            f"FROM live.fates WHERE {kept} AND customer_id IN {customers} UNION ALL SELECT rowid, period, outcome, "
            f"day, workflow, status, reason, value FROM live.fates WHERE {kept} AND customer_id IS NULL AND "
            f"source || chr(31) || interaction_id IN {keys}"
        )
        self._move(
            cid,
            f"SELECT period, outcome, day, workflow, status, reason, 1 AS n, value FROM {_NEW} UNION ALL "
            f"SELECT period, outcome, day, workflow, status, reason, -1, -value FROM {_OLD}",
        )
        con.execute(f"DELETE FROM live.fates WHERE rowid IN (SELECT rid FROM {_OLD})")
        con.execute(f"INSERT INTO live.fates SELECT {_FATE_COLUMNS} FROM {_NEW}")

    def _read_columns(self, periods: list[Tracked]) -> tuple[str, str]:
        """The SELECT lists that fill live.ix and live.ev: the columns the periods' evidence queries name, and NULL
        for the others (an interaction row has twenty columns; reading the touched customers' rows is a scan of the
        facts, whose cost grows with the columns it reads)."""
        sql = "\n".join(self._evidence_sql(t, touched=True) for t in periods)
        out = []
        for kind in ("interactions", "events"):
            cols = []
            for c in KINDS[kind].columns:
                named = re.search(rf"\b{re.escape(c)}\b", sql) is not None or c in _KEY_COLUMNS
                cols.append(f'"{c}"' if named else f'CAST(NULL AS {KINDS[kind].field(c).sql_type}) AS "{c}"')
            out.append(", ".join(cols))
        return out[0], out[1]

    def _waiting_sql(self, t: Tracked, clocks: Clocks) -> str:
        """SQL: is a not-excluded candidate still waiting for its window (per outcome), under these clocks."""
        branches = []
        for name, o in t.contract.outcomes.items():
            conds = []
            if o.repeat_contact is not None:
                conds.append(_not_observed(o.repeat_contact.within, clocks.contacts))
            if o.kind == "save" and o.retained_for is not None:
                conds.append(_not_observed(o.retained_for, clocks.events))
            branches.append(f"WHEN outcome = {_lit(name)} THEN {' OR '.join(conds) if conds else 'false'}")
        return f"(CASE {' '.join(branches)} ELSE false END)"

    def _move_clocks(self, cid: str, t: Tracked, clocks: Clocks) -> None:
        """Candidates whose window the clocks have now passed (or no longer pass) change fate."""
        con = self.con
        new_status = f"(CASE WHEN {self._waiting_sql(t, clocks)} THEN 'pending' ELSE 'counted' END)"
        where = (
            f"contract = {_lit(cid)} AND period = {_lit(t.label)} AND reason IS NULL "
            f"AND status <> {new_status}"
        )
        (n,) = con.execute(f"SELECT count(*) FROM live.fates WHERE {where}").fetchone()
        if not n:
            return
        self._move(
            cid,
            f"SELECT period, outcome, day, workflow, {new_status} AS status, reason, 1 AS n, value FROM live.fates "
            f"WHERE {where} UNION ALL SELECT period, outcome, day, workflow, status, reason, -1, -value "
            f"FROM live.fates WHERE {where}",
        )
        con.execute(f"UPDATE live.fates SET status = {new_status} WHERE {where}")

    def _move(self, cid: str, changes_sql: str) -> None:
        """Add the signed changes (rows of period, outcome, day, workflow, status, reason, n, value) to the
        counts."""
        con = self.con
        keys = ("period", *_KEYS)
        match = f"c.contract = {_lit(cid)} AND " + " AND ".join(
            f"c.{k} IS NOT DISTINCT FROM d.{k}" for k in keys
        )
        con.execute(f"DROP TABLE IF EXISTS {_DELTA}")
        con.execute(
            f"CREATE TABLE {_DELTA} AS SELECT period, outcome, day, workflow, status, reason, sum(n) AS n, "
            f"sum(coalesce(value, 0)) AS value FROM ({changes_sql}) GROUP BY ALL "
            "HAVING sum(n) <> 0 OR sum(coalesce(value, 0)) <> 0"
        )
        con.execute(
            f"UPDATE live.counts AS c SET n = c.n + d.n, value = c.value + d.value FROM {_DELTA} AS d WHERE {match}"
        )
        con.execute(
            f"INSERT INTO live.counts SELECT {_lit(cid)}, d.period, d.outcome, d.day, d.workflow, d.status, "
            f"d.reason, d.n, d.value FROM {_DELTA} AS d WHERE NOT EXISTS (SELECT 1 FROM live.counts AS c "
            f"WHERE {match})"
        )
        con.execute(f"DELETE FROM live.counts WHERE contract = {_lit(cid)} AND n = 0")
        con.execute(f"DROP TABLE {_DELTA}")

    # the snapshot -------------------------------------------------------------------------------------
    def counts(self, cid: str, period: str) -> list[tuple]:
        """The kept counts of a tracked period: (outcome, day, workflow, status, reason, n, value), sorted."""
        return [
            tuple(r)
            for r in self.con.execute(
                "SELECT outcome, day, workflow, status, reason, n, value FROM live.counts "
                "WHERE contract = ? AND period = ? ORDER BY ALL",
                [cid, period],
            ).fetchall()
        ]

    def fresh_counts(self, cid: str, period: str) -> list[tuple]:
        """The same counts computed afresh from every fact by the outcome definitions themselves, with the real
        clocks and their own fates (what the kept ones must equal)."""
        tracked = {t.label: t for t in self._tracked(cid)}
        t = tracked[period]
        clocks = self._clocks(list(tracked.values()))
        window = Window.of(t.contract, t.period)
        with self._main_lock:
            parts = [
                self.facts.compile(
                    evidence(t.contract, name, self.facts.interactions(), self.facts.events(), window, clocks)
                )
                for name in t.contract.outcomes
            ]
        union = "\nUNION ALL\n".join(f"SELECT * FROM (\n{sql}\n)" for sql in parts)
        zone = _lit(t.contract.timezone)
        return [
            tuple(r)
            for r in self.con.execute(
                f"SELECT outcome, CAST(timezone({zone}, CAST(closed_at AS TIMESTAMPTZ)) AS DATE) AS day, workflow, "
                f"status, reason, count(*), sum(coalesce(value, 0)) FROM ({union}) GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        ]

    def _snapshot(self, cid: str, tracked: list[Tracked], clocks: Clocks, batch: int) -> dict[str, Any]:
        periods = []
        for t in reversed(tracked):  # the current period first
            rows = self.counts(cid, t.label)
            periods.append(_layout(t, rows, no_events=clocks.events is None))
        return {
            "contract": cid,
            "as_of_batch": batch,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "contact_clock": _local(clocks.contacts, tracked[-1].contract) if tracked else None,
            "event_clock": _local(clocks.events, tracked[-1].contract) if tracked else None,
            "periods": periods,
        }


def _not_observed(seconds: int, clock: datetime | None) -> str:
    """SQL: closed_at + the window lies after the clock (everything waits while the clock is unknown)."""
    if clock is None:
        return "true"
    return f"(closed_at + INTERVAL {int(seconds)} SECOND > TIMESTAMP '{clock.isoformat(sep=' ')}')"


def _local(dt: datetime | None, contract: Contract) -> str | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC).astimezone(contract.zone).isoformat(timespec="minutes")


def _layout(t: Tracked, rows: list[tuple], *, no_events: bool = False) -> dict[str, Any]:
    """The counts of one period by workflow and outcome (fates and exclusion reasons), and by day.

    `no_events`: no customer event has been ingested, so a save outcome (decided by churn events) has no data:
    its value and counted share are null with `undefined` saying why, never 0."""
    by_wf: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    days: dict[tuple[str, str, str], dict[str, int]] = {}
    for outcome, day, workflow, status, reason, n, value in rows:
        wf = workflow if workflow is not None else "(no workflow)"
        cell = by_wf[wf].setdefault(
            outcome,
            {
                "outcome": outcome,
                "candidates": 0,
                "counted": 0,
                "pending": 0,
                "excluded": {},
                "value": Decimal(0),
            },
        )
        n = int(n)
        cell["candidates"] += n
        if status == "excluded":
            cell["excluded"][reason] = cell["excluded"].get(reason, 0) + n
        else:
            cell[status] += n
            if status == "counted":
                cell["value"] += Decimal(value)
        d = days.setdefault((str(day), wf, outcome), {"counted": 0, "pending": 0, "excluded": 0})
        d[status] += n
    workflows = []
    for wf in sorted(by_wf):
        outs = []
        for name in t.contract.outcomes:
            cell = by_wf[wf].get(name)
            if cell is None:
                continue
            excluded = sum(cell["excluded"].values())
            decided = cell["counted"] + excluded
            save = t.contract.outcomes[name].kind == "save"
            unknown = save and no_events
            outs.append(
                {
                    **cell,
                    "excluded": dict(sorted(cell["excluded"].items())),
                    "excluded_total": excluded,
                    "value": format(cell["value"], "f") if save and not unknown else None,
                    "counted_share": None
                    if decided == 0 or unknown
                    else format(Decimal(cell["counted"]) / decided, ".6f"),
                    "undefined": NO_EVENTS if unknown else None,
                }
            )
        workflows.append({"workflow": wf, "outcomes": outs})
    start, end = t.period.start, t.period.end
    return {
        "period": t.label,
        "start": start.isoformat(),
        "end": (end - timedelta(days=1)).isoformat(),
        "version": t.contract.version,
        "workflows": workflows,
        "days": [{"day": d, "workflow": wf, "outcome": o, **v} for (d, wf, o), v in sorted(days.items())],
    }
