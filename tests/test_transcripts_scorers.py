"""The built-in scorers as scenarios: a few turns, then the scores and the phrases that fired."""

from __future__ import annotations

import pytest

from outcomes.errors import OutcomesError
from outcomes.transcripts.model import Transcript, Turn
from outcomes.transcripts.rubric import load_rubric, parse_rubric, score_qa
from outcomes.transcripts.scoring import SentimentScorer, SignalScorer
from outcomes.transcripts.sentiment import sentiment


def convo(*turns: tuple[str, str]) -> Transcript:
    return Transcript("x", tuple(Turn(i, sp, text) for i, (sp, text) in enumerate(turns, 1)))


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("no problem", "pos"),
        ("no problem, thanks!", "pos"),  # VADER alone reads this negative
        ("kindly help me with my bill", "neu"),  # politeness, not praise
        ("please cancel my order", "neu"),  # a request
        ("my flight was cancelled", "neg"),
        ("I have a problem with my card", "neg"),
        ("the outage is a nightmare", "neg"),
        ("that fixed it, thanks", "pos"),
    ],
)
def test_the_lexicon_patch_reads_customer_service_language(text: str, reads: str) -> None:
    s = sentiment(text)
    assert {"neg": s < -0.05, "neu": -0.05 <= s <= 0.05, "pos": s > 0.05}[reads], s


def test_sentiment_shift_from_the_first_to_the_last_customer_turn() -> None:
    s = SentimentScorer().score(
        convo(("customer", "This is terrible, my internet is down again"), ("agent", "Sorry! Fixed now."),
              ("customer", "Great, thank you so much!"))
    )
    assert s["start"] < 0 < s["end"] and s["shift"] == pytest.approx(s["end"] - s["start"])
    assert s["negative_end"] is False and (s["start_turn"], s["end_turn"]) == (1, 3)
    one = SentimentScorer().score(convo(("customer", "thanks")))
    assert one["shift"] is None and one["end"] == one["start"]
    assert SentimentScorer().score(convo(("agent", "hello")))["end"] is None


def test_upsell_counts_only_after_a_resolution_and_keeps_its_phrases() -> None:
    before = SignalScorer().score(
        convo(("agent", "Would you like to upgrade to our premium plan?"), ("customer", "my bill is wrong"),
              ("agent", "I have refunded the charge."))
    )
    assert before["upsell"] and not before["upsell_after_resolution"]
    after = SignalScorer().score(
        convo(("customer", "my bill is wrong"), ("agent", "I have refunded the charge. Would you like to add a line?"))
    )
    assert after["upsell_after_resolution"] and after["resolved_turn"] == 2
    assert [h["phrase"] for h in after["phrases"]["upsell"]] == ["Would you like"]


def test_churn_is_leaving_not_cancelling_an_order() -> None:
    assert not SignalScorer().score(convo(("customer", "I want to cancel my order please")))["churn"]
    s = SignalScorer().score(convo(("customer", "Close my account, I'm switching to T-Mobile")))
    assert s["churn"] and {h["signal"] for h in s["phrases"]["churn"]} >= {"close_account"}


def test_effort_from_the_customer_or_from_two_transfers() -> None:
    assert SignalScorer().score(convo(("customer", "I already told you my account number")))["effort"]
    two = convo(("agent", "Let me transfer you to billing."), ("agent", "I'll transfer you to our tech team."))
    s = SignalScorer().score(two)
    assert s["effort"] and s["transfers"] == 2


RUBRIC = {
    "name": "t",
    "version": "2",
    "min_turns": 3,
    "items": [
        {"id": "greet", "weight": 1, "where": "first 1", "any": [r"\bhello\b"]},
        {"id": "verify", "weight": 3, "skip_short": True, "any": [r"\bverify\b"]},
        {"id": "pci", "weight": 0, "auto_fail": True, "any": [r"card number"], "unless": [r"never share"]},
    ],
}


def test_rubric_weights_skips_and_auto_fail() -> None:
    r = parse_rubric(RUBRIC)
    assert r.scorer_version == "rubric:t/2"
    full = score_qa(r, convo(("agent", "Hello!"), ("customer", "hi"), ("agent", "Let me verify your account")))
    assert full["score"] == 100.0 and full["items"]["verify"] == {"passed": True, "turn": 3, "phrase": "verify"}
    assert score_qa(r, convo(("agent", "hey"), ("customer", "hi"), ("agent", "verify please")))["score"] == 75.0
    short = score_qa(r, convo(("agent", "Hello!"), ("customer", "thanks")))
    assert short["short"] and short["items"]["verify"] == {"skipped": "short contact"} and short["score"] == 100.0
    warned = score_qa(r, convo(("agent", "Hello"), ("agent", "never share your card number"), ("agent", "verify")))
    assert warned["auto_failed"] == [] and warned["score"] == 100.0
    failed = score_qa(r, convo(("agent", "Hello"), ("agent", "send me your card number"), ("agent", "verify")))
    assert failed["score"] == 0.0 and failed["auto_failed"] == ["pci"]
    assert failed["items"]["pci"] == {"fired": True, "turn": 2, "phrase": "card number"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": []}, "items: list at least one item"),
        ({"version": ""}, "version: give the rubric a version"),
        ({"items": [{"id": "a", "weight": 1, "where": "middle", "any": ["x"]}]}, "where must be 'any', 'first N' or 'last N'"),
        ({"items": [{"id": "a", "weight": 1, "speaker": "robot", "any": ["x"]}]}, "speaker must be one of"),
        ({"items": [{"id": "a", "weight": 0, "any": ["x"]}]}, "weight 0 counts for nothing"),
        ({"items": [{"id": "a", "weight": 1, "any": ["x"]}, {"id": "a", "weight": 1, "any": ["y"]}]}, "used twice"),
        ({"colour": "red"}, "unknown key(s) colour"),
    ],
)
def test_a_bad_rubric_is_refused_with_the_item_named(change: dict, message: str) -> None:
    with pytest.raises(OutcomesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rubric({**RUBRIC, **change}, "qa.yaml")


def test_the_built_in_rubric_loads() -> None:
    r = load_rubric()
    assert r.name == "default" and {i.id for i in r.items if i.auto_fail} == {"card_or_password_asked", "prohibited_language"}
