"""The contract language: load a contract file, validate it (issues with file:line), fingerprint it."""

from .fingerprint import canonical_form, contract_hash
from .issues import ContractError, Issue
from .loader import load_contract, load_contract_text, read_contract
from .rules import check
from .schema import Contract

__all__ = [
    "Contract",
    "ContractError",
    "Issue",
    "canonical_form",
    "check",
    "contract_hash",
    "load_contract",
    "load_contract_text",
    "read_contract",
]
