"""The SQL the DuckDB store runs and shows: Ibis expressions compiled with every ORDER BY explicit about
nulls, so the evidence SQL an auditor reruns on another engine means the same; and how evidence columns are
compressed when written as a DuckDB table."""

from __future__ import annotations

import ibis
import ibis.backends.sql.compilers as _compilers
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB

# How the evidence table stores its text columns. Writing evidence costs about as much as computing it, and
# most of the write is DuckDB trying every compression on every text column; these are the ones it settles on
# anyway (same file size): a dictionary for the few distinct values, FSST for the ids.
EVIDENCE_COMPRESSION = {
    "outcome": "dictionary",
    "source": "dictionary",
    "workflow": "dictionary",
    "status": "dictionary",
    "reason": "dictionary",
    "interaction_id": "fsst",
    "customer_id": "fsst",
    "repeat_id": "fsst",
}


class _DuckDBExplicitNulls(DuckDB):
    """DuckDB SQL whose every ORDER BY states where nulls go.

    DuckDB's default (nulls last, ascending or descending) is not every engine's (Spark puts them first when
    ascending), so the evidence SQL an auditor reruns elsewhere must say it: `closed_at ASC NULLS LAST`.
    """

    class Generator(DuckDB.Generator):
        def ordered_sql(self, expression: exp.Ordered) -> str:
            direction = " DESC" if expression.args.get("desc") else " ASC"
            nulls = " NULLS FIRST" if expression.args.get("nulls_first") else " NULLS LAST"
            return f"{self.sql(expression, 'this')}{direction}{nulls}"


def to_sql(expr: ibis.Expr) -> str:
    """The DuckDB SQL of an evidence expression, with explicit null ordering (see `_DuckDBExplicitNulls`)."""
    out = _compilers.duckdb.compiler.to_sqlglot(expr.unbind())
    queries = out if isinstance(out, list) else [out]
    return ";\n".join(q.sql(dialect=_DuckDBExplicitNulls, pretty=True) for q in queries)
