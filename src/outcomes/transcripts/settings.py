"""The ``[transcripts]`` section of a workspace's outcomes.toml.

    [transcripts]
    redact_before_store = true            # no raw text ever reaches the facts store (default: false)
    regions = ["US", "GB", "IN"]          # where a bare digit run must be a valid phone number
    scorers = ["sentiment", "signals", "qa", "acme-llm"]   # what `outcomes analyze` runs (default: built-ins)
    rubric = "qa-rubric.yaml"             # the QA rubric, relative to the workspace (default: built-in)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outcomes.transcripts.errors import TranscriptError
from outcomes.transcripts.redact import DEFAULT_REGIONS, Redactor

_KEYS = {"redact_before_store", "regions", "scorers", "rubric"}


@dataclass(frozen=True)
class TranscriptSettings:
    redact_before_store: bool = False
    regions: tuple[str, ...] = DEFAULT_REGIONS
    scorers: tuple[str, ...] = ()
    rubric: Path | None = None

    def redactor(self) -> Redactor:
        return Redactor(regions=self.regions)


def transcript_settings(raw: dict[str, Any], root: Path) -> TranscriptSettings:
    """Read ``[transcripts]`` from the parsed outcomes.toml (`Settings.raw`)."""
    where = root / "outcomes.toml"
    section = raw.get("transcripts", {})
    if not isinstance(section, dict):
        raise TranscriptError(f"{where}: [transcripts] must be a table")
    unknown = set(section) - _KEYS
    if unknown:
        raise TranscriptError(
            f"{where}: unknown key(s) in [transcripts]: {', '.join(sorted(unknown))}",
            hint="the keys are " + ", ".join(sorted(_KEYS)),
        )
    redact = section.get("redact_before_store", False)
    if not isinstance(redact, bool):
        raise TranscriptError(f"{where}: transcripts.redact_before_store must be true or false")
    regions = section.get("regions", list(DEFAULT_REGIONS))
    if not isinstance(regions, list) or not all(isinstance(r, str) and len(r) == 2 for r in regions):
        raise TranscriptError(f'{where}: transcripts.regions must be a list of region codes such as ["US", "GB"]')
    scorers = section.get("scorers", [])
    if not isinstance(scorers, list) or not all(isinstance(s, str) for s in scorers):
        raise TranscriptError(f"{where}: transcripts.scorers must be a list of scorer names")
    rubric = section.get("rubric")
    rubric_path = None
    if rubric:
        rubric_path = Path(str(rubric))
        if not rubric_path.is_absolute():
            rubric_path = root / rubric_path
    return TranscriptSettings(redact, tuple(r.upper() for r in regions), tuple(scorers), rubric_path)
