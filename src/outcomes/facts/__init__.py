"""The facts store: versioned interactions and customer events in DuckDB, ingested idempotently.

store = FactsStore("facts.duckdb")
summary = store.ingest("interactions", Path("interactions.csv"))
store.interactions()          # ibis table of the current versions, naive-UTC timestamps
store.digest(summary.batch)   # content digest of the facts visible as of that batch
"""

from .errors import IngestError
from .schema import (
    CHANNELS,
    EVENT_REASONS,
    EVENTS,
    HANDLERS,
    INTERACTION_REASONS,
    KINDS,
    REASONS,
    STATUSES,
)
from .store import DIGEST_VERSION, FactsStore, IngestSummary

__all__ = [
    "CHANNELS",
    "DIGEST_VERSION",
    "EVENTS",
    "EVENT_REASONS",
    "HANDLERS",
    "INTERACTION_REASONS",
    "KINDS",
    "REASONS",
    "STATUSES",
    "FactsStore",
    "IngestError",
    "IngestSummary",
]
