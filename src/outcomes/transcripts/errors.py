"""Errors of the transcript analytics."""

from __future__ import annotations

from outcomes.errors import OutcomesError


class TranscriptError(OutcomesError):
    """A problem with transcript input, a rubric, a scorer or an analysis the user can fix."""

    code = "transcripts"
