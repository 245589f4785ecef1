"""compensation: the pay ranges postings state; postings.pay_data, seniority and pay_hash.

``postings.pay_data`` keeps the source's own structured pay object as crawled (Ashby ``compensation``, Lever
``salaryRange``, JSON-LD ``baseSalary``, Greenhouse pay ranges), so a better extractor re-derives pay without a
re-crawl. ``analyze`` fills ``compensation`` (one row per range), ``postings.seniority`` (from the title) and
``postings.pay_hash`` (extractor version, content hash and pay data it was derived from).

ALTER TABLE ... ADD COLUMN on both databases: no table is recreated, so the views of revision 0007 stay. Existing
postings get NULL pay_data until their next crawl and are derived from their text by the next ``analyze``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTING_COLUMNS = ("pay_data", "seniority", "pay_hash")


def upgrade() -> None:
    op.add_column("postings", sa.Column("pay_data", sa.JSON(), nullable=True))
    op.add_column("postings", sa.Column("seniority", sa.String(length=12), nullable=True))
    op.add_column("postings", sa.Column("pay_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "compensation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=True),
        sa.Column("maximum", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("interval", sa.String(length=6), nullable=True),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("annual_min", sa.Float(), nullable=True),
        sa.Column("annual_max", sa.Float(), nullable=True),
        sa.Column("usd_min", sa.Float(), nullable=True),
        sa.Column("usd_max", sa.Float(), nullable=True),
        sa.Column("rates_date", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("extractor_version", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(["posting_id"], ["postings.id"], name=op.f("fk_compensation_posting_id_postings"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation")),
    )
    op.create_index("ix_compensation_posting_id", "compensation", ["posting_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_compensation_posting_id", table_name="compensation")
    op.drop_table("compensation")
    views = context.script.get_revision("0007").module  # SQLite rebuilds postings to drop a column
    views.drop_views()
    with op.batch_alter_table("postings") as batch:
        for column in POSTING_COLUMNS:
            batch.drop_column(column)
    views.create_views()
