"""`make bench` (transcripts): redaction plus the built-in scorers, transcripts per second, on one core and on
all cores, at growing sizes; `outcomes analyze` end to end; and the floor (DuckDB asked a comparable question
of the same turns in raw SQL: one RE2 redaction and one RE2 phrase test per turn, on all cores).

Transcripts are 10 turns (customer and agent alternating) drawn, seeded, from the real tweets of
../shared/data/twcs_sample: real text, real lengths (about 1,070 characters a transcript).

Writes bench/results/transcripts-<stamp>.json and .md, and bench/results/transcripts-latest.md; the JSON's
top-level `transcripts_per_s` is the all-cores figure at the largest size.
Usage: python bench/transcripts.py [--sizes 2000,8000,32000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHARED = HERE.parent.parent / "shared"
if not SHARED.exists():
    SHARED = HERE.parent / ".." / "shared"
TWCS = SHARED / "data" / "twcs_sample" / "twcs_head5000.csv.gz"
TARGET = 2000
TURNS = 10
CHUNK = 500


def corpus(n: int, seed: int = 11):
    from outcomes.transcripts.model import Transcript, Turn

    customer, agent = [], []
    with gzip.open(TWCS, "rt", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["text"] and r["inbound"] in ("True", "False"):
                (customer if r["inbound"] == "True" else agent).append(r["text"])
    rng = random.Random(seed)
    return [
        Transcript(
            f"t{i}",
            tuple(
                Turn(j + 1, "customer" if j % 2 == 0 else "agent", rng.choice(customer if j % 2 == 0 else agent))
                for j in range(TURNS)
            ),
            "bench",
        )
        for i in range(n)
    ]


def one_core(transcripts) -> tuple[float, float]:
    from outcomes.transcripts.analyze import score_batch
    from outcomes.transcripts.redact import Redactor
    from outcomes.transcripts.scoring import builtin_scorers

    scorers, redactor = builtin_scorers(), Redactor()
    score_batch(transcripts[:50], scorers, redactor)  # warm: lexicons, compiled patterns
    t0, c0 = time.perf_counter(), time.process_time()
    score_batch(transcripts, scorers, redactor)
    return time.perf_counter() - t0, time.process_time() - c0


def all_cores(transcripts, workers: int) -> tuple[float, float]:
    """The path `outcomes analyze` takes: a process pool, each worker with its scorers loaded once. Returns wall
    seconds of the scoring and CPU seconds of this process and the workers (their warm-up included)."""
    import resource

    from outcomes.transcripts import analyze as a
    from outcomes.transcripts.redact import DEFAULT_REGIONS

    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    c0 = cpu()
    with ProcessPoolExecutor(max_workers=workers, initializer=a._init, initargs=(None, None, DEFAULT_REGIONS)) as pool:
        list(pool.map(a._score_in_worker, [transcripts[:20]] * workers))  # warm every worker
        t0 = time.perf_counter()
        parts = [transcripts[i : i + CHUNK] for i in range(0, len(transcripts), CHUNK)]
        n = sum(len(r) for r in pool.map(a._score_in_worker, parts))
        elapsed = time.perf_counter() - t0
    assert n == len(transcripts)
    return elapsed, cpu() - c0


def components(transcripts) -> dict[str, float]:
    """Microseconds per transcript of each part, on one core."""
    from outcomes.transcripts.analyze import redact_transcript
    from outcomes.transcripts.redact import Redactor
    from outcomes.transcripts.rubric import load_rubric
    from outcomes.transcripts.scoring import QaScorer, SentimentScorer, SignalScorer

    redactor = Redactor()
    redacted = [redact_transcript(t, redactor) for t in transcripts]
    out = {}
    for name, fn, data in (
        ("redact", lambda t: redact_transcript(t, redactor), transcripts),
        ("sentiment", SentimentScorer().score, redacted),
        ("signals", SignalScorer().score, redacted),
        ("qa", QaScorer(load_rubric()).score, redacted),
    ):
        t0 = time.perf_counter()
        for t in data:
            fn(t)
        out[name] = round((time.perf_counter() - t0) / len(data) * 1e6, 1)
    return out


def floor(transcripts) -> float:
    """DuckDB, all cores, over the same turns: replace e-mail addresses and test a churn phrase with RE2."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    turns = pa.table({"text": [t.text for tr in transcripts for t in tr.turns]})
    con.register("turns", turns)
    sql = (
        "SELECT count(*) FILTER (WHERE regexp_matches(lower(t), "
        "'cancel(l?ed|l?ing)? (my|the) (account|subscription|service)|switch(ing)? to|close my account')) "
        "FROM (SELECT regexp_replace(text, '[A-Za-z0-9._+-]+@[A-Za-z0-9-]+\\.[A-Za-z.]+', '[EMAIL]', 'g') AS t "
        "FROM turns)"
    )
    con.execute(sql).fetchall()
    t0 = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - t0


def end_to_end(n: int, workers: int) -> dict:
    """Ingest n transcripts (and their interactions) into a workspace, then `analyze` them: seconds of each."""
    from outcomes.contract import read_contract
    from outcomes.metrics.scope import Window
    from outcomes.period import Period
    from outcomes.transcripts.analyze import analyze
    from outcomes.transcripts.ingest import ingest_file
    from outcomes.transcripts.settings import TranscriptSettings
    from outcomes.workspace import init_workspace

    transcripts = corpus(n, seed=5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = init_workspace(root / "ws")
        contract_path = root / "contract.yaml"
        contract_path.write_text(
            "contract: bench\nversion: 1\nparties: {buyer: B, provider: P}\ncurrency: USD\ntimezone: UTC\n"
            "term: {start: 2026-01-01, end: 2026-12-31}\nperiod: month\nsystem_of_record: bench\n"
            "workflows:\n  all: {default: true}\noutcomes:\n  resolution: {kind: resolution}\n"
            "pricing:\n  base_fee: \"1.00\"\n"
        )
        contract = read_contract(contract_path)
        interactions = root / "interactions.csv"
        with open(interactions, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["interaction_id", "source", "channel", "opened_at", "closed_at", "status"])
            for i, t in enumerate(transcripts):
                day = 1 + i % 28
                w.writerow([t.interaction_id, "bench", "chat", f"2026-06-{day:02d}T09:00:00Z", f"2026-06-{day:02d}T09:30:00Z", "resolved"])
        turns = root / "transcripts.jsonl"
        with open(turns, "w") as fh:
            for t in transcripts:
                for x in t.turns:
                    fh.write(json.dumps({"interaction_id": t.interaction_id, "source": "bench", "turn": x.turn,
                                         "speaker": x.speaker, "text": x.text}) + "\n")
        facts = ws.duckdb_facts()
        facts.ingest("interactions", interactions, now=datetime(2027, 1, 1, tzinfo=UTC))
        t0 = time.perf_counter()
        ingest_file(facts, turns, mapping=None, fmt=None, source=None, timezone=None, settings=TranscriptSettings())
        ingest_s = time.perf_counter() - t0
        period = Period.parse("2026-06")
        t0 = time.perf_counter()
        summary = analyze(facts, contract, period, Window.of(contract, period), workers=workers)
        analyze_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = analyze(facts, contract, period, Window.of(contract, period), workers=workers)
        rerun_s = time.perf_counter() - t0
        ws.close()
    assert summary.scored == n and again.scored == 0
    return {
        "transcripts": n,
        "ingest_seconds": round(ingest_s, 3),
        "analyze_seconds": round(analyze_s, 3),
        "analyze_transcripts_per_s": round(n / analyze_s),
        "rerun_unchanged_seconds": round(rerun_s, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,8000,32000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--end-to-end", type=int, default=8000)
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    workers = os.cpu_count() or 1
    rows = []
    for n in sizes:
        data = corpus(n)
        singles = [one_core(data) for _ in range(a.repeat)]
        pools = [all_cores(data, workers) for _ in range(a.repeat)]
        single = statistics.median(x[0] for x in singles)
        single_cpu = statistics.median(x[1] for x in singles)
        pooled = statistics.median(x[0] for x in pools)
        pooled_cpu = statistics.median(x[1] for x in pools)
        sql = statistics.median(floor(data) for _ in range(a.repeat))
        rows.append(
            {
                "transcripts": n,
                "turns": n * TURNS,
                "chars_per_transcript": round(sum(len(t.text) for tr in data for t in tr.turns) / n),
                "one_core_per_s": round(n / single),
                "all_cores_per_s": round(n / pooled),
                # CPU seconds, not wall: what the work costs whatever else the shared machine runs
                "cpu_ms_per_transcript_one_core": round(single_cpu / n * 1000, 3),
                "cpu_ms_per_transcript_pool": round(pooled_cpu / n * 1000, 3),
                "per_s_if_all_cores_were_ours": round(workers * n / pooled_cpu),
                "floor_duckdb_per_s": round(n / sql),
                "ratio_to_floor": round(sql / pooled, 4),
                "seconds_all_cores": round(pooled, 3),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    parts = components(corpus(2000))
    e2e = end_to_end(a.end_to_end, workers)
    largest = rows[-1]
    report = {
        "bench": "transcripts",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": workers,
            "python": platform.python_version(),
            "platform": platform.platform(),
            # this machine is shared: the load average says how much of the cores the bench had
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        },
        "transcripts_per_s": largest["all_cores_per_s"],
        "transcripts_per_s_if_all_cores_were_ours": largest["per_s_if_all_cores_were_ours"],
        "target_per_s": TARGET,
        "target_met": largest["all_cores_per_s"] >= TARGET,
        "turns_per_transcript": TURNS,
        "sizes": rows,
        "linear": {
            "per_s_smallest": rows[0]["all_cores_per_s"],
            "per_s_largest": largest["all_cores_per_s"],
            "ratio": round(largest["all_cores_per_s"] / rows[0]["all_cores_per_s"], 3),
        },
        "one_core_us_per_transcript": parts,
        "end_to_end": e2e,
        "repeat": a.repeat,
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"transcripts-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    md = render(report)
    (RESULTS / f"transcripts-{stamp}.md").write_text(md)
    (RESULTS / "transcripts-latest.md").write_text(md)
    print(md)


def render(r: dict) -> str:
    lines = [
        f"# Transcripts bench ({r['at']}, {r['machine']['cores']} cores, load average "
        f"{' / '.join(str(x) for x in r['machine']['load_average_1_5_15'])})",
        "",
        f"Redaction plus the built-in scorers (sentiment, signals, QA), {r['turns_per_transcript']}-turn transcripts "
        "of real tweets. Medians of "
        f"{r['repeat']} runs. **transcripts_per_s = {r['transcripts_per_s']:,}** (target {r['target_per_s']:,}: "
        f"{'met' if r['target_met'] else 'NOT met'}).",
        "",
        f"CPU time says what the cores would do if the bench had them to itself: "
        f"{r['transcripts_per_s_if_all_cores_were_ours']:,}/s on {r['machine']['cores']} cores.",
        "",
        "| transcripts | one core /s (wall) | all cores /s (wall) | CPU ms per transcript (pool) | /s if the cores were ours | floor: DuckDB RE2 /s | ours ÷ floor |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in r["sizes"]:
        lines.append(
            f"| {x['transcripts']:,} | {x['one_core_per_s']:,} | {x['all_cores_per_s']:,} | "
            f"{x['cpu_ms_per_transcript_pool']:.3f} | {x['per_s_if_all_cores_were_ours']:,} | "
            f"{x['floor_duckdb_per_s']:,} | {x['ratio_to_floor']:.3f} |"
        )
    p = r["one_core_us_per_transcript"]
    e = r["end_to_end"]
    lines += [
        "",
        "One core, microseconds per transcript: " + ", ".join(f"{k} {v:,.0f}" for k, v in p.items()) + ".",
        "",
        f"`outcomes analyze` end to end ({e['transcripts']:,} transcripts in a workspace): ingest "
        f"{e['ingest_seconds']} s, analyze {e['analyze_seconds']} s ({e['analyze_transcripts_per_s']:,}/s), "
        f"a second run with nothing changed {e['rerun_unchanged_seconds']} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
