"""Errors of the facts store."""

from __future__ import annotations

from outcomes.errors import OutcomesError


class IngestError(OutcomesError):
    """A file-level problem (unreadable file, unknown format, missing or unknown columns).

    The message names the file and says how to fix it. Row-level problems never raise: the row is quarantined.
    """

    code = "ingest"
