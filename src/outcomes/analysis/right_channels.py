"""The right-channel mapping: which channels are right for which intent (docs/metrics.md, right_channel_share).

A small YAML file, one intent per key, its right channels as a list (or one channel as a string):

    balance_inquiry: [bot]
    address_change: [bot, email]
    card_dispute: [voice, chat]

`parse_right_channels(text, file)` is pure and returns a `RightChannels`, or raises `RightChannelsError` naming
the file, the line and the key, and how to fix it. `read_right_channels(path)` reads the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outcomes.errors import OutcomesError
from outcomes.facts.schema import CHANNELS


class RightChannelsError(OutcomesError):
    """A right-channel mapping that cannot be used (the message names the file, line and key)."""

    code = "right_channels"


@dataclass(frozen=True)
class RightChannels:
    """intent -> the channels that are right for it, as sorted pairs (hashable, deterministic)."""

    by_intent: tuple[tuple[str, tuple[str, ...]], ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {intent: list(channels) for intent, channels in self.by_intent}

    @classmethod
    def of(cls, mapping: Mapping[str, Any]) -> RightChannels:
        return cls(tuple(sorted((str(k), tuple(sorted(set(v)))) for k, v in mapping.items())))


_EXAMPLE = "write e.g. `card_dispute: [voice, chat]`"


def parse_right_channels(text: str, file: str = "<right channels>") -> RightChannels:
    """The mapping in `text`; every problem is an error naming `file`, the line and the intent."""
    from outcomes.contract.loader import parse_yaml  # the contract's reader: line numbers, syntax hints

    data, where_is, issues = parse_yaml(text, file)
    if issues:
        raise RightChannelsError(f"{issues[0]}")
    if not isinstance(data, dict) or not data:
        raise RightChannelsError(f"{file}: expected a mapping from intent to its right channels; {_EXAMPLE}")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        line = where_is.line((key,))
        place = f"{file}:{line}" if line is not None else file
        if not isinstance(key, str) or not key.strip():
            raise RightChannelsError(f"{place}: an intent must be a text, not {key!r}; {_EXAMPLE}")
        where = f"{place}: intent {key!r}"
        channels = [value] if isinstance(value, str) else value
        if not isinstance(channels, list) or not channels:
            raise RightChannelsError(f"{where}: give at least one channel as a list; {_EXAMPLE}")
        for ch in channels:
            if ch not in CHANNELS:
                raise RightChannelsError(f"{where}: unknown channel {ch!r}; channels are {', '.join(CHANNELS)}")
        out[key] = [str(ch) for ch in channels]
    return RightChannels.of(out)


def read_right_channels(path: Path) -> RightChannels:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RightChannelsError(f"{path}: cannot read the right-channel mapping ({exc.strerror})") from None
    return parse_right_channels(text, str(path))
