"""One base for every problem a user can fix (ARCHITECTURE.md, principle 5: errors are values with a place).

Each package raises its own subclass (`ContractError`, `IngestError`, `LedgerError`, `SettlementRefused`, ...)
with a stable `code` (for the API's problem details and for scripts), a message that names the file, row or
field, and, where there is one, a `hint` saying what to do. The command line turns every `OutcomesError` into
one clean message and exit code 1 in one place (`outcomes.cli.app`); anything else is a bug, shown as one line
and a saved traceback.
"""

from __future__ import annotations


class OutcomesError(Exception):
    """A problem the user can fix: `code` (stable, machine-readable), the message, and an optional hint."""

    code: str = "error"

    def __init__(self, message: str = "", *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self)

    def lines(self) -> list[str]:
        """What the command line prints, one entry a line (the hint last)."""
        out = [f"error: {self}"]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": str(self), "hint": self.hint}
