"""Scorers: the built-in ones (sentiment, signals, qa) and the interface a plugged-in scorer implements.

A scorer is any object with ``name`` (str: the key its scores are stored under), ``version`` (str: stored
with every score; a new version re-scores every transcript) and ``score(transcript) -> dict`` (JSON-able
values; keep the phrases or reasons that decided them). It receives the transcript already REDACTED. Plug one
in through the Python entry point group ``outcomes.scorers`` (docs/analytics.md):

    [project.entry-points."outcomes.scorers"]
    acme-llm = "acme_scoring:LlmScorer"     # a class (called with no arguments) or a ready object

Built-in scorers are pure functions of the transcript, run offline and load no model.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from outcomes.transcripts.errors import TranscriptError
from outcomes.transcripts.model import Transcript, Turn
from outcomes.transcripts.rubric import Rubric, load_rubric, score_qa
from outcomes.transcripts.sentiment import NEGATIVE, SENTIMENT_VERSION, sentiment
from outcomes.transcripts.signals import (
    CHURN_FAMILY,
    EFFORT_FAMILY,
    RESOLVED_AGENT_FAMILY,
    RESOLVED_CUSTOMER_FAMILY,
    SIGNALS_VERSION,
    TRANSFER_AGENT_FAMILY,
    UPSELL_AGENT_FAMILY,
    UPSELL_CUSTOMER_FAMILY,
)

ENTRY_POINT_GROUP = "outcomes.scorers"
BUILTIN = ("sentiment", "signals", "qa")


@runtime_checkable
class Scorer(Protocol):
    name: str
    version: str

    def score(self, transcript: Transcript) -> dict[str, Any]: ...


class SentimentScorer:
    """Customer sentiment at the start (first customer turn), at the end (last customer turn) and the shift
    (end - start; None with fewer than two customer turns). Scores are VADER compound in -1..1."""

    name = "sentiment"
    version = SENTIMENT_VERSION

    def score(self, transcript: Transcript) -> dict[str, Any]:
        turns = [t for t in transcript.turns if t.speaker == "customer"]
        if not turns:
            return {"start": None, "end": None, "shift": None, "negative_end": None, "turns": 0}
        start = round(sentiment(turns[0].text), 4)
        end = start if len(turns) == 1 else round(sentiment(turns[-1].text), 4)
        return {
            "start": start,
            "end": end,
            "shift": None if len(turns) < 2 else round(end - start, 4),
            "negative_end": end < NEGATIVE,
            "start_turn": turns[0].turn,
            "end_turn": turns[-1].turn,
            "turns": len(turns),
        }


@functools.lru_cache(maxsize=64)
def _joined(texts: tuple[str, ...]) -> str:
    return "\n".join(texts)


def _hits(family, turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """Every phrase of the family in the turns, with its turn and offset. One RE2 pass over all the turns rules
    the family out in most conversations; otherwise each turn is read on its own."""
    if not turns or not family.may_match(_joined(tuple(t.text for t in turns))):
        return []
    return [
        {"turn": t.turn, "at": at, "signal": name, "phrase": phrase}
        for t in turns
        for name, phrase, at in family.find_at(t.text)
    ]


class SignalScorer:
    """Churn risk, upsell (after resolution) and effort: phrases of the customer (and the agent)."""

    name = "signals"
    version = SIGNALS_VERSION

    def score(self, transcript: Transcript) -> dict[str, Any]:
        customer = [t for t in transcript.turns if t.speaker == "customer"]
        agent = [t for t in transcript.turns if t.speaker in ("agent", "bot")]
        churn = _hits(CHURN_FAMILY, customer)
        effort = _hits(EFFORT_FAMILY, customer)
        transfers = _hits(TRANSFER_AGENT_FAMILY, agent)
        resolved = _hits(RESOLVED_AGENT_FAMILY, agent) + _hits(RESOLVED_CUSTOMER_FAMILY, customer)
        upsell = _hits(UPSELL_CUSTOMER_FAMILY, customer) + _hits(UPSELL_AGENT_FAMILY, agent)
        # after resolution: a later turn, or later in the same turn ("it's fixed. Would you like ...")
        first = min(((h["turn"], h["at"]) for h in resolved), default=None)
        after = [h for h in upsell if first is not None and (h["turn"], h["at"]) > first]
        first_resolved = None if first is None else first[0]
        return {
            "churn": bool(churn),
            "upsell": bool(upsell),
            "upsell_after_resolution": bool(after),
            "effort": bool(effort) or len(transfers) >= 2,
            "resolved_turn": first_resolved,
            "transfers": len(transfers),
            "phrases": {
                "churn": churn,
                "upsell": upsell,
                "resolved": resolved,
                "effort": effort,
                "transfer": transfers,
            },
        }


@dataclass
class QaScorer:
    """The automatic QA score of a rubric (default: the built-in rubric)."""

    rubric: Rubric
    name: str = "qa"

    @property
    def version(self) -> str:
        return self.rubric.scorer_version

    def score(self, transcript: Transcript) -> dict[str, Any]:
        return score_qa(self.rubric, transcript)


def builtin_scorers(rubric: Rubric | None = None) -> list[Scorer]:
    return [SentimentScorer(), SignalScorer(), QaScorer(rubric if rubric is not None else load_rubric())]


def plugged_scorers() -> dict[str, Any]:
    """The entry points of the group ``outcomes.scorers``, by name (not loaded)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_plugged(name: str) -> Scorer:
    """Load one plugged-in scorer by its entry point name; a clear error when it is missing or malformed."""
    eps = plugged_scorers()
    if name not in eps:
        known = ", ".join(sorted(set(eps) | set(BUILTIN))) or "none"
        raise TranscriptError(
            f"no scorer named {name!r} (known: {known})",
            hint=f"install the package that provides it under the entry point group {ENTRY_POINT_GROUP!r}",
        )
    try:
        target = eps[name].load()
    except Exception as exc:  # a broken plug-in is the user's to fix: say which and why
        raise TranscriptError(f"scorer {name!r}: cannot load {eps[name].value} ({type(exc).__name__}: {exc})") from None
    scorer = target() if isinstance(target, type) else target
    if not isinstance(scorer, Scorer):
        raise TranscriptError(
            f"scorer {name!r} ({eps[name].value}) has no name, version and score(transcript) -> dict",
            hint="see 'Plug in a scorer' in docs/analytics.md",
        )
    if not str(scorer.version):
        raise TranscriptError(f"scorer {name!r}: its version is empty; a version is stored with every score")
    return scorer


def resolve_scorers(names: Sequence[str] | None, rubric: Rubric | None = None) -> list[Scorer]:
    """The scorers named (built-in or plugged in); None: the three built-in scorers."""
    if not names:
        return builtin_scorers(rubric)
    out: list[Scorer] = []
    builtins = {s.name: s for s in builtin_scorers(rubric)}
    for n in dict.fromkeys(names):
        out.append(builtins[n] if n in builtins else load_plugged(n))
    return out


def score_transcript(transcript: Transcript, scorers: Sequence[Scorer]) -> dict[str, dict[str, Any]]:
    """{scorer name: scores} for one (redacted) transcript."""
    out: dict[str, dict[str, Any]] = {}
    for s in scorers:
        try:
            result = s.score(transcript)
        except Exception as exc:
            raise TranscriptError(
                f"scorer {s.name!r} failed on interaction {transcript.interaction_id!r}: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(result, dict):
            raise TranscriptError(f"scorer {s.name!r} returned {type(result).__name__}, not a dict")
        out[s.name] = result
    return out


def score_text(text: str) -> dict[str, Any]:
    """One customer message scored on its own (`outcomes score-text`): sentiment in -1..1, the three signals
    and the phrases that fired."""
    churn = CHURN_FAMILY.find(text)
    upsell = UPSELL_CUSTOMER_FAMILY.find(text)
    effort = EFFORT_FAMILY.find(text)
    return {
        "sentiment": round(sentiment(text), 4),
        "churn_signal": bool(churn),
        "upsell_signal": bool(upsell),
        "effort_signal": bool(effort),
        "phrases": {
            "churn": [p for _, p in churn],
            "upsell": [p for _, p in upsell],
            "effort": [p for _, p in effort],
        },
    }
