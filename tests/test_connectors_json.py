"""JSON sources in connector mappings: the built-in zendesk-json mapping (Zendesk ticket API / export
shape with the metric_sets sideload), JSON lines, nested paths and joins."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outcomes.connectors import MappingError, check_mapping, ingest_mapped, load_mapping
from outcomes.facts import FactsStore, IngestError

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _ticket(
    tid: int,
    status: str,
    *,
    requester: int | None = 100,
    assignee: int | None = 7,
    channel: str = "email",
    score: str = "unoffered",
    created: str = "2026-10-01T09:00:00Z",
) -> dict:
    return {
        "url": f"https://acme.zendesk.com/api/v2/tickets/{tid}.json",
        "id": tid,
        "subject": f"Ticket {tid}",
        "requester_id": requester,
        "submitter_id": requester,
        "assignee_id": assignee,
        "group_id": 360001,
        "status": status,
        "priority": "normal",
        "tags": ["billing"],
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": created,
        "updated_at": "2026-10-03T10:00:00Z",
        "satisfaction_rating": {"score": score, "comment": None, "id": None},
        "custom_fields": [{"id": 1, "value": None}],
    }


def _metrics(tid: int, *, reopens: int, solved_at: str | None, reply: int | None, full: int | None) -> dict:
    return {
        "id": 9000 + tid,
        "ticket_id": tid,
        "reopens": reopens,
        "replies": 2,
        "solved_at": solved_at,
        "reply_time_in_minutes": {"business": None, "calendar": reply},
        "first_resolution_time_in_minutes": {"business": None, "calendar": full},
        "full_resolution_time_in_minutes": {"business": None, "calendar": full},
    }


TICKETS = [
    _ticket(1, "solved", channel="email", score="good"),
    _ticket(2, "closed", channel="native_messaging", score="bad"),  # reopened twice
    _ticket(3, "open", requester=None, assignee=None, channel="web"),  # missing requester
    _ticket(4, "pending", channel="voice", score="offered"),
    _ticket(5, "archived", channel="chat"),  # unknown status: quarantined as record 5
    _ticket(6, "deleted", channel="api"),  # skipped
]
METRICS = [
    _metrics(1, reopens=0, solved_at="2026-10-01T09:30:00Z", reply=10, full=30),
    _metrics(2, reopens=2, solved_at="2026-10-02T09:00:00Z", reply=5, full=1440),
    _metrics(3, reopens=0, solved_at=None, reply=None, full=None),
    _metrics(4, reopens=1, solved_at=None, reply=3, full=None),
]


@pytest.fixture
def store():
    with FactsStore(":memory:") as s:
        yield s


def _doc(tmp: Path, name: str = "tickets.json", tickets=TICKETS, metrics=METRICS) -> Path:
    p = tmp / name
    text = json.dumps(
        {"tickets": tickets, "metric_sets": metrics, "next_page": None, "count": len(tickets)}, indent=2
    )
    p.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    return p


def _rows(store: FactsStore) -> dict[str, dict]:
    cur = store.con.execute("SELECT * FROM interactions WHERE _until IS NULL ORDER BY interaction_id")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _balanced(s) -> None:
    assert s.rows == s.accepted + s.duplicates + s.updated + s.quarantined + s.skipped
    assert sum(s.reasons.values()) == s.quarantined + s.skipped


def test_zendesk_json_document_with_metric_sets(store, tmp_path):
    file = _doc(tmp_path)
    s = ingest_mapped(store, "interactions", file, "zendesk-json", now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined, s.skipped) == (6, 4, 1, 1)
    assert s.reasons == {"deleted_ticket": 1, "unknown_status": 1}
    assert s.source_rows == 6 and s.mapping == "zendesk-json"
    rows = _rows(store)
    assert set(rows) == {"1", "2", "3", "4"}
    t1, t2, t3, t4 = rows["1"], rows["2"], rows["3"], rows["4"]
    assert (t1["source"], t1["channel"], t1["status"], t1["csat"]) == ("zendesk", "email", "resolved", 5)
    assert t1["opened_at"] == datetime(2026, 10, 1, 9, 0) and t1["closed_at"] == datetime(2026, 10, 1, 9, 30)
    assert (t1["customer_id"], t1["agent_id"], t1["handled_by"], t1["queue"]) == (
        "100",
        "7",
        "agent",
        "360001",
    )
    assert (t1["reopened"], t1["wait_seconds"], t1["handle_seconds"]) == (False, 600, 1800)
    assert (t2["channel"], t2["csat"], t2["reopened"], t2["status"]) == ("messaging", 1, True, "resolved")
    assert t2["handle_seconds"] == 86400
    assert t3["customer_id"] is None and t3["agent_id"] is None and t3["handled_by"] is None
    assert (t3["status"], t3["closed_at"], t3["channel"], t3["csat"]) == ("open", None, "email", None)
    assert (t4["status"], t4["channel"], t4["csat"], t4["reopened"]) == ("pending", "voice", None, True)
    q = store.quarantine()
    assert len(q) == 1
    assert q[0]["row"] == 5 and q[0]["reason"] == "unknown_status" and "archived" in q[0]["message"]
    assert q[0]["file"] == str(file)


def test_reingest_adds_nothing(store, tmp_path):
    file = _doc(tmp_path)
    ingest_mapped(store, "interactions", file, "zendesk-json", now=NOW)
    digest = store.digest()
    s = ingest_mapped(store, "interactions", file, "zendesk-json", now=NOW)
    assert s.accepted == 0 and s.duplicates == 4 and s.updated == 0
    assert store.digest() == digest


def test_pages_as_json_lines_gzipped_number_records_across_pages(store, tmp_path):
    # one API page per line; a ticket's metric set may sit in another page
    pages = [
        {"tickets": TICKETS[:3], "metric_sets": METRICS[:1] + METRICS[3:]},
        {"tickets": TICKETS[3:], "metric_sets": METRICS[1:3]},
    ]
    p = tmp_path / "pages.jsonl.gz"
    p.write_bytes(gzip.compress("\n".join(json.dumps(x) for x in pages).encode()))
    s = ingest_mapped(store, "interactions", p, "zendesk-json", now=NOW)
    assert (s.rows, s.accepted, s.quarantined, s.skipped) == (6, 4, 1, 1)
    assert store.quarantine()[0]["row"] == 5
    rows = _rows(store)
    assert rows["2"]["reopened"] is True and rows["4"]["reopened"] is True


def test_without_sideload_metrics_are_empty(store, tmp_path):
    file = _doc(tmp_path, metrics=[])
    s = ingest_mapped(store, "interactions", file, "zendesk-json", now=NOW)
    # the solved ticket has no solve time: quarantined, not accepted as resolved with an empty closed_at
    assert (s.accepted, s.quarantined, s.skipped) == (3, 2, 1)
    assert s.reasons == {"deleted_ticket": 1, "missing_solved_at": 1, "unknown_status": 1}
    rows = _rows(store)
    assert "1" not in rows
    # the closed one closed at its last update (a closed ticket cannot change afterwards)
    t2 = rows["2"]
    assert t2["closed_at"] == datetime(2026, 10, 3, 10, 0) and t2["status"] == "resolved"
    assert t2["reopened"] is None and t2["csat"] == 1 and t2["handle_seconds"] is None


def test_json_lines_of_records_and_nested_paths(store, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        """
name: lines
kind: interactions
source_fields: [id, who.id, via.channel, status, at, tags]
read: {format: json, null_values: ["n/a"]}
constants: {source: helpdesk}
columns:
  interaction_id: id
  customer_id: who.id
  channel: via.channel
  status: status
  opened_at: at
  queue: tags
"""
    )
    lines = [
        {
            "id": "a",
            "who": {"id": 1},
            "via": {"channel": "chat"},
            "status": "open",
            "at": "2026-10-01T09:00:00Z",
            "tags": ["x"],
        },
        {
            "id": "b",
            "who": {"id": "n/a"},
            "via": {"channel": "voice"},
            "status": "bogus",
            "at": "2026-10-01T09:00:00Z",
        },
        {
            "id": "c",
            "who": None,
            "via": {"channel": "email"},
            "status": "open",
            "at": "2026-10-01T10:00:00+02:00",
        },
    ]
    file = tmp_path / "t.jsonl"
    file.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    s = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    assert (s.rows, s.accepted, s.quarantined) == (3, 2, 1)
    assert store.quarantine()[0]["row"] == 2
    rows = _rows(store)
    assert rows["a"]["customer_id"] == "1" and rows["a"]["queue"] == '["x"]'
    assert rows["c"]["customer_id"] is None and rows["c"]["opened_at"] == datetime(2026, 10, 1, 8, 0)
    # a top-level array is read the same way
    arr = tmp_path / "t.json"
    arr.write_text(json.dumps(lines))
    with FactsStore(":memory:") as other:
        s2 = ingest_mapped(other, "interactions", arr, mapping, now=NOW)
        assert (s2.rows, s2.accepted, s2.quarantined) == (3, 2, 1)


def test_bad_json_and_missing_records(store, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"tickets": [{"id": 1}, ')
    with pytest.raises(IngestError, match="bad.json: cannot read the file as JSON"):
        ingest_mapped(store, "interactions", bad, "zendesk-json", now=NOW)
    other = tmp_path / "other.json"
    other.write_text('{"users": [{"id": 1}]}')
    with pytest.raises(IngestError, match="no records at 'tickets'"):
        ingest_mapped(store, "interactions", other, "zendesk-json", now=NOW)
    assert store.batches() == []


def test_mapping_checks(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text(
        "name: x\nkind: interactions\nsource_fields: [id, s, t]\nread: {records: tickets}\n"
        "constants: {source: s, channel: chat}\ncolumns: {interaction_id: id, status: s, opened_at: t}\n"
    )
    with pytest.raises(MappingError, match="need read.format: json"):
        load_mapping(m)
    m.write_text(
        "name: x\nkind: interactions\nsource_fields: [id, a..b, t]\nread: {format: json}\n"
        "constants: {source: s, channel: chat}\ncolumns: {interaction_id: id, status: a..b, opened_at: t}\n"
    )
    with pytest.raises(MappingError, match="not a dotted field path"):
        load_mapping(m)


def test_check_mapping_preview(tmp_path):
    report = check_mapping("zendesk-json", _doc(tmp_path), rows=2)
    assert report.source_rows == 6 and len(report.preview) == 2
    assert report.problems[0]["reason"] == "unknown_status" and report.problems[0]["example_row"] == 5
