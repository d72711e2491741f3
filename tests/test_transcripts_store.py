"""Transcripts in the facts store: idempotent, versioned, quarantined, and redacted before storing when asked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import SHARED
from outcomes.facts import FactsStore
from outcomes.facts import transcripts as ft
from outcomes.transcripts.ingest import ingest_file
from outcomes.transcripts.settings import TranscriptSettings, transcript_settings

NOW = datetime(2027, 6, 1, tzinfo=UTC)
TWCS = SHARED / "data" / "twcs_sample" / "twcs_head5000.csv.gz"
ABCD = SHARED / "data" / "asapp_abcd_sample" / "abcd_sample.json"

CSV = """interaction_id,source,turn,speaker,text,at
c1,chat,1,customer,Hi my card 4111 1111 1111 1111 was charged twice,2026-06-01T10:00:00Z
c1,chat,2,agent,Sorry about that! I have refunded it.,2026-06-01T10:01:00Z
c1,chat,3,customer,thanks,2026-06-01T10:02:00Z
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _ingest(store: FactsStore, path: Path, **kw) -> ft.TranscriptIngest:
    settings = kw.pop("settings", TranscriptSettings())
    return ingest_file(store, path, mapping=kw.pop("mapping", None), fmt=None, source=kw.pop("source", None),
                       timezone=kw.pop("timezone", None), settings=settings, **kw)


def _current(store: FactsStore) -> list[tuple]:
    return store.con.execute(
        "SELECT source, interaction_id, turn, speaker, text FROM transcripts WHERE _until IS NULL ORDER BY ALL"
    ).fetchall()


def test_reingest_adds_nothing_and_a_changed_turn_is_a_new_version(tmp_path: Path) -> None:
    store = FactsStore(":memory:")
    first = _ingest(store, _write(tmp_path, "t.csv", CSV))
    assert (first.accepted, first.duplicates, first.interactions) == (3, 0, 1)
    again = _ingest(store, _write(tmp_path, "t.csv", CSV))
    assert (again.accepted, again.duplicates, again.updated) == (0, 3, 0)
    assert again.batch == first.batch + 1  # every attempt is a batch
    changed = _ingest(store, _write(tmp_path, "t2.csv", CSV.replace("thanks", "thanks a lot")))
    assert (changed.accepted, changed.duplicates, changed.updated) == (0, 2, 1)
    rows = store.con.execute("SELECT text, _batch, _until FROM transcripts WHERE turn = 3 ORDER BY _batch").fetchall()
    assert rows == [("thanks", first.batch, changed.batch), ("thanks a lot", changed.batch, None)]
    # the interactions/events digest is not moved by a transcripts batch
    assert store.digest(changed.batch) == store.digest(first.batch - 1 if first.batch > 1 else 0)


def test_bad_rows_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    text = (
        "interaction_id,source,turn,speaker,text,at\n"
        ",chat,1,customer,no id,2026-06-01T10:00:00Z\n"
        "c2,chat,zero,customer,bad turn,2026-06-01T10:00:00Z\n"
        "c2,chat,1,robot,who is this,2026-06-01T10:00:00Z\n"
        "c2,chat,2,agent,   ,2026-06-01T10:00:00Z\n"
        "c2,chat,3,agent,when?,yesterday\n"
        "c2,chat,4,agent,naive time,2026-06-01 10:00:00\n"
        "c2,chat,5,agent,from the future,2030-01-01T00:00:00Z\n"
        "c3,chat,1,customer,one,2026-06-01T10:00:00Z\n"
        "c3,chat,1,customer,two,2026-06-01T10:00:00Z\n"
        "c4,chat,1,Customer,fine,2026-06-01T10:00:00+02:00\n"
    )
    store = FactsStore(":memory:")
    s = ft.ingest(
        store, ft.read_records(_write(tmp_path, "bad.csv", text)), file=tmp_path / "bad.csv", fmt="csv", now=NOW
    )
    assert s.accepted == 1 and s.quarantined == 9
    assert s.reasons == {
        "bad_timestamp": 1,
        "bad_turn": 1,
        "duplicate_id": 2,
        "future_timestamp": 1,
        "missing_id": 1,
        "missing_text": 1,
        "missing_timezone": 1,
        "unknown_speaker": 1,
    }
    q = store.quarantine(s.batch)
    assert [r["row"] for r in q] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert "appears 2 times in the file with different content (rows 8, 9)" in q[7]["message"]
    # a zone offset is converted to UTC; the speaker is read case-insensitively
    assert store.con.execute('SELECT speaker, "at" FROM transcripts').fetchall() == [
        ("customer", datetime(2026, 6, 1, 8, 0))
    ]


def test_redact_before_store_keeps_raw_text_out_of_the_file_entirely(tmp_path: Path) -> None:
    db = tmp_path / "facts.duckdb"
    text = CSV.replace(",at\n", ",at,speaker_name\n", 1).replace("Z\n", "Z,\n")
    text += "c9,chat,1,customer,my email is jo@example.com,bad-time,\n"
    text += 'c9,chat,2,customer,"call +44 20 7946 0958, Jo Bloggs here",2026-06-01T10:00:00Z,Jo Bloggs\n'
    path = _write(tmp_path, "pii.csv", text)
    with FactsStore(db) as store:
        s = _ingest(store, path, settings=TranscriptSettings(redact_before_store=True))
        assert s.redacted and s.quarantined == 1
        texts = [r[4] for r in _current(store)]
        assert "Hi my card [CARD] was charged twice" in texts
        assert "call [PHONE], [NAME] here" in texts
        assert store.con.execute("SELECT count(*) FROM transcripts WHERE speaker_name IS NOT NULL").fetchone()[0] == 0
        assert "[EMAIL]" in store.quarantine(s.batch)[0]["raw"]
        assert store.batches()[-1]["format"] == "csv+redacted"
    raw = db.read_bytes()
    for secret in (b"4111", b"jo@example.com", b"7946", b"Bloggs"):
        assert secret not in raw


def test_a_failure_mid_write_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FactsStore(":memory:")
    _ingest(store, _write(tmp_path, "t.csv", CSV))
    before = (_current(store), store.batches(), store.quarantine())

    def boom(batch: int, table: str) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_keep_digest_sums", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        _ingest(store, _write(tmp_path, "t2.csv", CSV.replace("thanks", "bye") + "c5,chat,1,customer,new,\n"))
    assert (_current(store), store.batches(), store.quarantine()) == before


def test_twcs_mapping_rebuilds_reply_threads_and_quarantines_the_broken_row() -> None:
    store = FactsStore(":memory:")
    s = _ingest(store, TWCS, mapping="twcs")
    assert s.rows == 5001 and s.accepted == 5000 and s.quarantined == 1
    assert s.reasons == {"bad_source_row": 1}
    # tweets 1-3 of SOURCE.md form one conversation named by its first tweet: customer asks (3), brand
    # answers (1), customer answers back (2), in time order
    rows = store.con.execute(
        "SELECT speaker, left(text, 30) FROM transcripts WHERE interaction_id = '1' ORDER BY turn"
    ).fetchall()
    wanted = [
        ("customer", "@sprintcare I have sent severa"),
        ("agent", "@115712 I understand. I would "),
        ("customer", "@sprintcare and how do you pro"),
    ]
    assert [r for r in rows if r in wanted] == wanted
    assert rows[0] == ("customer", "@sprintcare is the worst custo")
    assert s.interactions == store.con.execute("SELECT count(DISTINCT interaction_id) FROM transcripts").fetchone()[0]


def test_abcd_mapping_drops_action_turns_and_knows_the_customer() -> None:
    store = FactsStore(":memory:")
    s = _ingest(store, ABCD, mapping="abcd")
    assert (s.accepted, s.skipped, s.interactions) == (63, 9, 3)
    names = store.con.execute("SELECT DISTINCT speaker_name FROM transcripts WHERE speaker = 'customer' ORDER BY 1").fetchall()
    assert names == [("alessandro phoenix",), ("crystal minh",), ("joyce wu",)]


INTERCOM = {
    "type": "conversation",
    "id": "215",
    "created_at": 1717236000,
    "source": {"type": "conversation", "body": "<p>Hi, my invoice is wrong</p>", "author": {"type": "user", "name": "Ana Ruiz"}},
    "conversation_parts": {
        "type": "conversation_part.list",
        "conversation_parts": [
            {"part_type": "assignment", "body": None, "created_at": 1717236010, "author": {"type": "bot", "name": "Fin"}},
            {"part_type": "comment", "body": "<p>I can help with that.</p>", "created_at": 1717236020, "author": {"type": "bot", "name": "Fin"}},
            {"part_type": "note", "body": "<p>VIP</p>", "created_at": 1717236030, "author": {"type": "admin", "name": "Sam"}},
            {"part_type": "comment", "body": "<p>Fixed, Ana &amp; sorry!</p>", "created_at": 1717236040, "author": {"type": "admin", "name": "Sam"}},
        ],
        "total_count": 4,
    },
}

ZENDESK = {
    "id": 35436,
    "requester_id": 7,
    "users": [{"id": 7, "name": "Lee Chen", "role": "end-user"}, {"id": 9, "name": "Kim", "role": "agent"}],
    "comments": [
        {"id": 1, "author_id": 7, "body": "My order never came", "public": True, "created_at": "2026-06-01T10:00:00Z"},
        {"id": 2, "author_id": 9, "body": "internal: check carrier", "public": False, "created_at": "2026-06-01T10:05:00Z"},
        {"id": 3, "author_id": 9, "plain_body": "Lee, it ships today.", "public": True, "created_at": "2026-06-01T10:06:00Z"},
        {"id": 4, "author_id": 10, "body": "Was this helpful?", "public": True, "created_at": "2026-06-01T10:07:00Z", "via": {"channel": "answer_bot"}},
    ],
}


def test_intercom_and_zendesk_mappings_read_their_documented_shapes(tmp_path: Path) -> None:
    store = FactsStore(":memory:")
    i = _ingest(store, _write(tmp_path, "conversations.jsonl", json.dumps(INTERCOM) + "\n"), mapping="intercom")
    z = _ingest(store, _write(tmp_path, "tickets.json", json.dumps({"tickets": [ZENDESK]})), mapping="zendesk")
    assert (i.accepted, i.skipped, z.accepted, z.skipped) == (3, 2, 3, 1)
    assert _current(store) == [
        ("intercom", "215", 1, "customer", "Hi, my invoice is wrong"),
        ("intercom", "215", 2, "bot", "I can help with that."),
        ("intercom", "215", 3, "agent", "Fixed, Ana & sorry!"),
        ("zendesk", "35436", 1, "customer", "My order never came"),
        ("zendesk", "35436", 2, "agent", "Lee, it ships today."),
        ("zendesk", "35436", 3, "bot", "Was this helpful?"),
    ]
    at = store.con.execute("SELECT \"at\" FROM transcripts WHERE source = 'intercom' AND turn = 1").fetchone()[0]
    assert at == datetime(2024, 6, 1, 10, 0)


def test_file_level_problems_name_the_file_and_the_fix(tmp_path: Path) -> None:
    from outcomes.errors import OutcomesError

    store = FactsStore(":memory:")
    with pytest.raises(OutcomesError, match="missing column"):
        _ingest(store, _write(tmp_path, "x.csv", "id,who,what\n1,a,b\n"))
    with pytest.raises(OutcomesError, match="no transcript mapping named 'slack'"):
        _ingest(store, _write(tmp_path, "y.csv", CSV), mapping="slack")
    with pytest.raises(OutcomesError, match="cannot tell the format"):
        _ingest(store, _write(tmp_path, "z.txt", CSV))
    with pytest.raises(OutcomesError, match="not valid JSON"):
        _ingest(store, _write(tmp_path, "w.json", "{oops"), mapping="zendesk")
    assert not store.has_table("transcripts") or _current(store) == []


def test_settings_are_checked(tmp_path: Path) -> None:
    from outcomes.errors import OutcomesError

    s = transcript_settings({"transcripts": {"redact_before_store": True, "regions": ["us"]}}, tmp_path)
    assert s.redact_before_store and s.regions == ("US",)
    with pytest.raises(OutcomesError, match="redact_before_store must be true or false"):
        transcript_settings({"transcripts": {"redact_before_store": "yes"}}, tmp_path)
    with pytest.raises(OutcomesError, match="unknown key"):
        transcript_settings({"transcripts": {"redact": True}}, tmp_path)
