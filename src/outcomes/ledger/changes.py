"""How many changes to access (tokens, grants, sessions) and to contracts this process has made to the ledger.

A cache in this process of what those decide (the server's token checks and contract parties,
`server.auth.AccessKept`) compares the count with the one it read at, so that a change made here is seen by the
next request. Its own module so that both the access and the contract writers count without importing each other.
"""

from __future__ import annotations

_count = [0]


def count() -> int:
    return _count[0]


def record() -> None:
    _count[0] += 1
