"""Churn-risk, upsell and effort signals: phrase patterns over what the customer (and the agent) wrote.

Each family is a list of (name, pattern) pairs compiled into one regular expression; a signal fires when any
pattern matches, and keeps the phrases that fired (the matched text of the redacted turn) as its evidence.

- churn: the customer says they will leave or end the relationship: cancel (or close) the account, the
  subscription, the service, the plan; switch to a competitor; a cancellation or termination fee; port the
  number out; take the business elsewhere; "done with you", "never again", "lost a customer". Cancelling an
  ORDER, a flight or a booking is not churn.
- upsell: the customer wants to buy more or upgrade (upgrade, add a line, buy another, interested in the
  premium plan, pre-order), or the agent offers it (an upgrade, a plan, a promotion, "would you like to
  add"). In a conversation it counts as upsell AFTER RESOLUTION only when it follows a resolution marker
  (the agent says the problem is fixed, processed or refunded; the customer says it works).
- effort: the customer had to work to be served: repeat explanations ("I already told you", "for the third
  time"), still waiting, put on hold, transferred around, asks for a human or a supervisor, nobody answers;
  and in a conversation the agent's transfers.

The patterns are English; they are data (`CHURN`, `UPSELL`, `EFFORT`, ...) versioned by SIGNALS_VERSION.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SIGNALS_VERSION = "signals/2"

_ACCOUNT = (
    r"(?:account|acct|subscription|sub|service|services|membership|plan|contract|policy|line|lines|internet|"
    r"cable|tv|phone service|wifi|broadband|card|credit card|prime|amazon prime|spotify|premium|netflix|"
    r"rewards|loyalty|(?:rapid )?rewards)"
)
_MINE = r"(?:my|our|the|this|your|her|his|their)?\s*(?:\w+\s+)?"

CHURN: tuple[tuple[str, str], ...] = (
    ("cancel_account", rf"\bcancel(?:l?ed|l?ing|lation of)?\s+{_MINE}{_ACCOUNT}\b"),
    ("close_account", rf"\bclos(?:e|ed|ing)\s+{_MINE}(?:account|acct|card)s?\b"),
    ("will_cancel", r"\b(?:i'?m|i am|we'?re|i will|i'?ll|going to|gonna|about to|want to|wanna|have to|ready to|"
     r"need to|would like to|i'd like to)\s+(?:just\s+)?cancel(?:l?ing)?\b(?!\s+(?:my|the|an?|this|our)?\s*"
     r"(?:order|flight|booking|reservation|appointment|ticket|trip|request|delivery|payment|transaction|"
     r"preorder|pre-order|purchase|item)s?\b)"),
    ("switch", r"\b(?:switch|switching|switched|move|moving|going|go|port|porting|jump(?:ing)? ship)\s+"
     r"(?:over\s+|back\s+)?to\s+(?:verizon|at&amp;t|at&t|att|t-?mobile|sprint|comcast|xfinity|spectrum|"
     r"frontier|cox|dish|directv|hulu|netflix|apple music|spotify|tidal|delta|united|american|southwest|"
     r"jetblue|alaska|lyft|uber|google|android|samsung|iphone|apple|another (?:provider|carrier|company|"
     r"airline|bank|service)|a (?:different|new) (?:provider|carrier|company|airline|bank|service))\b"),
    ("competitor", r"\b(?:find|finding|look(?:ing)? for|look(?:ing)? (?:at|into)|shop(?:ping)? for)\s+(?:a\s+)?"
     r"(?:new|another|different|other|better)\s+(?:provider|carrier|company|airline|bank|service|isp|option)s?\b"),
    ("fee", r"\b(?:cancellation|early termination|termination|etf|exit)\s+fees?\b"),
    ("port_out", r"\bport(?:ing)?\s+(?:my|our)\s+(?:number|numbers|line|lines)\s+(?:out|to|away)\b"),
    ("elsewhere", r"\b(?:take|taking)\s+(?:my|our)\s+(?:business|money)\s+elsewhere\b"),
    ("done_with", r"\b(?:i'?m|i am|we'?re|we are)\s+(?:so\s+|officially\s+|completely\s+|just\s+)?done\s+with\s+"
     r"(?:you|u|your|this|[@#]?\w+)\b"),
    ("never_again", r"\bnever\s*(?:\w+\s+){0,4}again\b|\blast time i\s+(?:ever\s+)?(?:fly|flew|use|used|order|"
     r"ordered|buy|bought|shop|shopped)\b"),
    ("lost_customer", r"\b(?:lost|losing|lose)\s+(?:a|another|one|this|me as a|us as)\s+(?:\w+\s+)?"
     r"customers?\b|\b(?:former|ex-)\s*customer\b"),
    ("leaving", r"\b(?:i'?m|i am|we'?re|we are|i will|i'?ll|going to|gonna|about to)\s+(?:be\s+)?"
     r"(?:leav(?:e|ing)|ditch(?:ing)?|drop(?:ping)?|dump(?:ing)?|quit(?:ting)?)\s+(?:you|u|your|[@#]\w+|this)\b"),
    ("unsubscribe", r"\bunsubscrib(?:e|ing|ed)\b"),
    ("gone_elsewhere", r"\b(?:gone|going back|went back|go back|switch(?:ing|ed)?|mov(?:e|ing)|jump(?:ing)? ship)\s+"
     r"(?:over\s+|back\s+)?to\s+(?-i:@\w+|[A-Z][\w&]+)"),
    ("wont_return", r"\b(?:i|we)\s+(?:don'?t|do not|won'?t|will not|will never|'?ll never|am not going to|'?m not going to)"
     r"\s+(?:want to\s+|ever\s+)?(?:fly|shop|order|buy|bank|use you|come back|be back|return|do business)\b"),
    ("another_provider", r"\b(?:another|a different|a new|other)\s+(?:airline|carrier|provider|bank|company|isp|"
     r"service|store|network)s?\s+(?:may|might|will|would|is|it is)\b"),
    ("anyone_else", r"\bi can (?:fly|shop|bank|go|buy) (?:with|to|at|from) (?:anyone|anybody|someone else|another)\b"),
    ("stopped_using", r"\b(?:i|we)(?:'ve| have)?\s+(?:stopped|quit)\s+(?:ordering|using|buying|flying|shopping|banking)\b"),
)

UPSELL_CUSTOMER: tuple[tuple[str, str], ...] = (
    ("upgrade", r"\bupgrad(?:e|ing)\s+(?:my|to|our|the|from)\b|\b(?:want|like|looking|planning|hoping|trying)\s+"
     r"to\s+upgrade\b"),
    ("add_line", r"\badd(?:ing)?\s+(?:(?:a|another|an extra|one more|\d+|new|more|extra)\s+)+(?:line|device|user|"
     r"seat|account|phone|tablet|watch|subscription|person)s?\b"),
    ("increase_plan", r"\b(?:increase|upgrade|raise|bump up|boost)\s+(?:my|our)\s+(?:\w+\s+)?(?:plan|package|data|"
     r"subscription|storage|speed|tier)\b"),
    ("to_buy", r"\bto\s+(?:buy|purchase)\s+(?:some|a|an|another|more|new|two|\d+)\b|\b(?:order|book|buy)(?:ing)?\s+"
     r"online\b"),
    ("buy_more", r"\b(?:want|wanna|like|looking|planning|hoping|going|trying|try|tried|intend|ready|need)\s+to\s+"
     r"(?:(?:buy|purchase|order|pre-?order|book|subscribe to|sign up for)\b|get\s+(?:a|an|another|the|some|more|"
     r"two|2|new|one|this|these|that)\b)"),
    ("interested", r"\binterested in\s+(?:buying|purchasing|getting|upgrading|the|your|a|an|adding|ordering)\b"),
    ("preorder", r"\bpre-?order(?:ed|ing)?\b"),
    ("more_of", r"\b(?:more|extra|additional)\s+(?:storage|data|minutes|seats|licen[cs]es|bandwidth|speed)\b|"
     r"\b(?:bigger|larger|better|faster|unlimited)\s+(?:plan|package|bundle|tier)\b"),
    ("how_to_buy", r"\bhow\s+(?:can|do|would)\s+i\s+(?:buy|purchase|order|upgrade|get a|sign up)\b|\bwhere\s+"
     r"(?:can|do)\s+i\s+(?:buy|purchase|order|get)\b"),
)

UPSELL_AGENT: tuple[tuple[str, str], ...] = (
    ("offer", r"\b(?:would you (?:also )?(?:like|be interested)|you might (?:also )?(?:like|enjoy)|may i "
     r"(?:suggest|recommend)|i (?:can|could) (?:also )?(?:offer|upgrade|add)|we (?:also )?(?:offer|have a)\b)"),
    ("upgrade", r"\bupgrad(?:e|ing)\s+(?:you|your|to)\b|\b(?:premium|gold|platinum|unlimited)\s+(?:plan|"
     r"membership|tier|package)\b"),
    ("promotion", r"\b(?:promo(?:tion)?|special offer|discount code|deal)\s+(?:for you|on|you can|that)\b"),
)

RESOLVED_AGENT: tuple[tuple[str, str], ...] = (
    ("done", r"\b(?:has|have|is|was|are|were)\s+(?:now\s+|been\s+|successfully\s+)+(?:resolved|fixed|processed|"
     r"refunded|issued|updated|reset|completed|sent|cancell?ed|credited|applied|reactivated|restored|"
     r"replaced|changed|corrected|approved)\b"),
    ("all_set", r"\b(?:you'?re|you are|that'?s|it'?s|everything is)\s+(?:all\s+)?set\b|\btaken care of\b|"
     r"\bi(?:'ve| have)\s+(?:now\s+|just\s+)?(?:processed|issued|reset|updated|fixed|resolved|refunded|"
     r"credited|applied|sent|changed)\b"),
)

RESOLVED_CUSTOMER: tuple[tuple[str, str], ...] = (
    ("works", r"\b(?:that|it|this)\s+(?:worked|works|fixed it|did it|did the trick)\b|\b(?:it'?s|its|is)\s+"
     r"(?:working|fixed|sorted|resolved)\s+(?:now|again)\b|\bproblem solved\b|\ball (?:good|sorted|fixed) now\b"),
)

EFFORT: tuple[tuple[str, str], ...] = (
    ("repeat", r"\b(?:i|we)\s+(?:have\s+|'ve\s+)?already\s+(?:told|explained|gave|given|sent|provided|called|"
     r"tried|done|did|dm'?d|messaged|contacted|spoke|spoken|answered|replied|reported|filed|submitted)\b|"
     r"\brepeat(?:ing)? myself\b|\b(?:as|like) i (?:said|told you|mentioned|explained)\b|\bhow many times\b"),
    ("nth_time", r"\b(?:for the|this is the|it'?s the)\s+(?:\d+(?:st|nd|rd|th)|second|third|fourth|fifth|"
     r"sixth|umpteenth|hundredth|millionth|\w+teenth)\s+time\b|\b(?:\d+|two|three|four|five|six|seven|eight|"
     r"nine|ten|several|multiple|many|numerous|a few)\s+(?:\w+\s+)?(?:times|calls|attempts|emails|messages?|dms|"
     r"tweets|tickets|chats|transfers|updates|requests|complaints|reports)\b|\b\d\s?x\b|\b(?:\d+(?:st|nd|rd|th)|"
     r"second|third|fourth|fifth)\s+(?:call|day|time|week|attempt|email|request)\b|\bin a row\b|\bagain and again\b"),
    ("still", r"\bstill\W+(?:not|no|nothing|waiting|haven'?t|hasn'?t|can'?t|cannot|isn'?t|doesn'?t|don'?t|"
     r"didn'?t|won'?t|broken|down|out|having|getting|unresolved|showing|charging|without|on\W+hold|no word|see|"
     r"seeing)\b"),
    ("been_waiting", r"\bit'?s been\s+(?:\d+\+?|over|more than|almost|nearly|a|an|two|three|several)\s+(?:\w+\s+)?"
     r"(?:hours?|days?|weeks?|months?)\b|\b(?:have|had) to wait\b|\b\d+\s*(?:min|mins|minutes|hours|hrs)\s+"
     r"(?:on hold|waiting|going|trying|and still|later)\b|\bpast (?:few|several|\d+) (?:hours|days)\b"),
    ("tried_myself", r"\b(?:even\s+|already\s+|have\s+|'ve\s+)?tried\s+(?:deleting|reinstalling|uninstalling|"
     r"restarting|rebooting|resetting|everything|it on|the things|all|again|calling|contacting|emailing|"
     r"another|a different)\b|\b(?:reset|restarted|rebooted|reinstalled)\b[^.!?]{0,30}\b(?:\d+|two|three|"
     r"several|multiple) times\b"),
    ("finally", r"\bfinally\s+(?:got|get|booked|reached|heard|someone|fixed|able|managed|connected|through)\b"),
    ("same_answer", r"\bsame\s+(?:\W*\w+\W+)?(?:answer|answers|response|responses|reply|replies|message|script)\b"),
    ("waiting", r"\b(?:waiting|waited|wait)\s+(?:for\s+|since\s+|over\s+|almost\s+|nearly\s+|more than\s+)?"
     r"(?:\d+|an?|two|three|four|five|several|many)\s+(?:\+\s+)?(?:minutes?|mins?|hours?|hrs?|days?|weeks?|"
     r"months?)\b|\b(?:hours?|days?|weeks?)\s+(?:later|now|and still|and no)\b"),
    ("hold", r"\b(?:on|been on|put (?:me )?on|placed on)\W+hold\b"),
    ("cant_reach", r"\bcan'?t\s+(?:get in touch|reach (?:you|anyone|someone|a)|get through|get hold)\b|"
     r"\bhangs? up\b|\bhung up\b|\bhanging up\b|\b(?:going|go|went)\s+(?:round|around)\s+in\s+circles\b|"
     r"\bkeeps?\s+(?:asking|failing|losing|telling|sending me)\b|\bre-?send\b"),
    ("transfer", r"\btransferr?(?:ed|ing)?\s+(?:me\s+)?(?:again|around|\d+ times|multiple|several|to another)\b|"
     r"\bkeep\s+(?:getting|being)\s+(?:transferred|disconnected|told|bounced)\b|\bbounced around\b"),
    ("human", r"\b(?:speak|talk|chat)\s+(?:to|with)\s+(?:a|an|someone|somebody|your)?\s*(?:real\s+|actual\s+|"
     r"live\s+)?(?:human|person|supervisor|manager|representative|rep|agent|someone)\b|\b(?:real|actual|live)\s+"
     r"(?:human|person)\b"),
    ("no_answer", r"\b(?:no one|noone|nobody)\s+(?:is\s+|has\s+|will\s+|ever\s+)?(?:respond|answer|help|reply|"
     r"get|call|contact|pick|got|knows|seems|can|cares|able)\w*\b|\bhaven'?t heard (?:back|anything|from)\b|"
     r"\b(?:did not|didn'?t|never)\s+(?:receive|get)\s+(?:a |an |the |any )?(?:email|call|phone call|call back|"
     r"callback|response|reply)\b|\b(?:wont|won'?t|doesn'?t|don'?t|didn'?t)\s+(?:answer|pick up|respond|reply|call back)\b|\b(?:rep|agent|support|customer service)\s+(?:was|is|were)\s+(?:no|zero|not)\s+help\b|\b(?:no|zero|never got a|never received a|"
     r"haven'?t (?:had|got|gotten|received) a)\s+(?:response|reply|answer|call back|callback)\b"),
)

TRANSFER_AGENT: tuple[tuple[str, str], ...] = (
    ("transfer", r"\b(?:i'?ll|i will|let me|i'?m going to|i am going to|i'?m)\s+(?:now\s+)?(?:transfer|"
     r"transferring|connect|connecting|escalate|escalating|forward|forwarding)\s+(?:you|this|your)\b|\b(?:please\s+)?"
     r"(?:contact|call|reach out to|dm|message)\s+(?:our|the)\s+\w+\s+(?:team|department|dept)\b"),
)


#: Typographic apostrophes and quotes read as ASCII (the patterns write "don'?t"), and Unicode spaces as a
#: space (so Python's and RE2's \s agree); one character for one, so offsets are unchanged.
_SPACES = ("\u00a0", "\u2007", "\u2009", "\u200a", "\u202f", "\u3000")
_QUOTES = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'} | dict.fromkeys(_SPACES, " ")
)
_QUOTE_MAP = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'}
_QUOTE_CHARS = ("\u2019", "\u2018", "\u02bc", "\u201c", "\u201d", *_SPACES)


def _shadow_char(ch: str) -> str:
    if ch in _QUOTE_MAP:
        return _QUOTE_MAP[ch]
    return " " if ch.isspace() else "0" if ch.isdecimal() else "a" if ch.isalnum() or ch == "_" else "#"


def _shadow_errors(err: UnicodeEncodeError) -> tuple[str, int]:
    return "".join(_shadow_char(ch) for ch in err.object[err.start : err.end]), err.end


codecs.register_error("outcomes-ascii-shadow", _shadow_errors)


@functools.lru_cache(maxsize=1024)
def ascii_shadow(text: str) -> str:
    """`text` with each non-ASCII character replaced by one ASCII character of the same regex class (a space for
    a space, 0 for a digit, a for a letter, # for anything else; typographic quotes by their ASCII quote), so
    that RE2's ASCII classes see what Python's Unicode classes see: a Python match on `text` is an RE2 match on
    the shadow. (Only the runs of non-ASCII characters are visited: the codec error handler.)"""
    if text.isascii():
        return text
    return text.encode("ascii", "outcomes-ascii-shadow").decode("ascii")


def _compile(pairs: Sequence[tuple[str, str]]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{name}_{i}>{p})" for i, (name, p) in enumerate(pairs)), re.IGNORECASE)


_LOOKAHEAD = re.compile(r"\(\?!(?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)")


def _prefilter(pairs: Sequence[tuple[str, str]]) -> Any:
    """The family as one RE2 pattern that matches wherever a pattern of the family may (negative lookaheads,
    which RE2 lacks, are dropped: a superset), or None without RE2. RE2 runs a DFA: a text without any match,
    by far the most common case, costs a few microseconds instead of a Python regex's tens."""
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency; without it the slow path still works
        return None
    alternation = "|".join(f"(?:{_LOOKAHEAD.sub('', p)})" for _, p in pairs)
    try:
        options = re2.Options()
        options.case_sensitive = False
        options.log_errors = False
        return re2.compile(alternation, options)
    except Exception:  # a pattern RE2 cannot read: no prefilter, same results
        return None


@dataclass(frozen=True)
class Family:
    name: str
    pattern: re.Pattern[str]
    fast: Any = None

    def may_match(self, text: str) -> bool:
        """False only when no pattern of the family matches anywhere in text (RE2 on the ASCII shadow)."""
        if self.fast is None:
            return True
        return self.fast.search(ascii_shadow(text)) is not None

    def find(self, text: str) -> list[tuple[str, str]]:
        """[(pattern name, phrase)] of every match in text, in order."""
        return [(name, phrase) for name, phrase, _ in self.find_at(text)]

    def find_at(self, text: str) -> list[tuple[str, str, int]]:
        """[(pattern name, phrase, offset)] of every match in text, in order (those of `re.finditer`).

        With RE2, RE2 finds the candidate starts on the ASCII shadow (every position where Python's pattern
        matches is one where RE2's does) and Python's pattern is tried anchored at each, in order: the same
        matches as Python's finditer, without Python scanning the whole text."""
        shadow = ascii_shadow(text) if self.fast is not None else ""
        if any(q in text for q in _QUOTE_CHARS):
            text = text.translate(_QUOTES)
        out = []
        if self.fast is None:
            for m in self.pattern.finditer(text):
                out.append(((m.lastgroup or "").rsplit("_", 1)[0], m.group().strip(), m.start()))
            return out
        pos = 0
        while pos <= len(text):
            candidate = self.fast.search(shadow, pos)
            if candidate is None:
                break
            start = candidate.start()
            m = self.pattern.match(text, start)
            if m is None:
                pos = start + 1
                continue
            out.append(((m.lastgroup or "").rsplit("_", 1)[0], m.group().strip(), m.start()))
            pos = m.end() if m.end() > start else start + 1
        return out


def family(name: str, pairs: Sequence[tuple[str, str]]) -> Family:
    return Family(name, _compile(pairs), _prefilter(pairs))


CHURN_FAMILY = family("churn", CHURN)
UPSELL_CUSTOMER_FAMILY = family("upsell", UPSELL_CUSTOMER)
UPSELL_AGENT_FAMILY = family("upsell_offer", UPSELL_AGENT)
RESOLVED_AGENT_FAMILY = family("resolved", RESOLVED_AGENT)
RESOLVED_CUSTOMER_FAMILY = family("resolved", RESOLVED_CUSTOMER)
EFFORT_FAMILY = family("effort", EFFORT)
TRANSFER_AGENT_FAMILY = family("transfer", TRANSFER_AGENT)
