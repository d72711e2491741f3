"""Scenario tests of the canonical ingest: tiny inline files in, summaries, facts and quarantine rows out."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outcomes.facts import INTERACTION_REASONS, FactsStore, IngestError

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():
    SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
WORKED_MONTH_CSV = SHARED / "examples" / "worked-month" / "interactions.csv"
NOW = datetime(2027, 1, 1, tzinfo=UTC)

HEADER = (
    "interaction_id,source,customer_id,channel,queue,opened_at,first_response_at,closed_at,status,"
    "handled_by,agent_id,provider,reopened,wait_seconds,handle_seconds,csat,nps,ces,qa_score,intent"
)
GOOD = (
    "i1,crm,c1,chat,refunds,2026-10-03T09:00:00Z,2026-10-03T09:01:00Z,2026-10-03T09:12:00Z,resolved,"
    "agent,ag1,acme,false,60,660,5,9,2,88.5,billing"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def rows_of(store: FactsStore, as_of: int | None = None) -> dict[str, dict]:
    return {r["interaction_id"]: r for r in store.interactions(as_of).to_pyarrow().to_pylist()}


@pytest.fixture
def store():
    s = FactsStore(":memory:")
    yield s
    s.close()


# -- the worked month ---------------------------------------------------------------------------------


def test_worked_month_ingests_all_14_rows(store):
    s = store.ingest("interactions", WORKED_MONTH_CSV, now=NOW)
    assert s.to_dict() == {
        "batch": 1,
        "kind": "interactions",
        "file": str(WORKED_MONTH_CSV),
        "rows": 14,
        "accepted": 14,
        "duplicates": 0,
        "updated": 0,
        "quarantined": 0,
        "skipped": 0,
        "reasons": {},
        # the batch commits to the digest of the facts after it (the ledger records both)
        "digest": store.digest(1, recount=True),
        "facts_chain": s.facts_chain,
    }
    assert s.facts_chain is not None and s.facts_chain.startswith("sha256:")
    rows = rows_of(store)
    assert sorted(rows) == sorted(f"w{i}" for i in range(1, 15))
    w2 = rows["w2"]
    assert (w2["source"], w2["customer_id"], w2["channel"], w2["queue"]) == (
        "zendesk",
        "b",
        "email",
        "refunds",
    )
    assert w2["opened_at"] == datetime(2026, 10, 4, 10, 0)  # naive UTC
    assert w2["csat"] == 3 and w2["wait_seconds"] == 3600.0 and w2["reopened"] is False
    assert rows["w6"]["reopened"] is True
    assert rows["w7"]["first_response_at"] is None and rows["w7"]["csat"] is None
    assert store.latest_batch() == 1


def test_reingest_is_all_duplicates_and_changes_nothing(store):
    store.ingest("interactions", WORKED_MONTH_CSV, now=NOW)
    digest = store.digest()
    before = store.con.execute("SELECT * FROM interactions ORDER BY interaction_id").fetchall()
    again = store.ingest("interactions", WORKED_MONTH_CSV, now=NOW)
    assert (again.rows, again.accepted, again.duplicates, again.updated, again.quarantined) == (
        14,
        0,
        14,
        0,
        0,
    )
    # the attempt is recorded as a batch (audit trail), but no fact changes
    assert again.batch == 2 and [b["batch"] for b in store.batches()] == [1, 2]
    assert store.batches()[1]["duplicates"] == 14
    assert store.con.execute("SELECT * FROM interactions ORDER BY interaction_id").fetchall() == before
    assert store.digest() == digest == store.digest(1) == store.digest(2)


def test_changed_row_is_an_update_and_the_old_version_stays_readable(store, tmp_path):
    store.ingest("interactions", WORKED_MONTH_CSV, now=NOW)
    changed = WORKED_MONTH_CSV.read_text().replace(
        "w3,zendesk,c,voice,refunds,2026-10-05T10:00:00Z,2026-10-05T10:02:00Z,2026-10-05T10:10:00Z,resolved,agent,ag1,acme-bpo,false,120,480,2",
        "w3,zendesk,c,voice,refunds,2026-10-05T10:00:00Z,2026-10-05T10:02:00Z,2026-10-05T10:10:00Z,resolved,agent,ag1,acme-bpo,false,120,480,4",
    )
    assert changed != WORKED_MONTH_CSV.read_text()
    f = write(tmp_path, "fix.csv", changed)
    s = store.ingest("interactions", f, now=NOW)
    assert (s.batch, s.accepted, s.duplicates, s.updated, s.quarantined) == (2, 0, 13, 1, 0)
    assert rows_of(store)["w3"]["csat"] == 4
    assert rows_of(store, 1)["w3"]["csat"] == 2  # the previous version, as of batch 1
    assert rows_of(store, 2)["w3"]["csat"] == 4
    assert store.interactions().count().to_pyarrow().as_py() == 14
    versions = store.con.execute(
        "SELECT csat, _batch, _until FROM interactions WHERE interaction_id = 'w3' ORDER BY _batch"
    ).fetchall()
    assert versions == [(2, 1, 2), (4, 2, None)]  # never overwritten: closed, then a new version


def test_contact_clock_counts_only_the_given_source(store):
    store.ingest("interactions", WORKED_MONTH_CSV, now=NOW)
    assert store.contact_clock("zendesk") == datetime(2026, 11, 10, 9, 0)
    assert store.contact_clock("provider_export") == datetime(2026, 10, 16, 9, 0)
    assert store.contact_clock("nobody") is None
    assert store.contact_clock("zendesk", as_of_batch=0) is None


# -- quarantine reasons ---------------------------------------------------------------------------------

# (a row that differs from GOOD by one value, expected reason, field)
BAD_ROWS = [
    ({"interaction_id": ""}, "missing_id", "interaction_id"),
    ({"source": "  "}, "missing_source", "source"),
    ({"opened_at": "yesterday"}, "bad_timestamp", "opened_at"),
    ({"opened_at": ""}, "bad_timestamp", "opened_at"),
    ({"closed_at": "2026-13-40T00:00:00Z"}, "bad_timestamp", "closed_at"),
    ({"first_response_at": "soon"}, "bad_timestamp", "first_response_at"),
    ({"opened_at": "2026-10-03T09:00:00"}, "missing_timezone", "opened_at"),
    ({"closed_at": "2026-10-03 09:30:00"}, "missing_timezone", "closed_at"),
    ({"channel": "fax"}, "unknown_channel", "channel"),
    ({"channel": ""}, "unknown_channel", "channel"),
    ({"status": "closed"}, "unknown_status", "status"),
    ({"handled_by": "robot"}, "unknown_handled_by", "handled_by"),
    ({"reopened": "maybe"}, "bad_boolean", "reopened"),
    ({"wait_seconds": "ten"}, "bad_number", "wait_seconds"),
    ({"handle_seconds": "-5"}, "bad_number", "handle_seconds"),
    ({"csat": "good"}, "bad_number", "csat"),
    ({"qa_score": "inf"}, "bad_number", "qa_score"),
    ({"csat": "6"}, "csat_out_of_range", "csat"),
    ({"csat": "4.5"}, "csat_out_of_range", "csat"),
    ({"nps": "11"}, "nps_out_of_range", "nps"),
    ({"ces": "0"}, "ces_out_of_range", "ces"),
    ({"qa_score": "100.5"}, "qa_out_of_range", "qa_score"),
    ({"closed_at": "2026-10-03T08:59:59Z"}, "closed_before_opened", "closed_at"),
    ({"opened_at": "2027-01-02T00:00:01Z", "closed_at": ""}, "future_timestamp", "opened_at"),
]


def _row(changes: dict[str, str], interaction_id: str = "x") -> str:
    values = dict(zip(HEADER.split(","), GOOD.split(","), strict=True))
    values["interaction_id"] = interaction_id
    values.update(changes)
    return ",".join(values.values())


@pytest.mark.parametrize(("changes", "reason", "field"), BAD_ROWS, ids=[f"{r}-{f}" for _, r, f in BAD_ROWS])
def test_each_quarantine_reason_with_row_number_and_field(store, tmp_path, changes, reason, field):
    # the bad row is the 3rd data row (file line 4), between two good ones
    text = "\n".join([HEADER, _row({}, "a"), _row({}, "b"), _row(changes, "x"), _row({}, "c")]) + "\n"
    s = store.ingest("interactions", write(tmp_path, "one-bad.csv", text), now=NOW)
    assert (s.rows, s.accepted, s.quarantined, s.reasons) == (4, 3, 1, {reason: 1})
    [q] = store.quarantine(s.batch)
    assert (q["batch"], q["kind"], q["row"], q["field"], q["reason"]) == (1, "interactions", 3, field, reason)
    assert q["file"].endswith("one-bad.csv")
    assert field in q["message"]
    raw = json.loads(q["raw"])
    assert raw["interaction_id"] == ("x" if "interaction_id" not in changes else None)
    for column, value in changes.items():  # the raw text as read (empty -> null)
        assert raw[column] in (value, None)
    assert reason in INTERACTION_REASONS


def test_a_row_gets_only_the_first_reason_that_applies(store, tmp_path):
    bad = _row({"channel": "fax", "status": "closed", "csat": "9", "opened_at": "nope"})
    s = store.ingest("interactions", write(tmp_path, "f.csv", HEADER + "\n" + bad + "\n"), now=NOW)
    assert s.reasons == {"bad_timestamp": 1}


def test_messages_say_what_is_wrong(store, tmp_path):
    text = "\n".join([HEADER, _row({"channel": "fax"}, "a"), _row({"opened_at": "2026-10-03T09:00:00"}, "b")])
    store.ingest("interactions", write(tmp_path, "f.csv", text + "\n"), now=NOW)
    messages = [q["message"] for q in store.quarantine()]
    assert messages == [
        "channel 'fax' is not one of voice, chat, email, messaging, social, bot",
        "opened_at '2026-10-03T09:00:00' has no UTC offset or zone; add one (e.g. Z or +01:00) "
        "or ingest the file with a timezone",
    ]


def test_future_timestamp_is_relative_to_the_time_of_ingest(store, tmp_path):
    now = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)
    near = _row({"opened_at": "2026-10-04T09:00:00Z", "closed_at": ""}, "near")  # exactly 24 h: allowed
    far = _row({"opened_at": "2026-10-04T09:00:01Z", "closed_at": ""}, "far")
    s = store.ingest("interactions", write(tmp_path, "f.csv", f"{HEADER}\n{near}\n{far}\n"), now=now)
    assert (s.accepted, s.reasons) == (1, {"future_timestamp": 1})
    assert store.quarantine()[0]["row"] == 2


def test_empty_strings_are_null_whitespace_is_trimmed_enums_lower_cased(store, tmp_path):
    row = _row(
        {
            "customer_id": "",
            "channel": " Chat ",
            "status": "RESOLVED",
            "handled_by": "Agent",
            "queue": " q1 ",
        },
        " i9 ",
    )
    store.ingest("interactions", write(tmp_path, "f.csv", f"{HEADER}\n{row}\n"), now=NOW)
    r = rows_of(store)["i9"]
    assert r["customer_id"] is None
    assert (r["channel"], r["status"], r["handled_by"], r["queue"]) == ("chat", "resolved", "agent", "q1")


def test_booleans(store, tmp_path):
    lines = [HEADER] + [
        _row({"reopened": text}, f"b{i}")
        for i, text in enumerate(["TRUE", "0", "yes", "No", "1", "false", ""])
    ]
    store.ingest("interactions", write(tmp_path, "f.csv", "\n".join(lines) + "\n"), now=NOW)
    got = {k: r["reopened"] for k, r in rows_of(store).items()}
    assert got == {"b0": True, "b1": False, "b2": True, "b3": False, "b4": True, "b5": False, "b6": None}


def test_same_key_twice_in_one_file(store, tmp_path):
    # identical repeats count as duplicates; the same key with other content quarantines every such row
    lines = [
        HEADER,
        _row({}, "same"),
        _row({}, "same"),
        _row({"csat": "1"}, "clash"),
        _row({}, "ok"),
        _row({"csat": "2"}, "clash"),
        _row({"csat": "3", "channel": "fax"}, "clash"),
    ]
    s = store.ingest("interactions", write(tmp_path, "f.csv", "\n".join(lines) + "\n"), now=NOW)
    assert (s.rows, s.accepted, s.duplicates, s.quarantined) == (6, 2, 1, 3)
    assert s.reasons == {"duplicate_id": 2, "unknown_channel": 1}
    q = store.quarantine()
    assert [(r["row"], r["reason"], r["field"]) for r in q] == [
        (3, "duplicate_id", "interaction_id"),
        (5, "duplicate_id", "interaction_id"),
        (6, "unknown_channel", "channel"),
    ]
    assert "appears 3 times" in q[0]["message"] and "(rows 3, 5, 6)" in q[0]["message"]
    assert json.loads(q[1]["raw"])["csat"] == "2"
    assert sorted(rows_of(store)) == ["ok", "same"]


def test_summary_counts_add_up(store, tmp_path):
    store.ingest("interactions", WORKED_MONTH_CSV, now=NOW)
    text = WORKED_MONTH_CSV.read_text().replace(",2,,,,\n", ",3,,,,\n").replace("w14,", "w15,")
    text += _row({"channel": "fax"}, "bad") + "\n" + _row({}, "new") + "\n"
    s = store.ingest("interactions", write(tmp_path, "f.csv", text), now=NOW)
    assert (s.rows, s.accepted, s.duplicates, s.updated, s.quarantined) == (16, 2, 12, 1, 1)
    assert s.rows == s.accepted + s.duplicates + s.updated + s.quarantined + s.skipped


# -- timestamps ---------------------------------------------------------------------------------------


def test_offsets_and_zones_become_naive_utc_exactly(store, tmp_path):
    texts = {
        "z": "2026-10-03T09:00:00Z",
        "plus": "2026-10-03T10:00:00+01:00",
        "compact": "2026-10-03 10:00:00+0100",
        "hours": "2026-10-03T10:00:00+01",
        "minus": "2026-10-03T04:00:00-05:00",
        "frac": "2026-10-03T09:00:00.123456Z",
        "named": "2026-10-03 10:00:00 Europe/London",
        "india": "2026-10-03T14:30:00+05:30",
    }
    lines = [HEADER] + [_row({"opened_at": t, "closed_at": ""}, k) for k, t in texts.items()]
    s = store.ingest("interactions", write(tmp_path, "f.csv", "\n".join(lines) + "\n"), now=NOW)
    assert s.quarantined == 0, store.quarantine()
    got = {k: r["opened_at"] for k, r in rows_of(store).items()}
    nine = datetime(2026, 10, 3, 9, 0)
    assert got == {k: nine for k in texts if k != "frac"} | {"frac": nine.replace(microsecond=123456)}


def _fold0_utc(local: datetime, zone: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("zone", "days"),
    [
        ("Europe/London", [datetime(2026, 3, 29), datetime(2026, 10, 25)]),
        ("America/New_York", [datetime(2026, 3, 8), datetime(2026, 11, 1)]),
    ],
)
def test_naive_timestamps_in_a_zone_around_the_dst_changes(store, tmp_path, zone, days):
    # every 15 minutes over both change days: each naive local time becomes the instant Python's zoneinfo
    # gives with fold=0 (an ambiguous time is the earlier instant; a skipped one uses the offset before)
    locals_ = [d + timedelta(minutes=15 * i) for d in days for i in range(96)]
    lines = [HEADER] + [
        _row(
            {"opened_at": t.strftime("%Y-%m-%d %H:%M:%S"), "closed_at": "", "first_response_at": ""}, f"t{i}"
        )
        for i, t in enumerate(locals_)
    ]
    s = store.ingest(
        "interactions", write(tmp_path, "f.csv", "\n".join(lines) + "\n"), timezone=zone, now=NOW
    )
    assert s.quarantined == 0
    got = {k: r["opened_at"] for k, r in rows_of(store).items()}
    assert got == {f"t{i}": _fold0_utc(t, zone) for i, t in enumerate(locals_)}


def test_london_clocks_going_back_and_forward(store, tmp_path):
    cases = {
        "before_back": ("2026-10-25 00:30:00", datetime(2026, 10, 24, 23, 30)),  # BST
        "ambiguous": ("2026-10-25 01:30:00", datetime(2026, 10, 25, 0, 30)),  # first 01:30, BST
        "after_back": ("2026-10-25 02:30:00", datetime(2026, 10, 25, 2, 30)),  # GMT
        "before_fwd": ("2026-03-29 00:30:00", datetime(2026, 3, 29, 0, 30)),  # GMT
        "skipped": ("2026-03-29 01:30:00", datetime(2026, 3, 29, 1, 30)),  # does not exist: read as GMT
        "after_fwd": ("2026-03-29 02:30:00", datetime(2026, 3, 29, 1, 30)),  # BST
        "with_offset": ("2026-10-25T01:30:00+00:00", datetime(2026, 10, 25, 1, 30)),  # offset wins over zone
    }
    lines = [HEADER] + [_row({"opened_at": t, "closed_at": ""}, k) for k, (t, _) in cases.items()]
    store.ingest(
        "interactions", write(tmp_path, "f.csv", "\n".join(lines) + "\n"), timezone="Europe/London", now=NOW
    )
    got = {k: r["opened_at"] for k, r in rows_of(store).items()}
    assert got == {k: want for k, (_, want) in cases.items()}
    assert store.batches()[0]["timezone"] == "Europe/London"


def test_unknown_timezone_is_a_file_level_error(store, tmp_path):
    f = write(tmp_path, "f.csv", HEADER + "\n" + GOOD + "\n")
    with pytest.raises(IngestError, match="unknown time zone 'Mars/Olympus'"):
        store.ingest("interactions", f, timezone="Mars/Olympus")


# -- formats ------------------------------------------------------------------------------------------

ROWS = [
    # interaction_id, customer_id, channel, opened (UTC), closed, status, handled_by, reopened, wait, csat, qa
    (
        "f1",
        "c1",
        "chat",
        datetime(2026, 10, 3, 9),
        datetime(2026, 10, 3, 9, 12),
        "resolved",
        "agent",
        False,
        60.0,
        5,
        88.5,
    ),
    (
        "f2",
        None,
        "bot",
        datetime(2026, 10, 3, 23, 59, 59, 250000),
        None,
        "open",
        "bot",
        None,
        None,
        None,
        None,
    ),
    (
        "f3",
        "c3",
        "voice",
        datetime(2026, 3, 29, 1, 30),
        datetime(2026, 3, 29, 2),
        "abandoned",
        None,
        True,
        0.5,
        1,
        0.0,
    ),
]


def _csv(path: Path) -> Path:
    lines = [
        "interaction_id,source,customer_id,channel,opened_at,closed_at,status,handled_by,reopened,wait_seconds,csat,qa_score"
    ]
    for r in ROWS:
        opened = (r[3] + timedelta(hours=1)).isoformat() + "+01:00"  # same instant, another offset
        closed = r[4].strftime("%Y-%m-%dT%H:%M:%SZ") if r[4] else ""
        cells = [r[0], "crm", r[1] or "", r[2], opened, closed, r[5], r[6] or "",
                 "" if r[7] is None else str(r[7]).lower(), "" if r[8] is None else f"{r[8]:g}",
                 "" if r[9] is None else str(r[9]), "" if r[10] is None else f"{r[10]:g}"]  # fmt: skip
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def _jsonl(path: Path) -> Path:
    with path.open("w") as fh:
        for r in ROWS:
            obj = {
                "interaction_id": r[0], "source": "crm", "customer_id": r[1], "channel": r[2].upper(),
                "opened_at": r[3].isoformat() + "Z", "closed_at": r[4].isoformat() + "Z" if r[4] else None,
                "status": r[5], "handled_by": r[6], "reopened": r[7], "wait_seconds": r[8], "csat": r[9],
                "qa_score": r[10],
            }  # fmt: skip
            fh.write(json.dumps(obj) + "\n")
    return path


def _parquet(path: Path) -> Path:
    cols = list(zip(*ROWS, strict=True))
    table = pa.table(
        {
            "interaction_id": pa.array(cols[0]),
            "source": pa.array(["crm"] * len(ROWS)),
            "customer_id": pa.array(cols[1]),
            "channel": pa.array(cols[2]).dictionary_encode(),
            "opened_at": pa.array([d.replace(tzinfo=UTC) for d in cols[3]], pa.timestamp("us", tz="Europe/Paris")),
            "closed_at": pa.array([d.replace(tzinfo=UTC) if d else None for d in cols[4]], pa.timestamp("ms", tz="UTC")),
            "status": pa.array(cols[5]),
            "handled_by": pa.array(cols[6]),
            "reopened": pa.array(cols[7], pa.bool_()),
            "wait_seconds": pa.array(cols[8], pa.float32()),
            "csat": pa.array(cols[9], pa.int8()),
            "qa_score": pa.array([None if x is None else Decimal(str(x)) for x in cols[10]], pa.decimal128(5, 2)),
        }
    )  # fmt: skip
    pq.write_table(table, path)
    return path


def test_csv_parquet_and_jsonl_of_the_same_rows_give_the_same_facts_and_digest(tmp_path):
    files = [_csv(tmp_path / "r.csv"), _parquet(tmp_path / "r.parquet"), _jsonl(tmp_path / "r.jsonl")]
    digests, tables = [], []
    for f in files:
        with FactsStore(":memory:") as s:
            summary = s.ingest("interactions", f, now=NOW)
            assert (summary.accepted, summary.quarantined) == (3, 0), s.quarantine()
            digests.append(s.digest())
            tables.append(
                s.con.execute("SELECT * EXCLUDE (_batch, _until) FROM interactions ORDER BY 1").fetchall()
            )
    assert digests[0] == digests[1] == digests[2]
    assert tables[0] == tables[1] == tables[2]
    f2 = [r for r in tables[0] if r[0] == "f2"][0]
    assert f2[5] == datetime(2026, 10, 3, 23, 59, 59, 250000)


def test_one_store_sees_the_other_formats_as_duplicates(store, tmp_path):
    store.ingest("interactions", _csv(tmp_path / "r.csv"), now=NOW)
    for f in (_parquet(tmp_path / "r.parquet"), _jsonl(tmp_path / "r.jsonl")):
        s = store.ingest("interactions", f, now=NOW)
        assert (s.accepted, s.duplicates, s.updated) == (0, 3, 0)


def test_parquet_naive_timestamps_need_a_timezone(store, tmp_path):
    table = pa.table(
        {
            "interaction_id": ["n1"],
            "source": ["crm"],
            "channel": ["chat"],
            "opened_at": pa.array([datetime(2026, 7, 1, 10, 0)], pa.timestamp("us")),
            "status": ["open"],
        }
    )
    pq.write_table(table, tmp_path / "naive.parquet")
    s = store.ingest("interactions", tmp_path / "naive.parquet", now=NOW)
    assert s.reasons == {"missing_timezone": 1}
    s = store.ingest("interactions", tmp_path / "naive.parquet", now=NOW, timezone="Europe/London")
    assert s.accepted == 1
    assert rows_of(store)["n1"]["opened_at"] == datetime(2026, 7, 1, 9, 0)


def test_jsonl_lines_that_are_not_objects_are_quarantined_with_their_text(store, tmp_path):
    good = json.dumps(dict(zip(HEADER.split(","), GOOD.split(","), strict=True)))
    f = write(tmp_path, "f.ndjson", f"{good}\nnot json at all\n\n[1, 2]\n")
    s = store.ingest("interactions", f, now=NOW)
    assert (s.rows, s.accepted, s.reasons) == (3, 1, {"bad_json": 2})
    assert [(q["row"], q["raw"]) for q in store.quarantine()] == [(2, "not json at all"), (3, "[1, 2]")]


def test_json_rows_with_other_keys_and_key_orders_are_read_by_the_union_of_their_keys(store, tmp_path):
    """The columns of a JSON file are the union of its rows' keys: a key on one row only is a column, missing
    elsewhere (NULL); the order of keys does not matter; an unknown key on the last row refuses the file."""
    full = dict(zip(HEADER.split(","), GOOD.split(","), strict=True))
    short = {k: v for k, v in full.items() if k not in ("csat", "intent")}
    rows = [dict(short, interaction_id="i1"), dict(reversed(list(full.items())), interaction_id="i2")]
    f = write(tmp_path, "f.ndjson", "".join(json.dumps(r) + "\n" for r in rows))
    assert store.ingest("interactions", f, now=NOW).accepted == 2
    got = rows_of(store)
    assert (got["i1"]["csat"], got["i1"]["intent"]) == (None, None)
    assert (got["i2"]["csat"], got["i2"]["intent"]) == (5, "billing")
    rows.append(dict(full, interaction_id="i3", colour="blue"))
    f = write(tmp_path, "g.json", json.dumps(rows))
    with pytest.raises(IngestError) as err:
        store.ingest("interactions", f, now=NOW)
    assert "colour" in str(err.value)


def test_gzipped_csv_and_explicit_format(store, tmp_path):
    import gzip

    with gzip.open(tmp_path / "f.csv.gz", "wt") as fh:
        fh.write(HEADER + "\n" + GOOD + "\n")
    assert store.ingest("interactions", tmp_path / "f.csv.gz", now=NOW).accepted == 1
    (tmp_path / "export.txt").write_text(HEADER + "\n" + GOOD.replace("i1,", "i2,") + "\n")
    assert store.ingest("interactions", tmp_path / "export.txt", fmt="csv", now=NOW).accepted == 1


# -- file-level errors --------------------------------------------------------------------------------


def test_missing_required_column_names_file_and_column(store, tmp_path):
    f = write(
        tmp_path,
        "no-status.csv",
        "interaction_id,source,channel,opened_at\ni1,crm,chat,2026-10-03T09:00:00Z\n",
    )
    with pytest.raises(IngestError) as err:
        store.ingest("interactions", f)
    assert str(f) in str(err.value) and "missing required column(s) status" in str(err.value)
    assert store.batches() == [] and store.latest_batch() == 0


def test_unknown_columns_are_refused_with_a_hint_about_mappings(store, tmp_path):
    f = write(tmp_path, "extra.csv", HEADER + ",ticket_priority\n" + GOOD + ",high\n")
    with pytest.raises(IngestError, match=r"unknown column\(s\) 'ticket_priority'.*mapping"):
        store.ingest("interactions", f)


def test_events_need_their_own_columns(store, tmp_path):
    f = write(tmp_path, "ev.csv", "customer_id,event\nc1,churned\n")
    with pytest.raises(IngestError, match=r"ev.csv: missing required column\(s\) at for events"):
        store.ingest("events", f)


@pytest.mark.parametrize(
    ("name", "content", "fmt", "match"),
    [
        ("f.xlsx", "x", None, "cannot tell the format"),
        ("f.csv", "x", "xml", "unknown format 'xml'"),
        ("empty.csv", "", None, "the file is empty"),
        ("bad.parquet", "not parquet", None, "cannot read it as Parquet"),
    ],
)
def test_unreadable_files_are_ingest_errors(store, tmp_path, name, content, fmt, match):
    f = write(tmp_path, name, content)
    with pytest.raises(IngestError, match=match) as err:
        store.ingest("interactions", f, fmt=fmt)
    assert str(f) in str(err.value)
    assert store.batches() == [] and store.interactions().count().to_pyarrow().as_py() == 0


def test_missing_file(store, tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        store.ingest("interactions", tmp_path / "nope.csv")


# -- customer events ----------------------------------------------------------------------------------

EVENTS = """\
customer_id,event,at,amount,monthly_revenue
a,renewed,2026-10-01T00:00:00Z,120.50,40
b,Churned,2026-10-02T00:30:00+01:00,,
,saved,2026-10-03T00:00:00Z,,
c,exploded,2026-10-03T00:00:00Z,,
d,saved,2026-10-03T00:00:00,,
e,purchase,2026-10-03T00:00:00Z,12.345,
f,purchase,2026-10-03T00:00:00Z,0.1,-5
g,purchase,2027-01-05T00:00:00Z,1,
h,purchase,2026-10-03T00:00:00Z,1,
h,purchase,2026-10-03T00:00:00Z,2,
i,downgrade,2026-10-03T00:00:00Z,-10,20.5
i,downgrade,2026-10-03T01:00:00+01:00,-10.00,20.50
"""


def test_events_feed(store, tmp_path):
    s = store.ingest("events", write(tmp_path, "events.csv", EVENTS), now=NOW)
    assert (s.rows, s.accepted, s.duplicates, s.quarantined) == (12, 3, 1, 8)
    assert s.reasons == {
        "missing_customer": 1,
        "unknown_event": 1,
        "missing_timezone": 1,
        "bad_amount": 2,
        "future_timestamp": 1,
        "duplicate_id": 2,
    }
    assert [(q["row"], q["reason"], q["field"]) for q in store.quarantine()] == [
        (3, "missing_customer", "customer_id"),
        (4, "unknown_event", "event"),
        (5, "missing_timezone", "at"),
        (6, "bad_amount", "amount"),
        (7, "bad_amount", "monthly_revenue"),
        (8, "future_timestamp", "at"),
        (9, "duplicate_id", "customer_id,event,at"),
        (10, "duplicate_id", "customer_id,event,at"),
    ]
    got = store.events().order_by("customer_id").to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["event"], r["at"], r["amount"], r["monthly_revenue"]) for r in got] == [
        ("a", "renewed", datetime(2026, 10, 1), Decimal("120.50"), Decimal("40.00")),
        ("b", "churned", datetime(2026, 10, 1, 23, 30), None, None),
        ("i", "downgrade", datetime(2026, 10, 3), Decimal("-10.00"), Decimal("20.50")),
    ]
    assert store.event_clock() == datetime(2026, 10, 3)
    assert store.event_clock(as_of_batch=0) is None


def test_an_event_with_other_amounts_is_an_update(store, tmp_path):
    store.ingest(
        "events",
        write(
            tmp_path, "e1.csv", "customer_id,event,at,monthly_revenue\nc1,renewed,2026-10-01T00:00:00Z,40\n"
        ),
        now=NOW,
    )
    s = store.ingest("events", write(tmp_path, "e2.jsonl", '{"customer_id": "c1", "event": "renewed", "at": "2026-10-01T00:00:00Z", "monthly_revenue": 45}\n'), now=NOW)  # fmt: skip
    assert (s.accepted, s.updated) == (0, 1)
    assert store.events(1).to_pyarrow()["monthly_revenue"].to_pylist() == [Decimal("40.00")]
    assert store.events().to_pyarrow()["monthly_revenue"].to_pylist() == [Decimal("45.00")]


# -- progress -----------------------------------------------------------------------------------------


def test_progress_reports_read_validate_write(store):
    calls: list[tuple[str, int, int]] = []
    store.ingest("interactions", WORKED_MONTH_CSV, now=NOW, progress=lambda *a: calls.append(a))
    stages = [c[0] for c in calls]
    assert stages[0] == "read" and stages[-1] == "write"
    assert set(stages) == {"read", "validate", "write"}
    assert ("read", 100, 100) in calls and ("validate", 14, 14) in calls and ("write", 4, 4) in calls
    assert all(0 <= done <= total for _, done, total in calls)
