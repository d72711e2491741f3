"""Hostile data files (issue 15, item 3): a bad row is quarantined with its line and reason, the rest is read; a
re-ingest does not repeat the quarantine; a typed file with columns of the wrong type is refused column by column."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outcomes.facts import FactsStore, IngestError

NOW = datetime(2027, 1, 1, tzinfo=UTC)
HEADER = "interaction_id,source,channel,opened_at,status,intent"


def row(i: str, *, opened: str = "2026-10-01T09:00:00Z", intent: str = "billing", source: str = "crm") -> str:
    return f"{i},{source},chat,{opened},resolved,{intent}"


@pytest.fixture
def store():
    with FactsStore(":memory:") as s:
        yield s


def _file(tmp_path: Path, lines: list[str], name: str = "f.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    data = ("\n".join(lines) + "\n").encode(encoding)
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _quarantine(store: FactsStore) -> list[tuple]:
    return [(q["batch"], q["row"], q["reason"], q["field"]) for q in store.quarantine()]


def _ids(store: FactsStore) -> list[str]:
    return sorted(r[0] for r in store.con.execute("SELECT interaction_id FROM interactions").fetchall())


# ---------------------------------------------------------------------------------- rows the reader rejects


@pytest.mark.parametrize("gz", [False, True])
def test_a_short_a_long_and_a_latin1_row_are_quarantined_and_the_rest_is_read(store, tmp_path, gz):
    lines = [
        HEADER,
        row("a"),
        "b,crm,chat",  # line 3: too few fields
        row("c") + ",extra",  # line 4: too many
        row("d", opened="not-a-time"),  # line 5: a readable row with a bad value
        row("e", intent="caf\xe9"),  # line 6: latin-1 in a UTF-8 file
        row("f"),
    ]
    f = _file(tmp_path, lines, "f.csv.gz" if gz else "f.csv", encoding="latin-1")
    s = store.ingest("interactions", f, now=NOW)
    assert (s.rows, s.accepted, s.quarantined) == (6, 2, 4)
    assert s.reasons == {"too_few_fields": 1, "too_many_fields": 1, "bad_timestamp": 1, "bad_encoding": 1}
    assert _ids(store) == ["a", "f"]
    assert _quarantine(store) == [
        (1, 2, "too_few_fields", None),
        (1, 3, "too_many_fields", None),
        (1, 4, "bad_timestamp", "opened_at"),
        (1, 5, "bad_encoding", None),
    ]
    messages = {q["reason"]: q["message"] for q in store.quarantine()}
    assert messages["too_few_fields"] == "line 3: 3 field(s), the header has 6"
    assert messages["too_many_fields"] == "line 4: 7 fields, the header has 6"
    assert messages["bad_encoding"].startswith("line 6: the text is not UTF-8")
    raw = {q["reason"]: q["raw"] for q in store.quarantine()}
    assert raw["too_few_fields"] == "b,crm,chat"  # the line as written, to fix it from
    batch = store.batches()[0]
    assert (batch["rows"], batch["quarantined"]) == (6, 4)


def test_row_numbers_after_rejected_rows_are_the_rows_of_the_file(store, tmp_path):
    lines = [HEADER, "x,crm", row("a"), "y,crm", row("b", opened="bad"), row("c"), row("c", intent="other")]
    s = store.ingest("interactions", _file(tmp_path, lines), now=NOW)
    got = {(q["row"], q["reason"]): q["message"] for q in store.quarantine()}
    assert sorted(got) == [(1, "too_few_fields"), (3, "too_few_fields"), (4, "bad_timestamp"),
                           (5, "duplicate_id"), (6, "duplicate_id")]  # fmt: skip
    assert got[(5, "duplicate_id")].endswith("(rows 5, 6)")
    assert s.rows == 6


def test_crlf_files_and_quoted_fields_keep_their_line_numbers(store, tmp_path):
    lines = [HEADER, row("a", intent='"has, a comma"'), "b,crm", row("c")]
    f = tmp_path / "crlf.csv"
    f.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    s = store.ingest("interactions", f, now=NOW)
    assert (s.accepted, s.quarantined) == (2, 1)
    assert [(q["row"], q["reason"], q["message"]) for q in store.quarantine()] == [
        (2, "too_few_fields", "line 3: 2 field(s), the header has 6")
    ]


def test_a_file_of_nothing_but_bad_rows_is_read_and_all_quarantined(store, tmp_path):
    s = store.ingest("interactions", _file(tmp_path, [HEADER, "a", "b,c", "d,e,f"]), now=NOW)
    assert (s.rows, s.accepted, s.quarantined) == (3, 0, 3)


# ------------------------------------------------------------------------- NUL bytes and overlong fields


def test_nul_bytes_and_overlong_fields_are_quarantined(store, tmp_path):
    lines = [HEADER, row("a"), row("b", intent="nul\x00here"), row("c", intent="y" * 1001), row("d", intent="y" * 1000)]
    s = store.ingest("interactions", _file(tmp_path, lines), now=NOW)
    assert _ids(store) == ["a", "d"]
    assert _quarantine(store) == [(1, 2, "nul_byte", "intent"), (1, 3, "field_too_long", "intent")]
    assert s.reasons == {"nul_byte": 1, "field_too_long": 1}


def test_nul_bytes_in_json_lines_and_parquet_are_quarantined_too(store, tmp_path):
    jl = tmp_path / "f.jsonl"
    jl.write_text(
        '{"interaction_id": "a\\u0000", "source": "crm", "channel": "chat", '
        '"opened_at": "2026-10-01T09:00:00Z", "status": "resolved"}\n'
    )
    assert store.ingest("interactions", jl, now=NOW).reasons == {"nul_byte": 1}
    table = pa.table(
        {
            "interaction_id": ["p", "q" * 2000],
            "source": ["crm", "crm"],
            "channel": ["chat", "chat"],
            "opened_at": pa.array([datetime(2026, 10, 1, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC")),
            "status": ["resolved", "resolved"],
        }
    )
    pq.write_table(table, tmp_path / "f.parquet")
    assert store.ingest("interactions", tmp_path / "f.parquet", now=NOW).reasons == {"field_too_long": 1}


# ----------------------------------------------------------------------------------- quarantine, once


def test_a_reingest_does_not_duplicate_the_quarantine(store, tmp_path):
    lines = [HEADER, row("a"), "b,crm", row("c", opened="bad"), row("d", intent="x\x00")]
    f = _file(tmp_path, lines)
    first = store.ingest("interactions", f, now=NOW)
    second = store.ingest("interactions", f, now=NOW)
    assert first.quarantined == second.quarantined == 3  # each attempt says what it refused ...
    assert len(store.quarantine()) == 3  # ... and the quarantine lists each refused row once
    assert len(store.quarantine(second.batch)) == 0


def test_a_row_refused_again_for_another_reason_is_listed_again(store, tmp_path):
    store.ingest("interactions", _file(tmp_path, [HEADER, row("a", opened="bad")]), now=NOW)
    store.ingest("interactions", _file(tmp_path, [HEADER, row("a", opened="2026-10-01T09:00:00")]), now=NOW)
    assert [q["reason"] for q in store.quarantine()] == ["bad_timestamp", "missing_timezone"]


# --------------------------------------------------------------------------- Parquet of the wrong types


def test_a_parquet_file_with_wrong_types_is_refused_column_by_column(store, tmp_path):
    table = pa.table(
        {
            "interaction_id": ["a"],
            "source": ["crm"],
            "channel": [3],  # an enum as a number
            "opened_at": [1790000000],  # epoch seconds? milliseconds? refused rather than guessed
            "status": ["resolved"],
            "csat": [True],  # a score as a boolean
            "reopened": [datetime(2026, 1, 1)],
        }
    )
    pq.write_table(table, tmp_path / "typed.parquet")
    with pytest.raises(IngestError) as err:
        store.ingest("interactions", tmp_path / "typed.parquet", now=NOW)
    text = str(err.value)
    assert "4 column(s) of the wrong type" in text
    assert "channel is BIGINT, expected text (VARCHAR)" in text
    assert "opened_at is BIGINT, expected a timestamp" in text
    assert "csat is BOOLEAN, expected a whole number" in text
    assert "reopened is TIMESTAMP, expected a boolean" in text
    assert store.batches() == []


def test_parquet_with_the_usual_types_is_accepted(store, tmp_path):
    table = pa.table(
        {
            "interaction_id": pa.array([1, 2], pa.int64()),  # numeric ids are ids
            "source": ["crm", "crm"],
            "channel": ["chat", "chat"],
            "opened_at": pa.array([datetime(2026, 10, 1, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC")),
            "status": ["resolved", "resolved"],
            "csat": pa.array([5, 4], pa.int8()),
            "reopened": [False, True],
            "wait_seconds": [1.5, 2.0],
        }
    )
    pq.write_table(table, tmp_path / "ok.parquet")
    assert store.ingest("interactions", tmp_path / "ok.parquet", now=NOW).accepted == 2
