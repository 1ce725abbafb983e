"""The console's name search at a million members: the first name in the name index.

A search "шевченко ол" is a last-name prefix and a first-name prefix, in keyset pages ordered
by (lower(last_name), id). With ix_members_last_name_lower (0021) the first name was checked
on the table row, so a first name nobody of that surname has read every such member's row
(1.1 s at 1,000,000 members with 50,000 of one surname). This index carries
lower(first_name) as a third key column: the order stays (last name, id), since id is unique,
and the first-name prefix is checked on the index tuples, so the rows read are the rows shown.
It replaces the 0021 index (the same leading columns).

Revision ID: 0036
Revises: 0039
Create Date: 2026-12-22 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute('CREATE INDEX ix_members_name_lower ON members '
               '((lower(last_name) COLLATE "C"), id, (lower(first_name) COLLATE "C"))')
    op.execute("DROP INDEX ix_members_last_name_lower")


def downgrade() -> None:
    op.execute('CREATE INDEX ix_members_last_name_lower ON members '
               '((lower(last_name) COLLATE "C"), id)')
    op.execute("DROP INDEX ix_members_name_lower")
