"""Trend indexes: the measured postings, and the analysis and classification times that mark touched weeks.

- ``ix_postings_measured``: a partial index on postings (id, posted_week) holding only the postings a trend
  counts (canonical, analysed, with description text). ``analysis.trends`` reads n and k through it without
  touching the wide posting rows (the descriptions); its queries repeat the index condition word for word, which
  is what lets SQLite use a partial index.
- ``ix_postings_analyzed_at`` and ``ix_classifications_classified_at``: the incremental recompute finds the weeks
  with postings analysed or classified since the last run by a range scan instead of reading every row.

Plain CREATE INDEX on both databases: no table is recreated, so the views of revision 0004 stay as they are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of jobtrend.models.MEASURED_POSTING (a migration must keep meaning what it meant).
MEASURED_POSTING = "duplicate_of_id IS NULL AND analyzed_at IS NOT NULL AND trim(description_text) != ''"


def upgrade() -> None:
    op.create_index("ix_postings_measured", "postings", ["id", "posted_week"], unique=False,
                    sqlite_where=sa.text(MEASURED_POSTING), postgresql_where=sa.text(MEASURED_POSTING))
    op.create_index("ix_postings_analyzed_at", "postings", ["analyzed_at"], unique=False)
    op.create_index("ix_classifications_classified_at", "classifications", ["classified_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_classifications_classified_at", table_name="classifications")
    op.drop_index("ix_postings_analyzed_at", table_name="postings")
    op.drop_index("ix_postings_measured", table_name="postings")
