"""The ledger's error: a refused write or read, with a message that says what to do."""

from __future__ import annotations

from outcomes.errors import OutcomesError


class LedgerError(OutcomesError):
    code = "ledger"
