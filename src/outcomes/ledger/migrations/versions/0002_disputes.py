"""Disputes of settlement lines and their append-only events (open, answer, accept, reject, adjusted).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("line_seq", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("interaction_ids", sa.Text(), nullable=False),
        sa.Column("amount_claimed", sa.String(length=40), nullable=True),
        sa.Column("opened_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("opened_by IN ('buyer', 'provider')", name="ck_dispute_opened_by"),
        sa.ForeignKeyConstraint(
            ["settlement_id", "line_seq"],
            ["settlement_lines.settlement_id", "settlement_lines.seq"],
            name="fk_dispute_line",
        ),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disputes_settlement_id", "disputes", ["settlement_id"], unique=False)
    op.create_table(
        "dispute_events",
        sa.Column("dispute_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("adjusted_in", sa.Integer(), nullable=True),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "action IN ('open', 'answer', 'accept', 'reject', 'adjusted')", name="ck_dispute_event_action"
        ),
        sa.CheckConstraint("party IS NULL OR party IN ('buyer', 'provider')", name="ck_dispute_event_party"),
        sa.ForeignKeyConstraint(["adjusted_in"], ["settlements.id"]),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"]),
        sa.PrimaryKeyConstraint("dispute_id", "seq", name="pk_dispute_events"),
    )


def downgrade() -> None:
    op.drop_table("dispute_events")
    op.drop_index("ix_disputes_settlement_id", table_name="disputes")
    op.drop_table("disputes")
