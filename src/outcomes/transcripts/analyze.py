"""`outcomes analyze CONTRACT --period P`: score every in-scope interaction's transcript, store the scores.

In scope: the contract's contacts closed in the period (system of record, billable provider, a workflow of
the contract: the same contacts as qa_mean). For each one with a transcript, every scorer runs on the
REDACTED transcript and its result is stored with the scorer's version and the transcript's hash. A contact
whose stored scores have the same scorer version and transcript hash is not scored again, so a second run
does nothing, a run after an interruption resumes where it stopped (each batch is stored in its own
transaction), and a changed transcript or a new scorer version re-scores only what changed.

Batches are scored on all cores (a process pool; `workers`); the process of one batch is pure
(`score_batch`): redact, then score.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from outcomes.transcripts.model import Transcript, Turn
from outcomes.transcripts.redact import Redactor
from outcomes.transcripts.rubric import Rubric
from outcomes.transcripts.scoring import Scorer, resolve_scorers, score_transcript

Progress = Callable[[int, int], None]

BATCH = 2000
#: Below this many transcripts to score, one process does it (starting workers costs more than it saves).
MIN_PARALLEL = 500


@dataclass
class AnalyzeSummary:
    contract: str
    period: str
    in_scope: int = 0
    with_transcript: int = 0
    scored: int = 0
    unchanged: int = 0
    scorers: dict[str, str] = field(default_factory=dict)
    workers: int = 1

    @property
    def coverage(self) -> float | None:
        return None if not self.in_scope else self.with_transcript / self.in_scope

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"coverage": self.coverage}


# -- the pure part: one batch --------------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _init(names: tuple[str, ...] | None, rubric: Rubric | None, regions: tuple[str, ...]) -> None:
    _worker["scorers"] = resolve_scorers(names, rubric)
    _worker["redactor"] = Redactor(regions=regions)


def redact_transcript(t: Transcript, redactor: Redactor) -> Transcript:
    names = t.all_names()
    turns = tuple(
        Turn(x.turn, x.speaker, redactor(x.text, names).text, x.at, None) for x in t.turns
    )
    return Transcript(t.interaction_id, turns, t.source, ())


def score_batch(
    batch: Sequence[Transcript], scorers: Sequence[Scorer], redactor: Redactor
) -> list[dict[str, dict[str, Any]]]:
    """Redact then score each transcript; {scorer name: scores} each, in order."""
    return [score_transcript(redact_transcript(t, redactor), scorers) for t in batch]


def _score_in_worker(batch: Sequence[Transcript]) -> list[dict[str, dict[str, Any]]]:
    return score_batch(batch, _worker["scorers"], _worker["redactor"])


# -- the run: the store at the edges -------------------------------------------------------------------------
def in_scope_keys(facts: Any, contract: Any, window: Any) -> list[tuple[str, str]]:
    """(source, interaction_id) of the contract's contacts closed in the window (as qa_mean counts them)."""
    from outcomes.metrics.scope import billable, closed_in, with_workflow

    t = with_workflow(contract, facts.interactions())
    t = t.filter(
        (t.source == contract.system_of_record)
        & billable(contract, t.provider)
        & t.workflow.notnull()
        & closed_in(t, window)
    )
    rows = facts.ibis().to_pyarrow(t.select("source", "interaction_id")).to_pylist()
    return sorted((r["source"], r["interaction_id"]) for r in rows)


def analyze(
    facts: Any,
    contract: Any,
    period: Any,
    window: Any,
    *,
    scorer_names: Sequence[str] | None = None,
    rubric: Rubric | None = None,
    regions: tuple[str, ...] | None = None,
    workers: int | None = None,
    batch_size: int = BATCH,
    progress: Progress | None = None,
) -> AnalyzeSummary:
    from outcomes.facts import transcripts as ft
    from outcomes.transcripts.redact import DEFAULT_REGIONS

    regions = tuple(regions or DEFAULT_REGIONS)
    names = tuple(scorer_names) if scorer_names else None
    scorers = resolve_scorers(names, rubric)  # fail fast on an unknown scorer, in this process
    versions = {s.name: str(s.version) for s in scorers}
    workers = max(1, workers or os.cpu_count() or 1)
    summary = AnalyzeSummary(contract.contract, period.label, scorers=versions, workers=workers)

    keys = in_scope_keys(facts, contract, window)
    summary.in_scope = len(keys)
    ft.ensure_tables(facts)
    hashes = ft.transcript_hashes(facts)
    keyed = [k for k in keys if k in hashes]
    summary.with_transcript = len(keyed)
    stored = ft.stored_scores(facts)
    todo = [
        k
        for k in keyed
        if any(stored.get((k[0], k[1], name)) != (version, hashes[k]) for name, version in versions.items())
    ]
    summary.unchanged = len(keyed) - len(todo)
    report = progress or (lambda done, total: None)
    report(0, len(todo))
    if not todo:
        return summary

    def load(chunk: Sequence[tuple[str, str]]) -> list[Transcript]:
        turns = ft.turns(facts, chunk)
        return [
            Transcript(
                k[1],
                tuple(Turn(n, sp, text, at, name) for n, sp, text, at, name in turns.get(k, [])),
                k[0],
            )
            for k in chunk
        ]

    def store(chunk: Sequence[tuple[str, str]], results: list[dict[str, dict[str, Any]]]) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [
            (k[0], k[1], name, versions[name], hashes[k], json.dumps(result[name], ensure_ascii=False, default=str))
            for k, result in zip(chunk, results, strict=True)
            for name in versions
        ]
        ft.write_scores(facts, rows, now)

    chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    done = 0
    if workers == 1 or len(todo) < MIN_PARALLEL:
        redactor = Redactor(regions=regions)
        for chunk in chunks:
            store(chunk, score_batch(load(chunk), scorers, redactor))
            done += len(chunk)
            summary.scored = done
            report(done, len(todo))
        return summary
    # several workers: each scores a slice of a chunk; the main process reads and writes the store
    with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(names, rubric, regions)) as pool:
        for chunk in chunks:
            transcripts = load(chunk)
            step = max(1, -(-len(transcripts) // workers))
            parts = [transcripts[i : i + step] for i in range(0, len(transcripts), step)]
            results = [r for part in pool.map(_score_in_worker, parts) for r in part]
            store(chunk, results)
            done += len(chunk)
            summary.scored = done
            report(done, len(todo))
    return summary
