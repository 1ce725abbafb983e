"""PlaceOrder's points under the till's SMS verification (issue 13).

A verification may now authorize `place_order` (PlaceOrder reserving points, at most
max_amount points). kopilka_place_order (0034) reserved points with kopilka_spending_card's
rule but never looked at its `o_verify`: now a card whose type requires verification
reserves only with the request's token, used once by the ledger's own
kopilka_use_verification (KL006 without a token, KL007 when it paid for a spend already),
exactly as RedeemBonus and ConfirmReceipt; the server checked the token's bindings (card,
operation, amount, store, terminal, key, expiry) before sending its id. Either refusal
writes nothing and leaves the order to the general path, which answers it with the field.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

OPERATIONS = "operation IN ('redeem_points', 'confirm_receipt', 'convert_funds'{})"
CONSTRAINT = "ck_verifications_operation_known"
ANCHOR = "    SELECT * INTO v_spender FROM kopilka_spending_card(o->>'card_number');\n"
USE_TOKEN = """\
    IF v_spender.o_verify THEN  -- the till's rule: the request's token, used once
      PERFORM kopilka_use_verification((r->>'token_id')::uuid, p_request_id, 'place_order',
                                       (r->>'points')::bigint);
    END IF;
"""


def _revision(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kopilka_{name}",
                                                  Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def place_order(verified: bool) -> str:
    """0034's kopilka_place_order, with the verification's use or without (as 0034 made it)."""
    sql: str = _revision("0034_place_order_function.py").PLACE_ORDER
    assert sql.count(ANCHOR) == 1, "0034's kopilka_place_order changed shape"
    sql = sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    return sql.replace(ANCHOR, ANCHOR + USE_TOKEN) if verified else sql


def upgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "verifications")
    op.create_check_constraint(op.f(CONSTRAINT), "verifications",
                               OPERATIONS.format(", 'place_order'"))
    op.execute(place_order(verified=True))


def downgrade() -> None:
    op.execute(place_order(verified=False))
    op.execute("DELETE FROM verifications WHERE operation = 'place_order'")
    op.drop_constraint(op.f(CONSTRAINT), "verifications")
    op.create_check_constraint(op.f(CONSTRAINT), "verifications", OPERATIONS.format(""))
