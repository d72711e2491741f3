"""How much a contract file may ask of the reader: its size, its nesting and what its aliases expand to.

A contract is a few hundred YAML nodes. A hostile file can be small and still cost without bound: 342 bytes of
nested aliases ("billion laughs") expand to 10^9 nodes, a thousand opening brackets exhaust the parser's
recursion, a 5,000-digit integer trips Python's integer-text limit. Each limit here is checked while the file
is read, before anything is built from it, and each breach is one issue with its line and what to do.

- `MAX_BYTES`: the file's size (checked before parsing);
- `MAX_DEPTH`: mappings and lists inside each other (the deepest contract key is about 6 levels down);
- `MAX_NODES`: keys, values and list items once every alias is expanded (ruamel.yaml reads about 7,000 nodes a
  second on one core, so this also bounds the time a file can take);
- `MAX_NUMBER_DIGITS`: the digits of a number written in the file.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.scanner import RoundTripScanner, Scanner

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 4_000
MAX_NUMBER_DIGITS = 40


class LimitExceeded(MarkedYAMLError):
    """A contract file beyond one of the reader's limits: `code` is the issue code, `hint` what to do."""

    def __init__(self, code: str, problem: str, hint: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.code = code
        self.hint = hint


TOO_DEEP = f"mappings and lists are nested more than {MAX_DEPTH} levels deep"
TOO_DEEP_HINT = "a contract's deepest key is about 6 levels down: check the brackets and the indentation"


class _FlowDepth:
    """Refuses a bracket deeper than MAX_DEPTH as the scanner meets it. The composer's own depth limit comes too
    late for brackets: the scanner reads ahead through every opening bracket first, at a cost that grows with the
    square of their number (a thousand took 0.4 to 1 s of CPU)."""

    flow_level: int
    reader: Any

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise LimitExceeded("too_deep", TOO_DEEP, TOO_DEEP_HINT, self.reader.get_mark())
        super().fetch_flow_collection_start(TokenClass, to_push)  # type: ignore[misc]


class LimitedScanner(_FlowDepth, Scanner):
    pass


class LimitedRoundTripScanner(_FlowDepth, RoundTripScanner):
    pass


class LimitedComposer(Composer):
    """ruamel.yaml's composer, counting the nodes each alias stands for, so expansion stops at MAX_NODES.

    ruamel shares an aliased node rather than copying it, so composing is cheap; the copies are made later,
    when the data is turned into plain values. Counting here refuses a file before any copy is made. An alias
    inside the node it names (``&a [*a]``) would make those values infinitely deep and is refused too.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, once composed
        self._expanded = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent) and event.anchor in self.anchors:
            size = self._sizes.get(id(self.anchors[event.anchor]))
            if size is None:
                raise LimitExceeded(
                    "recursive_alias",
                    f"the alias *{event.anchor} is used inside the node it names",
                    "an alias can only repeat a node defined before it, outside it",
                    event.start_mark,
                )
            self._count(size, event)
            return super().compose_node(parent, index)
        self._count(1, event)
        before = self._expanded
        node = super().compose_node(parent, index)
        self._sizes[id(node)] = self._expanded - before + 1
        return node

    def _count(self, size: int, event: Any) -> None:
        self._expanded += size
        if self._expanded > MAX_NODES:
            what = f"the alias *{event.anchor} makes" if isinstance(event, AliasEvent) else "it has"
            raise LimitExceeded(
                "too_many_nodes",
                f"the file is too large once its aliases are expanded: {what} more than {MAX_NODES:,} keys, "
                "values and list items",
                "a contract has a few hundred; write each part once, and do not nest aliases inside aliases",
                event.start_mark,
            )


def number_too_long(text: str) -> bool:
    """True for a number written with more digits than any contract needs (and than Python reads quickly)."""
    return sum(ch.isdigit() for ch in text) > MAX_NUMBER_DIGITS


def load_plain(text: str) -> Any:
    """Plain Python values from YAML text (no line numbers), within the same limits as a contract file: for the
    other YAML files a user hands in (connector mappings). Raises ruamel's YAMLError (a `LimitExceeded` for a
    limit) or ValueError for a text over `MAX_BYTES`."""
    from ruamel.yaml import YAML

    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValueError(f"the file is larger than {MAX_BYTES:,} bytes")
    yaml = YAML(typ="safe", pure=True)
    yaml.Scanner = LimitedScanner
    yaml.Composer = LimitedComposer
    yaml.max_depth = MAX_DEPTH
    return yaml.load(text)
