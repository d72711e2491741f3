"""A mapping cannot reach outside its source (issue 15, item 7): its SQL is checked before it is compiled, and
the mapping runs on a connection that cannot open files once the source is read."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outcomes.connectors import MappingError, ingest_mapped, load_mapping
from outcomes.facts import FactsStore

NOW = datetime(2026, 11, 1, tzinfo=UTC)

MAP = """
name: sandbox-test
kind: interactions
source_fields: [id, opened, who, n]
read: {delimiter: ",", quote: '"'}
constants: {source: crm, channel: chat, status: resolved}
columns:
  interaction_id: id
  opened_at: opened
  customer_id: who
  queue: {sql: "QUEUE"}
"""

DATA = "id,opened,who,n\n1,2026-10-01T09:00:00Z,c1,2\n2,2026-10-02T09:00:00Z,c2,0\n"


def _mapping(tmp: Path, queue_sql: str, extra: str = "") -> Path:
    text = MAP.replace('{sql: "QUEUE"}', "{sql: " + _yaml_quote(queue_sql) + "}") + extra
    f = tmp / "map.yaml"
    f.write_text(text)
    return f


def _yaml_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    f = tmp_path / "data.csv"
    f.write_text(DATA)
    return f


def test_the_issue_case_reading_the_host_name_is_refused_when_the_mapping_is_loaded(tmp_path, data):
    m = _mapping(tmp_path, "(SELECT content FROM read_text('/etc/hostname'))")
    with pytest.raises(MappingError, match=r"columns\.queue\.sql: .*(subquery|select) is not allowed"):
        load_mapping(m)
    with FactsStore(":memory:") as store, pytest.raises(MappingError):
        ingest_mapped(store, "interactions", data, m, now=NOW)
    # and nothing of the machine reached the facts
    with FactsStore(":memory:") as store:
        assert store.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("read_text('/etc/hostname')", "read_text"),
        ("getenv('HOME')", "getenv"),
        ("current_setting('threads')", "current_setting"),
        ("query('SELECT 1')", "query"),
        ("\"who\" IN (SELECT customer_id FROM interactions)", "not allowed"),
        ("(SELECT count(*) FROM interactions)", "not allowed"),
        ("count(*)", "not allowed"),
        ("row_number() OVER ()", "not allowed"),
        ("now()", "now"),
        ("random()", "not allowed"),
        ("interactions.queue", "names a table"),
        ("\"nosuch\"", "not a field of the source"),
        ("\"who\" -- and the rest of the query", "comments"),
        ("\"who\" /* a comment */", "comments"),
        ("'a'; DROP TABLE interactions", "';'"),
        ("E'\\'' || \"who\"", "may not follow"),
        ("$$x$$", "'\\$'"),
        ("\"who\" || '", "not closed"),
        ("", "expression"),
    ],
)
def test_mapping_sql_outside_the_allowed_expressions_is_refused(tmp_path, sql, why):
    with pytest.raises(MappingError, match=why):
        load_mapping(_mapping(tmp_path, sql))


def test_conditions_and_derived_values_are_checked_too(tmp_path):
    skip = "skip:\n  - {when: \"(SELECT true)\", reason: x}\n"
    with pytest.raises(MappingError, match=r"skip\[0\]\.when"):
        load_mapping(_mapping(tmp_path, "\"who\"", skip))
    derived = "helpers:\n  twice: {expr: \"{customer_id} || read_text('/etc/passwd')\"}\n"
    with pytest.raises(MappingError, match=r"helpers\.twice\.expr: .*read_text"):
        load_mapping(_mapping(tmp_path, "\"who\"", derived))


def test_allowed_expressions_still_work(tmp_path, data):
    m = _mapping(tmp_path, "upper(\"who\") || '-' || CAST(TRY_CAST(\"n\" AS INTEGER) * 2 AS VARCHAR)")
    with FactsStore(":memory:") as store:
        s = ingest_mapped(store, "interactions", data, m, now=NOW)
        assert s.accepted == 2
        queues = [r[0] for r in store.con.execute("SELECT queue FROM interactions ORDER BY interaction_id").fetchall()]
    assert queues == ["C1-4", "C2-0"]


def test_and_or_are_operators_not_functions(tmp_path, data):
    m = _mapping(tmp_path, "CASE WHEN \"n\" = '2' AND \"who\" = 'c1' OR \"n\" IS NULL THEN 'two' ELSE 'other' END")
    with FactsStore(":memory:") as store:
        ingest_mapped(store, "interactions", data, m, now=NOW)
        queues = [r[0] for r in store.con.execute("SELECT queue FROM interactions ORDER BY interaction_id").fetchall()]
    assert queues == ["two", "other"]


def test_even_an_expression_that_got_past_the_check_cannot_open_a_file(tmp_path, data, monkeypatch):
    """Defence in depth: with the check switched off, the mapping still runs where files cannot be opened."""
    import outcomes.connectors.expressions as expressions

    monkeypatch.setattr(expressions, "check_expression", lambda text, columns: None)
    secret = tmp_path / "secret.txt"
    secret.write_text(socket.gethostname())
    m = _mapping(tmp_path, f"(SELECT content FROM read_text('{secret}'))")
    with FactsStore(":memory:") as store:
        with pytest.raises(MappingError, match="tried to read outside its source"):
            ingest_mapped(store, "interactions", data, m, now=NOW)
        assert store.con.execute("SELECT count(*) FROM batches").fetchone()[0] == 0


def test_the_store_connection_never_loses_its_file_access(tmp_path, data):
    """The lock-down is the mapping's own connection's: the store can still read files after a mapped ingest."""
    m = _mapping(tmp_path, '"who"')
    with FactsStore(tmp_path / "facts.duckdb") as store:
        ingest_mapped(store, "interactions", data, m, now=NOW)
        assert store.con.execute(f"SELECT count(*) FROM read_csv('{data}')").fetchone()[0] == 2
        assert store.con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is True


def test_a_number_parameter_must_be_finite(tmp_path, data):
    extra = "params:\n  k: {type: number, required: true}\n"
    m = _mapping(tmp_path, '"who" || CAST(${k} AS VARCHAR)', extra)
    with FactsStore(":memory:") as store, pytest.raises(MappingError, match="must be a number"):
        ingest_mapped(store, "interactions", data, m, params={"k": "nan"}, now=NOW)
