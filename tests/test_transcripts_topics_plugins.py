"""Friction topics on real reply threads (stable run to run, redacted examples, growth), and a scorer plugged
in through a real entry point."""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from conftest import SHARED
from outcomes.facts import transcripts as ft
from outcomes.metrics.scope import Window
from outcomes.period import Period
from outcomes.transcripts import mappings
from outcomes.transcripts.analyze import analyze
from outcomes.transcripts.friction import friction_report, render_chart
from outcomes.transcripts.ingest import ingest_file
from outcomes.transcripts.scoring import ENTRY_POINT_GROUP, resolve_scorers
from outcomes.transcripts.settings import TranscriptSettings

TWCS = SHARED / "data" / "twcs_sample" / "twcs_head5000.csv.gz"

CONTRACT = """
contract: tweets
version: 1
parties: {buyer: Brands, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2017-01-01, end: 2017-12-31}
period: month
system_of_record: twitter
workflows:
  social: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
pricing:
  base_fee: "100.00"
  outcome_fees:
    - outcome: resolution
      tiers: graduated
      prices: [{unit: "1.00"}]
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by,handle_seconds"


def _twcs_workspace(scenario, tmp_path: Path):
    """The TWCS sample as transcripts, and one interaction per reply thread (opened at its first tweet, closed
    at its last, the customer the thread's first customer author)."""
    s = scenario(CONTRACT)
    threads: dict[str, list[dict]] = defaultdict(list)
    for row in mappings.twcs(ft.read_records(TWCS), {}):
        if "_reject" not in row:
            threads[row["interaction_id"]].append(row)
    lines = []
    for iid, rows in threads.items():
        at = [datetime.fromisoformat(r["at"].rstrip("Z")) for r in rows]
        customer = next((r["author_id"] for r in rows if r["speaker"] == "customer"), "")
        lines.append(
            f"{iid},twitter,{customer},social,social,{min(at).isoformat()}Z,{max(at).isoformat()}Z,resolved,agent,"
            f"{(max(at) - min(at)).total_seconds():.0f}"
        )
    s.rows("\n".join(lines), header=HEADER, clock=False)
    ingest_file(s.ws.facts(), TWCS, mapping="twcs", fmt=None, source=None, timezone=None, settings=TranscriptSettings())
    return s


@pytest.mark.slow
def test_friction_topics_are_stable_ranked_redacted_and_compared_with_the_last_period(scenario, tmp_path: Path):
    s = _twcs_workspace(scenario, tmp_path)
    facts = s.ws.facts()
    window, before = Window.of(s.contract, Period.parse("2017-10")), Window.of(s.contract, Period.parse("2017-09"))
    first = friction_report(facts, s.contract, window, before, k=8, seed=7)
    again = friction_report(facts, s.contract, window, before, k=8, seed=7)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)  # stable run to run
    topics = first["topics"]
    assert first["contacts"] > 100 and 2 <= len(topics) <= 8
    assert [t["contacts"] for t in topics] == sorted((t["contacts"] for t in topics), reverse=True)
    assert sum(t["contacts"] for t in topics) + first["unassigned"] == first["contacts"]
    for t in topics:
        assert t["terms"] and len(t["examples"]) <= 3 and 0 <= t["repeat_rate"] <= 1
        assert t["growth"] is None or t["growth"] >= -1
    examples = " ".join(e for t in topics for e in t["examples"])
    assert "@" not in examples and "http" not in " ".join(t["terms"][0] for t in topics)
    # the Chipotle Halloween offer is one of October's recurring topics, labelled by its words
    assert any({"burrito", "halloween"} & set(" ".join(t["terms"]).split()) for t in topics)
    svg = render_chart(first, "svg")
    assert svg.startswith(b"<svg") and svg == render_chart(again, "svg")
    # another k is another model over the same contacts
    more = friction_report(facts, s.contract, window, before, k=12, seed=7)
    assert more["contacts"] == first["contacts"] and len(more["topics"]) > len(topics)


PLUGIN = '''
class Shouty:
    name = "shouty"
    version = "shouty/1"

    def score(self, transcript):
        shouts = [t.text for t in transcript.turns if t.speaker == "customer" and t.text.isupper()]
        return {"shouting": bool(shouts), "phrases": shouts}


class Broken:
    name = "broken"
'''


@pytest.fixture
def plugged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real installed distribution (a .dist-info on sys.path) declaring two scorers in the entry point group."""
    (tmp_path / "acme_scoring.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "acme_scoring-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-scoring\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nshouty = acme_scoring:Shouty\nbroken = acme_scoring:Broken\nmissing = acme_nope:X\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_scorer_plugged_in_through_an_entry_point_runs_in_analyze(scenario, tmp_path: Path, plugged: Path) -> None:
    from outcomes.errors import OutcomesError

    s = scenario(CONTRACT.replace("system_of_record: twitter", "system_of_record: crm"))
    s.rows(
        """
        a,crm,c1,chat,social,2017-06-02T09:00:00Z,2017-06-02T09:20:00Z,resolved,agent,
        b,crm,c2,chat,social,2017-06-03T09:00:00Z,2017-06-03T09:20:00Z,resolved,agent,
        """,
        header=HEADER,
    )
    path = tmp_path / "t.csv"
    path.write_text("interaction_id,source,turn,speaker,text\na,crm,1,customer,WHERE IS MY ORDER\nb,crm,1,customer,hello\n")
    ingest_file(s.ws.facts(), path, mapping=None, fmt=None, source=None, timezone=None, settings=TranscriptSettings())
    period = Period.parse("2017-06")
    summary = analyze(
        s.ws.facts(), s.contract, period, Window.of(s.contract, period), scorer_names=["shouty", "qa"], workers=2, batch_size=1
    )
    assert summary.scorers["shouty"] == "shouty/1" and summary.scored == 2
    rows = dict(
        s.ws.facts().con.execute("SELECT interaction_id, scores FROM transcript_scores WHERE scorer = 'shouty'").fetchall()
    )
    assert json.loads(rows["a"]) == {"shouting": True, "phrases": ["WHERE IS MY ORDER"]}
    assert json.loads(rows["b"])["shouting"] is False
    with pytest.raises(OutcomesError, match="no name, version and score"):
        resolve_scorers(["broken"])
    with pytest.raises(OutcomesError, match="cannot load acme_nope:X"):
        resolve_scorers(["missing"])
    with pytest.raises(OutcomesError, match="no scorer named 'nope'.*shouty"):
        resolve_scorers(["nope"])
