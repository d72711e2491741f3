"""Built-in transcript mappings: records of a source, already parsed, to canonical transcript rows.

Each mapping is a pure function from the parsed records of one file (dicts, lists) to rows of the canonical
transcript columns (``TRANSCRIPT_COLUMNS``) as raw values; the store validates them (an invalid row is
quarantined with its reason, never dropped silently). Lines that are not words of a person (ABCD's
``action`` turns, Intercom assignments and internal notes, Zendesk private comments) are not transcript turns:
each mapping counts them as skipped.

- ``twcs``: Customer Support on Twitter (``../shared/data/twcs_sample``): a row without a numeric
  ``tweet_id`` and a True/False ``inbound`` (a tweet broken over lines) is quarantined; tweets linked by
  ``in_response_to_tweet_id`` form one conversation (a connected reply thread) whose id is its first tweet's
  id; ``inbound`` tweets are the customer's, the others the brand's agents'. ``created_at`` is
  ``Tue Oct 31 22:10:47 +0000 2017``.
- ``abcd``: ASAPP ABCD dialogues (``../shared/data/asapp_abcd_sample``): ``original`` [speaker, text] pairs;
  the scenario's ``customer_name`` is the customer's name. No times.
- ``intercom``: Intercom conversations as the REST API returns them (``GET /conversations/{id}``): the
  ``source`` (first message) and ``conversation_parts.conversation_parts``; author ``type`` ``user``,
  ``lead`` or ``contact`` is the customer, ``admin`` an agent, ``bot`` the bot; ``part_type`` ``comment``
  (and ``open``/``close`` with a body) are turns, notes and assignments are skipped; bodies are HTML.
- ``zendesk``: Zendesk tickets with their comments (``GET /api/v2/tickets/{id}/comments``, one object per
  ticket: ``id`` or ``ticket_id``, ``requester_id``, ``comments``, optionally sideloaded ``users`` with
  ``role``); the requester's comments are the customer's, an ``end-user`` author too, answer-bot / AI agent
  comments (``via.channel``) the bot's, other authors agents; private comments are skipped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

TRANSCRIPT_COLUMNS = ("interaction_id", "source", "turn", "speaker", "text", "at", "speaker_name")

Row = dict[str, Any]

_TAG = re.compile(r"<br\s*/?>|</p>|<[^>]+>", re.IGNORECASE)


def html_text(body: str | None) -> str:
    """Plain text of an HTML body: tags removed (paragraphs and breaks become spaces), entities decoded."""
    if not body:
        return ""
    return " ".join(html.unescape(_TAG.sub(" ", body)).split())


def _twcs_time(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        return None


def _bool(v: Any) -> bool | None:
    s = str(v).strip().lower()
    return True if s == "true" else False if s == "false" else None


def twcs(records: Iterable[Mapping[str, Any]], skipped: dict[str, int]) -> Iterator[Row]:
    """Reply threads of Customer Support on Twitter as transcripts (see the module's docstring)."""
    tweets: dict[str, Mapping[str, Any]] = {}
    for n, r in enumerate(records, 1):
        tid = str(r.get("tweet_id") or "").strip()
        if not tid.isdigit() or _bool(r.get("inbound")) is None:
            yield {
                "_reject": f"source row {n} is not a whole tweet (tweet_id {tid!r}, inbound "
                f"{r.get('inbound')!r}): a tweet split over lines when the file was made",
                "source_values": dict(r),
            }
            continue
        tweets[tid] = r
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    def _id(v: Any) -> str | None:
        s = str(v).strip() if v is not None else ""
        if not s or s.lower() == "nan":
            return None
        return s[:-2] if s.endswith(".0") else s

    for tid, r in tweets.items():
        up = _id(r.get("in_response_to_tweet_id"))
        if up is not None and up in tweets:
            a, b = root(tid), root(up)
            if a != b:
                # the smaller tweet id (the earlier tweet) names the thread
                lo, hi = sorted((a, b), key=int)
                parent[hi] = lo
    threads: dict[str, list[str]] = {}
    for tid in tweets:
        threads.setdefault(root(tid), []).append(tid)
    for thread_id in sorted(threads, key=int):
        members = sorted(
            threads[thread_id], key=lambda t: (_twcs_time(tweets[t].get("created_at")) or datetime.min, int(t))
        )
        for n, tid in enumerate(members, 1):
            r = tweets[tid]
            inbound = _bool(r.get("inbound"))
            at = _twcs_time(r.get("created_at"))
            yield {
                "interaction_id": thread_id,
                "source": "twitter",
                "turn": n,
                "speaker": "customer" if inbound else "agent",
                "text": r.get("text"),
                "at": at.isoformat() + "Z" if at else r.get("created_at"),
                "speaker_name": None,
                # not a transcript column: the author, for deriving interactions from the same file
                "author_id": r.get("author_id"),
            }


def abcd(records: Iterable[Mapping[str, Any]], skipped: dict[str, int]) -> Iterator[Row]:
    """ASAPP ABCD dialogues as transcripts (see the module's docstring)."""
    for convo in records:
        cid = str(convo.get("convo_id", ""))
        name = ((convo.get("scenario") or {}).get("personal") or {}).get("customer_name")
        n = 0
        for pair in convo.get("original") or []:
            speaker, text = pair[0], pair[1]
            if speaker == "action":
                skipped["action"] = skipped.get("action", 0) + 1
                continue
            n += 1
            yield {
                "interaction_id": cid,
                "source": "abcd",
                "turn": n,
                "speaker": speaker,
                "text": text,
                "at": None,
                "speaker_name": name if speaker == "customer" else None,
            }


_INTERCOM_SPEAKER = {"user": "customer", "lead": "customer", "contact": "customer", "admin": "agent", "bot": "bot"}


def _epoch(v: Any) -> str | None:
    if v is None or v == "":
        return None
    try:
        return datetime.fromtimestamp(int(v), UTC).replace(tzinfo=None).isoformat() + "Z"
    except (TypeError, ValueError, OverflowError):
        return str(v)  # the store quarantines it as bad_timestamp


def intercom(records: Iterable[Mapping[str, Any]], skipped: dict[str, int]) -> Iterator[Row]:
    """Intercom conversations (REST API shape) as transcripts (see the module's docstring)."""
    for convo in records:
        cid = str(convo.get("id", ""))
        parts: list[Mapping[str, Any]] = []
        first = convo.get("source")
        if isinstance(first, Mapping):
            parts.append({**first, "part_type": "comment", "created_at": convo.get("created_at")})
        listed = convo.get("conversation_parts") or {}
        if isinstance(listed, Mapping):
            parts.extend(listed.get("conversation_parts") or [])
        n = 0
        for p in parts:
            body = html_text(p.get("body"))
            kind = p.get("part_type")
            if kind not in ("comment", "open", "close") or not body:
                skipped[f"part_{kind or 'unknown'}"] = skipped.get(f"part_{kind or 'unknown'}", 0) + 1
                continue
            author = p.get("author") or {}
            n += 1
            yield {
                "interaction_id": cid,
                "source": "intercom",
                "turn": n,
                "speaker": _INTERCOM_SPEAKER.get(str(author.get("type")), author.get("type")),
                "text": body,
                "at": _epoch(p.get("created_at")),
                "speaker_name": author.get("name"),
            }


_BOT_CHANNELS = {"answer_bot", "answer_bot_for_agents", "answer_bot_api", "ai_agent", "bot"}


def zendesk(records: Iterable[Mapping[str, Any]], skipped: dict[str, int]) -> Iterator[Row]:
    """Zendesk tickets with their comments as transcripts (see the module's docstring)."""
    for ticket in records:
        tid = str(ticket.get("ticket_id", ticket.get("id", "")))
        requester = ticket.get("requester_id")
        users = {u.get("id"): u for u in ticket.get("users") or [] if isinstance(u, Mapping)}
        n = 0
        for c in ticket.get("comments") or []:
            if c.get("public") is False:
                skipped["private_comment"] = skipped.get("private_comment", 0) + 1
                continue
            author = c.get("author_id")
            user = users.get(author, {})
            channel = str(((c.get("via") or {}).get("channel")) or "")
            if channel in _BOT_CHANNELS:
                speaker = "bot"
            elif (requester is not None and author == requester) or user.get("role") == "end-user":
                speaker = "customer"
            else:
                speaker = "agent"
            n += 1
            yield {
                "interaction_id": tid,
                "source": "zendesk",
                "turn": n,
                "speaker": speaker,
                "text": c.get("plain_body") or c.get("body") or html_text(c.get("html_body")),
                "at": c.get("created_at"),
                "speaker_name": user.get("name"),
            }


MAPPINGS: dict[str, Callable[[Iterable[Mapping[str, Any]], dict[str, int]], Iterator[Row]]] = {
    "twcs": twcs,
    "abcd": abcd,
    "intercom": intercom,
    "zendesk": zendesk,
}
