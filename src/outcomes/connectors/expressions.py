"""Mapping SQL (`sql:`, `expr:` and SQL conditions) may compute from the source's fields, and nothing else.

A mapping is data a user hands in; its SQL runs inside the ingest. Unchecked, `queue: {sql: "(SELECT content
FROM read_text('/etc/hostname'))"}` stores the machine's host name as a queue, and a table function or a
subquery reads any file or table the process can. So each expression is checked before it is compiled:

1. **Lexing** (ours, the same as DuckDB's for what it lets through): no comment (`--`, `/* */`), no `;`, no `$`
   (dollar quotes, parameters), and a quote only after an operator, a bracket, a comma or a space (no
   `E'...'`, `U&'...'`, `X'...'` strings, whose escapes readers disagree on). So the text is one expression
   that cannot end the SQL it is placed in.
2. **Parsing** with sqlglot (DuckDB dialect): one expression; no query, subquery, table, join, `*`, window,
   aggregate or parameter anywhere in it; every column a field of the source (for `expr:`, a computed value
   written `{name}`), never qualified by a table; every function in `SCALAR_FUNCTIONS` (deterministic scalar
   functions of text, numbers, times and JSON values: no table functions, no file, setting or environment
   access, no `now()` or `random()`, which would make an ingest impossible to repeat).

The text that passes is compiled as written (DuckDB reads it exactly as the author wrote it). Behind this
check, the ingest runs the compiled query on a connection whose external access is switched off once the
source is read (see `ingest.py`), so even an expression that got through could not open a file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

#: DuckDB functions a mapping expression may call.
SCALAR_FUNCTIONS: frozenset[str] = frozenset(
    """
    lower upper trim ltrim rtrim substr substring left right length strlen len concat concat_ws replace
    regexp_matches regexp_full_match regexp_extract regexp_replace starts_with ends_with prefix suffix contains
    instr position strpos split_part lpad rpad repeat reverse chr ascii unicode format printf strip_accents
    md5 sha256 hash string_split list_contains list_extract array_extract array_length
    round floor ceil ceiling abs sign mod pow power sqrt ln log log10 exp trunc isnan isinf isfinite
    greatest least coalesce nullif ifnull if
    strptime try_strptime strftime epoch epoch_ms to_days to_hours to_minutes to_seconds to_months to_years
    to_weeks date_trunc date_part datepart extract make_date make_timestamp make_time to_timestamp timezone
    date_diff datediff date_add age last_day dayname monthname year month day hour minute second isodow
    dayofweek week quarter
    json_extract json_extract_string json_value
    """.split()
)

_FORBIDDEN_NAMES = (
    "Query",  # SELECT, UNION, ...
    "Subquery",
    "Table",
    "From",
    "Join",
    "Lateral",
    "Unnest",
    "Star",
    "Placeholder",
    "Parameter",
    "Window",
    "AggFunc",
    "UDTF",
    "DDL",
    "DML",
    "Command",
    "Set",
    "Pragma",
    "Use",
)


class UnsafeExpression(ValueError):
    """Why a mapping expression is refused (the caller names the mapping and the key)."""


@functools.cache
def _sqlglot():  # noqa: ANN202 - sqlglot loads only when a mapping is checked
    import sqlglot
    from sqlglot import exp

    forbidden = tuple(getattr(exp, n) for n in _FORBIDDEN_NAMES if hasattr(exp, n))
    return sqlglot, exp, forbidden


@functools.cache
def _allowed_classes() -> frozenset[type]:
    """The sqlglot expression classes the allowed DuckDB functions parse to (found by parsing each name)."""
    sqlglot, exp, _ = _sqlglot()
    found: set[type] = set()
    for name in SCALAR_FUNCTIONS:
        probes = ["(year FROM a)"] if name == "extract" else ["(a)", "(a, b)", "(a, b, c)", "(a, b, c, d, e, f)"]
        for args in probes:
            try:
                node = sqlglot.parse_one(f"{name}{args}", dialect="duckdb")
            except Exception:  # noqa: BLE001, S112 - another arity
                continue
            for sub in node.walk():
                if isinstance(sub, exp.Func) and not isinstance(sub, exp.Anonymous):
                    found.add(type(sub))
    # what sqlglot makes of syntax that is not a function call: CASE, CAST, [..] lists, {..} structs, x -> 'a'
    found |= {exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Array, exp.Struct, exp.JSONExtract, exp.JSONExtractScalar}
    # AND / OR / XOR are operators, though sqlglot models them as functions
    found |= {exp.And, exp.Or, exp.Xor}
    return frozenset(found)


def _lex(text: str) -> None:
    """Refuse what could end the expression or be read two ways: comments, `;`, `$`, prefixed strings."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in ("'", '"'):
            if ch == "'" and i > 0 and not (text[i - 1].isspace() or text[i - 1] in "(,=<>!+-*/|%[{:"):
                raise UnsafeExpression(
                    f"a string may not follow {text[i - 1]!r} (E'..', U&'..', X'..' strings are refused)"
                )
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:  # a doubled quote is one quote character
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise UnsafeExpression("a quote is not closed")
            i = j + 1
            continue
        if text.startswith("--", i) or text.startswith("/*", i):
            raise UnsafeExpression("comments are not allowed")
        if ch == ";":
            raise UnsafeExpression("';' is not allowed: write one expression")
        if ch == "$":
            raise UnsafeExpression("'$' is not allowed outside quotes (parameters are written ${NAME})")
        i += 1


def check_expression(text: str, columns: Iterable[str]) -> None:
    """Raise UnsafeExpression unless `text` is one expression over `columns` using only allowed functions."""
    _lex(text)
    sqlglot, exp, forbidden = _sqlglot()
    try:
        statements = sqlglot.parse(text, dialect="duckdb")
    except Exception as exc:  # noqa: BLE001 - sqlglot's ParseError and TokenError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsafeExpression(f"not an expression DuckDB can read ({_plain(first)})") from None
    if len(statements) != 1 or statements[0] is None:
        raise UnsafeExpression("write exactly one expression")
    tree = statements[0]
    known = {c.lower() for c in columns}
    allowed = _allowed_classes()
    for node in tree.walk():
        if isinstance(node, forbidden):
            what = type(node).__name__.lower()
            raise UnsafeExpression(
                f"{what} is not allowed: an expression computes from one source row, it cannot read a table, "
                "a file or other rows"
            )
        if isinstance(node, exp.Column):
            if node.table:
                raise UnsafeExpression(
                    f"{node.sql(dialect='duckdb')!r} names a table; write source fields in double quotes, "
                    'e.g. "a.b"'
                )
            if node.name.lower() not in known:
                raise UnsafeExpression(f"{node.name!r} is not a field of the source (known: {', '.join(sorted(columns))})")
        elif isinstance(node, exp.Anonymous):
            if node.name.lower() not in SCALAR_FUNCTIONS:
                raise UnsafeExpression(_unknown_function(node.name))
        elif isinstance(node, exp.Func) and not isinstance(node, exp.Connector) and type(node) not in allowed:
            # AND / OR / XOR are operators (sqlglot models them as functions too)
            raise UnsafeExpression(_unknown_function(node.sql_name().lower()))


def _unknown_function(name: str) -> str:
    return (
        f"function {name}() is not allowed in a mapping; allowed: the scalar functions listed in docs/connectors.md "
        "(text, numbers, times, JSON values)"
    )


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # sqlglot underlines the bad token with terminal colours
