"""Source health: state, since when, last crawl, last ok crawl, last error and failures in a row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health", sa.String(length=20), server_default="new", nullable=False))
        batch_op.add_column(sa.Column("health_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_crawled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("consecutive_failures")
        batch_op.drop_column("last_error")
        batch_op.drop_column("last_ok_at")
        batch_op.drop_column("last_crawled_at")
        batch_op.drop_column("health_since")
        batch_op.drop_column("health")
