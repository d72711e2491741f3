"""Helpdesk API JSON through the built-in mappings: Zendesk tickets without a metric set (closed: closed at
their last update; solved: quarantined, never resolved without a time), Freshdesk API v2 tickets and Intercom
conversations (list pages and JSON lines), written in the shapes the vendors document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk_api import (
    freshdesk_ticket,
    intercom_conversation,
    intercom_page,
    zendesk_metrics,
    zendesk_ticket,
)
from outcomes.connectors import MappingError, check_mapping, ingest_mapped, load_mapping
from outcomes.facts import FactsStore

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def store():
    with FactsStore(":memory:") as s:
        yield s


def _rows(store: FactsStore) -> dict[str, dict]:
    cur = store.con.execute("SELECT * FROM interactions WHERE _until IS NULL ORDER BY interaction_id")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _balanced(s) -> None:
    assert s.rows == s.accepted + s.duplicates + s.updated + s.quarantined + s.skipped
    assert sum(s.reasons.values()) == s.quarantined + s.skipped


def _write(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


# --- Zendesk: no metric set ---------------------------------------------------------------------------------


def test_zendesk_ticket_without_metric_set_is_never_resolved_without_a_close_time(store, tmp_path):
    tickets = [
        zendesk_ticket(1, "closed", updated="2026-10-06T08:00:00Z"),  # no metric set: closed at its last update
        zendesk_ticket(2, "solved", updated="2026-10-02T12:00:00Z"),  # no metric set: quarantined
        zendesk_ticket(3, "solved", updated="2026-10-02T12:00:00Z"),  # metric set: its solved_at
        zendesk_ticket(4, "closed", updated="2026-10-07T08:00:00Z"),  # metric set wins over updated_at
        zendesk_ticket(5, "open"),
    ]
    metrics = [zendesk_metrics(3, "2026-10-01T11:00:00Z"), zendesk_metrics(4, "2026-10-03T08:00:00Z")]
    file = _write(tmp_path / "page.json", {"tickets": tickets, "metric_sets": metrics, "end_of_stream": True})
    s = ingest_mapped(store, "interactions", file, "zendesk-json", now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined) == (5, 4, 1)
    assert s.reasons == {"missing_solved_at": 1}
    rows = _rows(store)
    assert rows["1"]["status"] == "resolved" and rows["1"]["closed_at"] == datetime(2026, 10, 6, 8, 0)
    assert rows["3"]["closed_at"] == datetime(2026, 10, 1, 11, 0)
    assert rows["4"]["closed_at"] == datetime(2026, 10, 3, 8, 0)
    assert rows["5"]["closed_at"] is None
    # no resolved interaction lacks its close time: every one of them can be billed
    assert not [r for r in rows.values() if r["status"] == "resolved" and r["closed_at"] is None]
    (q,) = store.quarantine()
    assert (q["row"], q["field"], q["reason"]) == (2, "closed_at", "missing_solved_at")
    assert "ticket 2 is solved" in q["message"] and "include=metric_sets" in q["message"]
    assert json.loads(q["raw"])["status"] == "solved"


def test_zendesk_deleted_ticket_is_skipped_not_held(store, tmp_path):
    file = _write(tmp_path / "p.json", {"tickets": [zendesk_ticket(9, "deleted")], "metric_sets": []})
    s = ingest_mapped(store, "interactions", file, "zendesk-json", now=NOW)
    assert (s.skipped, s.quarantined, s.reasons) == (1, 0, {"deleted_ticket": 1})


# --- Freshdesk ----------------------------------------------------------------------------------------------

FRESHDESK = [
    freshdesk_ticket(1, 4, resolved_at="2026-10-01T10:00:00Z", source=1),
    freshdesk_ticket(2, 5, resolved_at="2026-10-01T11:00:00Z", closed_at="2026-10-04T11:00:00Z", source=3),
    freshdesk_ticket(3, 5, closed_at="2026-10-02T09:00:00Z", source=7, reopened_at="2026-10-01T20:00:00Z"),
    freshdesk_ticket(4, 2, source=2, responder=None, first_responded_at=None),
    freshdesk_ticket(5, 3, source=9),
    freshdesk_ticket(6, 4, stats=False),  # listed without include=stats: no time it was resolved
    freshdesk_ticket(7, 8),  # an account's custom status
    freshdesk_ticket(8, 2, spam=True),
]


def test_freshdesk_api_tickets(store, tmp_path):
    file = _write(tmp_path / "tickets.json", FRESHDESK)  # one page: a top-level array
    s = ingest_mapped(store, "interactions", file, "freshdesk-json", now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined, s.skipped) == (8, 5, 2, 1)
    assert s.reasons == {"missing_resolved_at": 1, "spam_ticket": 1, "unknown_status": 1}
    rows = _rows(store)
    t1, t2, t3, t4, t5 = (rows[k] for k in "12345")
    assert (t1["source"], t1["status"], t1["channel"], t1["closed_at"]) == (
        "freshdesk", "resolved", "email", datetime(2026, 10, 1, 10, 0)
    )
    assert (t1["customer_id"], t1["agent_id"], t1["handled_by"], t1["queue"]) == ("5001", "77", "agent", "42")
    assert t1["first_response_at"] == datetime(2026, 10, 1, 9, 15) and t1["wait_seconds"] == 900
    assert t1["reopened"] is False
    # resolved before it was closed: the resolution time closes it
    assert (t2["status"], t2["channel"], t2["closed_at"]) == ("resolved", "voice", datetime(2026, 10, 1, 11, 0))
    # closed without passing through Resolved: its closing time; reopened on the way
    assert (t3["channel"], t3["closed_at"], t3["reopened"]) == ("chat", datetime(2026, 10, 2, 9, 0), True)
    assert (t4["status"], t4["closed_at"], t4["handled_by"], t4["channel"]) == ("open", None, None, "email")
    assert (t5["status"], t5["reopened"]) == ("pending", None)
    q = {r["row"]: r for r in store.quarantine()}
    assert q[6]["reason"] == "missing_resolved_at" and "include=stats" in q[6]["message"]
    assert q[7]["reason"] == "unknown_status" and "'8'" in q[7]["message"]


def test_freshdesk_json_lines_reingest_adds_nothing(store, tmp_path):
    file = tmp_path / "tickets.jsonl"
    file.write_text("\n".join(json.dumps(t) for t in FRESHDESK))
    first = ingest_mapped(store, "interactions", file, "freshdesk-json", now=NOW)
    assert (first.accepted, first.quarantined, first.skipped) == (5, 2, 1)
    digest = store.digest()
    again = ingest_mapped(store, "interactions", file, "freshdesk-json", now=NOW)
    assert (again.accepted, again.duplicates, again.updated) == (0, 5, 0)
    assert store.digest() == digest
    assert len(store.quarantine()) == 2  # each refused row listed once


# --- Intercom -----------------------------------------------------------------------------------------------

INTERCOM = [
    intercom_conversation("101", "closed", last_close="2026-10-01T09:30:00Z", rating=5),
    intercom_conversation("102", "closed", last_close="2026-10-02T10:00:00Z", fin="assumed_resolution",
                          admin=None, source="email", reopens=1),
    intercom_conversation("103", "open", first_reply=None, contact=None, source="whatsapp"),
    intercom_conversation("104", "snoozed", source="phone_call"),
    intercom_conversation("105", "closed", last_close=None),  # closed, no close time: held
]


def _check_intercom(store, s) -> None:
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined) == (5, 4, 1)
    assert s.reasons == {"missing_close_time": 1}
    rows = _rows(store)
    c1, c2, c3, c4 = (rows[k] for k in ("101", "102", "103", "104"))
    assert (c1["source"], c1["status"], c1["channel"], c1["csat"], c1["handled_by"]) == (
        "intercom", "resolved", "chat", 5, "agent"
    )
    assert c1["opened_at"] == datetime(2026, 10, 1, 9, 0) and c1["closed_at"] == datetime(2026, 10, 1, 9, 30)
    assert c1["customer_id"] == "6329bd9ffe4e5bbfa8d9c3a2" and c1["agent_id"] == "814860"
    assert c1["queue"] == "5017691" and c1["wait_seconds"] == 300 and c1["reopened"] is False
    assert (c2["handled_by"], c2["channel"], c2["reopened"], c2["agent_id"]) == ("bot", "email", True, None)
    assert (c3["status"], c3["closed_at"], c3["customer_id"], c3["channel"]) == ("open", None, None, "messaging")
    assert (c4["status"], c4["channel"]) == ("pending", "voice")
    (q,) = store.quarantine()
    assert (q["reason"], q["field"]) == ("missing_close_time", "closed_at") and "conversation 105" in q["message"]


def test_intercom_list_pages(store, tmp_path):
    file = tmp_path / "pages.jsonl"  # two API pages, one per line
    file.write_text(
        json.dumps(intercom_page(INTERCOM[:3], next_cursor="WzE3MjY")) + "\n"
        + json.dumps(intercom_page(INTERCOM[3:], next_cursor=None, page=2))
    )
    s = ingest_mapped(store, "interactions", file, "intercom-json", now=NOW)
    _check_intercom(store, s)
    assert store.quarantine()[0]["row"] == 5  # the record number across pages


def test_intercom_conversations_as_json_lines(store, tmp_path):
    file = tmp_path / "conversations.jsonl"
    file.write_text("\n".join(json.dumps(c) for c in INTERCOM))
    _check_intercom(store, ingest_mapped(store, "interactions", file, "intercom-jsonl", now=NOW))


def test_intercom_mappings_read_the_same_columns():
    pages, lines = load_mapping("intercom-json"), load_mapping("intercom-jsonl")
    assert pages.columns == lines.columns and pages.quarantine == lines.quarantine
    assert pages.source_fields == lines.source_fields
    assert (pages.read.records, lines.read.records) == ("conversations", None)


def test_check_mapping_lists_held_rows_as_problems(tmp_path):
    file = _write(tmp_path / "tickets.json", FRESHDESK)
    report = check_mapping("freshdesk-json", file)
    problems = {p["reason"]: p for p in report.problems}
    assert problems["missing_resolved_at"]["column"] == "closed_at"
    assert problems["missing_resolved_at"]["example_row"] == 6


# --- the quarantine rules of a mapping ----------------------------------------------------------------------


def _mapping(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(
        "name: m\nsource_fields: [id, state, at]\nread: {format: json}\nconstants: {source: s, channel: chat}\n"
        "columns: {interaction_id: id, opened_at: at, status: state}\n" + extra
    )
    return p


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("quarantine: [{when: {nope: x}, reason: r, message: m}]", r"quarantine\[0\]\.when: source field 'nope'"),
        ("quarantine: [{when: {state: x}, reason: Bad-Code, message: m}]", "not a reason code"),
        ("quarantine: [{when: {state: x}, reason: r, message: m, field: nope}]", "'nope' is not a canonical"),
        ("quarantine: [{when: {state: x}, reason: r, message: 'row {nope}'}]", "message: source field 'nope'"),
        ("quarantine: [{when: \"read_text('x') = ''\", reason: r, message: m}]", r"quarantine\[0\]\.when: .*read_text"),
    ],
)
def test_quarantine_rules_are_checked(tmp_path, extra, says):
    with pytest.raises(MappingError, match=says):
        load_mapping(_mapping(tmp_path, extra))


def test_quarantine_rule_first_match_and_skip_first(store, tmp_path):
    m = _mapping(
        tmp_path,
        "skip: [{when: {state: gone}, reason: gone}]\n"
        "quarantine:\n"
        "  - {when: {state: [gone, odd]}, reason: odd_state, message: 'record {id} is {state}', field: status}\n"
        "  - {when: \"state = 'odd' OR state = 'weird'\", reason: weird_state, message: '{id}'}\n",
    )
    recs = [
        {"id": "a", "state": "resolved", "at": "2026-10-01T09:00:00Z"},
        {"id": "b", "state": "odd", "at": "2026-10-01T09:00:00Z"},
        {"id": "c", "state": "weird"},
        {"id": "d", "state": "gone", "at": "2026-10-01T09:00:00Z"},
    ]
    file = tmp_path / "r.jsonl"
    file.write_text("\n".join(json.dumps(r) for r in recs))
    s = ingest_mapped(store, "interactions", file, m, now=NOW)
    _balanced(s)
    assert s.reasons == {"gone": 1, "odd_state": 1, "weird_state": 1}
    q = {r["row"]: r for r in store.quarantine()}
    assert (q[2]["reason"], q[2]["message"], q[2]["field"]) == ("odd_state", "record b is odd", "status")
    assert (q[3]["reason"], q[3]["message"], q[3]["field"]) == ("weird_state", "c", None)
    assert set(_rows(store)) == {"a"}


# --- the CSV exports: a resolved ticket without its time is held, too --------------------------------------

CSV_WITHOUT_TIMES = {
    "zendesk": (
        "Id,Requester id,Status,Via,Group,Assignee,Created at,Solved at,Satisfaction Score,Reopens,"
        "First reply time in minutes,Full resolution time in minutes\n"
        "1,9,solved,Mail,Billing,Ann,2026-10-01 09:00:00,2026-10-01 10:00:00,Good,0,5,60\n"
        "2,9,closed,Mail,Billing,Ann,2026-10-01 09:00:00,,Good,0,5,60\n",
        "missing_solved_at",
    ),
    "freshdesk": (
        "Ticket ID,Status,Source,Group,Agent,Contact ID,Created time,Resolved time,Closed time,"
        "Initial response time,Customer interactions,Survey results\n"
        "1,Resolved,Phone,Sales,Bo,c1,2026-10-01 09:00:00,2026-10-01 09:30:00,,,2,Happy\n"
        "2,Closed,Phone,Sales,Bo,c1,2026-10-01 09:00:00,,,,2,Happy\n",
        "missing_resolved_at",
    ),
    "intercom": (
        "Conversation ID,User ID,Channel,Team assigned,Teammate assigned,Conversation started at,"
        "First response at,Last closed at,State,Resolved by Fin,Conversation rating,Times reopened\n"
        "1,u1,Email,Support,Kim,2026-10-01T09:00:00Z,,2026-10-01T09:10:00Z,closed,false,5,0\n"
        "2,u1,Email,Support,Kim,2026-10-01T09:00:00Z,,,closed,false,5,0\n",
        "missing_close_time",
    ),
}


@pytest.mark.parametrize("name", sorted(CSV_WITHOUT_TIMES))
def test_csv_export_resolved_without_its_time_is_quarantined(store, tmp_path, name):
    text, reason = CSV_WITHOUT_TIMES[name]
    file = tmp_path / f"{name}.csv"
    file.write_text(text)
    s = ingest_mapped(store, "interactions", file, name, timezone="Europe/Paris", now=NOW)
    _balanced(s)
    assert (s.accepted, s.quarantined, s.reasons) == (1, 1, {reason: 1})
    (q,) = store.quarantine()
    assert (q["row"], q["field"], q["reason"]) == (3, "closed_at", reason)  # line 3 of the file
    assert all(r["closed_at"] is not None for r in _rows(store).values())


def test_quarantine_rules_of_a_folded_log_read_the_cases_last_row(store, tmp_path):
    m = tmp_path / "log.yaml"
    m.write_text(
        "name: log\nsource_fields: [case, at, state]\nread: {delimiter: ','}\nconstants: {source: s, channel: email}\n"
        "fold: {case: case, order: [{from: at}]}\n"
        "columns:\n  interaction_id: case\n  opened_at: {from: at, agg: first}\n"
        "  closed_at: {from: at, when: {state: closed}}\n  status: {from: state, map: {closed: resolved, lost: resolved}}\n"
        "quarantine:\n  - {when: {state: lost}, reason: lost_case, message: 'case {case} ended lost', field: status}\n"
    )
    log = tmp_path / "log.csv"
    log.write_text(
        "case,at,state\nA,2026-10-01T09:00:00Z,open\nA,2026-10-01T10:00:00Z,closed\n"
        "B,2026-10-01T09:00:00Z,lost\nB,2026-10-01T11:00:00Z,closed\n"
        "C,2026-10-01T09:00:00Z,open\nC,2026-10-01T12:00:00Z,lost\n"
    )
    s = ingest_mapped(store, "interactions", log, m, now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined, s.reasons) == (3, 2, 1, {"lost_case": 1})
    (q,) = store.quarantine()
    assert (q["row"], q["message"]) == (6, "case C ended lost")  # the case's first row, as for other reasons
