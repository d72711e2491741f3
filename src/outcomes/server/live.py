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

Kept in the facts store beside the facts (derived, rebuilt when missing): `live_fates` (a row per candidate
of the tracked periods), `live_counts` (the counts) and `live_state` (per contract: the periods tracked, the
contract versions and the batch the figures are as of). The tracked periods are the one holding the contact
clock (the current period) and the one before it (whose late repeats still arrive). Reading the live
scorecard reads a snapshot in memory, refreshed after each update: no query.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from outcomes.contract import Contract, contract_hash
from outcomes.ledger import Ledger, LedgerError
from outcomes.metrics.outcomes import Clocks, evidence
from outcomes.metrics.scope import Window
from outcomes.period import Period

_DDL = (
    """CREATE TABLE IF NOT EXISTS live_fates (
  contract VARCHAR, period VARCHAR, outcome VARCHAR, source VARCHAR, interaction_id VARCHAR,
  customer_id VARCHAR, workflow VARCHAR, day DATE, status VARCHAR, reason VARCHAR, closed_at TIMESTAMP,
  value DECIMAL(18, 2)
)""",
    """CREATE TABLE IF NOT EXISTS live_counts (
  contract VARCHAR, period VARCHAR, outcome VARCHAR, day DATE, workflow VARCHAR, status VARCHAR,
  reason VARCHAR, n BIGINT, value DECIMAL(18, 2)
)""",
    """CREATE TABLE IF NOT EXISTS live_state (
  contract VARCHAR PRIMARY KEY, batch INTEGER, periods VARCHAR, contacts TIMESTAMP, events TIMESTAMP
)""",
)
_KEYS = ("outcome", "day", "workflow", "status", "reason")
_TOUCHED = "live_touched"
_NEW = "live_new"
_DELTA = "live_delta"
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

    def __init__(self, ledger: Ledger, facts: Any) -> None:
        self.ledger = ledger
        self.facts = facts
        self.con = facts.con
        for ddl in _DDL:
            self.con.execute(ddl)
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._version = 0
        self._changed = threading.Condition()
        self.last_update_seconds: float | None = None

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
        """Bring every contract's figures to the facts' latest batch; returns how many contracts changed."""
        started = time.perf_counter()
        latest = self.facts.latest_batch()
        changed = 0
        ids = sorted({r.contract for r in self.ledger.contract_versions()})
        for cid in ids:
            if self._catch_up_contract(cid, latest):
                changed += 1
        for gone in set(self._snapshots) - set(ids):
            del self._snapshots[gone]
        if changed:
            with self._changed:
                self._version += 1
                self._changed.notify_all()
        self.last_update_seconds = time.perf_counter() - started
        return changed

    def _catch_up_contract(self, cid: str, latest: int) -> bool:
        con = self.con
        state = con.execute(
            f"SELECT batch, periods, contacts, events FROM live_state WHERE contract = {_lit(cid)}"
        ).fetchone()
        tracked = self._tracked(cid)
        wanted = {t.label: t.hash for t in tracked}
        before = json.loads(state[1]) if state is not None else {}
        if state is not None and state[0] == latest and before == wanted and cid in self._snapshots:
            return False
        clocks = self._clocks(tracked)
        con.begin()
        try:
            for t in tracked:
                if before.get(t.label) != t.hash or state is None:
                    self._rebuild(cid, t, clocks)
                elif state[0] != latest:
                    self._apply(cid, t, clocks, lo=int(state[0]), hi=latest)
                elif (state[2], state[3]) != (clocks.contacts, clocks.events):
                    self._move_clocks(cid, t, clocks)
            for label in set(before) - set(wanted):
                for table in ("live_fates", "live_counts"):
                    con.execute(
                        f"DELETE FROM {table} WHERE contract = {_lit(cid)} AND period = {_lit(label)}"
                    )
            con.execute(f"DELETE FROM live_state WHERE contract = {_lit(cid)}")
            con.execute(
                "INSERT INTO live_state VALUES (?, ?, ?, ?, ?)",
                [cid, latest, json.dumps(wanted, sort_keys=True), clocks.contacts, clocks.events],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.execute(f"DROP TABLE IF EXISTS {_TOUCHED}")
            con.execute(f"DROP TABLE IF EXISTS {_NEW}")
        self._snapshots[cid] = self._snapshot(cid, tracked, clocks, latest)
        return True

    def _tracked(self, cid: str) -> list[Tracked]:
        """The current period (holding the contact clock, within the term) and the one before it."""
        latest = self.ledger.contract_version(cid)
        from outcomes.ledger import load_version

        contract = load_version(latest)
        clock = self.facts.contact_clock(contract.system_of_record)
        zone = contract.zone
        day = clock.replace(tzinfo=UTC).astimezone(zone).date() if clock is not None else contract.term.start
        day = min(max(day, contract.term.start), contract.term.end)
        current = Period.containing(day, contract.period)
        out = []
        for p in (current.previous(), current):
            try:
                c, row = self.ledger.contract_for(cid, p.start)
            except LedgerError:
                continue
            if p.end <= c.term.start or p.start > c.term.end:
                continue
            out.append(Tracked(p, c, contract_hash(c)))
        return out

    def _clocks(self, tracked: list[Tracked]) -> Clocks:
        sor = tracked[-1].contract.system_of_record if tracked else None
        return Clocks(
            contacts=self.facts.contact_clock(sor) if sor else None,
            events=self.facts.event_clock(),
        )

    def _fates_sql(self, cid: str, t: Tracked, clocks: Clocks, touched: bool) -> str:
        """SELECT of the period's fates (every candidate, or only the touched customers') as live_fates rows."""
        interactions = self.facts.interactions()
        events = self.facts.events()
        if touched:
            tt = self.facts.ibis().table(_TOUCHED)
            customers = tt.filter(tt.customer_id.notnull()).customer_id
            keys = tt.filter(tt.customer_id.isnull()).key
            i = interactions
            interactions = i.filter(
                i.customer_id.isin(customers)
                | (i.customer_id.isnull() & (i.source.concat("\x1f", i.interaction_id)).isin(keys))
            )
            events = events.filter(events.customer_id.isin(customers))
        window = Window.of(t.contract, t.period)
        parts = [
            self.facts.compile(evidence(t.contract, name, interactions, events, window, clocks))
            for name in t.contract.outcomes
        ]
        union = "\nUNION ALL\n".join(f"SELECT * FROM (\n{sql}\n)" for sql in parts)
        zone = _lit(t.contract.timezone)
        return (
            f"SELECT {_lit(cid)} AS contract, {_lit(t.label)} AS period, outcome, source, interaction_id, "
            f"customer_id, workflow, CAST(timezone({zone}, CAST(closed_at AS TIMESTAMPTZ)) AS DATE) AS day, "
            f"status, reason, closed_at, value FROM ({union}) AS e"
        )

    def _rebuild(self, cid: str, t: Tracked, clocks: Clocks) -> None:
        """A period newly tracked (or a new contract version): its fates computed once, then kept by batches."""
        con = self.con
        where = f"contract = {_lit(cid)} AND period = {_lit(t.label)}"
        con.execute(f"DELETE FROM live_fates WHERE {where}")
        con.execute(f"DELETE FROM live_counts WHERE {where}")
        con.execute(f"INSERT INTO live_fates {self._fates_sql(cid, t, clocks, touched=False)}")
        con.execute(
            "INSERT INTO live_counts SELECT contract, period, outcome, day, workflow, status, reason, "
            f"count(*), sum(coalesce(value, 0)) FROM live_fates WHERE {where} GROUP BY ALL"
        )

    def _apply(self, cid: str, t: Tracked, clocks: Clocks, *, lo: int, hi: int) -> None:
        """The batches (lo, hi]: recompute the touched customers' fates and move the counts by the change."""
        con = self.con
        span = lambda col: f"({col} > {lo} AND {col} <= {hi})"  # noqa: E731
        con.execute(f"DROP TABLE IF EXISTS {_TOUCHED}")
        con.execute(
            f"CREATE TABLE {_TOUCHED} AS SELECT DISTINCT customer_id, CASE WHEN customer_id IS NULL THEN "
            "source || chr(31) || interaction_id END AS key FROM interactions "
            f"WHERE {span('_batch')} OR {span('_until')} "
            f"UNION SELECT DISTINCT customer_id, NULL FROM events WHERE ({span('_batch')} OR {span('_until')}) "
            "AND customer_id IS NOT NULL"
        )
        (n,) = con.execute(f"SELECT count(*) FROM {_TOUCHED}").fetchone()
        if n:
            con.execute(f"DROP TABLE IF EXISTS {_NEW}")
            con.execute(f"CREATE TABLE {_NEW} AS {self._fates_sql(cid, t, clocks, touched=True)}")
            old = (
                f"contract = {_lit(cid)} AND period = {_lit(t.label)} AND (customer_id IN (SELECT customer_id "
                f"FROM {_TOUCHED} WHERE customer_id IS NOT NULL) OR (customer_id IS NULL AND source || chr(31) "
                f"|| interaction_id IN (SELECT key FROM {_TOUCHED} WHERE key IS NOT NULL)))"
            )
            self._move(
                cid,
                t,
                f"SELECT outcome, day, workflow, status, reason, 1 AS n, value FROM {_NEW} "
                f"UNION ALL SELECT outcome, day, workflow, status, reason, -1, -value FROM live_fates WHERE {old}",
            )
            con.execute(f"DELETE FROM live_fates WHERE {old}")
            con.execute(f"INSERT INTO live_fates SELECT {_FATE_COLUMNS} FROM {_NEW}")
        self._move_clocks(cid, t, clocks)

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
        (n,) = con.execute(f"SELECT count(*) FROM live_fates WHERE {where}").fetchone()
        if not n:
            return
        self._move(
            cid,
            t,
            f"SELECT outcome, day, workflow, {new_status} AS status, reason, 1 AS n, value FROM live_fates "
            f"WHERE {where} UNION ALL SELECT outcome, day, workflow, status, reason, -1, -value FROM live_fates "
            f"WHERE {where}",
        )
        con.execute(f"UPDATE live_fates SET status = {new_status} WHERE {where}")

    def _move(self, cid: str, t: Tracked, changes_sql: str) -> None:
        """Add the signed changes (rows of outcome, day, workflow, status, reason, n, value) to the counts."""
        con = self.con
        base = f"c.contract = {_lit(cid)} AND c.period = {_lit(t.label)}"
        match = f"{base} AND " + " AND ".join(f"c.{k} IS NOT DISTINCT FROM d.{k}" for k in _KEYS)
        con.execute(f"DROP TABLE IF EXISTS {_DELTA}")
        con.execute(
            f"CREATE TABLE {_DELTA} AS SELECT outcome, day, workflow, status, reason, sum(n) AS n, "
            f"sum(coalesce(value, 0)) AS value FROM ({changes_sql}) GROUP BY ALL "
            "HAVING sum(n) <> 0 OR sum(coalesce(value, 0)) <> 0"
        )
        con.execute(
            f"UPDATE live_counts AS c SET n = c.n + d.n, value = c.value + d.value FROM {_DELTA} AS d WHERE {match}"
        )
        con.execute(
            f"INSERT INTO live_counts SELECT {_lit(cid)}, {_lit(t.label)}, d.outcome, d.day, d.workflow, d.status, "
            f"d.reason, d.n, d.value FROM {_DELTA} AS d WHERE NOT EXISTS (SELECT 1 FROM live_counts AS c "
            f"WHERE {match})"
        )
        con.execute(f"DELETE FROM live_counts AS c WHERE {base} AND c.n = 0")
        con.execute(f"DROP TABLE {_DELTA}")

    # the snapshot -------------------------------------------------------------------------------------
    def counts(self, cid: str, period: str) -> list[tuple]:
        """The kept counts of a tracked period: (outcome, day, workflow, status, reason, n, value), sorted."""
        return [
            tuple(r)
            for r in self.con.execute(
                "SELECT outcome, day, workflow, status, reason, n, value FROM live_counts "
                "WHERE contract = ? AND period = ? ORDER BY ALL",
                [cid, period],
            ).fetchall()
        ]

    def fresh_counts(self, cid: str, period: str) -> list[tuple]:
        """The same counts computed afresh from every fact (what the kept ones must equal)."""
        tracked = {t.label: t for t in self._tracked(cid)}
        t = tracked[period]
        clocks = self._clocks(list(tracked.values()))
        sql = self._fates_sql(cid, t, clocks, touched=False)
        return [
            tuple(r)
            for r in self.con.execute(
                f"SELECT outcome, day, workflow, status, reason, count(*), sum(coalesce(value, 0)) FROM ({sql}) "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        ]

    def _snapshot(self, cid: str, tracked: list[Tracked], clocks: Clocks, batch: int) -> dict[str, Any]:
        periods = []
        for t in reversed(tracked):  # the current period first
            rows = self.counts(cid, t.label)
            periods.append(_layout(t, rows))
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


def _layout(t: Tracked, rows: list[tuple]) -> dict[str, Any]:
    """The counts of one period by workflow and outcome (fates and exclusion reasons), and by day."""
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
            outs.append(
                {
                    **cell,
                    "excluded": dict(sorted(cell["excluded"].items())),
                    "excluded_total": excluded,
                    "value": format(cell["value"], "f") if t.contract.outcomes[name].kind == "save" else None,
                    "counted_share": None
                    if decided == 0
                    else format(Decimal(cell["counted"]) / decided, ".6f"),
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
