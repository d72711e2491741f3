"""The ledger tables as first released: contract versions, settlements, their lines and outcomes, audit log.

A ledger created before migrations existed (by `create_all`) holds exactly these tables and is stamped at
this revision instead of running it.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=80), nullable=False),
        sa.Column("hash", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "contract_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=80), nullable=False),
        sa.Column("effective_from", sa.String(length=10), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("registered_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract", "version", name="uq_contract_version"),
    )
    op.create_index("ix_contract_versions_contract", "contract_versions", ["contract"], unique=False)
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("contract", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("contract_hash", sa.String(length=80), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("input_digest", sa.String(length=80), nullable=False),
        sa.Column("facts_batch", sa.Integer(), nullable=False),
        sa.Column("outcomes_version", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.String(length=40), nullable=False),
        sa.Column("notices", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract", "period", name="uq_settlement_period"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index("ix_settlements_contract", "settlements", ["contract"], unique=False)
    op.create_table(
        "settlement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("workflows", sa.Text(), nullable=False),
        sa.Column("quantity", sa.String(length=40), nullable=True),
        sa.Column("unit_price", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("unrounded", sa.String(length=80), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("settlement_id", "seq", name="uq_line_seq"),
    )
    op.create_index("ix_settlement_lines_settlement_id", "settlement_lines", ["settlement_id"], unique=False)
    op.create_table(
        "settlement_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("evidence_table", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("settlement_id", "outcome", name="uq_settlement_outcome"),
    )
    op.create_index(
        "ix_settlement_outcomes_settlement_id", "settlement_outcomes", ["settlement_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_settlement_outcomes_settlement_id", table_name="settlement_outcomes")
    op.drop_table("settlement_outcomes")
    op.drop_index("ix_settlement_lines_settlement_id", table_name="settlement_lines")
    op.drop_table("settlement_lines")
    op.drop_index("ix_settlements_contract", table_name="settlements")
    op.drop_table("settlements")
    op.drop_index("ix_contract_versions_contract", table_name="contract_versions")
    op.drop_table("contract_versions")
    op.drop_table("audit_log")
