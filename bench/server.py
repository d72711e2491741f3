"""`make bench` (server part): the shared server on loopback under load, bounded in count and time.

For each size (contacts a month, as bench/run.py: 1M contacts are ~1.4M interaction rows stored):
1. a workspace with that month ingested (cached under bench/data/, copied fresh for every run);
2. `outcomes serve` in its own process on 127.0.0.1; the live scorecard built once at start-up (timed);
3. GET of the live scorecard, idle: `--gets` requests in a row, p50/p95/p99;
4. ingest: `--batches` batches of `--batch-size` new interactions, each POSTed with its own Idempotency-Key
   (JSON, then Parquet), by `--clients` clients at once, while another client keeps GETting the live
   scorecard (its p95 under load); rows/s over the whole phase; then the lag until the live scorecard shows
   the last batch; then as many Parquet batches again (other contacts) by twice as many clients (a client sends
   its next batch only once the last is answered, so few clients measure their own waits as much as the
   server);
5. the floors, in the same run: the same batches ingested in-process by the facts store (no HTTP, no receipt,
   no live update), one after the other and by as many sessions at once as there are clients (as the server
   does), and copied as is into a DuckDB table (no validation at all).

Writes bench/results/server-<stamp>.json and .md, and bench/results/server-latest.md.
Usage: python bench/server.py [--sizes 1000000,10000000] [--batches 40] [--batch-size 5000] [--clients 2]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
ROOT = HERE.parent
SEED = 42
CONTRACT = "demo-bank-northwind"
PHASE_SECONDS = 300  # no phase runs longer than this


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def ms(v: float) -> float:
    return round(v * 1000, 1)


def dataset(size: int) -> Path:
    out = DATA / f"server-{size}"
    if not (out / "interactions.parquet").exists():
        from outcomes.synthetic.generate import generate

        print(f"generating {size:,} contacts into {out}", flush=True)
        generate(out, contacts=size, months=1, seed=SEED, start="2026-06")
    return out


def pristine(size: int, data: Path) -> Path:
    """A workspace holding the month (cached): copied for each run, never served itself."""
    ws_dir = DATA / f"server-ws-{size}"
    if (ws_dir / ".ready").exists():
        return ws_dir
    shutil.rmtree(ws_dir, ignore_errors=True)
    from outcomes.contract import read_contract
    from outcomes.workspace import init_workspace

    print(f"building the workspace {ws_dir}", flush=True)
    ws = init_workspace(ws_dir)
    ws.ledger().add_contract(
        read_contract(data / "contract.yaml"), (data / "contract.yaml").read_text(), "contract.yaml"
    )
    ws.facts().ingest("interactions", data / "interactions.parquet")
    ws.facts().ingest("events", data / "events.parquet")
    ws.close()
    (ws_dir / ".ready").write_text("ok\n")
    return ws_dir


def fresh_copy(src: Path, name: str) -> Path:
    dst = DATA / name
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    # settings hold absolute paths only for what was given absolutely; the defaults are relative
    return dst


def add_people(ws_dir: Path) -> str:
    from outcomes.ledger import access as people
    from outcomes.workspace import Workspace

    ws = Workspace(ws_dir)
    try:
        with people.transaction(ws.ledger()) as s:
            people.add_user(s, "bench@demo-bank.example", "Demo Bank", "buyer-admin", None)
            token = people.create_token(s, "bench@demo-bank.example", days=1).token
    finally:
        ws.close()
    return token


def batches(data: Path, n: int, size: int, sets: int = 2) -> tuple[list[bytes], list[bytes]]:
    """n batches of new interactions (rows of the month with new ids): JSON bodies, and (sets - 1) * n Parquet
    bodies (each set other contacts)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = pq.read_table(data / "interactions.parquet").slice(0, n * size)
    json_bodies, parquet_bodies = [], []
    for b in range(sets * n):  # new ids for each: the JSON and the Parquet batches are different contacts
        part = source.slice((b % n) * size, size)
        ids = pa.array([f"L{b}-{i}" for i in range(part.num_rows)])
        part = part.set_column(part.schema.get_field_index("interaction_id"), "interaction_id", ids)
        if b >= n:
            buf = io.BytesIO()
            pq.write_table(part, buf)
            parquet_bodies.append(buf.getvalue())
            continue
        rows = part.to_pylist()
        for r in rows:
            for k, v in list(r.items()):
                if isinstance(v, datetime):
                    r[k] = v.isoformat() + ("" if v.tzinfo else "Z")
                elif v is not None and not isinstance(v, (str, int, float, bool)):
                    r[k] = str(v)
        json_bodies.append(json.dumps(rows).encode())
    del pc
    return json_bodies, parquet_bodies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, ws_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, OUTCOMES_WORKSPACE=str(ws_dir))
        self.log = open(ws_dir / "server.log", "w")  # noqa: SIM115
        outcomes = Path(sys.executable).parent / "outcomes"
        self.proc = subprocess.Popen(
            [str(outcomes), "serve", "--port", str(self.port)], env=env, stdout=self.log, stderr=self.log
        )

    def wait(self, client, token: str, timeout: float = 1800) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server stopped: see {self.log.name}")
            try:
                r = client.get(
                    f"{self.url}/api/contracts/{CONTRACT}/scorecard/live",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=600,
                )
                if r.status_code == 200:
                    return time.perf_counter() - t0
            except Exception:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not come up")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def get_live(client, url: str, token: str, n: int, stop: threading.Event | None = None) -> list[float]:
    out = []
    h = {"Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + PHASE_SECONDS
    for _ in range(n if stop is None else 10**9):
        if stop is not None and stop.is_set() or time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        r = client.get(f"{url}/api/contracts/{CONTRACT}/scorecard/live", headers=h)
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
        if stop is not None:
            time.sleep(0.02)
    return out


def ingest_phase(url: str, token: str, bodies: list[bytes], media: str, clients: int, tag: str) -> dict:
    import httpx

    h = {"Authorization": f"Bearer {token}", "Content-Type": media}
    latencies: list[float] = []
    accepted = 0
    lock = threading.Lock()
    queue = list(enumerate(bodies))
    last_batch = 0

    def worker() -> None:
        nonlocal accepted, last_batch
        with httpx.Client(timeout=600) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    i, body = queue.pop(0)
                t0 = time.perf_counter()
                r = c.post(
                    f"{url}/api/contracts/{CONTRACT}/interactions",
                    content=body,
                    headers=h | {"Idempotency-Key": f"{tag}-{i}"},
                )
                dt = time.perf_counter() - t0
                assert r.status_code == 201, r.text
                with lock:
                    latencies.append(dt)
                    accepted += r.json()["accepted"]
                    last_batch = max(last_batch, r.json()["batch"])

    stop = threading.Event()
    gets: list[float] = []
    getter = threading.Thread(
        target=lambda: gets.extend(get_live(httpx.Client(timeout=60), url, token, 0, stop))
    )
    getter.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    # the live scorecard catches up on a worker thread: how long after the last batch it shows it
    t1 = time.perf_counter()
    with httpx.Client(timeout=60) as c:
        while time.perf_counter() - t1 < PHASE_SECONDS:
            snap = c.get(
                f"{url}/api/contracts/{CONTRACT}/scorecard/live", headers={"Authorization": f"Bearer {token}"}
            ).json()
            if snap["as_of_batch"] >= last_batch:
                break
            time.sleep(0.05)
    lag = time.perf_counter() - t1
    stop.set()
    getter.join()
    rows = accepted
    return {
        "media": media,
        "batches": len(bodies),
        "accepted": accepted,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
        "batch_p50_ms": ms(pct(latencies, 0.5)),
        "batch_p95_ms": ms(pct(latencies, 0.95)),
        "live_lag_after_last_batch_s": round(lag, 3),
        "live_get_under_load": {
            "n": len(gets),
            "p50_ms": ms(pct(gets, 0.5)),
            "p95_ms": ms(pct(gets, 0.95)),
            "p99_ms": ms(pct(gets, 0.99)),
        },
    }


def _store_sessions(src: Path, bodies: list[bytes], clients: int) -> tuple[int, float]:
    """The same batches ingested in-process by `clients` sessions of the store at once, as the server's requests
    do (each reads and validates on its own connection, the writes one after the other under one lock)."""
    from outcomes.facts import FactsStore

    ws = fresh_copy(src, "server-floor")
    store = FactsStore(ws / "facts.duckdb")
    store.defer_checkpoints()  # as the server does
    paths = []
    for i, body in enumerate(bodies):
        paths.append(ws / f"s{i}.parquet")
        paths[-1].write_bytes(body)
    write_lock, queue_lock, queue = threading.Lock(), threading.Lock(), list(paths)
    accepted: list[int] = []

    def work() -> None:
        session = store.session()
        try:
            while True:
                with queue_lock:
                    if not queue:
                        return
                    path = queue.pop(0)
                accepted.append(session.ingest("interactions", path, write_lock=write_lock).accepted)
        finally:
            session.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    store.close()
    shutil.rmtree(ws, ignore_errors=True)
    return sum(accepted), seconds


def live_update_cost(src: Path, bodies: list[bytes], rounds: int = 3) -> float:
    """Seconds one update of the live board takes after one batch (the median of `rounds`), in-process and with
    nothing else running: what each update under a stream of batches takes from the ingest."""
    from outcomes.server.writer import Writer
    from outcomes.workspace import Workspace

    ws_dir = fresh_copy(src, "server-live")
    ws = Workspace(ws_dir)
    writer = Writer(ws, live=False)
    try:
        writer.catch_up()  # the start-up build
        took = []
        for i, body in enumerate(bodies[:rounds]):
            writer.ingest(
                tenant="Demo Bank",
                key=f"live-{i}",
                kind="interactions",
                body=body,
                fmt="parquet",
                timezone=None,
                actor="bench",
                contract=CONTRACT,
            )
            t0 = time.perf_counter()
            writer.catch_up()
            took.append(time.perf_counter() - t0)
    finally:
        writer.close()
        shutil.rmtree(ws_dir, ignore_errors=True)
    return sorted(took)[len(took) // 2]


def floors(src: Path, bodies: list[bytes], clients: int) -> dict:
    """The same Parquet batches ingested in-process by the facts store (one after the other, and by `clients`
    sessions at once), and copied as is."""
    import duckdb

    from outcomes.facts import FactsStore

    ws = fresh_copy(src, "server-floor")
    store = FactsStore(ws / "facts.duckdb")
    store.defer_checkpoints()  # as the server does: the log takes the batches, a checkpoint follows them
    tmp = ws / "batch.parquet"
    t0 = time.perf_counter()
    rows = 0
    for body in bodies:
        tmp.write_bytes(body)
        rows += store.ingest("interactions", tmp).accepted
    store_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    store.checkpoint()
    checkpoint_s = time.perf_counter() - t1
    store.close()
    shutil.rmtree(ws, ignore_errors=True)
    sessions_rows, sessions_s = _store_sessions(src, bodies, clients)
    ws = fresh_copy(src, "server-floor")
    con = duckdb.connect(str(ws / "facts.duckdb"))
    con.execute("CREATE TABLE plain AS SELECT * FROM interactions LIMIT 0")
    t0 = time.perf_counter()
    for i, body in enumerate(bodies):
        p = ws / f"b{i}.parquet"
        p.write_bytes(body)
        con.execute(
            f"INSERT INTO plain BY NAME SELECT *, {i} AS _batch, NULL::INTEGER AS _until, '' AS _hash "
            f"FROM read_parquet('{p}')"
        )
    copy_s = time.perf_counter() - t0
    con.close()
    shutil.rmtree(ws, ignore_errors=True)
    return {
        "store_rows_per_second": round(rows / store_s),
        "checkpoint_after_batches_s": round(checkpoint_s, 3),
        "store_rows_per_second_with_checkpoint": round(rows / (store_s + checkpoint_s)),
        "store_sessions_rows_per_second": round(sessions_rows / sessions_s),
        "live_update_after_one_batch_s": round(live_update_cost(src, bodies), 3),
        "plain_copy_rows_per_second": round(rows / copy_s),
    }


def run_size(size: int, args) -> dict:
    import httpx

    data = dataset(size)
    src = pristine(size, data)
    import duckdb

    con = duckdb.connect(str(src / "facts.duckdb"), read_only=True)
    stored = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
    con.close()
    json_bodies, parquet_bodies = batches(data, args.batches, args.batch_size, sets=3)
    parquet_bodies, parquet_more = parquet_bodies[: args.batches], parquet_bodies[args.batches :]
    ws = fresh_copy(src, f"server-run-{size}")
    token = add_people(ws)
    served = Served(ws)
    try:
        client = httpx.Client(timeout=60)
        startup = served.wait(client, token)
        get_live(client, served.url, token, 20)  # warm
        idle = get_live(client, served.url, token, args.gets)
        json_phase = ingest_phase(served.url, token, json_bodies, "application/json", args.clients, "json")
        parquet_phase = ingest_phase(
            served.url, token, parquet_bodies, "application/vnd.apache.parquet", args.clients, "parquet"
        )
        # the same again with twice the clients: what the server takes when clients are not waiting on their
        # own responses (each client sends its next batch only once the last is answered)
        parquet_more_phase = ingest_phase(
            served.url,
            token,
            parquet_more,
            "application/vnd.apache.parquet",
            2 * args.clients,
            "parquet-more",
        )
        after = get_live(client, served.url, token, args.gets)
        client.close()
    finally:
        served.stop()
    print(
        json.dumps({"served": [json_phase, parquet_phase, parquet_more_phase]}), flush=True
    )  # kept should the floors fail
    floor = floors(src, parquet_bodies, args.clients)
    shutil.rmtree(ws, ignore_errors=True)
    return {
        "contacts_per_month": size,
        "interactions_stored": int(stored),
        "startup_live_build_s": round(startup, 2),
        "live_get_idle": {
            "n": len(idle),
            "p50_ms": ms(pct(idle, 0.5)),
            "p95_ms": ms(pct(idle, 0.95)),
            "p99_ms": ms(pct(idle, 0.99)),
        },
        "live_get_after_load": {"n": len(after), "p95_ms": ms(pct(after, 0.95))},
        "ingest_json": json_phase,
        "ingest_parquet": parquet_phase,
        "ingest_parquet_more_clients": parquet_more_phase,
        "floor": floor,
        "batch_size": args.batch_size,
        "clients": args.clients,
    }


def report(results: list[dict], meta: dict) -> str:
    lines = [
        f"# Server benchmark, {meta['at']}",
        "",
        f"{meta['machine']}; outcomes {meta['outcomes']}. The server (`outcomes serve`) in its own process on "
        f"127.0.0.1, the clients in another (httpx). Batches of {results[0]['batch_size']:,} new "
        f"interactions, {results[0]['clients']} clients at once, each batch with its own Idempotency-Key.",
        "",
        "| interactions stored | live build at start (s) | GET live p95 idle (ms) | GET live p95 under ingest (ms) | "
        f"ingest JSON rows/s | ingest Parquet rows/s | ingest Parquet rows/s, {2 * results[0]['clients']} clients | "
        "batch p95 JSON / Parquet (ms) | live lag after last batch (s) | "
        f"floor: store in-process rows/s, one batch at a time / {results[0]['clients']} at once | "
        "floor: plain copy rows/s | live update after one batch, alone (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        j, p = r["ingest_json"], r["ingest_parquet"]
        more = r.get("ingest_parquet_more_clients") or {
            "rows_per_second": 0,
            "live_get_under_load": {"p95_ms": 0},
        }
        under = max(x["live_get_under_load"]["p95_ms"] for x in (j, p, more))
        lines.append(
            f"| {r['interactions_stored']:,} | {r['startup_live_build_s']} | {r['live_get_idle']['p95_ms']} | {under} | "
            f"{j['rows_per_second']:,} | {p['rows_per_second']:,} | {more['rows_per_second']:,} | "
            f"{j['batch_p95_ms']} / {p['batch_p95_ms']} | "
            f"{max(j['live_lag_after_last_batch_s'], p['live_lag_after_last_batch_s'])} | "
            f"{r['floor']['store_rows_per_second']:,} / {r['floor'].get('store_sessions_rows_per_second', 0):,} | "
            f"{r['floor']['plain_copy_rows_per_second']:,} | {r['floor'].get('live_update_after_one_batch_s', '')} |"
        )
    lines += ["", "Targets (issue 11):", "", "| target | this run | |", "|---|---:|:---:|"]
    for r in results:
        limit = 100 if r["interactions_stored"] < 5_000_000 else 200
        worst = max(
            r["live_get_idle"]["p95_ms"],
            *(r[k]["live_get_under_load"]["p95_ms"] for k in ("ingest_json", "ingest_parquet") if k in r),
            *(r[k]["live_get_under_load"]["p95_ms"] for k in ("ingest_parquet_more_clients",) if k in r),
        )
        lines.append(
            f"| GET live scorecard p95 < {limit} ms ({r['interactions_stored']:,} stored) | {worst} ms | "
            f"{'met' if worst < limit else 'MISSED'} |"
        )
        for kind, label in (
            ("json", f"json batches, {r['clients']} clients"),
            ("parquet", f"parquet batches, {r['clients']} clients"),
            ("parquet_more_clients", f"parquet batches, {2 * r['clients']} clients"),
        ):
            if f"ingest_{kind}" not in r:
                continue
            rate = r[f"ingest_{kind}"]["rows_per_second"]
            lines.append(
                f"| ingest >= 50,000 interactions/s, {label} ({r['interactions_stored']:,} stored) | "
                f"{rate:,}/s | {'met' if rate >= 50_000 else 'MISSED'} |"
            )
    lines += ["", "What each number is and what would meet a missed target: docs/server.md, Performance."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--gets", type=int, default=300)
    args = ap.parse_args()
    import outcomes

    meta = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, load average at start "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (the machine is shared)",
        "outcomes": outcomes.__version__,
    }
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"server bench: {size:,} contacts", flush=True)
        results.append(run_size(size, args))
        print(json.dumps(results[-1], indent=2), flush=True)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"server-{stamp}.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n"
    )
    text = report(results, meta)
    (RESULTS / f"server-{stamp}.md").write_text(text)
    (RESULTS / "server-latest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
