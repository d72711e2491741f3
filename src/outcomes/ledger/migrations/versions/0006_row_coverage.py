"""The audit chain covers the ledger's rows: one `ledger.cover` entry vouches for every row written before.

From this revision on, every audit entry carries the digests of the rows of money or state its transaction
wrote (`outcomes.ledger.coverage`). Rows written by earlier versions had no such digest: this revision appends
one entry, `ledger.cover`, covering all of them as they are now (nothing is appended to an empty ledger). An
edit made before the upgrade is therefore vouched for as it stands; one made after it is caught. No table
changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import json

from alembic import op
from sqlalchemy import text

from outcomes.ledger import audit, coverage

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    rows = coverage.all_rows(conn)
    if not rows:
        return
    last = conn.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
    seq, prev = (1, audit.GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    at, who = audit.now_text(), "outcomes (ledger upgrade 0006)"
    action, subject = "ledger.cover", "rows written before the audit chain covered rows"
    payload = json.dumps(
        {coverage.PAYLOAD_KEY: rows, "revision": "0006"}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    conn.execute(
        text(
            "INSERT INTO audit_log (seq, at, actor, action, subject, payload, prev_hash, hash) "
            "VALUES (:seq, :at, :actor, :action, :subject, :payload, :prev, :hash)"
        ),
        {
            "seq": seq,
            "at": at,
            "actor": who,
            "action": action,
            "subject": subject,
            "payload": payload,
            "prev": prev,
            "hash": audit.entry_hash(seq, at, who, action, subject, payload, prev),
        },
    )


def downgrade() -> None:
    # the entry stays: the audit chain is append-only (an older outcomes ignores `covers`)
    pass
