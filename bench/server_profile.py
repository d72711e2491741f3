"""Where a batch's time goes in the server: the statements of one live-board update, and the JSON key pass.

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


def json_keys() -> None:
    import duckdb

    body = server.batches(server.dataset(1000000), 1, 5000)[0][0]
    path = server.DATA / "server-profile.json"
    path.write_bytes(body)
    reader = f"read_json_objects('{path}', format='array')"
    con = duckdb.connect()
    for name, sql in (
        (
            "every row's keys, ordered (before)",
            f"SELECT k FROM (SELECT DISTINCT unnest(json_keys(json)) AS k FROM {reader} "
            "WHERE json_type(json) = 'OBJECT') ORDER BY k",
        ),
        (
            "distinct key lists (now)",
            f"SELECT DISTINCT json_keys(json) FROM {reader} WHERE json_type(json) = 'OBJECT'",
        ),
    ):
        best = min(_cpu(con, sql) for _ in range(5))
        print(f"JSON keys of 5,000 rows, {name}: {best * 1000:.1f} ms of CPU (best of 5)")
    path.unlink()


def _cpu(con, sql: str) -> float:
    t0 = time.process_time()
    con.execute(sql).fetchall()
    return time.process_time() - t0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10000000)
    ap.add_argument("--batches", type=int, default=5)
    args = ap.parse_args()
    json_keys()
    live_update(args.size, args.batches)
