"""`make bench`: ingest (Parquet and CSV), settle and scorecard at 1M, 10M and 30M contacts, next to the floor
(the same counts asked of DuckDB as one hand-written SQL query over the same Parquet), in the same run. Medians
of several runs, rows/s, peak memory (each measurement in its own process) and the ratio to the floor. Every
measurement runs under the same DuckDB memory limit (out-of-core: DuckDB spills to disk past it).

Writes bench/results/settle-<stamp>.json and .md, and bench/results/latest.md.
Usage: python bench/run.py [--sizes 1000000,10000000,30000000] [--repeat 3,3,2] [--memory-limit 3GB]
       [--csv-up-to 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
START = "2026-06"  # a month whose look-ahead windows are all in the past
PERIOD = "2026-06"
SEED = 42


def _task(args: list[str]) -> dict:
    """Run one measurement in a fresh process: wall time and that process's peak resident memory."""
    out = subprocess.run([sys.executable, __file__, "--task", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"bench task {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task(kind: str, *args: str) -> None:
    t0 = time.perf_counter()
    extra: dict = {}
    if kind == "generate":
        from outcomes.synthetic.generate import generate

        months = int(args[2]) if len(args) > 2 else 1
        start = args[3] if len(args) > 3 else START
        extra = generate(Path(args[0]), contacts=int(args[1]), months=months, seed=SEED, start=start)
        extra = {"interactions": extra["interactions"], "events": extra["events"]}
    elif kind == "ingest":
        from outcomes.contract import read_contract
        from outcomes.workspace import init_workspace

        data, ws_dir = Path(args[0]), Path(args[1])
        shutil.rmtree(ws_dir, ignore_errors=True)
        ws = init_workspace(ws_dir)
        contract = read_contract(data / "contract.yaml")
        ws.ledger().add_contract(contract, (data / "contract.yaml").read_text(), "contract.yaml")
        t0 = time.perf_counter()
        s = ws.facts().ingest("interactions", data / "interactions.parquet")
        extra["interactions_seconds"] = time.perf_counter() - t0
        extra["interactions_rows"] = s.rows
        t1 = time.perf_counter()
        e = ws.facts().ingest("events", data / "events.parquet")
        extra["events_seconds"] = time.perf_counter() - t1
        extra["events_rows"] = e.rows
        ws.close()
    elif kind == "settle":
        from outcomes.settlement.settle import compute
        from outcomes.workspace import Workspace

        ws = Workspace(Path(args[0]))
        t0 = time.perf_counter()
        result = compute(ws.ledger(), ws.facts(), "demo-bank-northwind", PERIOD)
        extra = {
            "total": str(result.total),
            "counted": {m.name: sum(m.counted().values()) for m in result.measures},
            "candidates": {m.name: m.summary()["candidates"] for m in result.measures},
        }
        ws.facts().drop_table(result.measures[0].evidence_table)
        ws.close()
    elif kind == "csv":
        import duckdb

        data, ws_dir = Path(args[0]), Path(args[1])
        csv_path = data / "interactions.csv"
        if not csv_path.exists():
            con = duckdb.connect()
            con.execute(
                f"COPY (SELECT * FROM read_parquet('{data / 'interactions.parquet'}')) TO '{csv_path}' (HEADER)"
            )
            con.close()
        from outcomes.workspace import init_workspace

        shutil.rmtree(ws_dir, ignore_errors=True)
        ws = init_workspace(ws_dir)
        t0 = time.perf_counter()
        s = ws.facts().ingest("interactions", csv_path)
        extra = {"rows": s.rows, "accepted": s.accepted}
        ws.close()
        shutil.rmtree(ws_dir, ignore_errors=True)
    elif kind == "copy":
        # The ingest's floor: the same Parquet copied as is into a DuckDB file (no validation, no versions).
        import duckdb

        data, db = Path(args[0]), Path(args[1])
        db.unlink(missing_ok=True)
        con = duckdb.connect(str(db))
        if os.environ.get("OUTCOMES_MEMORY_LIMIT"):
            con.execute(f"SET memory_limit = '{os.environ['OUTCOMES_MEMORY_LIMIT']}'")
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE interactions AS SELECT * FROM read_parquet('{data / 'interactions.parquet'}')")
        con.execute("CHECKPOINT")
        con.close()
        db.unlink(missing_ok=True)
    elif kind == "scorecard":
        from outcomes.analysis.scorecard import collect
        from outcomes.workspace import Workspace

        ws = Workspace(Path(args[0]))
        t0 = time.perf_counter()
        card = collect(ws, "demo-bank-northwind", PERIOD, trend=1)
        extra = {"groups": len(card["groups"])}
        ws.close()
    elif kind == "integrity":
        from outcomes.analysis.integrity import collect as integrity
        from outcomes.workspace import Workspace

        ws = Workspace(Path(args[0]))
        t0 = time.perf_counter()
        report = integrity(ws, "demo-bank-northwind", PERIOD)
        extra = {"findings": len(report.findings)}
        ws.close()
    elif kind == "floor":
        import duckdb

        sys.path.insert(0, str(HERE))
        from floor import floor_sql

        from outcomes.contract import read_contract
        from outcomes.metrics.scope import Window
        from outcomes.period import Period

        data = Path(args[0])
        contract = read_contract(data / "contract.yaml")
        w = Window.of(contract, Period.parse(PERIOD))
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        if os.environ.get("OUTCOMES_MEMORY_LIMIT"):
            con.execute(f"SET memory_limit = '{os.environ['OUTCOMES_MEMORY_LIMIT']}'")
        t0 = time.perf_counter()
        rows = con.execute(
            floor_sql(contract, str(data / "interactions.parquet"), str(data / "events.parquet"), w.start, w.end)
        ).fetchall()
        counted: dict[str, int] = {}
        for outcome, _wf, fate, n in rows:
            if fate == "counted":
                counted[outcome] = counted.get(outcome, 0) + n
        extra = {"counted": counted}
    else:
        raise SystemExit(f"unknown task {kind}")
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mib": _peak_mib(), **extra}))


def _versions() -> dict:
    import duckdb
    import ibis

    from outcomes import __version__

    return {"outcomes": __version__, "duckdb": duckdb.__version__, "ibis": ibis.__version__,
            "python": platform.python_version()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000,30000000")
    ap.add_argument("--repeat", default="3,3,2", help="runs per size (one number for all, or one per size)")
    ap.add_argument("--memory-limit", default="3GB", help="DuckDB memory limit of every measurement")
    ap.add_argument("--csv-up-to", type=int, default=10_000_000, help="also time CSV ingest up to this size")
    ap.add_argument("--history-months", type=int, default=6,
                    help="settle the same month out of this many months of facts (smallest size; 0: skip)")
    ap.add_argument("--render", type=Path, help="write latest.md again from a results JSON, measuring nothing")
    ap.add_argument("--task", nargs="+")
    a = ap.parse_args()
    if a.task:
        task(*a.task)
        return
    if a.render:
        md = _markdown(json.loads(a.render.read_text()))
        a.render.with_suffix(".md").write_text(md)
        (RESULTS / "latest.md").write_text(md)
        print(md)
        return
    from rich.console import Console

    os.environ["OUTCOMES_MEMORY_LIMIT"] = a.memory_limit  # inherited by every task's process
    console = Console(stderr=True)
    sizes = [int(x) for x in a.sizes.split(",")]
    repeats = [int(x) for x in a.repeat.split(",")]
    repeats = (repeats * len(sizes))[: len(sizes)] if len(repeats) == 1 else repeats
    if len(repeats) != len(sizes):
        raise SystemExit(f"--repeat needs one number or one per size ({len(sizes)}), got {a.repeat}")
    results = []
    for n, repeat in zip(sizes, repeats, strict=True):
        data = DATA / f"c{n}-s{SEED}"
        if not (data / "interactions.parquet").exists():
            with console.status(f"generating {n:,} contacts"):
                gen = _task(["generate", str(data), str(n)])
            console.print(f"generated {n:,} contacts in {gen['seconds']:.1f} s")
        ws = DATA / f"ws-{n}"
        with console.status(f"ingesting {n:,}"):
            ing = _task(["ingest", str(data), str(ws)])
        console.print(f"ingest {ing['interactions_rows']:,} rows in {ing['interactions_seconds']:.1f} s")
        with console.status(f"copying {n:,} as is (the ingest's floor)"):
            copy = _task(["copy", str(data), str(DATA / f"copy-{n}.duckdb")])
        csv = None
        if n <= a.csv_up_to:
            with console.status(f"ingesting {n:,} from CSV"):
                csv = _task(["csv", str(data), str(DATA / f"ws-csv-{n}")])
            console.print(f"ingest CSV {csv['rows']:,} rows in {csv['seconds']:.1f} s")
        settles, floors, cards, checks = [], [], [], []
        for i in range(repeat):
            with console.status(f"{n:,}: floor run {i + 1}/{repeat}"):
                floors.append(_task(["floor", str(data)]))
            with console.status(f"{n:,}: settle run {i + 1}/{repeat}"):
                settles.append(_task(["settle", str(ws)]))
            with console.status(f"{n:,}: scorecard run {i + 1}/{repeat}"):
                cards.append(_task(["scorecard", str(ws)]))
            with console.status(f"{n:,}: integrity run {i + 1}/{repeat}"):
                checks.append(_task(["integrity", str(ws)]))
            console.print(
                f"  run {i + 1}: settle {settles[-1]['seconds']:.2f} s, floor {floors[-1]['seconds']:.2f} s, "
                f"scorecard {cards[-1]['seconds']:.2f} s, integrity {checks[-1]['seconds']:.2f} s"
            )
        agree = all(s["counted"] == f["counted"] for s, f in zip(settles, floors, strict=True))
        s_med = statistics.median(s["seconds"] for s in settles)
        f_med = statistics.median(f["seconds"] for f in floors)
        c_med = statistics.median(c["seconds"] for c in cards)
        i_med = statistics.median(c["seconds"] for c in checks)
        rows = ing["interactions_rows"]
        results.append({
            "contacts_per_month": n,
            "interaction_rows": rows,
            "ingest_parquet_seconds": round(ing["interactions_seconds"], 3),
            "ingest_parquet_rows_per_second": round(rows / ing["interactions_seconds"]),
            "ingest_peak_mib": round(ing["peak_mib"]),
            "copy_parquet_rows_per_second": round(rows / copy["seconds"]),
            "ingest_csv_seconds": None if csv is None else round(csv["seconds"], 3),
            "ingest_csv_rows_per_second": None if csv is None else round(csv["rows"] / csv["seconds"]),
            "runs": repeat,
            "settle_median_seconds": round(s_med, 3),
            "settle_runs": [round(s["seconds"], 3) for s in settles],
            "settle_peak_mib": round(max(s["peak_mib"] for s in settles)),
            "settle_rows_per_second": round(rows / s_med),
            "floor_median_seconds": round(f_med, 3),
            "floor_runs": [round(f["seconds"], 3) for f in floors],
            "floor_peak_mib": round(max(f["peak_mib"] for f in floors)),
            "ratio_to_floor": round(s_med / f_med, 2),
            "scorecard_median_seconds": round(c_med, 3),
            "scorecard_runs": [round(c["seconds"], 3) for c in cards],
            "scorecard_peak_mib": round(max(c["peak_mib"] for c in cards)),
            "integrity_median_seconds": round(i_med, 3),
            "integrity_runs": [round(c["seconds"], 3) for c in checks],
            "integrity_peak_mib": round(max(c["peak_mib"] for c in checks)),
            "counts_agree_with_floor": agree,
            "counted": settles[0]["counted"],
            "total": settles[0]["total"],
        })
        shutil.rmtree(ws, ignore_errors=True)
    history = None
    if a.history_months > 1:
        history = _history(console, sizes[0], repeats[0], a.history_months, results[0])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "versions": _versions(),
        "memory_limit": a.memory_limit,
        "results": results,
        "history": history,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"settle-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    md = _markdown(report)
    (RESULTS / f"settle-{stamp}.md").write_text(md)
    (RESULTS / "latest.md").write_text(md)
    print(md)


def _history(console, n: int, repeat: int, months: int, alone: dict) -> dict:
    """Incremental reads: the same month settled from a store holding `months` months of facts, against the
    store holding that month alone (the month's own volume is the same)."""
    first = f"2026-{7 - months:02d}" if months < 7 else None
    if first is None:
        raise SystemExit("--history-months must be at most 6 (the history ends with 2026-06)")
    data = DATA / f"c{n}-s{SEED}-m{months}"
    if not (data / "interactions.parquet").exists():
        with console.status(f"generating {months} months of {n:,} contacts"):
            _task(["generate", str(data), str(n), str(months), first])
    ws = DATA / f"ws-{n}-m{months}"
    with console.status(f"ingesting {months} months"):
        ing = _task(["ingest", str(data), str(ws)])
    runs = []
    for i in range(repeat):
        with console.status(f"{months} months: settle run {i + 1}/{repeat}"):
            runs.append(_task(["settle", str(ws)]))
    shutil.rmtree(ws, ignore_errors=True)
    med = statistics.median(x["seconds"] for x in runs)
    return {
        "months": months,
        "contacts_per_month": n,
        "interaction_rows": ing["interactions_rows"],
        "settle_median_seconds": round(med, 3),
        "settle_runs": [round(x["seconds"], 3) for x in runs],
        "settle_peak_mib": round(max(x["peak_mib"] for x in runs)),
        "alone_settle_median_seconds": alone["settle_median_seconds"],
        "ratio_to_alone": round(med / alone["settle_median_seconds"], 2),
    }


def _targets(res: list[dict]) -> list[str]:
    """Issue 5's targets against this run: met or missed (docs/performance.md says why and what would meet it)."""
    by = {x["contacts_per_month"]: x for x in res}
    rows = []

    def row(target: str, ok: bool | None, got: str) -> None:
        rows.append(f"| {target} | {got} | {'-' if ok is None else ('met' if ok else 'MISSED')} |")

    if 10_000_000 in by:
        x = by[10_000_000]
        row("settle 10M <= 1.3x the floor", x["ratio_to_floor"] <= 1.3, f"{x['ratio_to_floor']}x")
        row("settle 10M under 8 s", x["settle_median_seconds"] < 8, f"{x['settle_median_seconds']} s")
    if 30_000_000 in by:
        x = by[30_000_000]
        row("settle 30M peak under 4 GiB", x["settle_peak_mib"] < 4096, f"{x['settle_peak_mib']:,} MiB")
    for a, b in zip(res, res[1:], strict=False):
        grow = b["interaction_rows"] / a["interaction_rows"]
        cost = b["settle_median_seconds"] / a["settle_median_seconds"]
        row(f"settle grows linearly ({a['contacts_per_month']:,} -> {b['contacts_per_month']:,})", cost <= 1.25 * grow,
            f"{cost:.1f}x time for {grow:.1f}x rows")
    for x in res:
        row(f"ingest Parquet >= 1M rows/s ({x['contacts_per_month']:,})", x["ingest_parquet_rows_per_second"] >= 1e6,
            f"{x['ingest_parquet_rows_per_second']:,} rows/s (plain copy {x['copy_parquet_rows_per_second']:,})")
        if x["ingest_csv_rows_per_second"] is not None:
            row(f"ingest CSV >= 300k rows/s ({x['contacts_per_month']:,})", x["ingest_csv_rows_per_second"] >= 3e5,
                f"{x['ingest_csv_rows_per_second']:,} rows/s")
    head = ["Targets (issue 5); where one is missed, docs/performance.md gives the measured reason and what would "
            "meet it.", "", "| target | this run | |", "|---|---:|:---:|"]
    return head + rows


def _markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"# Settle benchmark, {r['date']}",
        "",
        f"{m['cpus']} CPUs, {m['memory_gib']} GiB, {m['platform']}; " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
        f"DuckDB memory limit {r['memory_limit']} for every measurement (the floor included). Medians of the runs "
        "shown, each in a fresh process. Floor: the same counts as one hand-written DuckDB query over the same "
        "Parquet (`bench/floor.py`), no evidence written. Settle includes writing the evidence of every candidate. "
        "Plain copy: the ingest's floor, the same Parquet copied as is into a DuckDB file (no validation, no "
        "versions, no row hashes).",
        "",
        "| contacts/month | interaction rows | ingest Parquet rows/s | plain copy rows/s | ingest CSV rows/s | runs | settle (s) | settle peak MiB | floor (s) | floor peak MiB | settle / floor | scorecard (s) | integrity (s) | counts agree |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for x in r["results"]:
        csv = "-" if x["ingest_csv_rows_per_second"] is None else f"{x['ingest_csv_rows_per_second']:,}"
        lines.append(
            f"| {x['contacts_per_month']:,} | {x['interaction_rows']:,} | {x['ingest_parquet_rows_per_second']:,} | "
            f"{x['copy_parquet_rows_per_second']:,} | {csv} | {x['runs']} | {x['settle_median_seconds']} | {x['settle_peak_mib']:,} | "
            f"{x['floor_median_seconds']} | {x['floor_peak_mib']:,} | {x['ratio_to_floor']} | "
            f"{x['scorecard_median_seconds']} | {x['integrity_median_seconds']} | "
            f"{'yes' if x['counts_agree_with_floor'] else 'NO'} |"
        )
    res = r["results"]
    for a, b in zip(res, res[1:], strict=False):
        lines += ["", f"Growth {b['interaction_rows'] / a['interaction_rows']:.1f}x rows "
                  f"({a['contacts_per_month']:,} -> {b['contacts_per_month']:,}): settle "
                  f"{b['settle_median_seconds'] / a['settle_median_seconds']:.1f}x, floor "
                  f"{b['floor_median_seconds'] / a['floor_median_seconds']:.1f}x, scorecard "
                  f"{b['scorecard_median_seconds'] / a['scorecard_median_seconds']:.1f}x, integrity "
                  f"{b['integrity_median_seconds'] / a['integrity_median_seconds']:.1f}x."]
    lines += ["", *_targets(res)]
    h = r.get("history")
    if h:
        lines += ["", f"Incremental reads: settling 2026-06 from a store of {h['months']} months "
                  f"({h['interaction_rows']:,} rows, {h['contacts_per_month']:,} contacts a month) took "
                  f"{h['settle_median_seconds']} s (peak {h['settle_peak_mib']:,} MiB) against "
                  f"{h['alone_settle_median_seconds']} s from the month alone: {h['ratio_to_alone']}x."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
