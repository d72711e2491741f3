"""Compile the canonical column rules into ONE vectorised SQL query over a source relation.

The query yields, per data row and in file order (the store numbers the rows from the order in which
they are staged), the typed canonical values, ``_ci`` (NULL when the row is valid, else the 1-based index
of the first failing check: ``StageQuery.reasons[_ci - 1]``) and ``_hash`` (valid rows: md5 of the row's
canonical text, see :func:`canonical_text_sql`); a second query (``StageQuery.details``), run only when some
row fails, gives the invalid rows' ``_raw`` (the row's original values as JSON text) and ``_message``.

The checks run in the order of ``Kind.reasons`` (then of the columns), so a row gets ONE reason: the first
that applies. Each parse step is a layer of projections (``SELECT *, ... FROM (previous layer)``).

The query is a scan under projections only (no join, aggregate or window: ``IN`` lists are written as
``list_contains`` because DuckDB plans a long ``IN`` list as a join), so that DuckDB, with
``preserve_insertion_order``, stages the rows in file order and a row's number is its position. A window
such as ``row_number() OVER ()`` would number them explicitly but makes the whole pipeline single-threaded.

Timestamps become naive UTC. A text with an offset or zone (``Z``, ``+01:00``, ``+0100``, ``+01``, or a zone
name such as ``Europe/London``) is converted exactly; a naive text is read in ``timezone`` when one is given
(an ambiguous local time, in the hour the clocks go back, is read as the EARLIER instant; a local time
skipped when the clocks go forward is read with the offset in force before the change, as Python's
``zoneinfo`` does with ``fold=0``), and is quarantined as ``missing_timezone`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .schema import FALSE_TEXTS, FUTURE_TOLERANCE_HOURS, MAX_FIELD_CHARS, TRUE_TEXTS, Field, Kind
from .sources import NUMERIC_TYPES, Source, ident, lit, src_col

# A time of day followed by an offset or a zone name: the text carries its own zone.
_ZONE_RE = r"\d:\d\d(:\d\d(\.\d*)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?|[A-Za-z][A-Za-z0-9_/+-]*)$"

_NUMERIC_PREFIXES = NUMERIC_TYPES
_NAIVE_TS_TYPES = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE")


def _is_numeric(sql_type: str) -> bool:
    return sql_type.upper().startswith(_NUMERIC_PREFIXES)


def _q(expr: str) -> str:
    """SQL: the text of expr in single quotes, for messages."""
    return f"'''' || {expr} || ''''"


_MISSING = {"interaction_id": "missing_id", "source": "missing_source", "customer_id": "missing_customer"}


@dataclass
class Check:
    reason: str
    field: str
    cond: str  # SQL over the last parse layer; TRUE when the row fails
    message: str  # SQL expression of the message


@dataclass
class Plan:
    layers: list[list[str]] = field(default_factory=lambda: [[] for _ in range(6)])
    checks: list[Check] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # canonical name -> SQL of the typed value


def _v(name: str) -> str:
    return ident("v_" + name)


def _a(prefix: str, name: str) -> str:
    return ident(f"{prefix}_{name}")


def _text_layer(plan: Plan, f: Field, src_type: str, lower: bool = False) -> str:
    """Layer 1: the trimmed text (NULL when empty) of a raw value; returns its alias."""
    raw = src_col(f.name)
    if src_type.upper() != "VARCHAR":
        raw = f"CAST({raw} AS VARCHAR)"
    expr = f"NULLIF({_trim(raw)}, '')"
    if lower:
        expr = f"lower({expr})"
    plan.layers[0].append(f"{expr} AS {_a('t', f.name)}")
    return _a("t", f.name)


def _trim(x: str) -> str:
    """trim(x) of spaces and tabs, skipping the (slow) trim when neither end has one."""
    ends = " OR ".join(f"{fn}({x}, {ch})" for fn in ("prefix", "suffix") for ch in ("' '", "chr(9)"))
    return f"CASE WHEN {ends} THEN trim({x}, ' ' || chr(9)) ELSE {x} END"


def _raw_text(f: Field, src_type: str) -> str:
    col = src_col(f.name)
    return col if src_type.upper() == "VARCHAR" else f"CAST({col} AS VARCHAR)"


def _add_field(plan: Plan, f: Field, src_type: str | None, tz: str | None) -> None:
    """Add the parse steps and checks of one canonical column whose raw value has type src_type."""
    name = f.name
    v = _v(name)
    plan.values[name] = v
    if src_type is None:  # optional column absent from the file
        plan.layers[0].append(f"NULL::{f.sql_type} AS {v}")
        return
    raw = _raw_text(f, src_type)
    typed = src_type.upper()
    if typed == "VARCHAR":
        # text as the source gave it: a NUL byte (which truncates it in C-based tools) or a value far longer
        # than any canonical field is refused before it is read as anything
        plan.checks.append(
            Check("nul_byte", name, f"contains({raw}, chr(0))", lit(f"{name} holds a NUL byte (\\0)"))
        )
        plan.checks.append(
            Check(
                "field_too_long",
                name,
                f"length({raw}) > {MAX_FIELD_CHARS}",
                f"{lit(name + ' has ')} || length({raw}) || {lit(f' characters; a field holds at most {MAX_FIELD_CHARS:,}')}",
            )
        )

    if f.kind in ("text", "enum"):
        t = _text_layer(plan, f, src_type, lower=f.kind == "enum")
        plan.layers[1].append(f"{t} AS {v}")
        if f.kind == "text" and f.required:
            plan.checks.append(Check(_MISSING[name], name, f"{v} IS NULL", lit(f"{name} is empty")))
        if f.kind == "enum":
            allowed = ", ".join(lit(x) for x in f.values)
            listed = ", ".join(f.values)
            bad = f"NOT list_contains([{allowed}], {v})"
            cond = f"({v} IS NULL OR {bad})" if f.required else f"({v} IS NOT NULL AND {bad})"
            msg = (
                f"CASE WHEN {v} IS NULL THEN {lit(f'{name} is empty; use one of {listed}')} "
                f"ELSE {lit(name + ' ')} || {_q(raw)} || {lit(f' is not one of {listed}')} END"
            )
            plan.checks.append(Check(f"unknown_{name}", name, cond, msg))
        return

    if f.kind == "bool":
        if typed == "BOOLEAN":
            plan.layers[1].append(f"{src_col(name)} AS {v}")
            return
        t = _text_layer(plan, f, src_type, lower=True)
        truthy = ", ".join(lit(x) for x in TRUE_TEXTS)
        falsy = ", ".join(lit(x) for x in FALSE_TEXTS)
        plan.layers[1].append(
            f"CASE WHEN list_contains([{truthy}], {t}) THEN true "
            f"WHEN list_contains([{falsy}], {t}) THEN false END AS {v}"
        )
        plan.checks.append(
            Check(
                "bad_boolean",
                name,
                f"({t} IS NOT NULL AND {v} IS NULL)",
                f"{lit(name + ' ')} || {_q(raw)} || ' is not a boolean; use true/false, 1/0 or yes/no'",
            )
        )
        return

    if f.kind in ("seconds", "int", "score"):
        d = _a("d", name)
        if _is_numeric(typed):
            plan.layers[0].append(f"TRY_CAST({src_col(name)} AS DOUBLE) AS {d}")
            present = f"{src_col(name)} IS NOT NULL"
        else:
            t = _text_layer(plan, f, src_type)
            plan.layers[1].append(f"TRY_CAST({t} AS DOUBLE) AS {d}")
            present = f"{t} IS NOT NULL"
        value = f"TRY_CAST({d} AS SMALLINT)" if f.kind == "int" else d
        plan.layers[2].append(f"{value} AS {v}")
        notnum = f"{d} IS NULL OR NOT isfinite({d})"
        if f.kind == "seconds":
            plan.checks.append(
                Check(
                    "bad_number",
                    name,
                    f"({present} AND ({notnum} OR {d} < 0))",
                    f"{lit(name + ' ')} || {_q(raw)} || CASE WHEN {d} < 0 THEN ' is negative' "
                    "ELSE ' is not a number of seconds' END",
                )
            )
            return
        plan.checks.append(
            Check(
                "bad_number",
                name,
                f"({present} AND ({notnum}))",
                f"{lit(name + ' ')} || {_q(raw)} || ' is not a number'",
            )
        )
        lo, hi = f.lo, f.hi
        rng = f"{d} < {lo} OR {d} > {hi}"
        what = f"an integer from {lo:g} to {hi:g}" if f.kind == "int" else f"between {lo:g} and {hi:g}"
        if f.kind == "int":
            rng += f" OR {d} <> floor({d})"
        reason = "qa_out_of_range" if name == "qa_score" else f"{name}_out_of_range"
        plan.checks.append(
            Check(
                reason,
                name,
                f"({present} AND ({rng}))",
                f"{lit(name + ' ')} || {_q(raw)} || {lit(' is not ' + what)}",
            )
        )
        return

    if f.kind == "money":
        m = _a("m", name)
        if _is_numeric(typed):
            plan.layers[0].append(f"TRY_CAST({src_col(name)} AS DECIMAL(38,10)) AS {m}")
            present = f"{src_col(name)} IS NOT NULL"
        else:
            t = _text_layer(plan, f, src_type)
            plan.layers[1].append(f"TRY_CAST({t} AS DECIMAL(38,10)) AS {m}")
            present = f"{t} IS NOT NULL"
        plan.layers[2].append(f"TRY_CAST({m} AS {f.sql_type}) AS {v}")
        cond = f"{m} IS NULL OR {m} <> round({m}, 2) OR abs({m}) >= 1e16"
        what = "a decimal amount with at most 2 decimal places"
        if f.lo == 0:
            cond += f" OR {m} < 0"
            what = "a non-negative " + what[2:]
        plan.checks.append(
            Check(
                "bad_amount",
                name,
                f"({present} AND ({cond}))",
                f"{lit(name + ' ')} || {_q(raw)} || {lit(' is not ' + what)}",
            )
        )
        return

    if f.kind == "ts":
        _add_timestamp(plan, f, src_type, raw, tz)
        return
    raise AssertionError(f"unknown field kind {f.kind}")


def _add_timestamp(plan: Plan, f: Field, src_type: str, raw: str, tz: str | None) -> None:
    name = f.name
    v, z, p = _v(name), _a("z", name), _a("p", name)
    typed = src_type.upper()
    if typed in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        present = f"{src_col(name)} IS NOT NULL"
        plan.layers[0].append(f"true AS {z}")
        plan.layers[0].append(f"make_timestamp(epoch_us({src_col(name)})) AS {p}")  # exact, no ICU
    elif typed in _NAIVE_TS_TYPES:
        present = f"{src_col(name)} IS NOT NULL"
        plan.layers[0].append(f"false AS {z}")
        plan.layers[0].append(f"CAST({src_col(name)} AS TIMESTAMP) AS {p}")
    else:
        t = _text_layer(plan, f, src_type)
        present = f"{t} IS NOT NULL"
        plan.layers[1].append(
            f"({t} IS NOT NULL AND (suffix({t}, 'Z') OR regexp_matches({t}, {lit(_ZONE_RE)}))) AS {z}"
        )
        plan.layers[2].append(
            f"CASE WHEN {z} THEN make_timestamp(epoch_us(TRY_CAST({t} AS TIMESTAMPTZ))) "
            f"ELSE TRY_CAST({t} AS TIMESTAMP) END AS {p}"
        )
    if tz is None:
        plan.layers[3].append(f"CASE WHEN {z} THEN {p} END AS {v}")
    else:
        # u: the naive local time read in tz (ICU picks the later instant of an ambiguous hour);
        # the earlier instant wins when it shows the same local time (fold=0).
        u = _a("u", name)
        zone = lit(tz)
        plan.layers[3].append(
            f"CASE WHEN {z} THEN {p} ELSE timezone('UTC', timezone({zone}, {p})) END AS {u}"
        )
        earlier = f"({u} - INTERVAL 1 HOUR)"
        plan.layers[4].append(
            f"CASE WHEN {z} THEN {u} WHEN timezone({zone}, timezone('UTC', {earlier})) = {p} "
            f"THEN {earlier} ELSE {u} END AS {v}"
        )
    bad = f"({present} AND {p} IS NULL)"
    msg = (
        f"{lit(name + ' ')} || {_q(raw)} || ' is not a timestamp; write ISO 8601 with an offset, "
        "e.g. 2026-10-03T09:00:00Z or 2026-10-03T10:00:00+01:00'"
    )
    if f.required:
        bad = f"(NOT ({present}) OR {p} IS NULL)"
        msg = f"CASE WHEN NOT ({present}) THEN {lit(name + ' is empty')} ELSE {msg} END"
    plan.checks.append(Check("bad_timestamp", name, bad, msg))
    if tz is None:
        plan.checks.append(
            Check(
                "missing_timezone",
                name,
                f"({present} AND NOT {z} AND {p} IS NOT NULL)",
                f"{lit(name + ' ')} || {_q(raw)} || ' has no UTC offset or zone; add one (e.g. Z or +01:00) "
                "or ingest the file with a timezone'",
            )
        )


def canonical_text_of(f: Field, v: str) -> str:
    """SQL of the canonical text of one typed value (NULL stays NULL: an empty field)."""
    if f.kind in ("text", "enum"):
        # a text never is '' (empty texts are NULL); one holding the separator U+001F, or starting with the
        # marker U+001E, is written U+001E <byte length> ':' <text>, so the row's text stays unambiguous
        return (
            f"CASE WHEN contains({v}, chr(31)) OR prefix({v}, chr(30)) "
            f"THEN chr(30) || CAST(strlen({v}) AS VARCHAR) || ':' || {v} ELSE {v} END"
        )
    if f.kind == "ts":
        return f"CAST(epoch_us({v}) AS VARCHAR)"  # microseconds since 1970-01-01 UTC
    if f.kind == "bool":
        return f"CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' END"
    if f.kind in ("seconds", "score"):  # 6 decimal places; beyond DECIMAL(18,6) the shortest double text
        return f"coalesce(CAST(TRY_CAST({v} AS DECIMAL(18,6)) AS VARCHAR), CAST({v} AS VARCHAR))"
    return f"CAST({v} AS VARCHAR)"  # SMALLINT scores, DECIMAL(18,2) amounts ('12.30')


def canonical_text_sql(kind: Kind, values: dict[str, str] | None = None) -> str:
    """SQL of the canonical text of a row (the input of its ``_hash``), over columns named as ``values``.

    The canonical text is the canonical column values in schema order, each written as in :func:`_canon`
    (NULL as an empty string), joined by U+001F.
    """
    parts = []
    for f in kind.fields:
        col = (values or {}).get(f.name, ident(f.name))
        parts.append(canonical_text_of(f, col))
    return "concat(" + ", chr(31), ".join(parts) + ")"


def row_hash_sql(kind: Kind, values: dict[str, str] | None = None) -> str:
    """SQL of a row's ``_hash``: md5 (hex) of its canonical text."""
    return f"md5({canonical_text_sql(kind, values)})"


@dataclass(frozen=True)
class StageQuery:
    sql: str  # the typed values, _ci and _hash of every row (_raw and _message NULL)
    reasons: list[str]  # by _ci - 1
    fields: list[str | None]
    details: str = ""  # _row (1-based), _raw and _message of the rows that fail a check


def stage_query(kind: Kind, source: Source, *, timezone: str | None, now: datetime) -> StageQuery:
    """The SELECT that reads, types and validates every row of ``source``."""
    plan = Plan()
    for f in kind.fields:
        _add_field(plan, f, source.types.get(f.name), timezone)
    limit = now + timedelta(hours=FUTURE_TOLERANCE_HOURS)
    limit_sql = f"TIMESTAMP {lit(limit.strftime('%Y-%m-%d %H:%M:%S.%f'))}"
    if kind.name == "interactions":
        closed, opened = _v("closed_at"), _v("opened_at")
        plan.checks.append(
            Check(
                "closed_before_opened",
                "closed_at",
                f"({closed} < {opened})",
                f"'closed_at ' || CAST({closed} AS VARCHAR) || ' UTC is before opened_at ' || "
                f"CAST({opened} AS VARCHAR) || ' UTC'",
            )
        )
        future_field = "opened_at"
    else:
        future_field = "at"
    fv = _v(future_field)
    plan.checks.append(
        Check(
            "future_timestamp",
            future_field,
            f"({fv} > {limit_sql})",
            f"{lit(future_field + ' ')} || CAST({fv} AS VARCHAR) || "
            f"{lit(f' UTC is more than {FUTURE_TOLERANCE_HOURS} h after the time of ingest, ')} || "
            f"{lit(now.isoformat(sep=' ') + ' UTC')}",
        )
    )
    if source.has_json:
        plan.checks.append(
            Check(
                "bad_json",
                "",
                "(_json IS NULL OR json_type(_json) <> 'OBJECT')",
                "'the line is not a JSON object'",
            )
        )
    order = {r: i for i, r in enumerate(kind.reasons)}
    field_pos = {f.name: i for i, f in enumerate(kind.fields)}
    checks = sorted(plan.checks, key=lambda c: (order[c.reason], field_pos.get(c.field, -1)))

    sql = f"({source.relation})"
    for i, layer in enumerate(plan.layers):
        if layer:
            sql = f"(SELECT *, {', '.join(layer)} FROM {sql} AS l{i})"
    whens = " ".join(f"WHEN {c.cond} THEN {i}" for i, c in enumerate(checks, start=1))
    sql = f"(SELECT *, CASE {whens} END AS _ci FROM {sql} AS lc)"

    canon = canonical_text_sql(kind, plan.values)
    if source.has_json:
        raw = "CAST(_json AS VARCHAR)"
    else:
        raw = _raw_object(source)
    messages = " ".join(f"WHEN {i} THEN {c.message}" for i, c in enumerate(checks, start=1))
    values = ", ".join(f"{plan.values[f.name]} AS {ident(f.name)}" for f in kind.fields)
    # the quarantined rows' texts are a query of their own, run only when a row fails: most batches have none, and
    # their expressions (a message per check) were a fifth of the time DuckDB took to plan the staging query
    select = (
        f"SELECT {values}, _ci, "
        f"CASE WHEN _ci IS NULL THEN md5({canon}) END AS _hash, "
        "CAST(NULL AS VARCHAR) AS _raw, CAST(NULL AS VARCHAR) AS _message "
        f"FROM {sql} AS lf"
    )
    details = (
        "SELECT _row, _raw, _message FROM (SELECT row_number() OVER () AS _row, _ci, "
        f"CASE WHEN _ci IS NOT NULL THEN {raw} END AS _raw, CASE _ci {messages} END AS _message "
        f"FROM {sql} AS lf) WHERE _ci IS NOT NULL"
    )
    return StageQuery(select, [c.reason for c in checks], [c.field or None for c in checks], details)


def _raw_object(source: Source) -> str:
    pairs = ", ".join(f"{lit(n)}, CAST({src_col(n)} AS VARCHAR)" for n in source.types)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def raw_query(source: Source) -> str:
    """SELECT _row (1-based), _raw (the original values as JSON text) over the whole source."""
    if source.has_json:
        raw = "CAST(_json AS VARCHAR)"
    else:
        raw = _raw_object(source)
    return f"SELECT row_number() OVER () AS _row, {raw} AS _raw FROM ({source.relation}) AS r"
