"""`make bench-integrity` (also run by `make bench`): precision and recall of every integrity detector on
generated data with gaming injected at a known rate, and how often each fires on clean data of the same seed.

Generates a clean and a gaming data set (`outcomes generate` with and without --gaming), ingests each into a
temporary workspace (the gaming one also gets interactions_updates.parquet as a later batch), runs every
detector on one month and compares the findings with the ground truth (gaming_labels.parquet). The detectors
only see the facts; the labels are read after they ran, only to score them.

Scoring (docs/integrity.md, "Measured on generated data"):
* id detectors: precision and recall over interaction ids (labels restricted to contacts closed in the month);
* group detectors (premature_closure, survey_selection_bias): over subjects (agents); ids are shown too;
* clean firing rate: flagged / population of each detector on the clean data (contacts, or agents tested).

Writes bench/results/integrity-<stamp>.json and .md, and bench/results/integrity-latest.md.
Usage: python bench/integrity.py [--contacts 200000] [--seed 42] [--rate 0.02] [--keep DIR]
                                [--containment-window 1h]  (the generated contract's containment window, 72h)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
START = PERIOD = "2026-06"
CONTRACT = "demo-bank-northwind"
GROUP = {"premature_closure", "survey_selection_bias"}
TARGET_PRECISION = TARGET_RECALL = 0.95
TARGET_CLEAN = 0.01


CONTAINMENT_WINDOW = "repeat_contact: {within: 72h, same: [customer], channels: any}"


def _workspace(data: Path, root: Path, updates: bool, containment_window: str | None = None):
    from outcomes.contract import read_contract
    from outcomes.workspace import init_workspace

    ws = init_workspace(root)
    path = data / "contract.yaml"
    if containment_window is not None:  # the generated contract with a shorter containment window
        text = path.read_text()
        assert text.count(CONTAINMENT_WINDOW) == 1, "the generated contract's containment window moved"
        path.write_text(text.replace(CONTAINMENT_WINDOW, CONTAINMENT_WINDOW.replace("72h", containment_window)))
    contract = read_contract(path)
    ws.ledger().add_contract(contract, path.read_text(), "contract.yaml")
    facts = ws.facts()
    facts.ingest("interactions", data / "interactions.parquet")
    if updates:
        facts.ingest("interactions", data / "interactions_updates.parquet")
    facts.ingest("events", data / "events.parquet")
    return ws


def _run(ws):
    from outcomes.analysis.integrity import collect

    t0 = time.perf_counter()
    report = collect(ws, CONTRACT, PERIOD)
    return report, round(time.perf_counter() - t0, 3)


def _truth(ws, labels: pa.Table) -> dict[str, dict]:
    """Label ids and subjects per detector, restricted to contacts (current versions) closed in the month."""
    from outcomes.metrics.scope import Window
    from outcomes.period import Period

    ledger = ws.ledger()
    contract, _ = ledger.contract_for(CONTRACT, Period.parse(PERIOD).start)
    w = Window.of(contract, Period.parse(PERIOD))
    con = ws.facts().con
    con.register("gaming_labels", labels)
    rows = con.execute(
        "SELECT DISTINCT l.detector, l.interaction_id, l.subject FROM gaming_labels l JOIN interactions i "
        "ON i.interaction_id = l.interaction_id AND i._until IS NULL "
        "WHERE i.closed_at >= ? AND i.closed_at < ?",
        [w.start, w.end],
    ).fetchall()
    con.unregister("gaming_labels")
    out: dict[str, dict] = {}
    for det, iid, subject in rows:
        d = out.setdefault(det, {"ids": set(), "subjects": set()})
        d["ids"].add(iid)
        if subject is not None:
            d["subjects"].add(subject)
    return out


def _pr(found: set, truth: set) -> dict:
    hit = len(found & truth)
    return {
        "flagged": len(found),
        "true": len(truth),
        "hit": hit,
        "precision": None if not found else round(hit / len(found), 4),
        "recall": None if not truth else round(hit / len(truth), 4),
    }


def _verdict(value, target, above=True) -> str:
    if value is None:
        return "n/a"
    return "PASS" if (value >= target if above else value <= target) else "MISS"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rate", type=float, default=0.02)
    ap.add_argument("--keep", type=Path, help="keep data and workspaces in this folder")
    ap.add_argument("--containment-window", help="the contract's containment repeat window instead of 72h (e.g. 1h)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    from outcomes import __version__
    from outcomes.analysis.integrity import DETECTORS
    from outcomes.synthetic.generate import generate

    root = args.keep or Path(tempfile.mkdtemp(prefix="outcomes-integrity-"))
    shutil.rmtree(root / "clean", ignore_errors=True)
    shutil.rmtree(root / "gaming", ignore_errors=True)
    t0 = time.perf_counter()
    clean_summary = generate(root / "clean" / "data", contacts=args.contacts, seed=args.seed, start=START)
    gaming_summary = generate(root / "gaming" / "data", contacts=args.contacts, seed=args.seed, start=START,
                              gaming=True, gaming_rate=args.rate)  # fmt: skip
    ws_clean = _workspace(root / "clean" / "data", root / "clean" / "ws", False, args.containment_window)
    ws_gaming = _workspace(root / "gaming" / "data", root / "gaming" / "ws", True, args.containment_window)
    clean, clean_s = _run(ws_clean)
    gaming, gaming_s = _run(ws_gaming)
    truth = _truth(ws_gaming, pq.read_table(root / "gaming" / "data" / "gaming_labels.parquet"))
    rows = []
    for name in DETECTORS:
        g_run = next(r for r in gaming.runs if r.detector == name)
        c_run = next(r for r in clean.runs if r.detector == name)
        t = truth.get(name, {"ids": set(), "subjects": set()})
        ids = _pr({i for f in g_run.findings for i in f.interaction_ids}, t["ids"])
        subjects = _pr({f.subject for f in g_run.findings if f.subject}, t["subjects"])
        scored = subjects if name in GROUP else ids
        row = {
            "detector": name,
            "level": "subjects" if name in GROUP else "ids",
            "precision": scored["precision"],
            "recall": scored["recall"],
            "flagged": scored["flagged"],
            "true": scored["true"],
            "ids": ids,
            "subjects": subjects if name in GROUP else None,
            "clean_flagged": c_run.flagged,
            "clean_population": c_run.population,
            "clean_firing_rate": None if c_run.firing_rate is None else round(c_run.firing_rate, 6),
            "gaming_population": g_run.population,
            "billing_effect": str(sum((f.billing_effect for f in g_run.findings), 0)),
        }
        if name == "containment_abandonment":
            # the return curve and its test, and the quick-return finding alone (the detector before the slow
            # return was added: comparable with earlier results)
            quick = {i for f in g_run.findings if f.details.get("pattern") == "quick_return" for i in f.interaction_ids}
            row["quick_return_ids"] = _pr(quick, t["ids"])
            row["details"] = {"clean": c_run.details, "gaming": g_run.details}
        row["precision_verdict"] = _verdict(row["precision"], TARGET_PRECISION)
        row["recall_verdict"] = _verdict(row["recall"], TARGET_RECALL)
        row["clean_verdict"] = _verdict(row["clean_firing_rate"] or 0.0, TARGET_CLEAN, above=False)
        rows.append(row)
    ws_clean.close()
    ws_gaming.close()
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    import duckdb
    import ibis

    report = {
        "stamp": stamp,
        "command": f"python bench/integrity.py --contacts {args.contacts} --seed {args.seed} --rate {args.rate}"
        + (f" --containment-window {args.containment_window}" if args.containment_window else ""),
        "contacts_per_month": args.contacts,
        "seed": args.seed,
        "gaming_rate": args.rate,
        "period": PERIOD,
        "interactions": {"clean": clean_summary["interactions"], "gaming": gaming_summary["interactions"]},
        "labels": gaming_summary["gaming"]["labels"],
        "detector_seconds": {"clean": clean_s, "gaming": gaming_s},
        "total_seconds": round(time.perf_counter() - t0, 1),
        "targets": {"precision": TARGET_PRECISION, "recall": TARGET_RECALL, "clean_firing_rate": TARGET_CLEAN},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": {"outcomes": __version__, "duckdb": duckdb.__version__, "ibis": ibis.__version__,
                     "python": platform.python_version()},  # fmt: skip
        "detectors": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"integrity-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    md = _markdown(report)
    (RESULTS / f"integrity-{stamp}.md").write_text(md)
    (RESULTS / "integrity-latest.md").write_text(md)
    print(md)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def _markdown(r: dict) -> str:
    t = r["targets"]
    lines = [
        f"# Integrity detectors on generated data, {r['stamp']}",
        "",
        f"`{r['command']}`: {r['contacts_per_month']:,} contacts a month, period {r['period']}, gaming rate "
        f"{r['gaming_rate']}; {r['interactions']['gaming']:,} interaction rows with gaming, "
        f"{r['interactions']['clean']:,} clean. Detectors ran in {r['detector_seconds']['gaming']} s (gaming) "
        f"and {r['detector_seconds']['clean']} s (clean); whole bench {r['total_seconds']} s on "
        f"{r['machine']['cpus']} CPUs. " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()) + ".",
        "",
        f"Targets: precision >= {t['precision']}, recall >= {t['recall']} on the gaming data; firing rate on "
        f"clean data <= {t['clean_firing_rate']}. Group detectors are scored over agents, the others over "
        "interaction ids of contacts closed in the period.",
        "",
        "| detector | scored on | flagged | true | precision | | recall | | clean flagged / population | clean rate | "
        "| money at stake (gaming) |",
        "|---|---|---:|---:|---:|:---:|---:|:---:|---:|---:|:---:|---:|",
    ]
    for d in r["detectors"]:
        lines.append(
            f"| {d['detector']} | {d['level']} | {d['flagged']:,} | {d['true']:,} | {_fmt(d['precision'])} | "
            f"{d['precision_verdict']} | {_fmt(d['recall'])} | {d['recall_verdict']} | "
            f"{d['clean_flagged']:,} / {d['clean_population']:,} | {_fmt(d['clean_firing_rate'])} | "
            f"{d['clean_verdict']} | {d['billing_effect']} |"
        )
    lines += ["", "Group detectors over ids (informative: the ids a finding lists are the subject's contacts "
              "with the pattern, natural ones included):", ""]  # fmt: skip
    for d in r["detectors"]:
        if d["level"] == "subjects":
            i = d["ids"]
            lines.append(f"- {d['detector']}: {i['flagged']} ids flagged, {i['true']} labelled, "
                         f"precision {_fmt(i['precision'])}, recall {_fmt(i['recall'])}")  # fmt: skip
    for d in r["detectors"]:
        if d["detector"] == "containment_abandonment" and d.get("details"):
            q = d["quick_return_ids"]
            lines += ["", f"containment_abandonment, quick returns alone: precision {_fmt(q['precision'])}, "
                      f"recall {_fmt(q['recall'])} ({q['flagged']} flagged). Return to a human after a "
                      "resolution (bot sessions vs agent resolutions of the same queues, expected = the bot's "
                      "sessions at the agents' rate queue by queue):", "",
                      "| data | within | bot sessions | bot back | agents back | expected | ratio |",
                      "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
            for which in ("clean", "gaming"):
                det = d["details"][which]
                for c in det.get("curve", []):
                    lines.append(f"| {which} | {c['within']} | {c['bot_sessions']:,} | {_fmt(c['bot_rate'])} | "
                                 f"{_fmt(c['agent_rate'])} | {_fmt(c['expected_rate'])} | {c['ratio']} |")  # fmt: skip
            for which in ("clean", "gaming"):
                det = d["details"][which]
                if det:
                    paid = det["paid_followed_by_human"]
                    lines.append(f"\n{which}: excess within {det['horizon_seconds'] // 3600} h significant: "
                                 f"{det['test']['significant']} (z={det['test']['z']}); {paid['count']} paid bot "
                                 f"resolutions followed by a human within the horizon ({paid['amount']}; the "
                                 f"contract's containment window is {det['contract_window_seconds']} s).")  # fmt: skip
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
