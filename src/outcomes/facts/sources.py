"""Open an input file as a DuckDB relation of raw values, one row per data row, in file order.

CSV and JSON values are read as text (so that one bad value quarantines a row rather than failing the file);
Parquet columns keep their physical type and ``validate.py`` casts or formats them safely. The columns are
checked here: a missing required column, an unknown column or a repeated column is an ``IngestError``.

- CSV (``.csv``, ``.csv.gz``): UTF-8 (a BOM is fine), comma-separated, ``"`` quotes, a header row; the
  header is read with Python's csv module and DuckDB then reads the data with those columns, no sniffing.
  A structurally broken file (a row with too many or too few cells) is an ``IngestError`` naming the line.
  Blank lines are not rows.
- Parquet (``.parquet``, ``.pq``): any physical types.
- JSON lines (``.jsonl``, ``.ndjson``, ``.json``, optionally ``.gz``): one object per line; a line that is
  not a JSON object is quarantined as ``bad_json``. A ``.json`` file holding one array of objects works too.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import IngestError
from .rejects import OPTIONS as REJECT_OPTIONS
from .schema import Kind

FORMATS = ("csv", "parquet", "json")
_FMT_ALIASES = {
    "csv": "csv",
    "csv.gz": "csv",
    "parquet": "parquet",
    "pq": "parquet",
    "json": "json",
    "jsonl": "json",
    "ndjson": "json",
    "jsonl.gz": "json",
    "ndjson.gz": "json",
}


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def src_col(name: str) -> str:
    """The identifier under which the source relation exposes canonical column ``name``."""
    return ident("s_" + name)


@dataclass(frozen=True)
class Source:
    fmt: str  # csv | parquet | json
    # SQL of a relation: s_<column> per present column (and _json for JSON input), one row per data row in
    # file order (DuckDB keeps the scan order with preserve_insertion_order, which the store enforces)
    relation: str
    types: dict[str, str]  # present canonical column -> DuckDB type of its raw value
    has_json: bool  # the relation carries `_json`, the original JSON text of each row
    # JSON lines only: SQL of (_row, line), the raw text of every non-blank line, to show in the quarantine
    # a line that is not JSON (the JSON reader gives NULL for it)
    lines: str | None = None


def detect_format(file: Path, fmt: str | None) -> str:
    if fmt is not None:
        key = fmt.lower().lstrip(".")
        if key not in _FMT_ALIASES:
            raise IngestError(f"{file}: unknown format {fmt!r}; use one of csv, parquet, jsonl (JSON lines)")
        return _FMT_ALIASES[key]
    name = file.name.lower()
    for suffix, value in sorted(_FMT_ALIASES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith("." + suffix):
            return value
    raise IngestError(
        f"{file}: cannot tell the format from the file name; name it .csv, .csv.gz, .parquet, .jsonl, "
        ".ndjson or .json, or pass the format explicitly (fmt='csv' | 'parquet' | 'jsonl')"
    )


def _check_columns(kind: Kind, file: Path, names: list[str]) -> None:
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise IngestError(f"{file}: column(s) {', '.join(dupes)} appear more than once; keep one of each")
    missing = [c for c in kind.required if c not in names]
    if missing:
        raise IngestError(
            f"{file}: missing required column(s) {', '.join(missing)} for {kind.name}; "
            f"the canonical {kind.name} file needs {', '.join(kind.required)} "
            f"(optional: {', '.join(c for c in kind.columns if c not in kind.required)})"
        )
    unknown = [n for n in names if n not in kind.columns]
    if unknown:
        shown = ", ".join(repr(n) for n in unknown)
        raise IngestError(
            f"{file}: unknown column(s) {shown} for {kind.name}; the canonical ingest accepts only "
            f"{', '.join(kind.columns)}. Rename or drop them, or ingest the file through a connector "
            "mapping that translates the source's columns to the canonical ones"
        )


_INTEGERS = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
)
#: DuckDB types of numbers (a typed column of one of these holds a number)
NUMERIC_TYPES = (*_INTEGERS, "FLOAT", "DOUBLE", "DECIMAL")
_TIMES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE", "DATE")

#: Typed (Parquet) columns: the physical types each kind of canonical column may have, and how to say it. Text
#: (VARCHAR) is always accepted: its values are read and checked row by row, as in a CSV file.
PHYSICAL_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "text": ((*_INTEGERS, "UUID"), "text (VARCHAR), or whole numbers for ids"),
    "enum": ((), "text (VARCHAR)"),
    "ts": (_TIMES, "a timestamp (TIMESTAMP, TIMESTAMP WITH TIME ZONE or DATE), or ISO 8601 text"),
    "bool": (("BOOLEAN", *_INTEGERS), "a boolean (BOOLEAN, 0/1), or true/false text"),
    "seconds": (NUMERIC_TYPES, "a number (integer, floating point or DECIMAL), or its text"),
    "int": (NUMERIC_TYPES, "a whole number (an integer type), or its text"),
    "score": (NUMERIC_TYPES, "a number (integer, floating point or DECIMAL), or its text"),
    "money": (NUMERIC_TYPES, "an amount (DECIMAL, or an integer or floating-point number), or decimal text"),
}


def _check_types(kind: Kind, file: Path, types: dict[str, str]) -> None:
    """Refuse a typed file whose columns cannot hold their canonical values, naming every such column."""
    wrong = []
    for f in kind.fields:
        found = types.get(f.name)
        if found is None or found.upper() == "VARCHAR":
            continue
        accepted, expected = PHYSICAL_TYPES[f.kind]
        base = found.upper().split("(")[0].strip()
        if base not in accepted:
            wrong.append(f"{f.name} is {found}, expected {expected}")
    if wrong:
        raise IngestError(
            f"{file}: {len(wrong)} column(s) of the wrong type: "
            + "; ".join(wrong)
            + "; nothing was ingested",
            hint="write the columns with these types (or as text), e.g. with pyarrow: pa.timestamp('us', tz='UTC')",
        )


def _csv_header(file: Path) -> list[str]:
    opener = gzip.open if file.name.lower().endswith(".gz") else open
    try:
        with opener(file, "rb") as fh:  # type: ignore[operator]
            # the header line alone: a row further down that is not UTF-8 is the quarantine's, not the header's
            line = fh.readline(1 << 20).decode("utf-8-sig")
            header = next(csv.reader([line.rstrip("\r\n")]), None) if line.strip() else None
    except FileNotFoundError:
        raise IngestError(f"{file}: file not found; check the path") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IngestError(f"{file}: cannot read the CSV header ({exc}); the file must be UTF-8 CSV") from None
    if not header:
        raise IngestError(f"{file}: the file is empty; a CSV file needs a header row with the column names")
    return [h.strip() for h in header]


def _csv(con: duckdb.DuckDBPyConnection, kind: Kind, file: Path) -> Source:
    names = _csv_header(file)
    _check_columns(kind, file, names)
    spec = ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(names)))
    # rows the reader cannot split or decode go to its rejects table (facts/rejects.py), not the file's refusal
    reader = (
        f"read_csv({lit(str(file))}, auto_detect=false, header=true, delim=',', quote='\"', escape='\"', "
        f"all_varchar=true, columns={{{spec}}}{REJECT_OPTIONS})"
    )
    cols = ", ".join(f"{ident(f'c{i}')} AS {src_col(n)}" for i, n in enumerate(names))
    relation = f"SELECT {cols} FROM {reader}"
    return Source("csv", relation, {n: "VARCHAR" for n in names}, False)


def _parquet(con: duckdb.DuckDBPyConnection, kind: Kind, file: Path) -> Source:
    if not file.exists():
        raise IngestError(f"{file}: file not found; check the path")
    reader = f"read_parquet({lit(str(file))})"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(file))})").fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{file}: cannot read it as Parquet ({_first_line(exc)})") from None
    types = {row[0]: row[1] for row in described}
    _check_columns(kind, file, list(types))
    _check_types(kind, file, types)
    cols = ", ".join(f"{ident(n)} AS {src_col(n)}" for n in types)
    relation = f"SELECT {cols} FROM {reader}"
    return Source("parquet", relation, types, False)


def _json(con: duckdb.DuckDBPyConnection, kind: Kind, file: Path) -> Source:
    if not file.exists():
        raise IngestError(f"{file}: file not found; check the path")
    opener = gzip.open if file.name.lower().endswith(".gz") else open
    with opener(file, "rb") as fh:  # type: ignore[operator]
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    lines = None
    if head.startswith(b"["):  # a JSON array of objects: a malformed file cannot be read row by row
        reader = f"read_json_objects({lit(str(file))}, format='array')"
    else:
        reader = f"read_ndjson_objects({lit(str(file))}, ignore_errors=true)"
        if not file.name.lower().endswith(".gz"):
            lines = (
                "SELECT row_number() OVER () AS _row, line FROM (SELECT unnest(string_split("
                f"replace(content, chr(13), ''), chr(10))) AS line FROM read_text({lit(str(file))})) "
                "WHERE trim(line) <> ''"
            )
    try:
        # the distinct key lists (rows of one feed share one, or a few) and their union, rather than the distinct
        # keys of every row: DuckDB groups 5,000 lists, not 90,000 texts (bench/server_profile.py times both)
        key_lists = con.execute(
            f"SELECT DISTINCT json_keys(json) FROM {reader} WHERE json_type(json) = 'OBJECT'"
        ).fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{file}: cannot read it as JSON lines ({_first_line(exc)})") from None
    names = sorted({k for (keys,) in key_lists for k in keys})
    _check_columns(kind, file, names)
    # one parse of each object for all its keys (a `json ->> key` per column parses it once per column)
    paths = ", ".join(lit(n) for n in names)
    cols = "".join(f", _values[{i}] AS {src_col(n)}" for i, n in enumerate(names, start=1))
    relation = (
        f"SELECT _json{cols} FROM (SELECT json AS _json, json_extract_string(json, [{paths}]) AS _values "
        f"FROM {reader})"
    )
    return Source("json", relation, {n: "VARCHAR" for n in names}, True, lines)


def open_source(con: duckdb.DuckDBPyConnection, kind: Kind, file: Path, fmt: str) -> Source:
    if fmt == "csv":
        return _csv(con, kind, file)
    if fmt == "parquet":
        return _parquet(con, kind, file)
    return _json(con, kind, file)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_error_text(exc: BaseException) -> str:
    """The useful part of a DuckDB reader error (its first lines, without the long 'possible fixes' list)."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    keep: list[str] = []
    for ln in lines:
        if ln.startswith("Possible fixes") or ln.startswith("*") or ln.startswith("file ="):
            break
        keep.append(ln)
    return "; ".join(keep[:4]) or type(exc).__name__
