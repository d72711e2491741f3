"""Connector mappings: the mechanism on small inline fixtures, and bad input."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcomes.connectors import MappingError, builtin_names, check_mapping, ingest_mapped, load_mapping
from outcomes.facts import FactsStore, IngestError

NOW = datetime(2026, 11, 1, tzinfo=UTC)

TICKETS_MAP = """
name: tickets-test
kind: interactions
source_fields: [Ticket ID, Requester, State, Created, Solved, Assignee, Reopens, Kind]
read: {delimiter: ",", quote: '"', null_values: ["-"]}
timezone: Europe/London
constants: {source: helpdesk, provider: acme}
columns:
  interaction_id: {template: "T-{Ticket ID}"}
  customer_id: {from: Requester, null_if: ["0"]}
  channel: {from: Kind, map: {Phone: voice, Mail: email}, default: chat}
  queue: Kind
  status: {from: State, map: {solved: resolved, closed: resolved, new: open}}
  opened_at: {from: Created, format: "%d.%m.%Y %H:%M"}
  closed_at: {from: Solved, format: "%d.%m.%Y %H:%M", when: {State: [solved, closed]}}
  handled_by:
    cases:
      - {when: {Assignee: {not: [null, bot]}}, value: agent}
      - {when: {Assignee: bot}, value: bot}
  agent_id: {from: Assignee, null_if: [bot]}
  reopened: {from: Reopens, positive: true}
  handle_seconds: {seconds_between: [opened_at, closed_at]}
skip:
  - {when: {State: deleted}, reason: deleted_ticket}
"""

TICKETS = (
    "Ticket ID,Requester,State,Created,Solved,Assignee,Reopens,Kind\n"
    "1,c1,solved,01.10.2026 09:00,01.10.2026 09:30,ann,0,Phone\n"
    '2,0,closed,01.10.2026 10:00,01.10.2026 12:00,bot,2,"Chat, web"\n'
    "3,c3,new,02.10.2026 08:00,-,-,0,Mail\n"
    "4,c4,deleted,02.10.2026 08:00,-,-,0,Mail\n"
    "5,c5,weird,02.10.2026 08:00,-,-,0,Mail\n"
)


def _write(tmp: Path, name: str, text: str | bytes) -> Path:
    p = tmp / name
    if isinstance(text, str):
        text = text.encode()
    if name.endswith(".gz"):
        text = gzip.compress(text)
    p.write_bytes(text)
    return p


@pytest.fixture
def store():
    with FactsStore(":memory:") as s:
        yield s


@pytest.fixture
def tickets(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path, "map.yaml", TICKETS_MAP), _write(tmp_path, "tickets.csv", TICKETS)


def _rows(store: FactsStore) -> dict[str, dict]:
    cur = store.con.execute("SELECT * FROM interactions WHERE _until IS NULL ORDER BY interaction_id")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _balanced(s) -> None:
    assert s.rows == s.accepted + s.duplicates + s.updated + s.quarantined + s.skipped
    assert sum(s.reasons.values()) == s.quarantined + s.skipped


def test_renames_value_maps_constants_derived(store, tickets):
    mapping, file = tickets
    s = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined, s.skipped) == (5, 3, 1, 1)
    assert s.reasons == {"deleted_ticket": 1, "unknown_status": 1}
    assert s.unit == "rows" and s.source_rows == 5
    rows = _rows(store)
    t1, t2, t3 = rows["T-1"], rows["T-2"], rows["T-3"]
    assert (t1["source"], t1["provider"], t1["channel"], t1["status"]) == (
        "helpdesk",
        "acme",
        "voice",
        "resolved",
    )
    assert t1["opened_at"] == datetime(2026, 10, 1, 8, 0)  # 09:00 BST is 08:00 UTC
    assert t1["handle_seconds"] == 1800 and t1["handled_by"] == "agent" and t1["agent_id"] == "ann"
    assert t1["reopened"] is False
    assert t2["customer_id"] is None and t2["channel"] == "chat" and t2["queue"] == "Chat, web"
    assert (t2["handled_by"], t2["agent_id"], t2["reopened"]) == ("bot", None, True)
    assert t3["closed_at"] is None and t3["status"] == "open" and t3["handled_by"] is None
    q = store.quarantine()
    assert len(q) == 1
    assert q[0]["file"] == str(file) and q[0]["row"] == 6 and q[0]["reason"] == "unknown_status"
    assert "weird" in q[0]["message"]
    assert json.loads(q[0]["raw"])["source_row"] == "6"
    batch = store.batches()[-1]
    assert batch["format"] == "mapping:tickets-test" and batch["skipped"] == 1 and batch["rows"] == 5
    assert batch["reasons"] == {"deleted_ticket": 1, "unknown_status": 1}


def test_reimport_adds_nothing_and_changes_update(store, tickets, tmp_path):
    mapping, file = tickets
    ingest_mapped(store, "interactions", file, mapping, now=NOW)
    digest = store.digest()
    again = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    _balanced(again)
    assert (again.accepted, again.duplicates, again.quarantined, again.skipped) == (0, 3, 1, 1)
    assert store.digest() == digest
    # a second export overlapping the first: identical rows are duplicates, a changed one is an update
    second = _write(
        tmp_path,
        "tickets2.csv",
        TICKETS.replace("3,c3,new,02.10.2026 08:00,-", "3,c3,solved,02.10.2026 08:00,02.10.2026 09:00"),
    )
    s = ingest_mapped(store, "interactions", second, mapping, now=NOW)
    _balanced(s)
    assert (s.accepted, s.duplicates, s.updated) == (0, 2, 1)
    assert _rows(store)["T-3"]["status"] == "resolved"


EVENTS_MAP = """
name: events-test
kind: interactions
source_fields: [case, step, at, state, who, reopen, caller]
timezone: UTC
constants: {source: log, channel: email}
fold:
  case: case
  order: [{from: at, format: "%Y-%m-%d %H:%M"}, {sql: "TRY_CAST(step AS INTEGER)"}]
columns:
  interaction_id: case
  customer_id: {from: caller, agg: first}
  opened_at: {from: at, format: "%Y-%m-%d %H:%M", agg: min}
  closed_at: {from: at, format: "%Y-%m-%d %H:%M", when: {state: closed}}
  status: {from: state, map: {new: open, working: open, closed: resolved}}
  agent_id: who
  reopened: {from: reopen, positive: true, agg: any}
  handle_seconds: {seconds_between: [opened_at, closed_at]}
skip:
  - {when: {state: spam}, reason: spam_case}
"""

EVENTS = (
    "case,step,at,state,who,reopen,caller\n"
    "A,1,2026-10-01 09:00,new,,0,c1\n"
    "B,1,2026-10-01 09:05,new,,0,c2\n"
    "A,3,2026-10-01 10:00,closed,ann,1,c1\n"
    "A,2,2026-10-01 10:00,working,bob,0,c1\n"
    "C,1,2026-10-01 11:00,new,,0,c3\n"
    "B,2,2026-10-01 12:00,bogus,zed,0,c2\n"
    "D,1,2026-10-01 11:00,spam,,0,\n"
)


def test_fold_event_log(store, tmp_path):
    mapping, file = _write(tmp_path, "ev.yaml", EVENTS_MAP), _write(tmp_path, "ev.csv", EVENTS)
    s = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    _balanced(s)
    assert s.unit == "cases" and s.source_rows == 7
    assert (s.rows, s.accepted, s.quarantined, s.skipped) == (4, 2, 1, 1)
    assert s.reasons == {"spam_case": 1, "unknown_status": 1}
    rows = _rows(store)
    a = rows["A"]
    # last event by (at, step): step 3 at 10:00 wins over step 2 at 10:00
    assert (a["status"], a["agent_id"], a["reopened"]) == ("resolved", "ann", True)
    assert a["opened_at"] == datetime(2026, 10, 1, 9) and a["closed_at"] == datetime(2026, 10, 1, 10)
    assert a["handle_seconds"] == 3600
    assert rows["C"]["status"] == "open" and rows["C"]["closed_at"] is None
    (q,) = store.quarantine()
    assert q["row"] == 3 and q["file"] == str(file)  # case B: its first row is line 3
    assert "case B: 2 source rows from row 3" in q["raw"]


def test_fold_last_known_keeps_the_agent_of_an_earlier_event(store, tmp_path):
    """A ticket resolved by ann and closed by the system with no assignee: `last` gives the closing event's
    (empty) assignee, `last_known` the last one given."""
    mapping = EVENTS_MAP.replace("  agent_id: who\n", "  agent_id: {from: who, agg: last_known}\n")
    mapping = mapping.replace("  reopened:", "  queue: who\n  reopened:")
    log = "case,step,at,state,who,reopen,caller\nA,1,2026-10-01 09:00,working,ann,0,c1\n"
    log += "A,2,2026-10-01 10:00,closed,,0,c1\nB,1,2026-10-01 09:00,new,,0,c2\n"
    s = ingest_mapped(
        store, "interactions", _write(tmp_path, "ev.csv", log), _write(tmp_path, "m.yaml", mapping), now=NOW
    )
    assert s.accepted == 2
    rows = _rows(store)
    assert (rows["A"]["agent_id"], rows["A"]["queue"]) == ("ann", None)
    assert rows["B"]["agent_id"] is None  # no event names one


def test_quarantine_rules_set_rows_aside_with_a_reason(store, tickets, tmp_path):
    """A row the source gives but that cannot be verified is quarantined with the mapping's reason and
    message, its source row and values; a skip rule wins (the source says to ignore the row)."""
    mapping, file = tickets
    rules = (
        "quarantine:\n"
        "  - {when: {Requester: c3}, reason: unverified_requester, message: the requester is a test account}\n"
        "  - {when: {State: deleted}, reason: never_used}\n"
        "  - {when: \"Kind = 'Mail' AND State = 'weird'\", reason: odd_state}\n"
    )
    held = _write(tmp_path, "held.yaml", mapping.read_text() + rules)
    s = ingest_mapped(store, "interactions", file, held, now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined, s.skipped) == (5, 2, 2, 1)
    assert s.reasons == {"deleted_ticket": 1, "odd_state": 1, "unverified_requester": 1}
    assert set(_rows(store)) == {"T-1", "T-2"}
    q = {x["reason"]: x for x in store.quarantine()}
    assert (q["unverified_requester"]["row"], q["unverified_requester"]["file"]) == (4, str(file))
    assert q["unverified_requester"]["message"] == "the requester is a test account"
    assert json.loads(q["unverified_requester"]["raw"])["Requester"] == "c3"
    assert q["odd_state"]["message"] == "the mapping quarantines it (odd_state)"
    # re-importing counts the rows again but lists them once
    again = ingest_mapped(store, "interactions", file, held, now=NOW)
    assert (again.duplicates, again.quarantined) == (2, 2) and len(store.quarantine()) == 2
    # a quarantine condition is mapping SQL like any other
    bad = _write(
        tmp_path, "bad.yaml", mapping.read_text() + rules.replace("Kind = 'Mail'", "read_text('x') = ''")
    )
    with pytest.raises(MappingError, match=r"quarantine\[2\]\.when: .*read_text"):
        load_mapping(bad)


def test_quarantine_rule_of_a_folded_log_reads_the_case_last_row(store, tmp_path):
    mapping = (
        EVENTS_MAP + "quarantine:\n  - {when: {state: bogus}, reason: unknown_step, message: not a step}\n"
    )
    s = ingest_mapped(
        store,
        "interactions",
        _write(tmp_path, "ev.csv", EVENTS),
        _write(tmp_path, "m.yaml", mapping),
        now=NOW,
    )
    _balanced(s)
    assert s.reasons == {"spam_case": 1, "unknown_step": 1}
    (q,) = store.quarantine()
    assert (q["row"], q["reason"], q["message"]) == (
        3,
        "unknown_step",
        "not a step",
    )  # case B's first row
    assert q["raw"].startswith("case B: 2 source rows from row 3")


def test_source_rows_are_file_lines(store, tickets, tmp_path):
    mapping, _ = tickets
    lines = TICKETS.splitlines(keepends=True)
    # a BOM, a blank line and CRLF endings mixed with LF; in quoted CSV a row's number is its record
    # number + 1 (the header): blank lines are not records
    text = "\ufeff" + lines[0] + lines[1].replace("\n", "\r\n") + "\n" + "".join(lines[2:])
    file = _write(tmp_path, "mixed.csv", text)
    s = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted) == (5, 3)
    assert store.quarantine()[0]["row"] == 6


def test_unquoted_line_reader_gz_and_mixed_endings(store, tmp_path):
    mapping = load_mapping("technion-bank")
    head = "\t".join(mapping.source_fields)
    good = "AA0101\t33116\t9664491\t2\tPS\t990101\t0:00:31\t0:00:36\t5\t0:00:36\t0:03:09\t153\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER"
    late = "AA0101\t33118\t27997683\t2\tPS\t990101\t23:55:20\t23:55:26\t6\t23:55:26\t23:55:43\t17\tAGENT\t23:55:43\t0:06:37\t654\tMICHAL"
    spaced = "AA0108\t3892\t0\t0       NW\t990101\t14:07:50\t14:07:58\t8\t0:00:00\t0:00:00\t0\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER"
    phantom = good.replace("33116", "33119").replace("HANG", "PHANTOM")
    file = _write(
        tmp_path, "m.txt.gz", head + "\r\n" + good + "\n" + late + "\r\n" + spaced + "\n" + phantom + "\n"
    )
    s = ingest_mapped(store, "interactions", file, "technion-bank", now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.skipped, s.reasons) == (4, 3, 1, {"phantom_call": 1})
    rows = _rows(store)
    late_call = rows["990101-AA0101-33118"]
    # ends after midnight: next day; Israel is UTC+2 in January
    assert late_call["closed_at"] == datetime(1999, 1, 1, 22, 6, 37)
    assert late_call["first_response_at"] == datetime(1999, 1, 1, 21, 55, 43)
    assert rows["990101-AA0108-3892"]["queue"] == "NW"
    assert rows["990101-AA0108-3892"]["customer_id"] is None


# -- bad input: a row that cannot be read is quarantined with its line, the rest is read -------------------


def _nothing(store: FactsStore) -> None:
    assert store.batches() == []
    assert store.con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 0


def _refused(store: FactsStore) -> list[tuple]:
    return [(q["row"], q["reason"], q["message"]) for q in store.quarantine()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            TICKETS.replace("3,c3,new", "3,c3,new,extra"),
            (4, "too_many_fields", "line 4: 9 fields, the header has 8"),
        ),
        (TICKETS + "6,c6,new,02.10", (7, "too_few_fields", "line 7: 4 field(s), the header has 8")),
    ],
    ids=["stray_delimiter", "truncated_last_line"],
)
def test_structural_errors(store, tickets, tmp_path, text, expected):
    """Issue 15: one short or long row used to refuse the whole file; it is quarantined, the rest is read."""
    mapping, _ = tickets
    file = _write(tmp_path, "bad.csv", text)
    s = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    assert expected in _refused(store)
    assert s.quarantined == 2 and s.accepted == (2 if expected[1] == "too_many_fields" else 3)
    assert s.reasons[expected[1]] == 1


def test_stray_delimiter_line_reader(store, tmp_path):
    mapping = _write(tmp_path, "ev.yaml", EVENTS_MAP)
    file = _write(
        tmp_path,
        "ev.csv",
        EVENTS.replace("C,1,2026-10-01 11:00,new,,0,c3", "C,1,2026-10-01 11:00,new,,0,c3,"),
    )
    ingest_mapped(store, "interactions", file, mapping, now=NOW)
    bad = [q for q in store.quarantine() if q["reason"] == "too_many_fields"]
    assert [(q["row"], q["message"]) for q in bad] == [
        (6, "line 6: 8 field(s), the header has 7 (a stray delimiter, or a truncated line)")
    ]
    assert bad[0]["raw"] == "C,1,2026-10-01 11:00,new,,0,c3,"


def test_invalid_encoding_bytes(store, tickets, tmp_path):
    mapping, _ = tickets
    file = _write(tmp_path, "latin.csv", TICKETS.replace("c3", "c\u00e9").encode("latin-1"))
    s = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    assert (4, "bad_encoding", "line 4: the text is not in the mapping's read.encoding") in _refused(store)
    assert s.accepted == 2 and "T-3" not in _rows(store)
    m = load_mapping(mapping).model_copy(deep=True)
    m.read.encoding = "latin-1"
    s = ingest_mapped(store, "interactions", file, m, now=NOW)
    assert s.accepted == 1 and _rows(store)["T-3"]["customer_id"] == "c\u00e9"


def test_unknown_encoding_in_mapping(tmp_path):
    path = _write(
        tmp_path, "m.yaml", TICKETS_MAP.replace('null_values: ["-"]', 'null_values: ["-"], encoding: cp1255')
    )
    with pytest.raises(MappingError, match=r"m.yaml: read.encoding: unknown encoding 'cp1255'"):
        load_mapping(path)


def test_missing_time_zone(store, tickets, tmp_path):
    mapping, file = tickets
    no_tz = _write(tmp_path, "notz.yaml", TICKETS_MAP.replace("timezone: Europe/London\n", ""))
    with pytest.raises(
        IngestError, match=r"tickets.csv: mapping 'tickets-test' reads local times.*--timezone"
    ):
        ingest_mapped(store, "interactions", file, no_tz, now=NOW)
    _nothing(store)
    s = ingest_mapped(store, "interactions", file, no_tz, timezone="UTC", now=NOW)
    assert s.accepted == 3


def test_header_mismatch(store, tickets, tmp_path):
    mapping, _ = tickets
    file = _write(tmp_path, "h.csv", TICKETS.replace("Requester", "Customer"))
    with pytest.raises(
        IngestError, match=r"h.csv: line 1: the header.*missing: Requester; not in the mapping: Customer"
    ):
        ingest_mapped(store, "interactions", file, mapping, now=NOW)
    _nothing(store)


def test_duplicate_ids_in_one_file_name_source_rows(store, tickets, tmp_path):
    mapping, _ = tickets
    file = _write(
        tmp_path,
        "d.csv",
        TICKETS
        + "1,c1,solved,01.10.2026 09:00,01.10.2026 09:45,ann,0,Phone\n"
        + '2,0,closed,01.10.2026 10:00,01.10.2026 12:00,bot,2,"Chat, web"\n',
    )
    s = ingest_mapped(store, "interactions", file, mapping, now=NOW)
    _balanced(s)
    assert s.reasons.get("duplicate_id") == 2 and s.duplicates == 1
    dups = [q for q in store.quarantine() if q["reason"] == "duplicate_id"]
    assert sorted(q["row"] for q in dups) == [2, 7]
    assert all(q["message"].endswith("(source rows 2, 7)") for q in dups), dups[0]["message"]


def test_mapping_errors_name_the_key(tmp_path):
    bad = _write(tmp_path, "b.yaml", TICKETS_MAP.replace("queue: Kind", "queue: {from: Nope}"))
    with pytest.raises(MappingError, match=r"b.yaml: columns.queue: source field 'Nope'"):
        load_mapping(bad)
    bad = _write(tmp_path, "c.yaml", TICKETS_MAP.replace("queue: Kind", "queue: {frm: Kind}"))
    with pytest.raises(MappingError, match=r"c.yaml: columns.queue.*frm"):
        load_mapping(bad)
    with pytest.raises(MappingError, match="neither a mapping file nor a built-in"):
        load_mapping("no-such-mapping")


def test_builtins_load():
    names = builtin_names()
    assert {"technion-bank", "servicenow-incidents"} <= set(names)
    for name in names:
        load_mapping(name)


def test_check_and_cli(tickets):
    from outcomes.cli.mapping import mapping_app

    mapping, file = tickets
    report = check_mapping(mapping, file, rows=2)
    assert len(report.preview) == 2 and report.summary["accepted"] == 3
    assert report.problems == [
        {
            "column": "status",
            "reason": "unknown_status",
            "rows": 1,
            "example_row": 6,
            "example": "status 'weird' is not one of resolved, open, pending, abandoned, transferred",
        }
    ]
    runner = CliRunner()
    res = runner.invoke(mapping_app, ["check", str(mapping), str(file), "--json"])
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert data["summary"]["skipped"] == 1 and data["problems"][0]["column"] == "status"
    res = runner.invoke(mapping_app, ["list", "--json"])
    assert res.exit_code == 0 and "technion-bank" in {r["name"] for r in json.loads(res.output)}


VENDOR_FIXTURES = {
    "zendesk": (
        "Summation column,Id,Requester id,Requester email,Status,Via,Group,Assignee,Created at,Solved at,"
        "Satisfaction Score,Reopens,First reply time in minutes,Full resolution time in minutes\n"
        ",101,9,a@x.io,solved,Mail,Billing,Ann,2026-10-01 09:00:00,2026-10-01 10:00:00,Good,0,5,60\n"
        ",102,,b@x.io,open,Web Widget,Support,,2026-10-02 09:00:00,,Offered,1,,\n",
        {"101": ("email", "resolved", 5, 300.0), "102": ("chat", "open", None, None)},
    ),
    "freshdesk": (
        "Ticket ID,Subject,Status,Source,Group,Agent,Contact ID,Created time,Resolved time,Closed time,"
        "Initial response time,Customer interactions,Survey results\n"
        "7,Hi,Closed,Phone,Sales,Bo,c1,2026-10-01 09:00:00,,2026-10-01 09:30:00,2026-10-01 09:05:00,2,Happy\n"
        "8,Yo,Open,Portal,Sales,No Agent,c2,2026-10-01 11:00:00,,,,1,\n",
        {"7": ("voice", "resolved", 4, 300.0), "8": ("email", "open", None, None)},
    ),
    "intercom": (
        "Conversation ID,User ID,Channel,Team assigned,Teammate assigned,Conversation started at,"
        "First response at,Last closed at,State,Resolved by Fin,Conversation rating,Times reopened\n"
        "c1,u1,Messenger,Support,,2026-10-01T09:00:00Z,2026-10-01T09:00:20Z,2026-10-01T09:10:00Z,closed,true,5,0\n"
        "c2,u2,Email,Support,Kim,2026-10-01T10:00:00+02:00,,,open,false,,0\n",
        {"c1": ("chat", "resolved", 5, 20.0), "c2": ("email", "open", None, None)},
    ),
    "acd": (
        "call_id,caller_id,queue,arrived_at,answered_at,ended_at,disposition,agent_id,wait_seconds,talk_seconds,trunk\n"
        "1,555,cards,2026-10-01 09:00:00,2026-10-01 09:00:30,2026-10-01 09:05:00,answered,a1,30,270,T1\n"
        "2,0,cards,2026-10-01 09:01:00,,2026-10-01 09:02:00,abandoned,,60,0,T1\n"
        "3,556,cards,2026-10-01 09:03:00,,2026-10-01 09:03:02,short,,2,0,T1\n",
        {"1": ("voice", "resolved", None, 30.0), "2": ("voice", "abandoned", None, 60.0)},
    ),
}


@pytest.mark.parametrize("name", sorted(VENDOR_FIXTURES))
def test_vendor_mappings(store, tmp_path, name):
    text, expected = VENDOR_FIXTURES[name]
    file = _write(tmp_path, f"{name}.csv", text)
    s = ingest_mapped(store, "interactions", file, name, timezone="Europe/Paris", now=NOW)
    _balanced(s)
    assert s.quarantined == 0, store.quarantine()
    rows = _rows(store)
    got = {k: (r["channel"], r["status"], r["csat"], r["wait_seconds"]) for k, r in rows.items()}
    assert got == expected
    if name == "acd":
        assert s.reasons == {"short_call": 1} and rows["2"]["customer_id"] is None


CRM_MAP = """
name: crm-test
kind: events
source_fields: [account, what, when, mrr]
read: {delimiter: ";"}
timezone: America/New_York
columns:
  customer_id: {from: account, null_if: ["0"]}
  event: {from: what, map: {cancel: churned, renew: renewed}}
  at: {from: when, format: "%m/%d/%Y"}
  monthly_revenue: mrr
skip:
  - {when: {what: trial}, reason: trial_signup}
"""


def test_events_mapping(store, tmp_path):
    mapping = _write(tmp_path, "crm.yaml", CRM_MAP)
    file = _write(
        tmp_path,
        "crm.txt",
        "account;what;when;mrr\nA1;cancel;10/01/2026;49.90\nA2;renew;10/02/2026;20\n0;cancel;10/03/2026;5\n"
        "A3;trial;10/03/2026;0\n",
    )
    s = ingest_mapped(store, "events", file, mapping, now=NOW)
    _balanced(s)
    assert (s.rows, s.accepted, s.quarantined, s.skipped) == (4, 2, 1, 1)
    assert s.reasons == {"missing_customer": 1, "trial_signup": 1}
    at, mrr = store.con.execute(
        "SELECT \"at\", monthly_revenue FROM events WHERE customer_id = 'A1'"
    ).fetchone()
    assert at == datetime(2026, 10, 1, 4) and str(mrr) == "49.90"
    assert store.quarantine()[0]["row"] == 4
