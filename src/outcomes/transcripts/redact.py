"""PII redaction: compiled patterns, each candidate confirmed by a validator, replaced by a typed placeholder.

`redact(text)` is a pure function of its inputs. What it finds, in priority order (an earlier kind wins where
two overlap):

| placeholder | found by | confirmed by |
|---|---|---|
| ``[EMAIL]`` | local@domain.tld | the pattern |
| ``[IBAN]`` | two letters, two digits, 11-30 letters/digits (spaces allowed in groups of four) | ISO 13616 length for the country and mod-97 checksum (python-stdnum) |
| ``[CARD]`` | 13-19 digits, optionally in groups split by one space or dash | Luhn (python-stdnum); a number that fails Luhn (an order number) stays |
| ``[NATIONAL_ID]`` | US SSN ``ddd-dd-dddd`` (or 9 digits after "SSN"), UK NINO ``AB123456C``, India Aadhaar (12 digits) | SSN area/group/serial rules; NINO prefix rules; Aadhaar Verhoeff checksum |
| ``[PHONE]`` | ``+`` and 7-15 digits, or digit groups written like a phone (``(977) 625-2661``, ``850.266.3576``), or a bare run of 8-13 digits | phonenumbers: a ``+`` or phone-formatted number must be possible, a bare run valid in one of `regions`; never right after "order", "ref", "case", "ticket", "tracking", "booking", "confirmation", "invoice" or "#" |
| ``[ADDRESS]`` | a house number, up to four words and a street suffix (St, Ave, Road, ...), with ", City, ST 12345" when it follows | the pattern |
| ``[POSTCODE]`` | a US ZIP after "zip"/"zipcode"/"postal code" or a state abbreviation, a UK postcode | the pattern |
| ``[NAME]`` | the names the data gives for the people in the conversation (`names`), whole words, any case, full name or each part; and "my name is First Last" | the data |

Everything is a compiled regular expression plus a validator on the few candidates; nothing loads a model.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.in_ import aadhaar as _aadhaar
from stdnum.us import ssn as _ssn

PLACEHOLDERS = ("EMAIL", "IBAN", "CARD", "NATIONAL_ID", "PHONE", "ADDRESS", "POSTCODE", "NAME")

#: Where a bare digit run (no + and no phone formatting) must be a valid number to count as a phone.
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "IN", "NG", "CA", "AU")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])|\b(?i:ssn|social security(?: number| no\.?)?)\W{0,3}(\d{9})\b")
_NINO = re.compile(r"\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])\b")
_AADHAAR = re.compile(r"(?<!\d)[2-9]\d{3} ?\d{4} ?\d{4}(?!\d)")
# a + number, or groups of digits split by space, dot, dash or parentheses, or a bare run
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+\s?\d[\d\s().-]{5,18}\d"
    r"|\(\d{2,5}\)\s?\d[\d\s.-]{4,12}\d"
    r"|\d{2,5}[\s.-]\d{2,5}(?:[\s.-]\d{2,5}){1,2}"
    r"|\d{8,13})(?![\w])"
)
_PHONE_FORMATTED = re.compile(r"^\(\d{3}\)\s?\d{3}[\s.-]?\d{4}$|^\d{3}[.\s-]\d{3}[.\s-]\d{4}$|^\d{3,5}[\s-]\d{6,8}$")
_NOT_PHONE_BEFORE = re.compile(
    r"\b(?:order|ref|reference|case|ticket|tracking|booking|confirmation|invoice|version|ver|member|"
    r"rewards|rr|dpci|sku|model|serial)(?:\s*(?:id|no\.?|number|num|#))?\W{0,4}$",
    re.IGNORECASE,
)
_STREET_SUFFIX = (
    r"st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|way|ct|court|pl|place|ter|terrace|"
    r"hwy|highway|pkwy|parkway|cir|circle|sq|square"
)
_ADDRESS = re.compile(
    r"\b\d{1,6}(?:\s+(?:[NSEW]\.?|north|south|east|west))?(?:\s+[A-Za-z0-9][A-Za-z0-9'.-]*){1,4}?\s+"
    rf"(?i:{_STREET_SUFFIX})\b\.?"
    r"(?:(?:,\s*|\s+)(?:apt|unit|suite|#)\.?\s*\w+)?"
    r"(?:,?\s+[A-Za-z][A-Za-z .'-]{1,30}?,\s*[A-Za-z]{2}\.?\s+\d{5}(?:-\d{4})?\b)?",
    re.IGNORECASE,
)
_US_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
)
_POSTCODE = re.compile(
    r"(?i:\bzip(?:\s?code)?|\bpostal code|\bpostcode)\W{0,3}(\d{5}(?:-\d{4})?)\b"
    rf"|\b(?:{'|'.join(_US_STATES.split())})\s+(\d{{5}}(?:-\d{{4}})?)\b"
    r"|\b([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b"
)
_MY_NAME = re.compile(
    r"\b(?i:my name is|my name's|this is|name:)\s+([A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){0,2})"
)
_DIGIT_RUN = re.compile(r"\d+")
_HANDLE = re.compile(r"@\w+")
_IBAN_START = re.compile(r"[A-Z]{2}\d{2}")
_UK_POSTCODE_END = re.compile(r"\d[A-Z]{2}\b")
_STREET_WORD = re.compile(rf"\b(?:{_STREET_SUFFIX})\b", re.IGNORECASE)


def _re2(pattern: re.Pattern[str]) -> Any:
    """The same pattern in RE2 (a DFA, a few microseconds on a turn), for the cheap necessary conditions below;
    None without RE2 (then Python's re answers, slower, the same)."""
    try:
        import re2
    except ImportError:  # pragma: no cover
        return None
    options = re2.Options()
    options.case_sensitive = not pattern.flags & re.IGNORECASE
    options.log_errors = False
    try:
        return re2.compile(pattern.pattern, options)
    except Exception:  # pragma: no cover
        return None


class _Fast:
    """A necessary condition checked by RE2 on ASCII text and by Python's re otherwise (RE2's classes are
    ASCII: on other text it could disagree)."""

    def __init__(self, pattern: re.Pattern[str]):
        self.pattern = pattern
        self.fast = _re2(pattern)

    def search(self, text: str) -> bool:
        if self.fast is not None and text.isascii():
            return self.fast.search(text) is not None
        return self.pattern.search(text) is not None


_HAS_STREET_WORD = _Fast(_STREET_WORD)
_HAS_EMAIL = _Fast(re.compile(r"[\w.+-]@[A-Za-z0-9-]+\.[A-Za-z]"))


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # one of PLACEHOLDERS


@dataclass(frozen=True)
class Redaction:
    """The redacted text and what was replaced (spans of the ORIGINAL text)."""

    text: str
    spans: tuple[Span, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.spans:
            out[s.kind] = out.get(s.kind, 0) + 1
        return out


@dataclass(frozen=True)
class Redactor:
    """The redaction settings: the regions a bare digit run is checked against, and which kinds to redact."""

    regions: tuple[str, ...] = DEFAULT_REGIONS
    kinds: frozenset[str] = field(default_factory=lambda: frozenset(PLACEHOLDERS))

    def __call__(self, text: str, names: Sequence[str] = ()) -> Redaction:
        return redact(text, names, regions=self.regions, kinds=self.kinds)


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def _emails(text: str) -> Iterable[Span]:
    if "@" not in text or not _HAS_EMAIL.search(text):
        return
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), "EMAIL")


def _ibans(text: str) -> Iterable[Span]:
    for m in _IBAN.finditer(text):
        if _iban.is_valid(m.group()):
            yield Span(m.start(), m.end(), "IBAN")


def _cards(text: str) -> Iterable[Span]:
    for m in _CARD.finditer(text):
        d = _digits(m.group())
        if 13 <= len(d) <= 19 and _luhn.is_valid(d) and len(set(d)) > 1:
            yield Span(m.start(), m.end(), "CARD")


def _national_ids(text: str) -> Iterable[Span]:
    for m in _SSN.finditer(text):
        number = m.group(4) or (m.group(1) + m.group(2) + m.group(3))
        if _ssn.is_valid(number):
            start = m.start(4) if m.group(4) else m.start()
            yield Span(start, m.end(), "NATIONAL_ID")
    for m in _NINO.finditer(text):
        if m.group(1) not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            yield Span(m.start(), m.end(), "NATIONAL_ID")
    for m in _AADHAAR.finditer(text):
        if _aadhaar.is_valid(m.group().replace(" ", "")):
            yield Span(m.start(), m.end(), "NATIONAL_ID")


def _is_phone(candidate: str, regions: tuple[str, ...]) -> bool:
    text = candidate.strip()
    n = len(_digits(text))
    if n < 7 or n > 15:
        return False
    try:
        if text.startswith("+"):
            return phonenumbers.is_possible_number(phonenumbers.parse(text, None))
        if _PHONE_FORMATTED.match(text):
            return any(phonenumbers.is_possible_number(phonenumbers.parse(text, r)) for r in regions)
        return any(phonenumbers.is_valid_number(phonenumbers.parse(text, r)) for r in regions)
    except phonenumbers.NumberParseException:
        return False


def _phones(text: str, regions: tuple[str, ...]) -> Iterable[Span]:
    for m in _PHONE.finditer(text):
        if _NOT_PHONE_BEFORE.search(text, max(0, m.start() - 24), m.start()):
            continue
        if _is_phone(m.group(), regions):
            yield Span(m.start(), m.end(), "PHONE")


def _addresses(text: str) -> Iterable[Span]:
    for m in _ADDRESS.finditer(text):
        yield Span(m.start(), m.end(), "ADDRESS")


def _postcodes(text: str) -> Iterable[Span]:
    for m in _POSTCODE.finditer(text):
        g = 1 if m.group(1) else 2 if m.group(2) else 3
        yield Span(m.start(g), m.end(g), "POSTCODE")


@functools.lru_cache(maxsize=4096)
def _name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    words: set[str] = set()
    for name in names:
        name = " ".join(name.split())
        if not name:
            continue
        words.add(name)
        words.update(part for part in name.split(" ") if len(part) >= 2)
    if not words:
        return None
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w@])(?:{alternation})(?!\w)", re.IGNORECASE)


def _names(text: str, names: tuple[str, ...]) -> Iterable[Span]:
    pattern = _name_pattern(names)
    if pattern is not None:
        for m in pattern.finditer(text):
            yield Span(m.start(), m.end(), "NAME")
    low = text.lower()
    if "name" in low or "this is" in low:
        for m in _MY_NAME.finditer(text):
            yield Span(m.start(1), m.end(1), "NAME")


def find_pii(
    text: str,
    names: Sequence[str] = (),
    *,
    regions: tuple[str, ...] = DEFAULT_REGIONS,
    kinds: frozenset[str] | None = None,
) -> list[Span]:
    """The spans to redact, in text order, none overlapping (an earlier kind of PLACEHOLDERS wins)."""
    want = kinds if kinds is not None else frozenset(PLACEHOLDERS)
    found: list[Span] = []
    if "EMAIL" in want:
        found.extend(_emails(text))
    # digits of @handles (anonymised ids such as @115712) are no one's number
    runs = _DIGIT_RUN.findall(_HANDLE.sub(" ", text) if "@" in text else text)
    if runs:
        # cheap necessary conditions first: most turns have too few digits for most kinds
        digits = sum(len(r) for r in runs)
        longest = max(len(r) for r in runs)
        if "IBAN" in want and digits >= 4 and _IBAN_START.search(text):
            found.extend(_ibans(text))
        if "CARD" in want and digits >= 13:
            found.extend(_cards(text))
        if "NATIONAL_ID" in want and digits >= 6:
            found.extend(_national_ids(text))
        if "PHONE" in want and digits >= 7:
            found.extend(_phones(text, regions))
        if "ADDRESS" in want and _HAS_STREET_WORD.search(text):
            found.extend(_addresses(text))
        if "POSTCODE" in want and (longest >= 5 or _UK_POSTCODE_END.search(text)):
            found.extend(_postcodes(text))
    if "NAME" in want:
        found.extend(_names(text, tuple(names)))
    if not found:
        return []
    rank = {k: i for i, k in enumerate(PLACEHOLDERS)}
    found.sort(key=lambda s: (rank[s.kind], s.start))
    kept: list[Span] = []
    for s in found:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    kept.sort(key=lambda s: s.start)
    return kept


def redact(
    text: str,
    names: Sequence[str] = (),
    *,
    regions: tuple[str, ...] = DEFAULT_REGIONS,
    kinds: frozenset[str] | None = None,
) -> Redaction:
    """`text` with every PII span replaced by its typed placeholder (``[EMAIL]``, ``[CARD]``, ...)."""
    spans = find_pii(text, names, regions=regions, kinds=kinds)
    if not spans:
        return Redaction(text)
    parts: list[str] = []
    at = 0
    for s in spans:
        parts.append(text[at : s.start])
        parts.append(f"[{s.kind}]")
        at = s.end
    parts.append(text[at:])
    return Redaction("".join(parts), tuple(spans))
