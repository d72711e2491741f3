"""The automatic QA rubric: a YAML file of weighted items, checked against the agent's turns.

An item passes when one of its ``any`` patterns matches one of the turns of its ``speaker`` in its ``where``
window (``any``, ``first N``, ``last N``) and none of its ``unless`` patterns matches that same turn.
``score = 100 x passed weight / applicable weight``; an ``auto_fail`` item that fires makes the score 0;
``skip_short`` items do not apply to contacts of fewer than ``min_turns`` turns. A contact where no item
applies has no score (None), never 0. The format is in docs/analytics.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outcomes.transcripts.errors import TranscriptError
from outcomes.transcripts.model import SPEAKERS, Transcript
from outcomes.transcripts.signals import ascii_shadow

DEFAULT_RUBRIC = Path(__file__).with_name("rubrics") / "default.yaml"

_WHERE = re.compile(r"^(?:any|(first|last)\s+([1-9]\d*))$")
_ITEM_KEYS = {"id", "description", "weight", "speaker", "where", "any", "unless", "auto_fail", "skip_short"}


@dataclass(frozen=True)
class Item:
    id: str
    description: str
    weight: float
    speaker: str
    where: tuple[str, int]  # ("any", 0) | ("first", n) | ("last", n)
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()
    auto_fail: bool = False
    skip_short: bool = False
    fast: Any = None  # RE2: any pattern of the item may match (None: no prefilter)


@dataclass(frozen=True)
class Rubric:
    name: str
    version: str
    min_turns: int
    items: tuple[Item, ...]

    @property
    def scorer_version(self) -> str:
        return f"rubric:{self.name}/{self.version}"


def load_rubric(path: Path | None = None) -> Rubric:
    """Read and check a rubric file (default: the built-in rubric). Errors name the file and the item."""
    from ruamel.yaml import YAML, YAMLError

    path = Path(path) if path is not None else DEFAULT_RUBRIC
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot read the rubric ({exc.strerror})") from None
    except YAMLError as exc:
        raise TranscriptError(f"{path}: not valid YAML ({exc})", hint="check the indentation and quotes") from None
    return parse_rubric(data, str(path))


def parse_rubric(data: Any, where: str = "rubric") -> Rubric:
    def bad(msg: str) -> TranscriptError:
        return TranscriptError(f"{where}: {msg}", hint="see 'The rubric format' in docs/analytics.md")

    if not isinstance(data, dict):
        raise bad("a rubric is a mapping with name, version, min_turns and items")
    unknown = set(data) - {"name", "version", "min_turns", "items"}
    if unknown:
        raise bad(f"unknown key(s) {', '.join(sorted(unknown))}")
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not name.strip():
        raise bad("name: give the rubric a name")
    if version is None or not str(version).strip():
        raise bad("version: give the rubric a version (it is stored with every score)")
    min_turns = data.get("min_turns", 0)
    if isinstance(min_turns, bool) or not isinstance(min_turns, int) or min_turns < 0:
        raise bad(f"min_turns: a whole number >= 0, not {min_turns!r}")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise bad("items: list at least one item")
    items: list[Item] = []
    seen: set[str] = set()
    for n, it in enumerate(raw_items, 1):
        label = f"items[{n}]"
        if not isinstance(it, dict):
            raise bad(f"{label}: an item is a mapping with id, weight, speaker, where and any")
        extra = set(it) - _ITEM_KEYS
        if extra:
            raise bad(f"{label}: unknown key(s) {', '.join(sorted(extra))}")
        iid = it.get("id")
        if not isinstance(iid, str) or not iid:
            raise bad(f"{label}: id is missing")
        label = f"item {iid!r}"
        if iid in seen:
            raise bad(f"{label}: the id is used twice")
        seen.add(iid)
        weight = it.get("weight", 0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise bad(f"{label}: weight must be a number >= 0, not {weight!r}")
        auto_fail = bool(it.get("auto_fail", False))
        if weight == 0 and not auto_fail:
            raise bad(f"{label}: weight 0 counts for nothing; give a weight or make it auto_fail")
        speaker = it.get("speaker", "agent")
        if speaker not in SPEAKERS:
            raise bad(f"{label}: speaker must be one of {', '.join(SPEAKERS)}, not {speaker!r}")
        wm = _WHERE.match(str(it.get("where", "any")).strip())
        if wm is None:
            raise bad(f"{label}: where must be 'any', 'first N' or 'last N', not {it.get('where')!r}")
        where_ = ("any", 0) if wm.group(1) is None else (wm.group(1), int(wm.group(2)))
        patterns = _patterns(it.get("any"), f"{label}: any", bad)
        if not patterns:
            raise bad(f"{label}: any: list at least one pattern")
        unless = _patterns(it.get("unless"), f"{label}: unless", bad)
        items.append(
            Item(
                iid,
                str(it.get("description", "")),
                float(weight),
                speaker,
                where_,
                patterns,
                unless,
                auto_fail,
                bool(it.get("skip_short", False)),
                _prefilter(patterns),
            )
        )
    return Rubric(name.strip(), str(version).strip(), int(min_turns), tuple(items))


def _patterns(value: Any, label: str, bad) -> tuple[re.Pattern[str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise bad(f"{label}: a list of regular expressions")
    out = []
    for p in value:
        try:
            out.append(re.compile(str(p), re.IGNORECASE))
        except re.error as exc:
            raise bad(f"{label}: {p!r} is not a valid regular expression ({exc})") from None
    return tuple(out)


def _prefilter(patterns: tuple[re.Pattern[str], ...]) -> Any:
    """One RE2 pattern matching wherever one of the item's patterns may (None when RE2 cannot read one of them,
    e.g. a lookaround: then every turn is tried with Python's re, as without a prefilter)."""
    try:
        import re2
    except ImportError:  # pragma: no cover
        return None
    if any(re.search(r"[$^]|\(\?[=!<]", p.pattern) for p in patterns):
        return None  # anchors and lookarounds mean something else (or nothing) to RE2 over joined turns
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        return re2.compile("|".join(f"(?:{p.pattern})" for p in patterns), options)
    except Exception:
        return None


def _window(turns: list[str], where: tuple[str, int]) -> list[tuple[int, str]]:
    indexed = list(enumerate(turns))
    if where[0] == "first":
        return indexed[: where[1]]
    if where[0] == "last":
        return indexed[-where[1] :]
    return indexed


def score_qa(rubric: Rubric, transcript: Transcript) -> dict[str, Any]:
    """The QA score of one transcript: score (0..100, None when no item applies), auto_failed ids, and per
    item passed / skipped with the phrase and turn that fired."""
    short = len(transcript.turns) < rubric.min_turns
    by_speaker: dict[str, list[tuple[int, str]]] = {}
    for t in transcript.turns:
        by_speaker.setdefault(t.speaker, []).append((t.turn, t.text))
    applicable = passed = 0.0
    items: dict[str, Any] = {}
    failed: list[str] = []
    for item in rubric.items:
        if item.skip_short and short:
            items[item.id] = {"skipped": "short contact"}
            continue
        turns = by_speaker.get(item.speaker, [])
        hit: tuple[int, str] | None = None
        window = _window([t for _, t in turns], item.where)
        if item.fast is not None and item.fast.search(ascii_shadow("\n".join(t for _, t in window))) is None:
            window = []  # one RE2 pass: no pattern of the item matches in its window
        for i, text in window:
            # RE2 (on the ASCII shadow) rules out turns fast; Python's re decides on the turns it lets through
            if item.fast is not None and item.fast.search(ascii_shadow(text)) is None:
                continue
            for p in item.patterns:
                m = p.search(text)
                if m is not None and not any(u.search(text) for u in item.unless):
                    hit = (turns[i][0], m.group())
                    break
            if hit:
                break
        if item.auto_fail:
            items[item.id] = {"fired": hit is not None} | ({"turn": hit[0], "phrase": hit[1]} if hit else {})
            if hit:
                failed.append(item.id)
            continue
        applicable += item.weight
        if hit:
            passed += item.weight
        items[item.id] = {"passed": hit is not None} | ({"turn": hit[0], "phrase": hit[1]} if hit else {})
    if failed:
        score: float | None = 0.0
    elif applicable == 0:
        score = None
    else:
        score = round(100.0 * passed / applicable, 2)
    return {"score": score, "auto_failed": failed, "short": short, "items": items}
