"""PII redaction: typed placeholders, validators that keep look-alikes, and ABCD's exact ground truth."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED
from outcomes.transcripts.evaluate import align_delexed, evaluate_abcd
from outcomes.transcripts.redact import Redactor, find_pii, redact

ABCD = SHARED / "data" / "asapp_abcd_sample" / "abcd_sample.json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+cs@example.co.uk today", "write to [EMAIL] today"),
        ("card 4111 1111 1111 1111 please", "card [CARD] please"),
        ("card 4111-1111-1111-1111", "card [CARD]"),
        # a 16-digit order number that fails Luhn stays
        ("order 1234567812345678 is late", "order 1234567812345678 is late"),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN [IBAN] thanks"),
        ("DE89370400440532013000", "[IBAN]"),
        # a wrong IBAN checksum stays
        ("GB83 WEST 1234 5698 7654 32", "GB83 WEST 1234 5698 7654 32"),
        ("my ssn is 123-45-6789", "my ssn is [NATIONAL_ID]"),
        # SSNs never start with 000, 666 or 9xx
        ("code 666-45-6789", "code 666-45-6789"),
        ("NINO JG 10 37 26 A", "NINO [NATIONAL_ID]"),
        ("NINO QQ 12 34 56 C", "NINO QQ 12 34 56 C"),  # no NINO starts with Q
        ("Contact: +49 1708733216", "Contact: [PHONE]"),
        ("The number is +1(818)930-5703", "The number is [PHONE]"),
        ("call (977) 625-2661", "call [PHONE]"),
        ("Paul 850.266.3576 https://t.co/x", "Paul [PHONE] https://t.co/x"),
        ("@GloCare 08070635658", "@GloCare [PHONE]"),
        # numbers written after order/reference/case words are not phones
        ("Order 111-5014070-4118645", "Order 111-5014070-4118645"),
        ("Order ID: 3348917502", "Order ID: 3348917502"),
        ("Reference number is 16934380.", "Reference number is 16934380."),
        ("PayPal case ID is PP-006-234-348-863", "PayPal case ID is PP-006-234-348-863"),
        ("Spotify 8.4.24.871 Android version 7.0", "Spotify 8.4.24.871 Android version 7.0"),
        ("The Chipotle on 193 W 237th St, Bronx, NY 10463 is", "The Chipotle on [ADDRESS] is"),
        ("ship it to 6821 1st ave please", "ship it to [ADDRESS] please"),
        ("Zip:30093; Phone#: 7703743799", "Zip:[POSTCODE]; Phone#: [PHONE]"),
        ("Hi, my name is Dana Whitfield", "Hi, my name is [NAME]"),
        ("nothing personal here", "nothing personal here"),
    ],
)
def test_redact_replaces_pii_with_typed_placeholders(text: str, expected: str) -> None:
    assert redact(text).text == expected


def test_names_from_the_data_are_redacted_whole_or_in_part_in_any_case() -> None:
    out = redact("Thanks CRYSTAL, I have Crystal Minh's order; minh said so", names=("Crystal Minh",))
    assert out.text == "Thanks [NAME], I have [NAME]'s order; [NAME] said so"
    assert out.counts == {"NAME": 3}
    # a name is not redacted inside another word or an @handle
    assert redact("crystalline @minh", names=("Crystal Minh",)).text == "crystalline @minh"


def test_spans_never_overlap_and_an_earlier_kind_wins() -> None:
    spans = find_pii("mail 4111111111111111@example.com or 4111111111111111")
    assert [s.kind for s in spans] == ["EMAIL", "CARD"]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_kinds_and_regions_are_settings() -> None:
    only_email = Redactor(kinds=frozenset({"EMAIL"}))
    assert only_email("a@b.io 4111111111111111").text == "[EMAIL] 4111111111111111"
    # a bare Indian mobile number is a phone only when India is among the regions
    assert Redactor(regions=("US",))("driver 9958520468").text == "driver 9958520468"
    assert Redactor(regions=("US", "IN"))("driver 9958520468").text == "driver [PHONE]"


def test_align_delexed_gives_exact_slot_spans() -> None:
    spans = align_delexed("Username: cminh730", "username: <username>")
    assert spans is not None and [(s.slot, "Username: cminh730"[s.start : s.end]) for s in spans] == [
        ("username", "cminh730")
    ]
    assert align_delexed("something else", "username: <username>") is None


def test_abcd_ground_truth_every_email_phone_and_name_is_redacted() -> None:
    """The three ABCD dialogues: every <email> and <phone> slot and every mention of the scenario's customer
    name is redacted; the one false positive is an order id that is also a valid Indian mobile number."""
    counts = evaluate_abcd(json.loads(ABCD.read_text()))
    report = counts.to_dict()
    assert counts.unaligned == 0
    assert counts.recall("EMAIL") == 1.0 and counts.tp["EMAIL"] == 2
    assert counts.recall("PHONE") == 1.0 and counts.tp["PHONE"] == 1
    assert counts.recall("NAME") == 1.0 and counts.tp["NAME"] == 5
    assert counts.precision("EMAIL") == 1.0 and counts.precision("NAME") == 1.0
    assert report["extra"] == ["PHONE: '7916676427' (ground truth: <order_id>)"]
    # without the scenario's names, the names stay: names come from the data, not guessed
    assert evaluate_abcd(json.loads(ABCD.read_text()), use_names=False).recall("NAME") == 0.0
