"""Where a batch's time goes in the server: the JSON key pass (alone and beside a long scan), and the statements
of one live-board update.

Not part of `make bench` (no targets, nothing written): the figures docs/server.md (Performance) quotes for the
board's scans and the JSON keys come from here.

Usage: python bench/server_profile.py [--size 10000000] [--batches 5]
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import time

import server  # bench/server.py: the same cached month and batches


class _Timed:
    """A DuckDB connection whose statements are timed (wall seconds, summed by the statement's first words)."""

    def __init__(self, con, times: dict[str, float]) -> None:
        self._con, self._times = con, times

    def execute(self, sql, *args):
        t0 = time.perf_counter()
        out = self._con.execute(sql, *args)
        self._times[re.sub(r"\s+", " ", sql)[:100]] += time.perf_counter() - t0
        return out

    def __getattr__(self, name):
        return getattr(self._con, name)


def live_update(size: int, n: int) -> None:
    from outcomes.server.writer import Writer
    from outcomes.workspace import Workspace

    src = server.pristine(size, server.dataset(size))
    _, bodies = server.batches(server.dataset(size), 2 * n, 5000)
    ws_dir = server.fresh_copy(src, "server-profile")
    writer = Writer(Workspace(ws_dir), live=False)
    times: dict[str, float] = collections.defaultdict(float)
    try:
        writer.catch_up()
        writer.board.con = _Timed(writer.board.con, times)
        for r in range(2):  # the second round is the one to read: the first compiles and warms
            for i in range(n):
                writer.ingest(
                    tenant="Demo Bank",
                    key=f"p{r}-{i}",
                    kind="interactions",
                    body=bodies[r * n + i],
                    fmt="parquet",
                    timezone=None,
                    actor="bench",
                    contract=server.CONTRACT,
                )
            times.clear()
            t0 = time.perf_counter()
            writer.catch_up()
        print(f"live update after {n} batches of 5,000, {size:,} contacts: {time.perf_counter() - t0:.3f} s")
        for sql, s in sorted(times.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {s:7.3f} s  {sql}")
    finally:
        writer.close()
        shutil.rmtree(ws_dir, ignore_errors=True)


def json_keys(size: int) -> None:
    """The JSON key pass, before and after, alone and beside a long scan of the facts (as the live board's are):
    CPU when alone, and wall time (median and 90th percentile of 15) in both cases."""
    import threading

    import duckdb

    body = server.batches(server.dataset(1000000), 1, 5000)[0][0]
    path = server.DATA / "server-profile.json"
    path.write_bytes(body)
    reader = f"read_json_objects('{path}', format='array')"
    queries = (
        (
            "every row's keys, ordered (before)",
            f"SELECT k FROM (SELECT DISTINCT unnest(json_keys(json)) AS k FROM {reader} "
            "WHERE json_type(json) = 'OBJECT') ORDER BY k",
        ),
        (
            "distinct key lists (now)",
            f"SELECT DISTINCT json_keys(json) FROM {reader} WHERE json_type(json) = 'OBJECT'",
        ),
    )
    ws_dir = server.fresh_copy(server.pristine(size, server.dataset(size)), "server-profile")
    con = duckdb.connect(str(ws_dir / "facts.duckdb"))
    stop = threading.Event()

    def scans() -> None:
        other = con.cursor()
        while not stop.is_set():
            other.execute("SELECT count(DISTINCT customer_id), max(opened_at) FROM interactions").fetchall()

    try:
        for beside in (False, True):
            worker = threading.Thread(target=scans) if beside else None
            if worker is not None:
                worker.start()
                time.sleep(1)
            for name, sql in queries:
                cur = con.cursor()
                cpu = min(_cpu(cur, sql) for _ in range(5))
                walls = sorted(_wall(cur, sql) for _ in range(15))
                print(
                    f"JSON keys of 5,000 rows, {name}, {'beside a scan' if beside else 'alone'}: "
                    f"wall {walls[7] * 1000:.1f} ms (p90 {walls[13] * 1000:.1f})"
                    + ("" if beside else f", CPU {cpu * 1000:.1f} ms")
                )
            if worker is not None:
                stop.set()
                worker.join()
    finally:
        stop.set()
        con.close()
        path.unlink()
        shutil.rmtree(ws_dir, ignore_errors=True)


def _wall(con, sql: str) -> float:
    t0 = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - t0


def _cpu(con, sql: str) -> float:
    t0 = time.process_time()
    con.execute(sql).fetchall()
    return time.process_time() - t0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10000000)
    ap.add_argument("--batches", type=int, default=5)
    args = ap.parse_args()
    json_keys(args.size)
    live_update(args.size, args.batches)
