"""Connectors: mapping files that turn a source's columns into canonical facts (docs/connectors.md).

    from outcomes.connectors import ingest_mapped, check_mapping
    summary = ingest_mapped(store, "interactions", "january_1999.txt.gz", "technion-bank")

A mapping is compiled to one DuckDB query over the source file (renames, value maps, timestamp formats,
derived columns, constants, skip rules and an optional fold of event logs into cases); the facts store
ingests that relation with the guarantees of canonical ingest (``FactsStore.ingest_relation``).
"""

from .compile import mapped_sql
from .ingest import (
    CheckReport,
    MappedIngestSummary,
    check_mapping,
    ingest_mapped,
    ingest_with_mapping,
    stage_source,
)
from .mapping import (
    BUILTIN_DIR,
    Column,
    Emit,
    Mapping,
    MappingError,
    Param,
    bind_params,
    builtin_names,
    load_mapping,
    resolve,
)

__all__ = [
    "BUILTIN_DIR",
    "CheckReport",
    "Column",
    "Emit",
    "MappedIngestSummary",
    "Mapping",
    "MappingError",
    "Param",
    "bind_params",
    "builtin_names",
    "check_mapping",
    "ingest_mapped",
    "ingest_with_mapping",
    "load_mapping",
    "mapped_sql",
    "resolve",
    "stage_source",
]
