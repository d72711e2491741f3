"""Accuracy of the transcript analytics on real text (docs/analytics.md): PII redaction against ABCD's
delexicalised dialogues, and the signals and sentiment against the 351 hand-labelled customer messages of
tests/fixtures/transcripts (whole fixture, the held-out half, and per stratum).

Writes bench/results/transcripts-accuracy.json and prints it.
Usage: python bench/transcripts_accuracy.py
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from pathlib import Path

from outcomes.transcripts.evaluate import evaluate_abcd, signal_accuracy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared"
if not SHARED.exists():
    SHARED = ROOT / ".." / "shared"
FIXTURE = ROOT / "tests" / "fixtures" / "transcripts" / "labelled_messages.csv"
TWCS = SHARED / "data" / "twcs_sample" / "twcs_head5000.csv.gz"
ABCD = SHARED / "data" / "asapp_abcd_sample" / "abcd_sample.json"


def messages() -> list[dict]:
    with gzip.open(TWCS, "rt", encoding="utf-8", newline="") as fh:
        tweets = {r["tweet_id"]: r["text"] for r in csv.DictReader(fh)}
    turns = {}
    for convo in json.loads(ABCD.read_text()):
        n = 0
        for speaker, text in convo["original"]:
            if speaker != "action":
                n += 1
                turns[f"{convo['convo_id']}:{n}"] = text
    out = []
    with open(FIXTURE, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            out.append(
                {
                    "id": f"{r['source']} {r['message_id']}",
                    "source": r["source"],
                    "text": turns[r["message_id"]] if r["source"] == "abcd" else tweets[r["message_id"]],
                    **{k: r[k] == "1" for k in ("churn", "upsell", "effort")},
                    "sentiment": r["sentiment"],
                }
            )
    return out


def held_out(m: dict) -> bool:
    return int(hashlib.sha256(m["id"].encode()).hexdigest()[:2], 16) < 128


def summary(ms: list[dict]) -> dict:
    r = signal_accuracy(ms)
    out = {"messages": len(ms)}
    for k in ("churn", "upsell", "effort"):
        out[k] = {x: r[k][x] for x in ("positives", "true_positives", "false_positives", "false_negatives", "precision", "recall")}
    out["sentiment"] = {"accuracy": r["sentiment"]["accuracy"], "negative": r["sentiment"]["negative"]}
    return out


def main() -> None:
    ms = messages()
    report = {
        "pii_abcd": evaluate_abcd(json.loads(ABCD.read_text())).to_dict(),
        "signals": {
            "all": summary(ms),
            "held_out": summary([m for m in ms if held_out(m)]),
            "revised_on": summary([m for m in ms if not held_out(m)]),
            **{f"stratum_{s}": summary([m for m in ms if m["source"] == s]) for s in ("twcs", "twcs-negative", "abcd")},
        },
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "transcripts-accuracy.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
