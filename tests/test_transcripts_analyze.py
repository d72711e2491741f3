"""`outcomes analyze`: every in-scope contact scored once per transcript version and scorer version; the scores
become metrics that service levels and the scorecard use."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest

from outcomes.facts import transcripts as ft
from outcomes.metrics.library import MetricRequest, measure_metrics
from outcomes.metrics.outcomes import Clocks
from outcomes.metrics.scope import Window
from outcomes.period import Period
from outcomes.transcripts.analyze import analyze
from outcomes.transcripts.ingest import ingest_file
from outcomes.transcripts.settings import TranscriptSettings

CONTRACT = """
contract: talk
version: 1
parties: {buyer: Buyer, provider: Provider}
currency: USD
timezone: UTC
term: {start: 2026-01-01, end: 2026-12-31}
period: month
system_of_record: crm
workflows:
  general: {default: true}
outcomes:
  resolution:
    kind: resolution
    repeat_contact: {within: 7d, same: [customer], channels: any}
pricing:
  base_fee: "100.00"
  outcome_fees:
    - outcome: resolution
      tiers: graduated
      prices: [{unit: "4.00"}]
service_levels:
  at_risk: "0.10"
  measures:
    - {metric: qa_auto_mean, target: ">= 60", weight: "0.5"}
    - {metric: churn_signal_rate, target: "<= 0.20", weight: "0.5"}
"""

HEADER = "interaction_id,source,customer_id,channel,queue,opened_at,closed_at,status,handled_by"

TRANSCRIPTS = """interaction_id,source,turn,speaker,text,at
a,crm,1,agent,"Hi, thanks for contacting us! How can I help?",
a,crm,2,customer,My internet is down again. I already told you this yesterday.,
a,crm,3,agent,"I'm sorry about that. May I have your account number to verify?",
a,crm,4,customer,it's 4111 1111 1111 1111,
a,crm,5,agent,I have reset your line and it has been fixed. Would you like to upgrade to our unlimited plan?,
a,crm,6,customer,"Great, thank you so much!",
a,crm,7,agent,Anything else? Have a great day!,
b,crm,1,customer,I want to cancel my subscription and switch to Verizon. This is ridiculous.,
b,crm,2,agent,Shut up.,
b,crm,3,customer,Unbelievable. Terrible service.,
c,crm,1,customer,thanks!,
"""


def _setup(scenario, tmp_path: Path):
    s = scenario(CONTRACT)
    s.rows(
        """
        a,crm,c1,chat,general,2026-06-02T09:00:00Z,2026-06-02T09:20:00Z,resolved,agent
        b,crm,c2,chat,general,2026-06-03T09:00:00Z,2026-06-03T09:20:00Z,resolved,agent
        c,crm,c3,chat,general,2026-06-04T09:00:00Z,2026-06-04T09:20:00Z,resolved,agent
        d,crm,c4,chat,general,2026-06-05T09:00:00Z,2026-06-05T09:20:00Z,resolved,agent
        """,
        header=HEADER,
    )
    path = tmp_path / "t.csv"
    path.write_text(TRANSCRIPTS, encoding="utf-8")
    ingest_file(s.ws.facts(), path, mapping=None, fmt=None, source=None, timezone=None, settings=TranscriptSettings())
    period = Period.parse("2026-06")
    return s, period, Window.of(s.contract, period)


def _scores(facts) -> dict[tuple[str, str], dict]:
    import json

    rows = facts.con.execute("SELECT interaction_id, scorer, scores FROM transcript_scores").fetchall()
    return {(i, sc): json.loads(j) for i, sc, j in rows}


def test_analyze_scores_once_and_rescores_only_what_changed(scenario, tmp_path: Path) -> None:
    s, period, window = _setup(scenario, tmp_path)
    facts = s.ws.facts()
    first = analyze(facts, s.contract, period, window, workers=1)
    assert (first.in_scope, first.with_transcript, first.scored, first.unchanged) == (4, 3, 3, 0)
    assert first.coverage == 0.75  # d has no transcript: the coverage says so
    scores = _scores(facts)
    a_qa, b_qa = scores[("a", "qa")], scores[("b", "qa")]
    assert a_qa["score"] == 100.0 and a_qa["items"]["verification"]["phrase"].lower().startswith("may i have")
    assert b_qa["score"] == 0.0 and b_qa["auto_failed"] == ["prohibited_language"]
    assert scores[("c", "qa")]["short"] is True  # one turn: only greeting/closing apply, neither passed
    assert scores[("a", "signals")]["upsell_after_resolution"] is True
    assert scores[("a", "signals")]["effort"] is True and scores[("a", "signals")]["churn"] is False
    assert scores[("b", "signals")]["churn"] is True
    assert {h["phrase"] for h in scores[("b", "signals")]["phrases"]["churn"]} >= {"switch to Verizon"}
    assert scores[("b", "sentiment")]["negative_end"] is True
    # stored phrases come from the redacted text: the card number never reaches the scores
    assert "4111" not in facts.con.execute("SELECT string_agg(CAST(scores AS VARCHAR), '') FROM transcript_scores").fetchone()[0]

    again = analyze(facts, s.contract, period, window, workers=1)
    assert (again.scored, again.unchanged) == (0, 3)
    path = tmp_path / "t2.csv"
    path.write_text(TRANSCRIPTS.replace("Terrible service.", "Ok thanks that helps a lot."), encoding="utf-8")
    ingest_file(facts, path, mapping=None, fmt=None, source=None, timezone=None, settings=TranscriptSettings())
    third = analyze(facts, s.contract, period, window, workers=1)
    assert (third.scored, third.unchanged) == (1, 2)
    assert _scores(facts)[("b", "sentiment")]["negative_end"] is False


def test_an_interrupted_run_resumes_where_it_stopped(scenario, tmp_path: Path, monkeypatch) -> None:
    s, period, window = _setup(scenario, tmp_path)
    facts = s.ws.facts()
    calls = {"n": 0}
    real = ft.write_scores

    def flaky(store, rows, at):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real(store, rows, at)

    monkeypatch.setattr(ft, "write_scores", flaky)
    with pytest.raises(KeyboardInterrupt):
        analyze(facts, s.contract, period, window, workers=1, batch_size=1)
    monkeypatch.setattr(ft, "write_scores", real)
    assert len({i for i, _ in _scores(facts)}) == 1  # the first batch was kept whole
    resumed = analyze(facts, s.contract, period, window, workers=1, batch_size=1)
    assert (resumed.scored, resumed.unchanged) == (2, 1)


def test_transcript_metrics_are_contract_metrics(scenario, tmp_path: Path) -> None:
    s, period, window = _setup(scenario, tmp_path)
    facts = s.ws.facts()
    clocks = Clocks(contacts=datetime(2027, 3, 1), events=None)
    names = ["qa_auto_mean", "negative_end_rate", "sentiment_shift_mean", "churn_signal_rate", "upsell_after_resolution_rate"]

    def measure():
        values = measure_metrics(
            s.contract, facts.interactions(), facts.events(), window, clocks, [MetricRequest(n) for n in names]
        )
        return {v.request.name: v for v in values}

    before = measure()
    assert all(v.value is None for v in before.values())
    assert "outcomes analyze" in before["qa_auto_mean"].details["undefined"]
    analyze(facts, s.contract, period, window, workers=1)
    after = measure()
    scores = _scores(facts)
    qa = [scores[(i, "qa")]["score"] for i in "abc" if scores[(i, "qa")]["score"] is not None]
    assert after["qa_auto_mean"].value == Fraction(sum(Fraction(str(q)) for q in qa)) / len(qa)
    assert after["churn_signal_rate"].value == Fraction(1, 3)
    assert after["upsell_after_resolution_rate"].value == Fraction(1, 3)
    assert after["negative_end_rate"].value == Fraction(
        sum(1 for i in "abc" if scores[(i, "sentiment")]["negative_end"]), 3
    )
    assert after["qa_auto_mean"].details["scored_contacts"] == 3
    assert after["qa_auto_mean"].details["closed_contacts"] == 4  # d has no transcript
    shifts = [scores[(i, "sentiment")]["shift"] for i in "abc" if scores[(i, "sentiment")]["shift"] is not None]
    assert after["sentiment_shift_mean"].value == sum(Fraction(str(x)) for x in shifts) / len(shifts)


def test_a_service_level_on_a_transcript_metric_is_assessed_in_the_settlement(scenario, tmp_path: Path) -> None:
    from outcomes.settlement.settle import compute

    s, period, window = _setup(scenario, tmp_path)
    facts = s.ws.facts()
    analyze(facts, s.contract, period, window, workers=1)
    result = compute(s.ws.ledger(), facts, "talk", "2026-06")
    assessed = {r["metric"]: r for r in result.measure_results}
    assert set(assessed) == {"qa_auto_mean", "churn_signal_rate"}
    assert assessed["churn_signal_rate"]["met"] is False  # 1 of 3 scored contacts > 0.20
    assert assessed["churn_signal_rate"]["actual"].startswith("0.333")
    assert any(ln.kind == "service_credit" for ln in result.lines) or result.total < 100


def test_the_scorecard_shows_the_conversations_group_once_scores_exist(scenario, tmp_path: Path) -> None:
    from outcomes.analysis.scorecard import collect

    s, period, window = _setup(scenario, tmp_path)
    before = collect(s.ws, "talk", "2026-06", trend=1)
    assert [g["group"] for g in before["groups"]] == ["customer", "financial", "operational"]
    analyze(s.ws.facts(), s.contract, period, window, workers=1)
    card = collect(s.ws, "talk", "2026-06", trend=1)
    conv = {m["metric"]: m for g in card["groups"] if g["group"] == "conversations" for m in g["metrics"]}
    assert set(conv) == {
        "qa_auto_mean", "negative_end_rate", "sentiment_shift_mean", "churn_signal_rate", "upsell_after_resolution_rate"
    }
    assert conv["churn_signal_rate"]["value"] == "0.333333"
