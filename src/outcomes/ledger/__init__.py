"""The ledger: contracts, settlements, adjustments, disputes and the audit log (SQLAlchemy)."""

from outcomes.ledger.models import ContractVersion, Settlement, SettlementLine, SettlementOutcome
from outcomes.ledger.store import DuplicateSettlement, Ledger, LedgerError, load_version

__all__ = [
    "ContractVersion",
    "DuplicateSettlement",
    "Ledger",
    "LedgerError",
    "Settlement",
    "SettlementLine",
    "SettlementOutcome",
    "load_version",
]
