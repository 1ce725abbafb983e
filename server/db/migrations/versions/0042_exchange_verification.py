"""ExchangeLines' difference under the till's SMS verification.

A verification may now authorize `exchange_order`: the difference an exchange takes from
the member's points or cash account (at most max_amount). Before, an exchange settled from
points or the cash account spent them whatever the card's type required, the one spend of
the member's money that did not ask for the customer's code (server/db/orders/money.py).

Revision ID: 0042
Revises: 0037
Create Date: 2026-12-01 22:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0037"
branch_labels = None
depends_on = None

OPERATIONS = ("operation IN ('redeem_points', 'confirm_receipt', 'convert_funds', "
              "'place_order'{})")
CONSTRAINT = "ck_verifications_operation_known"


def upgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "verifications")
    op.create_check_constraint(op.f(CONSTRAINT), "verifications",
                               OPERATIONS.format(", 'exchange_order'"))


def downgrade() -> None:
    op.execute("DELETE FROM verifications WHERE operation = 'exchange_order'")
    op.drop_constraint(op.f(CONSTRAINT), "verifications")
    op.create_check_constraint(op.f(CONSTRAINT), "verifications", OPERATIONS.format(""))
