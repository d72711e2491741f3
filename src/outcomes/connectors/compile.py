"""Compile a :class:`Mapping` to DuckDB SQL: one relation of canonical values per source unit.

Pipeline (all SQL, no Python loop over rows):

1. ``reader``: the source file as text fields, one row per non-blank line with ``_src_row`` (the line
   number in the file, the header being line 1) and ``_nf`` (the number of fields found);
2. ``row layer``: per source row, the base value of every computed column, the skip reason, the fold keys;
3. ``fold`` (optional): one row per case, each column aggregated (default: its value on the case's last
   row by ``fold.order``); ``_src_row`` is the case's first row;
4. ``derived``: ``seconds_between`` and ``rollover_after``, in declared order, over computed values;
5. the canonical values as ``s_<column>`` plus ``_src_row``, ``_skip``, ``_src_raw``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from outcomes.facts.sources import ident, lit
from outcomes.facts.validate import _ZONE_RE

from .mapping import Column, Condition, Hold, Mapping, MappingError, Skip

TS_TEXT = "%Y-%m-%d %H:%M:%S"


def _b(name: str) -> str:
    return ident("b:" + name)


def _v(name: str) -> str:
    return ident("v:" + name)


def condition_sql(cond: Condition) -> str:
    if isinstance(cond, str):
        return f"({cond})"
    parts = []
    for col, want in cond.items():
        c = ident(col)
        negate = isinstance(want, dict)
        if negate:
            if set(want) != {"not"}:
                raise MappingError(f"condition on {col!r}: use a value, a list, or {{not: [values]}}")
            want = want["not"]
        values = want if isinstance(want, list) else [want]
        listed = ", ".join("NULL" if v is None else lit(str(v)) for v in values)
        test = f"coalesce(list_contains([{listed}], {c}), false)"
        if None in values:
            test = f"({test} OR {c} IS NULL)"
        parts.append(f"NOT {test}" if negate else test)
    return "(" + " AND ".join(parts or ["true"]) + ")"


def _template(text: str) -> str:
    pieces: list[str] = []
    pos = 0
    for m in re.finditer(r"\{([^{}]+)\}", text):
        if m.start() > pos:
            pieces.append(lit(text[pos : m.start()]))
        pieces.append(ident(m.group(1)))
        pos = m.end()
    if pos < len(text):
        pieces.append(lit(text[pos:]))
    return "(" + " || ".join(pieces) + ")"


def _message(text: str) -> str:
    """A message template ("ticket {id} is solved ...") as SQL; an empty field reads as an empty text."""
    parts = re.split(r"\{([^{}]+)\}", text)  # literal, field, literal, ...
    pieces = [lit(p) if i % 2 == 0 else f"coalesce({ident(p)}, '')" for i, p in enumerate(parts) if p or i % 2]
    return "(" + " || ".join(pieces or ["''"]) + ")"


def base_sql(c: Column) -> str | None:
    """SQL (text) of a column's value from one source row, before any derived step; None if derived."""
    if c.seconds_between is not None or c.expr is not None:
        return None
    if c.cases is not None:
        whens = []
        tail = "NULL"
        for sub in c.cases:
            expr = base_sql(sub.model_copy(update={"when": None}))
            if expr is None:
                raise MappingError("cases cannot use seconds_between or rollover_after")
            if sub.when is None:
                tail = expr
                break
            whens.append(f"WHEN {condition_sql(sub.when)} THEN {expr}")
        x = f"(CASE {' '.join(whens)} ELSE {tail} END)" if whens else tail
    elif c.from_ is not None:
        x = ident(c.from_)
    elif c.value is not None:
        v = c.value
        x = lit(("true" if v else "false") if isinstance(v, bool) else str(v))
    elif c.template is not None:
        x = _template(c.template)
    elif c.sql is not None:
        x = f"CAST(({c.sql}) AS VARCHAR)"
    else:
        assert c.date is not None
        x = ident(c.date) if c.time is None else f"({ident(c.date)} || ' ' || {ident(c.time)})"
    if c.null_if:
        listed = ", ".join(lit(v) for v in c.null_if)
        x = f"(CASE WHEN list_contains([{listed}], {x}) THEN NULL ELSE {x} END)"
    if c.map is not None:
        whens = " ".join(f"WHEN {lit(k)} THEN {'NULL' if v is None else lit(v)}" for k, v in c.map.items())
        other = x if c.default is None else lit(c.default)
        x = f"(CASE {x} {whens} ELSE {other} END)" if whens else other
    if c.format is not None:
        # unparseable texts pass through unchanged: the store then quarantines them as bad_timestamp
        x = f"coalesce(strftime(try_strptime({x}, {lit(c.format)}), {lit(TS_TEXT)}), {x})"
    if c.positive:
        d = f"TRY_CAST({x} AS DOUBLE)"
        x = f"(CASE WHEN {d} > 0 THEN 'true' WHEN {d} IS NOT NULL THEN 'false' ELSE {x} END)"
    if c.when is not None:
        x = f"(CASE WHEN {condition_sql(c.when)} THEN {x} END)"
    return x


def _agg(expr: str, how: str, order: str) -> str:
    if how == "first":
        return f"first({expr} ORDER BY {order})"
    if how == "last":
        return f"last({expr} ORDER BY {order})"
    if how == "last_known":
        return f"last({expr} ORDER BY {order}) FILTER (WHERE {expr} IS NOT NULL)"
    if how == "count":
        return f"CAST(count({expr}) AS VARCHAR)"
    if how in ("min", "max"):
        return f"{how}({expr})"
    if how == "any":
        return f"CASE WHEN bool_or({expr} = 'true') THEN 'true' WHEN count({expr}) > 0 THEN 'false' END"
    if how == "all":
        return f"CASE WHEN bool_and({expr} = 'true') THEN 'true' WHEN count({expr}) > 0 THEN 'false' END"
    return f"CAST(count(DISTINCT {expr}) AS VARCHAR)"


def _instant(x: str, tz: str | None) -> str:
    """SQL: a timestamp text as an instant (TIMESTAMPTZ): its own offset, else read in tz (else UTC)."""
    zone = lit(tz or "UTC")
    return (
        f"CASE WHEN suffix({x}, 'Z') OR regexp_matches({x}, {lit(_ZONE_RE)}) THEN TRY_CAST({x} AS TIMESTAMPTZ) "
        f"ELSE timezone({zone}, TRY_CAST({x} AS TIMESTAMP)) END"
    )


NO_EVENT = "no_event"


def _emitted_sql(m: Mapping, reader: str, timezone: str | None) -> str:
    """``emit``: one unit per (source row, emit spec whose ``when`` holds), all with the row's
    ``_src_row``. A row the mapping's ``skip`` rules skip, or for which no spec holds (skip reason
    ``no_event``), is one skipped unit."""
    whens = [f"coalesce({condition_sql(e.when) if e.when is not None else 'true'}, false)" for e in m.emit]
    skipped = " OR ".join(f"coalesce({condition_sql(s.when)}, false)" for s in m.skip) or "false"
    none = f"NOT ({' OR '.join(whens)})"
    parts = []
    for i, e in enumerate(m.emit):
        columns = {**m.columns, **e.columns}
        if i == 0:
            rows = f"SELECT * FROM ({reader}) AS r WHERE ({skipped}) OR {whens[0]} OR {none}"
            skip = list(m.skip) + [Skip(when=none, reason=NO_EVENT)]
        else:
            rows = f"SELECT * FROM ({reader}) AS r WHERE NOT ({skipped}) AND {whens[i]}"
            skip = []
        one = m.model_copy(update={"emit": [], "columns": columns, "skip": skip})
        # every unit has every canonical column the mapping gives (NULL where a spec does not give it)
        names = {n for x in m.emit for n in x.columns} | set(m.columns)
        sql = mapped_sql(one, rows, timezone)
        cols = ", ".join(
            ident("s_" + n) if n in columns else f"CAST(NULL AS VARCHAR) AS {ident('s_' + n)}"
            for n in sorted(names)
        )
        consts = "".join(f", {ident('s_' + n)}" for n in m.constants)
        parts.append(f"SELECT _src_row, _skip, _src_raw, {cols}{consts}, {i} AS _emit FROM ({sql}) AS e{i}")
    return f"SELECT * EXCLUDE (_emit) FROM ({' UNION ALL '.join(parts)}) AS emitted ORDER BY _src_row, _emit"


def mapped_sql(m: Mapping, reader: str, timezone: str | None = None) -> str:
    """SQL of the canonical relation over ``reader`` (a relation of the source fields, see module doc)."""
    if m.emit:
        return _emitted_sql(m, reader, timezone)
    names = list(m.helpers) + list(m.columns)
    specs = {n: m.column(n) for n in names}
    base = {n: base_sql(s) for n, s in specs.items()}
    skip = "NULL"
    if m.skip:
        whens = " ".join(f"WHEN {condition_sql(s.when)} THEN {lit(s.reason)}" for s in m.skip)
        skip = f"CASE {whens} END"
    fields = ", ".join(f"{lit(f)}, {ident(f)}" for f in m.source_fields)
    row_cols = [
        "_src_row",
        f"CAST(json_object({fields}) AS VARCHAR) AS _src_raw",
        f"{skip} AS _skip",
    ] + [f"{x} AS {_b(n)}" for n, x in base.items() if x is not None]
    held = ["_hold", "_hold_msg", "_hold_field"] if m.quarantine else []
    if m.quarantine:
        # the first rule that holds gives the reason, the message and the field
        def first(value: Callable[[Hold], str]) -> str:
            whens = " ".join(f"WHEN coalesce({condition_sql(h.when)}, false) THEN {value(h)}" for h in m.quarantine)
            return f"CASE {whens} END"

        row_cols += [
            f"{first(lambda h: lit(h.reason))} AS _hold",
            f"{first(lambda h: _message(h.message or f'the mapping quarantines it ({h.reason})'))} AS _hold_msg",
            f"{first(lambda h: lit(h.field) if h.field else 'NULL')} AS _hold_field",
        ]
    if m.fold is not None:
        keys = [base_sql(o) for o in m.fold.order]
        row_cols += [f"{k} AS {ident(f'o:{i}')}" for i, k in enumerate(keys)]
        row_cols.append(f"{ident(m.fold.case)} AS _case")
    sql = f"SELECT {', '.join(row_cols)} FROM ({reader}) AS src"
    if m.fold is not None:
        order = ", ".join([ident(f"o:{i}") for i in range(len(m.fold.order))] + ["_src_row"])
        aggs = [
            "min(_src_row) AS _src_row",
            f"last(_skip ORDER BY {order}) AS _skip",
            *(f"last({c} ORDER BY {order}) AS {c}" for c in held),
            "'case ' || _case || ': ' || count(*) || ' source rows from row ' || min(_src_row) || "
            f"'; its last row: ' || last(_src_raw ORDER BY {order}) AS _src_raw",
        ] + [
            f"{_agg(_b(n), specs[n].agg or 'last', order)} AS {_b(n)}"
            for n, x in base.items()
            if x is not None
        ]
        sql = f"SELECT {', '.join(aggs)} FROM ({sql}) AS rows GROUP BY _case"
    # final values: base values, then each derived one in declared order (one layer each)
    plain = [f"{_b(n)} AS {_v(n)}" for n in names if base[n] is not None and not specs[n].derived]
    sql = f"SELECT *{''.join(', ' + p for p in plain)} FROM ({sql}) AS folded"
    for i, n in enumerate(n for n in names if specs[n].derived):
        s = specs[n]
        if s.seconds_between is not None:
            a, b = (_instant(_v(x), timezone) for x in s.seconds_between)
            expr = f"CAST(epoch({b}) - epoch({a}) AS VARCHAR)"
        elif s.expr is not None:
            expr = f"CAST(({re.sub(r'{([^{}]+)}', lambda g: _v(g.group(1)), s.expr)}) AS VARCHAR)"
        else:
            assert s.rollover_after is not None
            t, ref = f"TRY_CAST({_b(n)} AS TIMESTAMP)", f"TRY_CAST({_v(s.rollover_after)} AS TIMESTAMP)"
            expr = (
                f"CASE WHEN {t} < {ref} THEN strftime({t} + INTERVAL 1 DAY, {lit(TS_TEXT)}) ELSE {_b(n)} END"
            )
        sql = f"SELECT *, {expr} AS {_v(n)} FROM ({sql}) AS d{i}"
    out = ["_src_row", "_skip", "_src_raw", *held]
    out += [f"{_v(n)} AS {ident('s_' + n)}" for n in m.columns]
    out += [f"{lit(v)} AS {ident('s_' + n)}" for n, v in m.constants.items()]
    return f"SELECT {', '.join(out)} FROM ({sql}) AS final"
