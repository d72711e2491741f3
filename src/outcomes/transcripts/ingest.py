"""`outcomes ingest transcripts`: a file (canonical CSV / JSON lines, or a built-in mapping) into the facts
store, redacted before it is stored when the workspace says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outcomes.facts import transcripts as store_transcripts
from outcomes.transcripts.errors import TranscriptError
from outcomes.transcripts.mappings import MAPPINGS
from outcomes.transcripts.settings import TranscriptSettings


def ingest_file(
    facts: Any,
    file: Path,
    *,
    mapping: str | None,
    fmt: str | None,
    source: str | None,
    timezone: str | None,
    settings: TranscriptSettings,
    redact: bool = False,
    progress: Any = None,
) -> store_transcripts.TranscriptIngest:
    if mapping is not None and mapping not in MAPPINGS:
        raise TranscriptError(
            f"{file}: no transcript mapping named {mapping!r}",
            hint="the built-in transcript mappings are " + ", ".join(sorted(MAPPINGS)),
        )
    records = store_transcripts.read_records(file, fmt)
    skipped: dict[str, int] = {}
    if mapping is not None:
        rows = list(MAPPINGS[mapping](records, skipped))
        fmt_name = f"mapping:{mapping}"
    else:
        rows = list(records)
        fmt_name = store_transcripts.file_format(Path(file), fmt)
        if rows and "_bad_json" not in rows[0]:
            missing = [c for c in store_transcripts.REQUIRED if c not in rows[0]]
            if missing:
                raise TranscriptError(
                    f"{file}: missing column(s) {', '.join(missing)}",
                    hint="a transcript file has interaction_id, turn, speaker, text (and source, at, speaker_name); "
                    "or use --mapping " + "|".join(sorted(MAPPINGS)),
                )
    redactor = None
    if settings.redact_before_store or redact:
        r = settings.redactor()

        def redactor(text: str, names: Any) -> str:
            return r(text, tuple(names)).text

    return store_transcripts.ingest(
        facts,
        rows,
        file=file,
        fmt=fmt_name,
        source=source,
        timezone=timezone,
        redact=redactor,
        skipped=skipped,
        progress=progress,
    )
