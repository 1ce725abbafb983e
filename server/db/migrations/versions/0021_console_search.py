"""The console's indexes: member search by name, and the dashboard's time ranges.

The console finds members by a last-name prefix (LIKE 'шев%') in keyset pages ordered by
(lower(last_name), id); in the C collation one btree serves both the prefix match and the
order, so a page is an index range scan at a million members. The dashboard sums receipts
and ledger transactions of a period: each gets a btree on its time column (one more index
written per sale and per ledger transaction).

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute('CREATE INDEX ix_members_last_name_lower ON members '
               '((lower(last_name) COLLATE "C"), id)')
    # receipts by time: ix_receipts_confirmed_at_id (0022) serves the dashboard too
    op.create_index("ix_ledger_transactions_created_at", "ledger_transactions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_transactions_created_at", table_name="ledger_transactions")
    op.execute("DROP INDEX ix_members_last_name_lower")
