"""postings.raw_hash: a 64-bit hash of a posting's fields as the source listed them, before cleaning.

The crawl's clean_html pipeline loads the stored raw hashes of the sources it crawls when it opens (8 bytes a
posting) and skips the HTML-to-text cleaning of a posting whose raw hash is already stored: its row was made from
exactly these fields by this cleaner (the hash covers the cleaner's version, crawler/pipelines/unchanged.py).
The store pipeline then only marks such a posting seen, in one set-based UPDATE per batch.

ALTER TABLE ... ADD COLUMN on both databases: no table is recreated, so the views of revisions 0007 and 0010 stay.
Existing postings get NULL, so their next crawl cleans them as before and stores their raw hash.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("postings", sa.Column("raw_hash", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    views = [context.script.get_revision(r).module for r in ("0007", "0010")]  # SQLite rebuilds postings
    for module in reversed(views):
        module.drop_views()
    with op.batch_alter_table("postings") as batch:
        batch.drop_column("raw_hash")
    for module in views:
        module.create_views()
