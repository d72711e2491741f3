"""Mapping files: how a source's columns become the canonical ones (see docs/connectors.md).

A mapping is YAML. It is loaded into :class:`Mapping` (pydantic, unknown keys refused); every problem is a
:class:`MappingError` naming the file and the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml.error import YAMLError

from outcomes.contract.limits import load_plain
from outcomes.facts import IngestError

BUILTIN_DIR = Path(__file__).parent / "builtin"
ENCODINGS = ("utf-8", "latin-1", "utf-16")
AGGS = ("first", "last", "last_known", "min", "max", "any", "all", "count", "count_distinct")


class MappingError(IngestError):
    """A mapping file that cannot be used (unknown key, bad value, unknown column...)."""

    code = "mapping"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# A condition: {column: value | [values]} (all must hold; a value list means "one of"), or
# {column: {not: [values]}}, or a SQL boolean expression over the source columns (quoted identifiers).
Condition = dict[str, Any] | str


class Column(_Strict):
    """How one canonical (or helper) value is computed from a source row."""

    from_: str | None = Field(default=None, alias="from")
    value: str | int | float | bool | None = None
    template: str | None = None
    sql: str | None = None
    date: str | None = None  # with `time`: the two columns are joined by a space before `format`
    time: str | None = None
    format: str | None = None  # strptime format of a timestamp; the result is a naive local time text
    null_if: list[str] = Field(default_factory=list)
    map: dict[str, str | None] | None = None
    default: str | None = None  # for values missing from `map` (else they pass through unchanged)
    positive: bool = False  # true when the number is > 0 (e.g. reopened from a reopen count)
    when: Condition | None = None  # the value is NULL unless the condition holds
    cases: list[Column] | None = None  # the first case whose `when` holds
    seconds_between: list[str] | None = None  # [start, end]: names of computed timestamp values
    # SQL over computed values (after a fold), written {name}; e.g. "CASE WHEN {resolves} > 1 ..."
    expr: str | None = None
    rollover_after: str | None = None  # a time-of-day earlier than this computed timestamp is next day
    # last_known: the value on the case's last row that has one (e.g. the agent of the resolving event)
    agg: (
        Literal["first", "last", "last_known", "min", "max", "any", "all", "count", "count_distinct"] | None
    ) = None

    @model_validator(mode="after")
    def _one_source(self) -> Column:
        given = [
            k
            for k in ("from_", "value", "template", "sql", "date", "cases", "seconds_between", "expr")
            if getattr(self, k) is not None
        ]
        if self.time is not None and self.date is None:
            given.append("time")
        if len(given) != 1:
            names = ", ".join(g.rstrip("_") for g in given) or "none"
            raise ValueError(
                "give exactly one of from, value, template, sql, date (+ time), cases, seconds_between, expr "
                f"(given: {names})"
            )
        if self.seconds_between is not None and len(self.seconds_between) != 2:
            raise ValueError("seconds_between takes two names: [start, end]")
        return self

    @property
    def derived(self) -> bool:
        """Computed from other computed values (after a fold), not from the source row."""
        return self.seconds_between is not None or self.rollover_after is not None or self.expr is not None


class Join(_Strict):
    """A sideloaded array joined to each record by key (e.g. Zendesk's ``metric_sets`` on ``ticket_id``)."""

    records: str  # dotted path of the array inside each JSON document (e.g. metric_sets)
    key: str  # dotted path of the key inside a joined object (e.g. ticket_id)
    on: str = "id"  # dotted path of the key inside a record


class Read(_Strict):
    format: Literal["csv", "json"] = "csv"
    # json: dotted path of the array of records inside each document (e.g. tickets); without it each JSON
    # value of the file (a line of JSON lines, an element of a top-level array, or the document) is a record
    records: str | None = None
    # json: sideloaded arrays by name; a source field "NAME.path" reads path in the joined object
    join: dict[str, Join] = Field(default_factory=dict)
    delimiter: str = ","
    quote: str | None = None  # None: no quoting, the file is read line by line
    encoding: str = "utf-8"
    header: bool = True
    null_values: list[str] = Field(default_factory=list)
    # when a row does not have the header's number of fields, split it on runs of whitespace instead
    # (for sources that document such rows, e.g. the Technion bank's space-for-tab rows)
    whitespace_fallback: bool = False
    # the header may hold fields the mapping does not list (vendor exports vary by configuration); fields
    # are found by name. Without it the header must list exactly source_fields (in any order).
    extra_fields: bool = False


class Skip(_Strict):
    when: Condition
    reason: str


class Hold(_Strict):
    """A unit the mapping cannot map faithfully (e.g. a solved ticket whose solve time was not exported):
    quarantined with ``reason`` and ``message`` (a template over source fields, ``{FIELD}``), not skipped and
    not ingested half-empty. ``field`` names the canonical column it concerns."""

    when: Condition
    reason: str
    message: str = ""  # empty: "the mapping quarantines it (<reason>)"
    field: str | None = None


class Fold(_Strict):
    case: str  # the source column that identifies a case
    order: list[Column]  # sort keys of a case's rows (computed values), e.g. the event time


class Param(_Strict):
    """A value given at ingest (``--param NAME=VALUE``), referenced in the mapping as ``${NAME}``."""

    type: Literal["date", "text", "number"] = "text"
    required: bool = False
    default: str | None = None
    description: str = ""


class Emit(_Strict):
    """One output unit per source row for which ``when`` holds (all rows without ``when``): the mapping's
    ``columns`` with these ``columns`` over them."""

    when: Condition | None = None
    columns: dict[str, Column | str] = Field(default_factory=dict)


class Mapping(_Strict):
    name: str
    description: str = ""
    kind: Literal["interactions", "events"] = "interactions"
    source_fields: list[str]  # the source's field list (the header), documented and checked
    read: Read = Field(default_factory=Read)
    timezone: str | None = None
    constants: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, Column | str]
    helpers: dict[str, Column | str] = Field(default_factory=dict)
    skip: list[Skip] = Field(default_factory=list)
    # units quarantined by the mapping itself, with its reason (after skip: a skipped unit is not held)
    quarantine: list[Hold] = Field(default_factory=list)
    fold: Fold | None = None
    params: dict[str, Param] = Field(default_factory=dict)
    emit: list[Emit] = Field(default_factory=list)
    workflows: dict[str, list[str]] = Field(default_factory=dict)  # workflow -> queues (a hint)
    notes: str = ""

    def column(self, name: str) -> Column:
        spec = self.columns.get(name, self.helpers.get(name))
        if spec is None:
            spec = next((e.columns[name] for e in self.emit if name in e.columns), None)
        if isinstance(spec, str):
            return Column(**{"from": spec})
        assert spec is not None
        return spec


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def resolve(mapping: str | Path) -> Path:
    """A built-in mapping name or a mapping file path."""
    text = str(mapping)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise MappingError(f"{path}: mapping file not found")
        return path
    builtin = BUILTIN_DIR / f"{text}.yaml"
    if text in builtin_names() and builtin.is_file():  # a name, never a path out of the built-ins
        return builtin
    raise MappingError(
        f"{text!r} is neither a mapping file nor a built-in mapping; built-ins: {', '.join(builtin_names())}"
    )


def load_mapping(mapping: str | Path) -> Mapping:
    path = resolve(mapping)
    try:
        data = load_plain(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError, ValueError) as exc:
        raise MappingError(f"{path}: not valid YAML ({(str(exc).strip() or type(exc).__name__).splitlines()[0]})") from None
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file must be a YAML mapping (key: value)")
    try:
        m = Mapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise MappingError(f"{path}: {problems}") from None
    _check(m, path)
    return m


def _check(m: Mapping, path: Path) -> None:
    from outcomes.facts import KINDS

    canonical = KINDS[m.kind].columns
    emitted = [n for e in m.emit for n in e.columns]
    for name in list(m.columns) + list(m.constants) + emitted:
        if name not in canonical:
            raise MappingError(
                f"{path}: columns.{name}: not a canonical {m.kind} column ({', '.join(canonical)})"
            )
    both = set(m.columns) & set(m.constants)
    if both:
        raise MappingError(f"{path}: {', '.join(sorted(both))} given both in columns and constants")
    for i, e in enumerate(m.emit):
        clash = set(e.columns) & set(m.constants)
        if clash:
            raise MappingError(f"{path}: emit[{i}]: {', '.join(sorted(clash))} is a constant")
    units = [set(m.columns) | set(e.columns) for e in m.emit] or [set(m.columns)]
    missing = sorted(
        {c for u in units for c in KINDS[m.kind].required if c not in u and c not in m.constants}
    )
    if missing:
        raise MappingError(f"{path}: required canonical column(s) {', '.join(missing)} are not mapped")
    if m.read.encoding.lower() not in ENCODINGS:
        raise MappingError(
            f"{path}: read.encoding: unknown encoding {m.read.encoding!r}; use one of {', '.join(ENCODINGS)}"
        )
    if m.read.format == "json":
        if m.read.encoding.lower() != "utf-8":
            raise MappingError(f"{path}: read.encoding: JSON sources are utf-8")
        paths = [("source_fields", f) for f in m.source_fields]
        paths += [("read.records", m.read.records)] if m.read.records is not None else []
        for name, j in m.read.join.items():
            paths += [(f"read.join.{name}.{k}", getattr(j, k)) for k in ("records", "key", "on")]
        for where, f in paths:
            if not all(part.strip() and '"' not in part for part in f.split(".")):
                raise MappingError(f"{path}: {where}: {f!r} is not a dotted field path (a.b.c, no quotes)")
    elif m.read.records is not None or m.read.join:
        raise MappingError(f"{path}: read.records and read.join need read.format: json")
    if len(m.read.delimiter) != 1:
        raise MappingError(f"{path}: read.delimiter must be one character")
    if m.emit and m.fold is not None:
        raise MappingError(f"{path}: emit and fold cannot be combined")
    if m.emit and m.quarantine:
        raise MappingError(f"{path}: emit and quarantine cannot be combined (one source row, several units)")
    for name, p in m.params.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise MappingError(f"{path}: params.{name}: a parameter name is letters, digits and _")
        if p.default is not None:
            _param_value(m.name, name, p, p.default)
    used = set(re.findall(r"\$\{([^{}]*)\}", m.model_dump_json(exclude={"description", "notes"})))
    unknown = sorted(used - set(m.params))
    if unknown:
        raise MappingError(f"{path}: ${{{unknown[0]}}} is used but not declared under params:")
    fields = set(m.source_fields)
    computed = set(m.columns) | set(m.helpers) | {n for e in m.emit for n in e.columns}

    def refs(c: Column, where: str) -> None:
        for col in (c.from_, c.date, c.time):
            if col is not None and col not in fields:
                raise MappingError(f"{path}: {where}: source field {col!r} is not in source_fields")
        named = re.findall(r"(?<!\$)\{([^{}]+)\}", c.expr or "")
        for name in (c.seconds_between or []) + ([c.rollover_after] if c.rollover_after else []) + named:
            if name not in computed:
                raise MappingError(f"{path}: {where}: {name!r} is not a computed column or helper")
        if isinstance(c.when, dict):
            for col in c.when:
                if col not in fields:
                    raise MappingError(f"{path}: {where}.when: source field {col!r} is not in source_fields")
        for i, sub in enumerate(c.cases or []):
            refs(sub, f"{where}.cases[{i}]")

    for section, specs in (("columns", m.columns), ("helpers", m.helpers)):
        for name in specs:
            refs(m.column(name), f"{section}.{name}")
    for i, e in enumerate(m.emit):
        if isinstance(e.when, dict):
            for col in e.when:
                if col not in fields:
                    raise MappingError(
                        f"{path}: emit[{i}].when: source field {col!r} is not in source_fields"
                    )
        for name in e.columns:
            spec = e.columns[name]
            col = Column(**{"from": spec}) if isinstance(spec, str) else spec
            refs(col, f"emit[{i}].columns.{name}")
            if col.derived:
                raise MappingError(f"{path}: emit[{i}].columns.{name}: emitted columns cannot be derived")
    for i, s in enumerate(m.skip):
        if isinstance(s.when, dict):
            for col in s.when:
                if col not in fields:
                    raise MappingError(
                        f"{path}: skip[{i}].when: source field {col!r} is not in source_fields"
                    )
    for i, h in enumerate(m.quarantine):
        where = f"{path}: quarantine[{i}]"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", h.reason):
            raise MappingError(f"{where}.reason: {h.reason!r} is not a reason code (lower_snake_case)")
        if h.field is not None and h.field not in canonical:
            raise MappingError(f"{where}.field: {h.field!r} is not a canonical {m.kind} column")
        if isinstance(h.when, dict):
            for col in h.when:
                if col not in fields:
                    raise MappingError(f"{where}.when: source field {col!r} is not in source_fields")
        for col in re.findall(r"\{([^{}]+)\}", h.message):
            if col not in fields:
                raise MappingError(f"{where}.message: source field {col!r} is not in source_fields")
    if m.fold is not None:
        if m.fold.case not in fields:
            raise MappingError(f"{path}: fold.case: source field {m.fold.case!r} is not in source_fields")
        for i, o in enumerate(m.fold.order):
            refs(o, f"fold.order[{i}]")
    check_sql(m, str(path))


_PARAM_RE = re.compile(r"\$\{([^{}]*)\}")


def sql_texts(m: Mapping) -> Iterator[tuple[str, str, bool]]:
    """Every SQL text the author wrote: (where, text, over computed values) for `sql:`, `expr:` and SQL
    conditions (columns, helpers, cases, emit, skip, quarantine and fold order)."""

    def column(c: Column | str, where: str) -> Iterator[tuple[str, str, bool]]:
        if isinstance(c, str):
            return
        if c.sql is not None:
            yield f"{where}.sql", c.sql, False
        if c.expr is not None:
            yield f"{where}.expr", c.expr, True
        if isinstance(c.when, str):
            yield f"{where}.when", c.when, False
        for i, sub in enumerate(c.cases or []):
            yield from column(sub, f"{where}.cases[{i}]")

    for section, specs in (("columns", m.columns), ("helpers", m.helpers)):
        for name, spec in specs.items():
            yield from column(spec, f"{section}.{name}")
    for i, e in enumerate(m.emit):
        if isinstance(e.when, str):
            yield f"emit[{i}].when", e.when, False
        for name, spec in e.columns.items():
            yield from column(spec, f"emit[{i}].columns.{name}")
    for i, s in enumerate(m.skip):
        if isinstance(s.when, str):
            yield f"skip[{i}].when", s.when, False
    for i, h in enumerate(m.quarantine):
        if isinstance(h.when, str):
            yield f"quarantine[{i}].when", h.when, False
    if m.fold is not None:
        for i, o in enumerate(m.fold.order):
            yield from column(o, f"fold.order[{i}]")


def check_sql(m: Mapping, where: str) -> None:
    """Every SQL text of the mapping is one expression over the source's fields (or, in `expr:`, over the
    computed values written {name}) calling only allowed scalar functions (see expressions.py); a
    `${NAME}` parameter counts as a literal. MappingError names the mapping and the key otherwise."""
    from .expressions import UnsafeExpression, check_expression

    computed = list(m.columns) + list(m.helpers) + [n for e in m.emit for n in e.columns]
    for key, text, over_computed in sql_texts(m):
        sql = _PARAM_RE.sub("NULL", text)
        columns: list[str] = list(m.source_fields)
        if over_computed:
            sql = re.sub(r"\{([^{}]+)\}", lambda g: '"' + g.group(1).replace('"', '""') + '"', sql)
            columns = computed
        try:
            check_expression(sql, columns)
        except UnsafeExpression as exc:
            raise MappingError(f"{where}: {key}: {exc}") from None


def _param_value(mapping: str, name: str, p: Param, text: str) -> str:
    """The parameter's value as a SQL literal (checked against its type)."""
    from outcomes.facts.sources import lit

    if p.type == "date":
        try:
            return f"DATE {lit(date.fromisoformat(text.strip()).isoformat())}"
        except ValueError:
            raise MappingError(
                f"mapping {mapping!r}: parameter {name!r} must be a date YYYY-MM-DD, not {text!r}"
            ) from None
    if p.type == "number":
        try:
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return repr(number)
        except ValueError:
            raise MappingError(
                f"mapping {mapping!r}: parameter {name!r} must be a number, not {text!r}"
            ) from None
    return lit(text)


def bind_params(m: Mapping, params: dict[str, str] | None = None) -> Mapping:
    """The mapping with every ``${NAME}`` replaced by its parameter's value: a typed SQL literal in
    ``sql``, ``expr`` and SQL conditions; the plain text in ``value``, ``template``, ``constants`` and
    the values of ``{FIELD: value}`` conditions. A missing required parameter, an unknown one, or a
    value of the wrong type is a :class:`MappingError` naming the mapping and the parameter."""
    given = {str(k): str(v) for k, v in (params or {}).items()}
    unknown = sorted(set(given) - set(m.params))
    if unknown:
        declared = ", ".join(m.params) or "none"
        raise MappingError(f"mapping {m.name!r} has no parameter {unknown[0]!r} (its parameters: {declared})")
    sql: dict[str, str] = {}
    text: dict[str, str] = {}
    for name, p in m.params.items():
        value = given.get(name, p.default)
        if value is None:
            if p.required:
                what = f" ({p.description.strip()})" if p.description.strip() else ""
                raise MappingError(
                    f"mapping {m.name!r} needs parameter {name!r}{what}: pass --param {name}=VALUE"
                    + (" (a date YYYY-MM-DD)" if p.type == "date" else "")
                    + "; nothing was ingested"
                )
            sql[name], text[name] = "NULL", ""
            continue
        sql[name] = _param_value(m.name, name, p, value)
        text[name] = value.strip() if p.type == "date" else value
    if not m.params:
        return m

    def sub(s: Any, values: dict[str, str]) -> Any:
        return _PARAM_RE.sub(lambda g: values[g.group(1)], s) if isinstance(s, str) else s

    def cond(c: Any) -> Any:
        if isinstance(c, str):
            return sub(c, sql)
        if isinstance(c, dict):
            return {
                k: ([sub(x, text) for x in v] if isinstance(v, list) else sub(v, text)) for k, v in c.items()
            }
        return c

    def col(c: Column | str) -> Column | str:
        if isinstance(c, str):
            return c
        return c.model_copy(
            update={
                "value": sub(c.value, text),
                "template": sub(c.template, text),
                "sql": sub(c.sql, sql),
                "expr": sub(c.expr, sql),
                "when": cond(c.when),
                "cases": None if c.cases is None else [col(x) for x in c.cases],
            }
        )

    return m.model_copy(
        update={
            "params": {},
            "constants": {k: sub(v, text) for k, v in m.constants.items()},
            "columns": {k: col(v) for k, v in m.columns.items()},
            "helpers": {k: col(v) for k, v in m.helpers.items()},
            "skip": [s.model_copy(update={"when": cond(s.when)}) for s in m.skip],
            "quarantine": [h.model_copy(update={"when": cond(h.when)}) for h in m.quarantine],
            "emit": [
                e.model_copy(
                    update={"when": cond(e.when), "columns": {k: col(v) for k, v in e.columns.items()}}
                )
                for e in m.emit
            ],
        }
    )
