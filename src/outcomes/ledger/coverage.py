"""Which ledger rows each audit entry vouches for: the audit chain covers the rows, not only the log.

An audit entry's payload says what happened; on its own it would not notice a hand edit of the row it wrote
(`UPDATE settlements SET total = '999999.99'`). So every entry also carries, under `covers`, the digest of the
canonical content of every row of money or state its transaction wrote: `{"settlements/5": "sha256:…"}`. Rows
are collected automatically (`watch`, a SQLAlchemy flush hook on the ledger's sessions) and digested when the
entry is appended (`audit.append`), reading them back through SQL, exactly as `check` later reads them. A row
written again (a revoked grant) is covered again by a later entry: the latest digest is the one that holds.

`check` recomputes every covered table's rows and compares: a row edited, deleted or inserted behind the
ledger's back is named with the entry that last vouched for it.

The canonical content of a row is every column the table has (`SELECT *`), by name, sorted, as the database
returns it (integers and text: money and times are stored as text). A revision that adds a column to a
covered table changes every digest of that table, so it must append a new coverage entry (as 0006 does for
the rows written before coverage existed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, inspect, text

FORMAT = "outcomes.ledger.row/v1"
PAYLOAD_KEY = "covers"

#: The covered tables and their keys: everything that carries money or state. Not covered: `web_sessions`
#: (sign-ins expire in hours and grant nothing a token or grant does not), `alembic_version`.
COVERED: dict[str, tuple[str, ...]] = {
    "contract_versions": ("id",),
    "settlements": ("id",),
    "settlement_lines": ("id",),
    "settlement_outcomes": ("id",),
    "disputes": ("id",),
    "dispute_events": ("dispute_id", "seq"),
    "dispute_comments": ("dispute_id", "seq"),
    "organisations": ("id",),
    "users": ("id",),
    "grants": ("id",),
    "api_tokens": ("id",),
}

_PENDING = "outcomes_uncovered"


def row_key(table: str, key: Iterable[Any]) -> str:
    return table + "/" + "/".join(str(k) for k in key)


def row_digest(table: str, row: Mapping[str, Any]) -> str:
    body = json.dumps(
        [FORMAT, table, sorted([str(k), v] for k, v in row.items())],
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def _where(table: str) -> str:
    return " AND ".join(f'"{c}" = :k{i}' for i, c in enumerate(COVERED[table]))


def digest_of(conn: Connection, key: str) -> str | None:
    """The digest of one covered row as stored now (None: the row does not exist)."""
    table, *parts = key.split("/")
    params = {f"k{i}": (int(p) if p.lstrip("-").isdigit() and table != "api_tokens" else p) for i, p in enumerate(parts)}
    found = conn.execute(text(f'SELECT * FROM "{table}" WHERE {_where(table)}'), params).mappings().first()
    return None if found is None else row_digest(table, found)


def all_rows(conn: Connection) -> dict[str, str]:
    """Every covered row of the database: key -> digest."""
    names = set(inspect(conn).get_table_names())
    found: dict[str, str] = {}
    for table, key in COVERED.items():
        if table not in names:
            continue
        for row in conn.execute(text(f'SELECT * FROM "{table}"')).mappings():
            found[row_key(table, (row[c] for c in key))] = row_digest(table, row)
    return found


# collecting what a transaction wrote ---------------------------------------------------------------------
def watch(session_factory: Any) -> None:
    """Collect the covered rows each flush writes, for the next audit entry of the session to cover
    (`audit.watch` also makes sure one does before the transaction commits)."""
    from sqlalchemy import event

    event.listen(session_factory, "after_flush", _collect)


def _collect(session: Any, _context: Any) -> None:
    pending: set[str] = session.info.setdefault(_PENDING, set())
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table in COVERED:
            pending.add(row_key(table, (getattr(obj, c) for c in COVERED[table])))


def take(session: Any) -> dict[str, str | None]:
    """The rows written since the last entry, with their digests now (None: deleted); forgets them."""
    session.flush()
    pending = session.info.pop(_PENDING, set())
    conn = session.connection()
    return {key: digest_of(conn, key) for key in sorted(pending)}


def pending(session: Any) -> bool:
    """Whether the session wrote covered rows that no entry covers yet."""
    session.flush()
    return bool(session.info.get(_PENDING))


# checking ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowProblem:
    key: str
    entry: int | None  # the audit entry that last vouched for the row
    problem: str

    def __str__(self) -> str:
        table, _, ident = self.key.partition("/")
        where = f"{table} row {ident}"
        if self.entry is not None:
            return f"{where}: {self.problem} (audit entry {self.entry} recorded it)"
        return f"{where}: {self.problem}"


def vouched(payloads: Iterable[tuple[int, str]]) -> dict[str, tuple[str | None, int]]:
    """key -> (digest, entry seq) from the entries' payloads, the latest entry winning."""
    out: dict[str, tuple[str | None, int]] = {}
    for seq, payload in payloads:
        try:
            covers = json.loads(payload).get(PAYLOAD_KEY)
        except (ValueError, AttributeError):
            continue
        if isinstance(covers, dict):
            for key, digest in covers.items():
                out[str(key)] = (digest, seq)
    return out


def check(conn: Connection, payloads: Iterable[tuple[int, str]], only: set[str] | None = None) -> list[RowProblem]:
    """Every covered row against the digest its latest entry recorded (`only`: these keys' rows)."""
    expected = vouched(payloads)
    actual = all_rows(conn)
    problems = []
    for key in sorted(set(expected) | set(actual), key=_order):
        if only is not None and key not in only:
            continue
        digest, seq = expected.get(key, (None, None))
        now = actual.get(key)
        if now == digest:
            continue
        if now is None:
            problems.append(RowProblem(key, seq, "was deleted outside outcomes"))
        elif digest is None and seq is None:
            problems.append(RowProblem(key, None, "is not covered by any audit entry (inserted outside outcomes)"))
        elif digest is None:
            problems.append(RowProblem(key, seq, "was deleted and then inserted again outside outcomes"))
        else:
            problems.append(RowProblem(key, seq, "its content differs from what was recorded (edited outside outcomes)"))
    return problems


def _order(key: str) -> tuple:
    table, *parts = key.split("/")
    return (list(COVERED).index(table) if table in COVERED else 99, [int(p) if p.isdigit() else 0 for p in parts], key)
