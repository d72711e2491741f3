"""The values transcript analytics works on: a turn, a transcript."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Who speaks in a turn. System lines of a source (ABCD's "action" turns, Intercom's assignments) are dropped by
#: the mappings, not stored.
SPEAKERS = ("customer", "agent", "bot")


@dataclass(frozen=True)
class Turn:
    turn: int  # 1-based position in the conversation
    speaker: str  # one of SPEAKERS
    text: str
    at: datetime | None = None  # naive UTC, when the source says
    name: str | None = None  # the speaker's name, when the source says (used to redact it)


@dataclass(frozen=True)
class Transcript:
    interaction_id: str
    turns: tuple[Turn, ...]
    source: str = ""
    names: tuple[str, ...] = field(default=())  # names of people in the conversation (from the data)

    def by(self, speaker: str) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.speaker == speaker)

    def all_names(self) -> tuple[str, ...]:
        found = dict.fromkeys(self.names)
        for t in self.turns:
            if t.name:
                found[t.name] = None
        return tuple(found)
