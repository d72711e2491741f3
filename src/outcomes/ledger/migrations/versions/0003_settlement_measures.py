"""Each settlement keeps its service-level results and metric values (earn-backs count on them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("measures", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("metrics", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("metrics")
        batch.drop_column("measures")
