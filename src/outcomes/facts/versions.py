"""Fact versions: every stored row carries the batch that wrote it (`_batch`) and the batch that replaced it
(`_until`, null while current). One rule, for every engine, says which versions a reader sees now or as of a
batch."""

from __future__ import annotations

import ibis

from .schema import KINDS


def check_batch(value: int) -> int:
    """A batch number (an integer >= 0), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"as_of_batch must be a batch number (an integer >= 0), not {value!r}")
    return value


def visible(t: ibis.Table, name: str, as_of_batch: int | None) -> ibis.Table:
    """The versions of a facts table visible now (or as of a batch), with its canonical columns."""
    if as_of_batch is None:
        t = t.filter(t._until.isnull())
    else:
        b = check_batch(as_of_batch)
        t = t.filter((t._batch <= b) & (t._until.isnull() | (t._until > b)))
    return t.select(*KINDS[name].columns)
