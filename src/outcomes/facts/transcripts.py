"""Transcripts in the facts store: versioned turns, with the same batches, idempotency and quarantine as
interactions, and the per-interaction scores of `outcomes analyze`.

Tables (created on first use, in the same DuckDB file as the other facts):

``transcripts``: one row per turn version: ``source``, ``interaction_id``, ``turn`` (1-based), ``speaker``
(customer | agent | bot), ``text``, ``at`` (naive UTC, may be NULL), ``speaker_name`` (NULL when the source
does not say, and always NULL when the text was redacted before it was stored), ``_batch``, ``_until``,
``_hash``. Key: (source, interaction_id, turn). A turn whose current version has the same content is a
duplicate (nothing written); other content closes the current version (``_until``) and inserts the new one.

``transcript_scores``: one row per (source, interaction_id, scorer, scorer_version): ``transcript_hash`` (the
md5 of the interaction's current turn hashes in turn order: when it changes, the scores are stale),
``scores`` (JSON: the values and the phrases that fired), ``scored_at``. Written by `outcomes analyze`.
The view ``transcript_metrics`` flattens the built-in scorers' values per interaction (qa_auto,
sentiment_end, sentiment_shift, churn_signal, upsell_after_resolution) for the transcript metrics.

Every ingest records a batch (kind ``transcripts``) in ``batches`` and its refused rows in ``quarantine``,
in ONE transaction: an error or Ctrl-C leaves the store as it was. A transcripts batch changes no
interaction or event, so the facts digest of ``interactions`` and ``events`` is carried over unchanged.

Quarantine reasons, in the order tried: ``bad_json``, ``bad_source_row`` (a mapping could not read the
source row, e.g. a tweet split over two lines), ``missing_id``, ``missing_source``, ``bad_turn`` (not a
whole number >= 1), ``unknown_speaker``, ``missing_text``, ``bad_timestamp``, ``missing_timezone``,
``future_timestamp`` (more than 24 h after the time of ingest), ``duplicate_id`` (the same turn twice in one
file with different content).

``redact``: a function of (text, names) -> text applied to every turn BEFORE anything is written (the
``transcripts.redact_before_store`` setting): then no raw text reaches the store, its quarantine included,
and ``speaker_name`` is not kept.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .errors import IngestError
from .schema import FUTURE_TOLERANCE_HOURS
from .store import FactsStore, _file_sha256

SPEAKERS = ("customer", "agent", "bot")
COLUMNS = ("source", "interaction_id", "turn", "speaker", "text", "at", "speaker_name")
REQUIRED = ("interaction_id", "turn", "speaker", "text")
REASONS = (
    "bad_json",
    "bad_source_row",
    "missing_id",
    "missing_source",
    "bad_turn",
    "unknown_speaker",
    "missing_text",
    "bad_timestamp",
    "missing_timezone",
    "future_timestamp",
    "duplicate_id",
)

DDL = (
    """CREATE TABLE IF NOT EXISTS transcripts (
  source VARCHAR NOT NULL,
  interaction_id VARCHAR NOT NULL,
  turn INTEGER NOT NULL,
  speaker VARCHAR NOT NULL,
  text VARCHAR NOT NULL,
  "at" TIMESTAMP,
  speaker_name VARCHAR,
  _batch INTEGER NOT NULL,
  _until INTEGER,
  _hash VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS transcript_scores (
  source VARCHAR NOT NULL,
  interaction_id VARCHAR NOT NULL,
  scorer VARCHAR NOT NULL,
  scorer_version VARCHAR NOT NULL,
  transcript_hash VARCHAR NOT NULL,
  scores JSON NOT NULL,
  scored_at TIMESTAMP NOT NULL,
  PRIMARY KEY (source, interaction_id, scorer)
)""",
    # What the transcript metrics read (metrics/library.py): one row per scored interaction, from the
    # built-in scorers' stored JSON.
    """CREATE OR REPLACE VIEW transcript_metrics AS SELECT source, interaction_id,
  max(CASE WHEN scorer = 'qa' THEN TRY_CAST(json_extract_string(scores, '$.score') AS DOUBLE) END) AS qa_auto,
  max(CASE WHEN scorer = 'sentiment' THEN TRY_CAST(json_extract_string(scores, '$.end') AS DOUBLE) END)
    AS sentiment_end,
  max(CASE WHEN scorer = 'sentiment' THEN TRY_CAST(json_extract_string(scores, '$.shift') AS DOUBLE) END)
    AS sentiment_shift,
  bool_or(CASE WHEN scorer = 'signals' THEN TRY_CAST(json_extract_string(scores, '$.churn') AS BOOLEAN) END)
    AS churn_signal,
  bool_or(CASE WHEN scorer = 'signals'
    THEN TRY_CAST(json_extract_string(scores, '$.upsell_after_resolution') AS BOOLEAN) END)
    AS upsell_after_resolution
FROM transcript_scores GROUP BY source, interaction_id""",
)

Redact = Callable[[str, Sequence[str]], str]
Progress = Callable[[str, int, int], None]


@dataclass
class TranscriptIngest:
    batch: int | None
    kind: str
    file: str
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    quarantined: int = 0
    skipped: int = 0
    interactions: int = 0
    redacted: bool = False
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_tables(store: FactsStore) -> None:
    for ddl in DDL:
        store.con.execute(ddl)


# -- reading files ------------------------------------------------------------------------------------------
def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def file_format(path: Path, fmt: str | None = None) -> str:
    """csv | jsonl | json, from `fmt` or the file name (``.gz`` allowed)."""
    if fmt:
        if fmt not in ("csv", "jsonl", "json"):
            raise IngestError(f"{path}: unknown format {fmt!r}", hint="use --format csv, jsonl or json")
        return fmt
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    for ext, f in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json")):
        if name.endswith(ext):
            return f
    raise IngestError(
        f"{path}: cannot tell the format from the file name", hint="name it .csv, .jsonl or .json, or give --format"
    )


def read_records(path: Path, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """The records of a file as dicts, in file order. A JSON line that does not parse yields
    ``{"_bad_json": line}`` (quarantined as bad_json); a whole .json file that does not parse is an error."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found; check the path")
    kind = file_format(path, fmt)
    try:
        with _open_text(path) as fh:
            if kind == "csv":
                reader = csv.DictReader(fh)
                if not reader.fieldnames:
                    raise IngestError(f"{path}: empty CSV (no header row)")
                for rec in reader:
                    yield {k: v for k, v in rec.items() if k is not None}
            elif kind == "jsonl":
                for line in fh:
                    if not line.strip():
                        continue
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError:
                        yield {"_bad_json": line.rstrip("\n")}
                        continue
                    yield value if isinstance(value, dict) else {"_bad_json": line.rstrip("\n")}
            else:
                try:
                    value = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise IngestError(f"{path}: not valid JSON ({exc})", hint="check the file or export it again") from None
                if isinstance(value, dict):
                    lists = [v for v in value.values() if isinstance(v, list)]
                    value = lists[0] if len(lists) == 1 else [value]
                for rec in value:
                    yield rec if isinstance(rec, dict) else {"_bad_json": json.dumps(rec)}
    except (UnicodeDecodeError, OSError, gzip.BadGzipFile, csv.Error) as exc:
        raise IngestError(f"{path}: cannot read the file as {kind} ({exc})") from None


# -- validation -----------------------------------------------------------------------------------------------
def _parse_at(value: Any, timezone: str | None) -> tuple[datetime | None, str | None]:
    """(naive UTC time, None) or (None, reason)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None, "bad_timestamp"
    if moment.tzinfo is None:
        if timezone is None:
            return None, "missing_timezone"
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None), None


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _turn_hash(
    source: str, interaction_id: str, turn: int, speaker: str, text: str, at: datetime | None, speaker_name: str | None
) -> str:
    at_us = "" if at is None else str(int((at - datetime(1970, 1, 1)).total_seconds() * 1_000_000))
    canon = "\x1f".join((source, interaction_id, str(turn), speaker, text, at_us, speaker_name or ""))
    return hashlib.md5(canon.encode("utf-8")).hexdigest()


def _validate(
    rec: Mapping[str, Any], default_source: str | None, timezone: str | None, now: datetime
) -> tuple[dict[str, Any] | None, tuple[str, str, str] | None]:
    """(typed row, None) or (None, (reason, field, message))."""
    if "_bad_json" in rec:
        return None, ("bad_json", "", "the line is not a JSON object")
    if "_reject" in rec:  # a mapping found the source row unusable; it says why
        return None, ("bad_source_row", "", str(rec["_reject"]))
    iid = _text(rec.get("interaction_id"))
    if iid is None:
        return None, ("missing_id", "interaction_id", "interaction_id is empty")
    source = _text(rec.get("source")) or default_source
    if source is None:
        return None, ("missing_source", "source", "source is empty (give --source or a source column)")
    raw_turn = rec.get("turn")
    try:
        turn = int(str(raw_turn).strip())
        if turn < 1 or str(raw_turn).strip().startswith("+"):
            raise ValueError
    except (TypeError, ValueError):
        return None, ("bad_turn", "turn", f"turn {raw_turn!r} is not a whole number >= 1")
    speaker = (_text(rec.get("speaker")) or "").lower()
    if speaker not in SPEAKERS:
        return None, ("unknown_speaker", "speaker", f"speaker {rec.get('speaker')!r} is not customer, agent or bot")
    text = rec.get("text")
    if text is None or not str(text).strip():
        return None, ("missing_text", "text", "text is empty")
    at, why = _parse_at(rec.get("at"), timezone)
    if why == "bad_timestamp":
        return None, (why, "at", f"at {rec.get('at')!r} is not an ISO 8601 time")
    if why == "missing_timezone":
        return None, (why, "at", f"at {rec.get('at')!r} has no offset or zone (give --timezone)")
    if at is not None and at > now + timedelta(hours=FUTURE_TOLERANCE_HOURS):
        return None, ("future_timestamp", "at", f"at {at.isoformat()} UTC is after the time of ingest")
    return {
        "source": source,
        "interaction_id": iid,
        "turn": turn,
        "speaker": speaker,
        "text": str(text).strip(),
        "at": at,
        "speaker_name": _text(rec.get("speaker_name")),
    }, None


# -- ingest ---------------------------------------------------------------------------------------------------
def ingest(
    store: FactsStore,
    records: Iterable[Mapping[str, Any]],
    *,
    file: Path | str,
    fmt: str,
    source: str | None = None,
    timezone: str | None = None,
    redact: Redact | None = None,
    skipped: Mapping[str, int] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> TranscriptIngest:
    """Validate and store the canonical transcript rows of one file as one batch; all or nothing.

    `records` are raw rows (``interaction_id``, ``turn``, ``speaker``, ``text`` and optionally ``source``,
    ``at``, ``speaker_name``), e.g. from `read_records` or a mapping. `skipped`: units the source itself said
    to leave out (counted, written nowhere). `redact(text, names)`: see the module docstring.
    """
    report = progress or (lambda stage, done, total: None)
    path = Path(file)
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise IngestError(f"{path}: unknown time zone {timezone!r}; use an IANA zone name such as UTC") from None
    rows: list[dict[str, Any]] = []
    refused: list[tuple[int, str, str, str, str]] = []  # row, field, reason, message, raw
    n = 0
    records = list(records)
    names_by_id: dict[str, list[str]] = {}
    if redact is not None:
        for rec in records:
            name = _text(rec.get("speaker_name"))
            iid = _text(rec.get("interaction_id"))
            if name and iid:
                names_by_id.setdefault(iid, []).append(name)
    report("validate", 0, len(records))
    for n, rec in enumerate(records, 1):
        if redact is not None:
            rec = _redacted(rec, redact, names_by_id)
        row, problem = _validate(rec, source, timezone, moment)
        if problem is not None:
            reason, fld, message = problem
            refused.append((n, fld, reason, message, json.dumps(rec, default=str, ensure_ascii=False)))
            continue
        row["_row"] = n
        row["_hash"] = _turn_hash(**{k: row[k] for k in COLUMNS})
        rows.append(row)
        if n % 50_000 == 0:
            report("validate", n, len(records))
    report("validate", len(records), len(records))

    # the same key twice in the file: identical repeats are duplicates, different content refuses them all
    by_key: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault((r["source"], r["interaction_id"], r["turn"]), []).append(r)
    unique: list[dict[str, Any]] = []
    repeats = 0
    for key, group in by_key.items():
        if len({r["_hash"] for r in group}) > 1:
            listed = ", ".join(str(r["_row"]) for r in group)
            for r in group:
                raw = {k: (r[k].isoformat() if isinstance(r[k], datetime) else r[k]) for k in COLUMNS}
                refused.append(
                    (
                        r["_row"],
                        "turn",
                        "duplicate_id",
                        f"turn {key[2]} of interaction '{key[1]}' of source '{key[0]}' appears {len(group)} "
                        f"times in the file with different content (rows {listed})",
                        json.dumps(raw, ensure_ascii=False),
                    )
                )
        else:
            unique.append(group[0])
            repeats += len(group) - 1
    refused.sort(key=lambda x: x[0])

    con = store.con
    ensure_tables(store)
    sha: dict[str, str] = {}
    if path.is_file():
        _file_sha256(path, sha)
    stage = pa.table(
        {
            "source": [r["source"] for r in unique],
            "interaction_id": [r["interaction_id"] for r in unique],
            "turn": pa.array([r["turn"] for r in unique], pa.int32()),
            "speaker": [r["speaker"] for r in unique],
            "text": [r["text"] for r in unique],
            "at": pa.array([r["at"] for r in unique], pa.timestamp("us")),
            "speaker_name": pa.array([r["speaker_name"] for r in unique], pa.string()),
            "_hash": [r["_hash"] for r in unique],
        }
    )
    report("write", 0, 3)
    try:
        con.register("_transcripts_in", stage)
        con.execute("CREATE OR REPLACE TEMP TABLE _transcripts_stage AS SELECT * FROM _transcripts_in")
        con.unregister("_transcripts_in")
        con.begin()
        try:
            batch = int(con.execute("SELECT coalesce(max(batch), 0) + 1 FROM batches").fetchone()[0])
            accepted, same, updated = (
                int(x)
                for x in con.execute(
                    "SELECT count(*) FILTER (WHERE c._hash IS NULL), count(*) FILTER (WHERE c._hash = s._hash), "
                    "count(*) FILTER (WHERE c._hash <> s._hash) FROM _transcripts_stage AS s LEFT JOIN "
                    "(SELECT source, interaction_id, turn, _hash FROM transcripts WHERE _until IS NULL) AS c "
                    "USING (source, interaction_id, turn)"
                ).fetchone()
            )
            report("write", 1, 3)
            if updated:
                con.execute(
                    f"UPDATE transcripts SET _until = {batch} FROM _transcripts_stage AS s "
                    "WHERE transcripts._until IS NULL AND transcripts.source = s.source AND "
                    "transcripts.interaction_id = s.interaction_id AND transcripts.turn = s.turn "
                    "AND transcripts._hash <> s._hash"
                )
            con.execute(
                f"INSERT INTO transcripts SELECT s.source, s.interaction_id, s.turn, s.speaker, s.text, s.\"at\", "
                f"s.speaker_name, {batch}, NULL, s._hash FROM _transcripts_stage AS s WHERE NOT EXISTS ("
                "SELECT 1 FROM transcripts AS c WHERE c._until IS NULL AND c.source = s.source AND "
                "c.interaction_id = s.interaction_id AND c.turn = s.turn AND c._hash = s._hash) "
                "ORDER BY s.source, s.interaction_id, s.turn"
            )
            report("write", 2, 3)
            reasons: dict[str, int] = {}
            for row_n, fld, reason, message, raw in refused:
                reasons[reason] = reasons.get(reason, 0) + 1
                con.execute(
                    "INSERT INTO quarantine VALUES (?, 'transcripts', ?, ?, ?, ?, ?, ?)",
                    [batch, str(path), row_n, fld or None, reason, message, raw],
                )
            for reason, k in (skipped or {}).items():
                reasons[reason] = reasons.get(reason, 0) + int(k)
            skipped_n = sum(int(k) for k in (skipped or {}).values())
            summary = TranscriptIngest(
                batch=batch,
                kind="transcripts",
                file=str(path),
                rows=len(records) + skipped_n,
                accepted=accepted,
                duplicates=same + repeats,
                updated=updated,
                quarantined=len(refused),
                skipped=skipped_n,
                interactions=len({(r["source"], r["interaction_id"]) for r in unique}),
                redacted=redact is not None,
                reasons=dict(sorted(reasons.items())),
            )
            con.execute(
                "INSERT INTO batches VALUES (?, 'transcripts', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch,
                    str(path),
                    sha.get("sha256"),
                    fmt + ("+redacted" if redact is not None else ""),
                    timezone,
                    moment,
                    summary.rows,
                    summary.accepted,
                    summary.duplicates,
                    summary.updated,
                    summary.quarantined,
                    summary.skipped,
                    json.dumps(summary.reasons, sort_keys=True),
                ],
            )
            # interactions and events are unchanged by this batch: carry their digest sums over
            store._keep_digest_sums(batch, "transcripts")
            con.commit()
        except BaseException as exc:
            try:
                con.rollback()
            except duckdb.Error as failed:
                exc.add_note(f"rolling the ingest back failed too: {failed}")
            raise
    except Exception as exc:
        if isinstance(exc, duckdb.InterruptException):
            raise KeyboardInterrupt from exc
        raise
    finally:
        try:
            con.execute("DROP TABLE IF EXISTS temp._transcripts_stage")
        except duckdb.Error:
            pass
    report("write", 3, 3)
    return summary


def _redacted(rec: Mapping[str, Any], redact: Redact, names_by_id: Mapping[str, list[str]]) -> dict[str, Any]:
    out = dict(rec)
    if "_reject" in out:
        return {"_reject": out["_reject"], "source_values": redact(json.dumps(out.get("source_values"), default=str), ())}
    if "_bad_json" in out:
        return {"_bad_json": redact(str(out["_bad_json"]), ())}
    names = names_by_id.get(_text(out.get("interaction_id")) or "", [])
    if out.get("text") is not None:
        out["text"] = redact(str(out["text"]), names)
    out["speaker_name"] = None
    return out


# -- reading the store ----------------------------------------------------------------------------------------
def has_transcripts(store: FactsStore) -> bool:
    return store.has_table("transcripts")


def transcript_hashes(store: FactsStore, keys_sql: str | None = None) -> dict[tuple[str, str], str]:
    """(source, interaction_id) -> md5 of the current turn hashes in turn order (the transcript's version)."""
    if not has_transcripts(store):
        return {}
    where = f"AND (source, interaction_id) IN ({keys_sql})" if keys_sql else ""
    cur = store.con.execute(
        "SELECT source, interaction_id, md5(string_agg(_hash, ',' ORDER BY turn)) FROM transcripts "
        f"WHERE _until IS NULL {where} GROUP BY ALL"
    )
    return {(s, i): h for s, i, h in cur.fetchall()}


def turns(store: FactsStore, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[int, str, str, Any, Any]]]:
    """The current turns of these interactions: key -> [(turn, speaker, text, at, speaker_name)] in turn order."""
    if not keys or not has_transcripts(store):
        return {}
    con = store.con
    con.register("_want", pa.table({"source": [k[0] for k in keys], "interaction_id": [k[1] for k in keys]}))
    try:
        cur = con.execute(
            "SELECT t.source, t.interaction_id, t.turn, t.speaker, t.text, t.\"at\", t.speaker_name "
            "FROM transcripts AS t JOIN _want AS w USING (source, interaction_id) WHERE t._until IS NULL "
            "ORDER BY t.source, t.interaction_id, t.turn"
        )
        out: dict[tuple[str, str], list[tuple[int, str, str, Any, Any]]] = {}
        for s, i, turn, speaker, text, at, name in cur.fetchall():
            out.setdefault((s, i), []).append((turn, speaker, text, at, name))
        return out
    finally:
        con.unregister("_want")


def stored_scores(store: FactsStore) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(source, interaction_id, scorer) -> (scorer_version, transcript_hash) of the stored scores."""
    ensure_tables(store)
    cur = store.con.execute("SELECT source, interaction_id, scorer, scorer_version, transcript_hash FROM transcript_scores")
    return {(s, i, sc): (v, h) for s, i, sc, v, h in cur.fetchall()}


def write_scores(store: FactsStore, rows: Sequence[tuple[str, str, str, str, str, str]], at: datetime) -> None:
    """Insert or replace scores (source, interaction_id, scorer, scorer_version, transcript_hash, scores JSON) in
    one transaction: a batch of `outcomes analyze` is stored whole or not at all."""
    if not rows:
        return
    ensure_tables(store)
    con = store.con
    table = pa.table(
        {
            "source": [r[0] for r in rows],
            "interaction_id": [r[1] for r in rows],
            "scorer": [r[2] for r in rows],
            "scorer_version": [r[3] for r in rows],
            "transcript_hash": [r[4] for r in rows],
            "scores": [r[5] for r in rows],
        }
    )
    con.register("_scores_in", table)
    try:
        con.begin()
        try:
            con.execute(
                "INSERT OR REPLACE INTO transcript_scores SELECT source, interaction_id, scorer, scorer_version, "
                f"transcript_hash, CAST(scores AS JSON), TIMESTAMP '{at.isoformat(sep=' ')}' FROM _scores_in"
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        con.unregister("_scores_in")
