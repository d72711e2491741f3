"""Measuring the analytics against ground truth: PII from ABCD's delexicalised dialogues, signals from the
hand-labelled fixture (tests/fixtures/transcripts/labelled_messages.csv). Pure functions of values.

ABCD ships each dialogue twice: ``original`` and ``delexed``, where the annotators replaced the personal
values with slots (``<email>``, ``<phone>``, ``<username>``, ``<order_id>``, ...). Aligning the two gives
the exact span of every slot in the original text; the scenario gives the customer's name and street
address, which the delexed copy keeps, so their spans are found verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from outcomes.transcripts.redact import Span, find_pii

_SLOT = re.compile(r"<([a-z_]+)>")

#: ABCD slot -> the placeholder kind that redacts it (slots not listed are not personal data we redact:
#: order ids, product names, amounts).
ABCD_KINDS = {"email": "EMAIL", "phone": "PHONE", "name": "NAME", "street_address": "ADDRESS"}


@dataclass(frozen=True)
class TruthSpan:
    start: int
    end: int
    slot: str


def align_delexed(original: str, delexed: str) -> list[TruthSpan] | None:
    """The spans of `delexed`'s slots in `original` (None when the two do not align)."""
    parts = _SLOT.split(delexed.strip())
    if len(parts) == 1:
        return []
    pattern = ""
    for i, part in enumerate(parts):
        if i % 2 == 0:
            pattern += r"\s*".join(re.escape(w) for w in part.split()) if part.strip() else ""
            if part[:1].isspace() or part[-1:].isspace():
                pattern = pattern  # whitespace around a slot is matched by the slot's own \s*
        else:
            pattern += rf"\s*(?P<s{i}>.+?)\s*"
    m = re.fullmatch(pattern, original.strip().lower(), re.DOTALL)
    if m is None:
        return None
    offset = len(original) - len(original.lstrip())
    return [TruthSpan(m.start(f"s{i}") + offset, m.end(f"s{i}") + offset, parts[i]) for i in range(1, len(parts), 2)]


def _verbatim(text: str, value: str, slot: str) -> list[TruthSpan]:
    out = []
    if not value:
        return out
    for m in re.finditer(re.escape(value), text, re.IGNORECASE):
        out.append(TruthSpan(m.start(), m.end(), slot))
    return out


@dataclass
class PiiCounts:
    """Per placeholder kind: true positives, false negatives, and the false positives with their text."""

    tp: dict[str, int] = field(default_factory=dict)
    fn: dict[str, int] = field(default_factory=dict)
    fp: dict[str, int] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    turns: int = 0
    unaligned: int = 0

    def add(self, d: dict[str, int], kind: str) -> None:
        d[kind] = d.get(kind, 0) + 1

    def recall(self, kind: str) -> float | None:
        n = self.tp.get(kind, 0) + self.fn.get(kind, 0)
        return None if n == 0 else self.tp.get(kind, 0) / n

    def precision(self, kind: str) -> float | None:
        n = self.tp.get(kind, 0) + self.fp.get(kind, 0)
        return None if n == 0 else self.tp.get(kind, 0) / n

    def to_dict(self) -> dict[str, Any]:
        kinds = sorted(set(self.tp) | set(self.fn) | set(self.fp))
        return {
            "turns": self.turns,
            "unaligned_turns": self.unaligned,
            "by_kind": {
                k: {
                    "true_positives": self.tp.get(k, 0),
                    "false_negatives": self.fn.get(k, 0),
                    "false_positives": self.fp.get(k, 0),
                    "precision": self.precision(k),
                    "recall": self.recall(k),
                }
                for k in kinds
            },
            "missed": self.missed,
            "extra": self.extra,
        }


def evaluate_abcd(dialogues: Iterable[Mapping[str, Any]], *, use_names: bool = True) -> PiiCounts:
    """Redaction against ABCD's ground truth, on the customer and agent turns of every dialogue.

    A truth span counts as found when a span of its kind overlaps it; a found span that overlaps no truth
    span of its kind is a false positive, EXCEPT where it overlaps a slot that is not personal data in
    `ABCD_KINDS` (an order id read as a phone number is counted in ``extra`` with its slot, as a false
    positive of that kind)."""
    counts = PiiCounts()
    for convo in dialogues:
        scenario = convo.get("scenario") or {}
        personal = scenario.get("personal") or {}
        order = scenario.get("order") or {}
        name = personal.get("customer_name") or ""
        street = order.get("street_address") or ""
        names = (name,) if use_names and name else ()
        for (speaker, text), delexed in zip(convo.get("original") or [], convo.get("delexed") or [], strict=False):
            if speaker == "action":
                continue
            counts.turns += 1
            truth = align_delexed(text, delexed.get("text", ""))
            if truth is None:
                counts.unaligned += 1
                truth = []
            for part in name.split():
                truth += [s for s in _verbatim(text, part, "name") if not any(_overlaps(s, t) for t in truth)]
            truth += _verbatim(text, street, "street_address")
            found = find_pii(text, names)
            for t in truth:
                kind = ABCD_KINDS.get(t.slot)
                if kind is None:
                    continue
                if any(f.kind == kind and _overlaps(f, t) for f in found):
                    counts.add(counts.tp, kind)
                else:
                    counts.add(counts.fn, kind)
                    counts.missed.append(f"{kind}: {text[t.start:t.end]!r} in {text!r}")
            for f in found:
                if any(ABCD_KINDS.get(t.slot) == f.kind and _overlaps(f, t) for t in truth):
                    continue
                counts.add(counts.fp, f.kind)
                slot = next((t.slot for t in truth if _overlaps(f, t)), None)
                counts.extra.append(f"{f.kind}: {text[f.start:f.end]!r}" + (f" (ground truth: <{slot}>)" if slot else ""))
    return counts


def _overlaps(a: Span | TruthSpan, b: Span | TruthSpan) -> bool:
    return a.start < b.end and b.start < a.end


@dataclass(frozen=True)
class Rates:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        return None if self.tp + self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return None if self.tp + self.fn == 0 else self.tp / (self.tp + self.fn)

    def to_dict(self) -> dict[str, Any]:
        return {
            "positives": self.tp + self.fn,
            "true_positives": self.tp,
            "false_positives": self.fp,
            "false_negatives": self.fn,
            "precision": None if self.precision is None else round(self.precision, 4),
            "recall": None if self.recall is None else round(self.recall, 4),
        }


def confusion(truth: Sequence[bool], predicted: Sequence[bool]) -> Rates:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t and p)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p and not t)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t and not p)
    return Rates(tp, fp, fn, len(truth) - tp - fp - fn)


#: The labelled signals of the fixture and the `score_text` field each is compared with.
SIGNALS = {"churn": "churn_signal", "upsell": "upsell_signal", "effort": "effort_signal"}


def sentiment_class(score: float) -> str:
    """VADER's published thresholds: below -0.05 negative, above 0.05 positive."""
    return "neg" if score < -0.05 else "pos" if score > 0.05 else "neu"


def signal_accuracy(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Precision and recall of each signal of `score_text`, and sentiment agreement, against hand labels.

    `messages`: dicts with ``text``, ``churn``, ``upsell``, ``effort`` (bools) and ``sentiment``
    (neg/neu/pos). Returns per signal the confusion counts with precision and recall, the sentiment accuracy
    (3 classes), its confusion matrix, and the precision/recall of ``neg``; with the messages the signals got
    wrong (for reading, not for tuning)."""
    from outcomes.transcripts.scoring import score_text

    scored = [score_text(m["text"]) for m in messages]
    out: dict[str, Any] = {"messages": len(messages)}
    for label, field_ in SIGNALS.items():
        rates = confusion([bool(m[label]) for m in messages], [bool(s[field_]) for s in scored])
        out[label] = rates.to_dict()
        out[label]["missed"] = [m["id"] for m, s in zip(messages, scored, strict=True) if m[label] and not s[field_]]
        out[label]["wrong"] = [m["id"] for m, s in zip(messages, scored, strict=True) if s[field_] and not m[label]]
    predicted = [sentiment_class(s["sentiment"]) for s in scored]
    truth = [m["sentiment"] for m in messages]
    matrix = {t: {p: 0 for p in ("neg", "neu", "pos")} for t in ("neg", "neu", "pos")}
    for t, p in zip(truth, predicted, strict=True):
        matrix[t][p] += 1
    out["sentiment"] = {
        "accuracy": round(sum(1 for t, p in zip(truth, predicted, strict=True) if t == p) / max(1, len(truth)), 4),
        "matrix (label -> predicted)": matrix,
        "negative": confusion([t == "neg" for t in truth], [p == "neg" for p in predicted]).to_dict(),
    }
    return out
