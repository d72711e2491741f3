"""Settle the same generated month on DuckDB and on Spark (local mode): wall times and identical results.

Usage: python bench/spark_settle.py [--contacts 100000] [--master local[2]]

Generates a month (`outcomes generate`), ingests it into a DuckDB workspace, exports it as Parquet
(`outcomes facts export`), then computes the settlement (nothing recorded) with each engine, twice each
(the first Spark run includes the JVM's warm-up), and checks that fingerprints, totals and counts agree.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()

    from outcomes.cli import app
    from outcomes.contract import read_contract
    from outcomes.facts.export import export_parquet
    from outcomes.facts.spark import SparkFacts, spark_session
    from outcomes.settlement.settle import compute
    from outcomes.workspace import init_workspace

    run = CliRunner()
    root = Path(tempfile.mkdtemp(prefix="outcomes-spark-bench-"))
    try:
        data, ws_dir = root / "data", root / "ws"
        r = run.invoke(app, ["generate", "--out", str(data), "--contacts", str(args.contacts), "--months", "1",
                             "--seed", "7", "--start", "2026-06"])  # fmt: skip
        assert r.exit_code == 0, r.output
        ws = init_workspace(ws_dir)
        assert (
            run.invoke(app, ["contract", "add", str(data / "contract.yaml"), "-w", str(ws_dir)]).exit_code
            == 0
        )
        contract_id = read_contract(data / "contract.yaml").contract
        facts = ws.facts()
        for kind in ("interactions", "events"):
            facts.ingest(kind, data / f"{kind}.parquet")
        t = time.perf_counter()
        summary = export_parquet(facts, root / "parquet")
        export_s = time.perf_counter() - t

        t = time.perf_counter()
        session = spark_session(
            args.master, {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
        )
        session.sparkContext.setLogLevel("ERROR")
        session_s = time.perf_counter() - t
        spark = SparkFacts(session, parquet=str(root / "parquet"), evidence_path=str(root / "spark-evidence"))

        timings: dict[str, list[float]] = {"duckdb": [], "spark": []}
        results = {}
        for engine, store in (("duckdb", facts), ("spark", spark), ("duckdb", facts), ("spark", spark)):
            t = time.perf_counter()
            result = compute(ws.ledger(), store, contract_id, "2026-06", provisional=True)
            timings[engine].append(time.perf_counter() - t)
            results[engine] = result
        d, s = results["duckdb"], results["spark"]
        same = (
            d.fingerprint == s.fingerprint
            and d.total == s.total
            and [m.rows for m in d.measures] == [m.rows for m in s.measures]
        )
        report = {
            "contacts": args.contacts,
            "rows": summary.rows,
            "export_s": round(export_s, 2),
            "spark_session_s": round(session_s, 2),
            "settle_s": {k: [round(x, 2) for x in v] for k, v in timings.items()},
            "identical": same,
            "total": str(d.total),
            "fingerprint": d.fingerprint,
        }
        print(json.dumps(report, indent=2))
        session.stop()
        ws.close()
        return 0 if same else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
