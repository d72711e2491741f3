"""Read a source file through a mapping and ingest it (or preview it) with the facts store's guarantees."""

from __future__ import annotations

import csv
import gzip
import json
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from outcomes.facts import FactsStore, IngestError, IngestSummary
from outcomes.facts.sources import ident, lit, read_error_text
from outcomes.facts.store import Check

from .compile import mapped_sql
from .mapping import Mapping, MappingError, bind_params, check_sql, load_mapping

Progress = Callable[[str, int, int], None]
_SRC = "_connector_source"


@dataclass
class MappedIngestSummary(IngestSummary):
    """An :class:`IngestSummary` of a mapped ingest. ``rows`` counts ``unit``s: source rows, cases for
    a folded event log (``source_rows`` then gives the event rows read), or ``events`` for a mapping
    with ``emit`` (one per emitted event, plus one per skipped source row)."""

    mapping: str = ""
    unit: str = "rows"  # rows | cases | events
    source_rows: int = 0


def read_header(m: Mapping, path: Path) -> list[str]:
    enc = m.read.encoding.lower()
    try:
        with _raw_open(path) as fh:
            head = fh.read(1 << 16)
    except FileNotFoundError:
        raise IngestError(f"{path}: file not found; check the path") from None
    except (OSError, EOFError) as exc:
        raise IngestError(f"{path}: cannot read the file ({exc})") from None
    try:
        if enc == "utf-16":
            text = head.decode("utf-16", errors="ignore")  # a cut last character is ignored
            line = text.split("\n", 1)[0]
        else:
            line = head.split(b"\n", 1)[0].decode("utf-8-sig" if enc == "utf-8" else "latin-1")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: line 1: the text is not valid {enc} ({exc.reason}); set read.encoding in the mapping "
            "(utf-8, latin-1 or utf-16); nothing was ingested"
        ) from None
    if not line.strip():
        raise IngestError(f"{path}: the file is empty; it needs a header row")
    row = next(csv.reader([line.rstrip("\r\n")], delimiter=m.read.delimiter, quotechar=m.read.quote or '"'))
    return [h.strip().lstrip("\ufeff") for h in row]


def _line_no(exc: BaseException) -> int | None:
    found = re.search(r"Line: (\d+)", str(exc))
    return int(found.group(1)) if found else None


def _reader_error(m: Mapping, path: Path, exc: BaseException) -> IngestError:
    text = str(exc)
    line = _line_no(exc)
    where = f"line {line}: " if line else ""
    if "unicode" in text.lower() or "encoding" in text.lower():
        return IngestError(
            f"{path}: {where}the text is not valid {m.read.encoding}; set read.encoding in the mapping "
            "(utf-8, latin-1 or utf-16); nothing was ingested"
        )
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if counts:
        return IngestError(
            f"{path}: {where}{counts.group(2)} field(s), the header has {counts.group(1)} (a stray delimiter, "
            "or a truncated line); nothing was ingested"
        )
    return IngestError(f"{path}: {where}cannot read the file ({read_error_text(exc)}); nothing was ingested")


def stage_source(con: duckdb.DuckDBPyConnection, m: Mapping, path: Path) -> int:
    """Read the file into the temp table ``_connector_source``: ``_src_row`` (line number), one trimmed
    text column per source field (null values as NULL). Raises IngestError, naming the file and the
    lines, for a header that does not match ``source_fields``, undecodable text, or a line whose number
    of fields is wrong (a stray delimiter, a truncated line). Returns the number of data rows."""
    if not path.is_file():
        raise IngestError(f"{path}: file not found; check the path")
    if m.read.format == "json":
        return _stage_json(con, m, path)
    header = read_header(m, path) if m.read.header else list(m.source_fields)
    missing = [f for f in m.source_fields if f not in header]
    extra = [f for f in header if f not in m.source_fields]
    if missing or (extra and not m.read.extra_fields):
        detail = "; ".join(
            x
            for x in (
                f"missing: {', '.join(missing)}" if missing else "",
                f"not in the mapping: {', '.join(extra)}" if extra and not m.read.extra_fields else "",
            )
            if x
        )
        raise IngestError(
            f"{path}: line 1: the header does not match the source_fields of mapping {m.name!r} "
            f"({detail}); nothing was ingested"
        )
    n = len(header)
    pos = {f: header.index(f) for f in m.source_fields}  # 0-based position of each mapped field
    enc = lit(m.read.encoding.lower())
    first = 2 if m.read.header else 1
    nulls = ", ".join(lit(v) for v in m.read.null_values)

    def clean(x: str) -> str:
        t = f"trim({x}, ' ' || chr(9) || chr(13))"
        test = f"{t} = ''" + (f" OR list_contains([{nulls}], {t})" if nulls else "")
        return f"CASE WHEN {test} THEN NULL ELSE {t} END"

    if m.read.quote is None:
        delim = lit(m.read.delimiter)
        reader = (
            f"read_csv({lit(str(path))}, columns={{'line': 'VARCHAR'}}, header=false, delim=chr(1), quote='', "
            f"escape='', auto_detect=false, strict_mode=false, encoding={enc}{_REJECT_OPTIONS})"
        )
        split = f"string_split(rtrim(line, chr(13)), {delim})"
        if m.read.whitespace_fallback:
            split = (
                f"CASE WHEN len({split}) = {n} THEN {split} "
                f"ELSE regexp_split_to_array(trim(line, ' ' || chr(9) || chr(13)), '\\s+') END"
            )
        lines = f"SELECT row_number() OVER () AS _src_row, line FROM {reader}"
        body = (
            f"SELECT _src_row, {split} AS _f, line FROM ({lines}) WHERE _src_row >= {first} AND trim(line) <> ''"
        )
        cols = ", ".join(f"{clean(f'_f[{pos[f] + 1}]')} AS {ident(f)}" for f in m.source_fields)
        sql = f"SELECT _src_row, len(_f) AS _nf, CASE WHEN len(_f) <> {n} THEN line END AS _line, {cols} FROM ({body})"
        offset = 0  # the line reader numbers every line, the header too
    else:
        q = lit(m.read.quote)
        spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n))
        cols = ", ".join(f"{clean(ident(f'c{pos[f]}'))} AS {ident(f)}" for f in m.source_fields)

        def quoted(file: Path) -> str:
            reader = (
                f"read_csv({lit(str(file))}, columns={{{spec}}}, header={str(m.read.header).lower()}, "
                f"delim={lit(m.read.delimiter)}, quote={q}, escape={q}, auto_detect=false, strict_mode=true, "
                f"all_varchar=true, encoding={enc}{_REJECT_OPTIONS})"
            )
            return (
                f"SELECT row_number() OVER () + {first - 1} AS _src_row, {n} AS _nf, NULL::VARCHAR AS _line, "
                f"{cols} FROM {reader}"
            )

        sql = quoted(path)
        offset = first - 1  # the quoted reader numbers the records after the header
    _clear_rejects(con)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_SRC} AS {sql} ORDER BY _src_row")
        mixed = m.read.quote is not None and _rejected(con) and _mixed_endings(path)
    except duckdb.Error as exc:
        if m.read.quote is None or not _mixed_endings(path):
            raise _reader_error(m, path, exc) from None
        mixed = True
    if mixed:
        # DuckDB's strict CSV reader fails on a file mixing CRLF and LF line endings: read a copy with LF
        # endings (same lines, so the same line numbers); any other problem is reported as it is
        _clear_rejects(con)
        with tempfile.TemporaryDirectory() as tmp:
            copy = _lf_copy(path, Path(tmp))
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {_SRC} AS {quoted(copy)} ORDER BY _src_row")
            except duckdb.Error as again:
                raise _reader_error(m, path, again) from None
    _set_aside_bad_rows(con, n, offset)
    rows = int(con.execute(f"SELECT count(*) FROM {_SRC}").fetchone()[0])
    return rows + int(con.execute(f"SELECT count(*) FROM {_BAD}").fetchone()[0])


_RJ, _RS = "_connector_reader_rejects", "_connector_reader_scans"
_REJECT_OPTIONS = f", store_rejects=true, rejects_table={lit(_RJ)}, rejects_scan={lit(_RS)}, rejects_limit=0"
_BAD = "_connector_bad_rows"
_READER_REASONS = {
    "MISSING COLUMNS": "too_few_fields",
    "TOO MANY COLUMNS": "too_many_fields",
    "INVALID ENCODING": "bad_encoding",
    "INVALID UNICODE": "bad_encoding",
    "UNQUOTED VALUE": "bad_quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}


def _clear_rejects(con: duckdb.DuckDBPyConnection) -> None:
    for name in (_RJ, _RS, _BAD):
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _rejected(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        f"SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = {lit(_RJ)}"
    ).fetchone()[0]
    return bool(found) and bool(con.execute(f"SELECT count(*) FROM {_RJ}").fetchone()[0])


def _set_aside_bad_rows(con: duckdb.DuckDBPyConnection, n: int, offset: int) -> None:
    """Move the rows that cannot be read as rows into _BAD (_src_row, reason, message, raw), to be quarantined:
    the lines the reader rejected (not UTF-8, an open quote, too few or many fields) and, for a file read line by
    line, lines with another number of fields than the header. The readable rows' _src_row is moved past the
    rejected lines before them (the reader numbers only what it returns)."""
    con.execute(f"CREATE TEMP TABLE {_BAD} (_src_row BIGINT, reason VARCHAR, message VARCHAR, raw VARCHAR)")
    if _rejected(con):
        cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in _READER_REASONS.items())
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _connector_rejected AS SELECT line, row_number() OVER (ORDER BY line) "
            f"AS k, CASE error_type {cases} ELSE 'unreadable_row' END AS reason, error_message, csv_line FROM "
            f"(SELECT *, row_number() OVER (PARTITION BY line ORDER BY scan_id) AS d FROM {_RJ}) WHERE d = 1"
        )
        con.execute(
            f"UPDATE {_SRC} SET _src_row = _src_row + (SELECT count(*) FROM _connector_rejected AS j "
            f"WHERE j.line - {offset} - j.k < {_SRC}._src_row - {offset})"
        )
        found = "coalesce(nullif(regexp_extract(error_message, 'Found: (\\d+)', 1), ''), 'another number of')"
        con.execute(
            f"INSERT INTO {_BAD} SELECT line, reason, 'line ' || line || ': ' || CASE reason "
            f"WHEN 'too_few_fields' THEN {found} || ' field(s), the header has {n}' "
            f"WHEN 'too_many_fields' THEN {found} || ' fields, the header has {n}' "
            "WHEN 'bad_encoding' THEN 'the text is not in the mapping''s read.encoding' "
            "WHEN 'bad_quoting' THEN 'a quoted field is not closed, or text follows its closing quote' "
            "ELSE error_message END, csv_line FROM _connector_rejected"
        )
        con.execute("DROP TABLE _connector_rejected")
    con.execute(
        f"INSERT INTO {_BAD} SELECT _src_row, CASE WHEN _nf < {n} THEN 'too_few_fields' ELSE 'too_many_fields' END, "
        f"'line ' || _src_row || ': ' || _nf || ' field(s), the header has {n} (a stray delimiter, or a truncated "
        f"line)', _line FROM {_SRC} WHERE _nf <> {n}"
    )
    con.execute(f"DELETE FROM {_SRC} WHERE _nf <> {n}")


def _json_path(field: str) -> str:
    """A dotted field path (``via.channel``) as a DuckDB JSONPath literal (``'$."via"."channel"'``)."""
    return lit("$" + "".join(f'."{part.strip()}"' for part in field.split(".")))


def _stage_json(con: duckdb.DuckDBPyConnection, m: Mapping, path: Path) -> int:
    """``stage_source`` for ``read.format: json``: the file's JSON values (JSON lines, a top-level array,
    or one or more documents, optionally gzipped) give the records: each value, or with ``read.records``
    the elements of the array at that path in each value. ``_src_row`` is the record's number (1-based,
    in file order, across documents). A source field is a dotted path in the record, or ``NAME.path`` in
    the object of the ``read.join`` NAME whose key equals the record's ``on`` value (first one wins)."""
    docs = (
        f"SELECT row_number() OVER () AS _doc, json AS _j FROM read_json_objects({lit(str(path))}, "
        f"format='auto', maximum_object_size={1 << 30})"
    )

    def elements(array: str) -> str:
        listed = f"SELECT _doc, json_extract(_j, {_json_path(array)[:-1]}[*]') AS _l FROM docs"
        return f"SELECT _doc, unnest(range(1, len(_l) + 1)) AS _i, unnest(_l) AS _o FROM ({listed})"

    if m.read.records is not None:
        recs = f"SELECT row_number() OVER (ORDER BY _doc, _i) AS _src_row, _o AS _r FROM ({elements(m.read.records)})"
    else:
        recs = "SELECT _doc AS _src_row, _j AS _r FROM docs"
    ctes = [f"docs AS ({docs})", f"recs AS ({recs})"]
    joins = ""
    alias = {}
    for i, (name, j) in enumerate(m.read.join.items()):
        a = f"_j{i}"
        alias[name] = a
        side = (
            f"SELECT json_extract_string(_o, {_json_path(j.key)}) AS _k, first(_o ORDER BY _doc, _i) AS _o "
            f"FROM ({elements(j.records)}) GROUP BY 1 HAVING _k IS NOT NULL"
        )
        ctes.append(f"{a} AS ({side})")
        joins += f" LEFT JOIN {a} ON {a}._k = json_extract_string(recs._r, {_json_path(j.on)})"
    nulls = ", ".join(lit(v) for v in m.read.null_values)

    def field(f: str) -> str:
        head, _, rest = f.partition(".")
        x = (
            f"json_extract_string({alias[head]}._o, {_json_path(rest)})"
            if head in alias and rest
            else f"json_extract_string(recs._r, {_json_path(f)})"
        )
        t = f"trim({x}, ' ' || chr(9) || chr(13))"
        test = f"{t} = ''" + (f" OR list_contains([{nulls}], {t})" if nulls else "")
        return f"CASE WHEN {test} THEN NULL ELSE {t} END AS {ident(f)}"

    cols = ", ".join(field(f) for f in m.source_fields)
    sql = (
        f"WITH {', '.join(ctes)} SELECT recs._src_row, {len(m.source_fields)} AS _nf, {cols} "
        f"FROM recs{joins} ORDER BY recs._src_row"
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_SRC} AS {sql}")
        n = int(con.execute(f"SELECT count(*) FROM {_SRC}").fetchone()[0])
        n_docs = int(con.execute(f"SELECT count(*) FROM ({docs})").fetchone()[0]) if n == 0 else 0
    except duckdb.Error as exc:
        raise IngestError(
            f"{path}: cannot read the file as JSON ({read_error_text(exc)}); nothing was ingested"
        ) from None
    if n == 0 and n_docs and m.read.records is not None:
        raise IngestError(
            f"{path}: no records at {m.read.records!r} (read.records of mapping {m.name!r}): the file's JSON "
            "has no such array; nothing was ingested"
        )
    return n


def _raw_open(path: Path):  # noqa: ANN202
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _mixed_endings(path: Path) -> bool:
    crlf = lf = False
    prev = b""
    with _raw_open(path) as fh:
        while chunk := fh.read(1 << 20):
            block = prev + chunk
            n_lf = block.count(b"\n")
            n_crlf = block.count(b"\r\n")
            crlf = crlf or n_crlf > 0
            lf = lf or n_lf > n_crlf
            if crlf and lf:
                return True
            prev = chunk[-1:]
            if prev == b"\n":
                prev = b""
    return False


def _lf_copy(path: Path, folder: Path) -> Path:
    """A copy of the file (decompressed) with CRLF line endings written as LF, read in 1 MiB chunks."""
    out = folder / "source.csv"
    with _raw_open(path) as src, open(out, "wb") as dst:
        carry = b""
        while chunk := src.read(1 << 20):
            block = carry + chunk
            carry = b"\r" if block.endswith(b"\r") else b""
            if carry:
                block = block[:-1]
            dst.write(block.replace(b"\r\n", b"\n"))
        dst.write(carry)
    return out


def _check_timezone(m: Mapping, path: Path, timezone: str | None) -> None:
    if timezone is not None:
        return
    naive = [
        n
        for n in m.columns
        if (c := m.column(n)).format is not None or (c.cases and any(s.format for s in c.cases))
    ]
    if naive:
        raise IngestError(
            f"{path}: mapping {m.name!r} reads local times without a zone ({', '.join(naive)}) and declares "
            "no time zone; pass --timezone (an IANA name such as Europe/London) or set timezone: in the "
            "mapping; nothing was ingested"
        )


_MAPPED = "_connector_mapped"
_BATCH_ROWS = 100_000


@contextmanager
def _sandbox(store: FactsStore) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB for reading the source and running the mapping, set up as the store's connection
    (time zone UTC, insertion order kept, the same threads and memory limit). The facts store is not in it."""
    threads, memory = store.con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')"
    ).fetchone()
    box = duckdb.connect(":memory:", config={"threads": int(threads), "memory_limit": str(memory)})
    try:
        box.execute("SET TimeZone = 'UTC'")
        box.execute("SET preserve_insertion_order = true")
        box.execute("SET enable_progress_bar = true")
        box.execute("SET enable_progress_bar_print = false")
        yield box
    finally:
        box.close()


def _set_aside_held_rows(box: duckdb.DuckDBPyConnection) -> None:
    """Move the units a `quarantine` rule of the mapping holds (and no skip rule skips: the source says to
    ignore those) from _MAPPED into _BAD, to be quarantined with their reason, message and source values."""
    box.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_BAD} (_src_row BIGINT, reason VARCHAR, message VARCHAR, raw VARCHAR)"
    )
    held = "_hold IS NOT NULL AND _skip IS NULL"
    box.execute(
        f"INSERT INTO {_BAD} SELECT _src_row, _hold, 'row ' || _src_row || ': ' || _hold_msg, "
        "CAST(json_object('source_row', CAST(_src_row AS VARCHAR), 'source_values', _src_raw) AS VARCHAR) "
        f"FROM {_MAPPED} WHERE {held}"
    )
    box.execute(f"DELETE FROM {_MAPPED} WHERE {held}")
    box.execute(f"ALTER TABLE {_MAPPED} DROP COLUMN _hold")
    box.execute(f"ALTER TABLE {_MAPPED} DROP COLUMN _hold_msg")


def _bad_rows(box: duckdb.DuckDBPyConnection) -> Any:
    """The rows set aside by stage_source (an Arrow table), or None when there are none."""
    exists = box.execute(f"SELECT count(*) FROM duckdb_tables() WHERE table_name = {lit(_BAD)}").fetchone()[0]
    if not exists or not box.execute(f"SELECT count(*) FROM {_BAD}").fetchone()[0]:
        return None
    return box.execute(f"SELECT * FROM {_BAD} ORDER BY _src_row").to_arrow_table()


def _quarantining(bad: Any, check: Check | None) -> Check | None:
    """The store's check for a mapped ingest: first quarantine the rows the reader could not read (they count
    as rows of the batch, quarantined), then the caller's check."""
    if bad is None:
        return check

    def run(con: duckdb.DuckDBPyConnection, summary: IngestSummary) -> None:
        from outcomes.facts.quarantine import quarantine_once

        name = "_connector_bad"
        con.register(name, bad)
        try:
            con.execute(
                f"INSERT INTO quarantine SELECT {int(summary.batch)}, {lit(summary.kind)}, {lit(summary.file)}, "
                f"_src_row, NULL, reason, message, raw FROM {name} ORDER BY _src_row"
            )
            found = {
                str(r): int(k) for r, k in con.execute(f"SELECT reason, count(*) FROM {name} GROUP BY 1").fetchall()
            }
        finally:
            con.unregister(name)
        n = sum(found.values())
        reasons = dict(summary.reasons)
        for reason, k in found.items():
            reasons[reason] = reasons.get(reason, 0) + k
        summary.rows += n
        summary.quarantined += n
        summary.reasons = dict(sorted(reasons.items()))
        con.execute(
            "UPDATE batches SET rows = ?, quarantined = ?, reasons = ? WHERE batch = ?",
            [summary.rows, summary.quarantined, json.dumps(summary.reasons, sort_keys=True), summary.batch],
        )
        quarantine_once(con, int(summary.batch))
        if check is not None:
            check(con, summary)

    return run


def _lock_down(box: duckdb.DuckDBPyConnection) -> None:
    """The source is read: from here on the connection opens no file, attaches nothing, loads no extension,
    and no SQL can switch that back (issue 15: a mapping cannot reach outside its source)."""
    box.execute("SET enable_external_access = false")
    box.execute("SET lock_configuration = true")


def _map(box: duckdb.DuckDBPyConnection, sql: str, m: Mapping, path: Path, progress: Progress | None) -> None:
    """Run the compiled mapping into the table _MAPPED (then drop the staged source)."""
    report = progress or (lambda stage, done, total: None)
    outcome: dict[str, BaseException] = {}

    def work() -> None:
        try:
            box.execute(f"CREATE TEMP TABLE {_MAPPED} AS {sql}")
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    report("read", 0, 100)
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
            pct = box.query_progress()
            if pct is not None and 0 <= pct < 100:
                report("read", int(pct), 100)
    except BaseException:
        box.interrupt()
        worker.join()
        raise
    error = outcome.get("error")
    if isinstance(error, duckdb.PermissionException):
        raise MappingError(
            f"{path}: mapping {m.name!r} tried to read outside its source ({read_error_text(error)}); "
            "nothing was ingested"
        ) from None
    if isinstance(error, duckdb.InterruptException):
        raise KeyboardInterrupt from error
    if isinstance(error, duckdb.Error):
        raise IngestError(
            f"{path}: mapping {m.name!r} cannot compute its columns ({read_error_text(error)}); nothing was "
            "ingested"
        ) from None
    if error is not None:
        raise error
    box.execute(f"DROP TABLE IF EXISTS temp.{_SRC}")


def ingest_mapped(
    store: FactsStore,
    kind: str,
    file: Path | str,
    mapping: str | Path | Mapping,
    *,
    timezone: str | None = None,
    params: dict[str, str] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    check: Check | None = None,
) -> MappedIngestSummary:
    """Ingest one source file through a mapping, as one batch, all or nothing. ``params`` gives the
    mapping's parameters (``params:`` in the mapping, ``${NAME}`` in its expressions) as texts; ``check``
    runs before the batch commits (see FactsStore.ingest)."""
    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    path = Path(file)
    if kind != m.kind:
        raise MappingError(f"mapping {m.name!r} maps {m.kind}, not {kind}")
    unit = "events" if m.emit else "cases" if m.fold is not None else "rows"
    check_sql(m, f"mapping {m.name!r}")  # also when the mapping was not loaded from a file
    m = bind_params(m, params)
    tz = timezone or m.timezone
    _check_timezone(m, path, tz)
    with _sandbox(store) as box:
        source_rows = stage_source(box, m, path)
        _lock_down(box)
        _map(box, mapped_sql(m, f"SELECT * FROM {_SRC}", tz), m, path, progress)
        if m.quarantine:
            _set_aside_held_rows(box)
        # the mapped rows, streamed into the store: its connection never runs the mapping's SQL
        bad = _bad_rows(box)  # before the reader: a query on `box` would end the reader's stream
        reader = box.execute(f"SELECT * FROM {_MAPPED} ORDER BY _src_row").to_arrow_reader(_BATCH_ROWS)
        store.con.register(_MAPPED, reader)
        try:
            summary = store.ingest_relation(
                m.kind,  # type: ignore[arg-type]
                f"SELECT * FROM {_MAPPED}",
                source_file=path,
                fmt=f"mapping:{m.name}",
                timezone=tz,
                now=now,
                progress=progress,
                check=_quarantining(bad, check),
            )
        finally:
            store.con.unregister(_MAPPED)
    return MappedIngestSummary(
        **asdict(summary),
        mapping=m.name,
        unit=unit,
        source_rows=source_rows,
    )


def ingest_with_mapping(
    ws: Any,
    kind: str,
    file: Path,
    mapping: str | Path,
    *,
    timezone: str | None = None,
    params: dict[str, str] | None = None,
    progress: Progress | None = None,
    check: Check | None = None,
) -> MappedIngestSummary:
    """``outcomes ingest KIND FILE --mapping MAP [--param KEY=VALUE ...]``: ingest into the workspace's
    facts store. ``params``: the mapping's parameters (see ``cli_mapping.parse_params``)."""
    return ingest_mapped(
        ws.facts(), kind, file, mapping, timezone=timezone, params=params, progress=progress, check=check
    )


@dataclass
class CheckReport:
    mapping: str
    file: str
    unit: str
    source_rows: int
    summary: dict[str, Any]
    preview: list[dict[str, Any]]
    problems: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_mapping(
    mapping: str | Path,
    file: Path | str,
    *,
    rows: int = 5,
    timezone: str | None = None,
    params: dict[str, str] | None = None,
) -> CheckReport:
    """Dry run of a mapped ingest in a throwaway in-memory store: the first mapped rows, the summary it
    would give, and every canonical column that cannot be mapped (with the reason, count and an example)."""
    m = load_mapping(mapping)
    path = Path(file)
    with FactsStore(":memory:") as store:
        summary = ingest_mapped(store, m.kind, path, m, timezone=timezone, params=params)
        problems = [
            {"column": f or "", "reason": r, "rows": int(k), "example_row": int(row), "example": msg}
            for f, r, k, row, msg in store.con.execute(
                'SELECT field, reason, count(*), min("row"), arg_min(message, "row") FROM quarantine '
                "GROUP BY ALL ORDER BY 3 DESC, 1"
            ).fetchall()
        ]
        table = "interactions" if m.kind == "interactions" else "events"
        cur = store.con.execute(f"SELECT * EXCLUDE (_batch, _until, _hash) FROM {table} LIMIT {int(rows)}")
        names = [d[0] for d in cur.description]
        preview = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return CheckReport(
        m.name, str(path), summary.unit, summary.source_rows, summary.to_dict(), preview, problems
    )
