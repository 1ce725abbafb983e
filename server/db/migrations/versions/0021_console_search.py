"""The console's member search by name: a btree on lower(last_name) in the C collation.

The console finds members by a last-name prefix (LIKE 'шев%') in keyset pages ordered by
(lower(last_name), id); in the C collation one btree serves both the prefix match and the
order, so a page is an index range scan at a million members.

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute('CREATE INDEX ix_members_last_name_lower ON members '
               '((lower(last_name) COLLATE "C"), id)')


def downgrade() -> None:
    op.execute("DROP INDEX ix_members_last_name_lower")
