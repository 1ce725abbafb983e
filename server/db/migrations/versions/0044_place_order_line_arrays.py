"""kopilka_place_order takes the order's lines as arrays, not as JSON (issue 13).

0034/0037's kopilka_place_order read the 20 lines of a placement from its JSON document
(jsonb_to_recordset, and an ARRAY subquery per line for its promotions): the lines were 7.8
of the document's 8.3 KB, which the server encoded as JSON and the database parsed again on
every PlaceOrder. Now they come as three arrays asyncpg sends in binary: the numbers (one
row of 14 per line: line_no, quantity_milli, unit_price, base_amount, discount_amount,
points_paid, final_amount, accrual_points, returned_milli, points_returned,
points_reversed, split_from, replaces and the number of promotions), the texts (sku, state,
store_code) and every line's promotions one after the other. The rest of the function is
0037's, statement for statement.

Revision ID: 0044
Revises: 0042
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0044"
down_revision = "0042"
branch_labels = None
depends_on = None

OLD_SIGNATURE = "kopilka_place_order(uuid, uuid, text, bytea, bytea, jsonb)"
NEW_SIGNATURE = ("kopilka_place_order(uuid, uuid, text, bytea, bytea, jsonb, bigint[], text[], "
                 "text[])")
HEAD = "p_request_hash bytea, p_response bytea, p jsonb)"
ARRAYS = ("p_request_hash bytea, p_response bytea, p jsonb,\n"
          "                                    p_numbers bigint[], p_texts text[],"
          " p_promotions text[])")
LINES_FROM_JSON_START = "  INSERT INTO web_order_lines"
LINES_FROM_JSON_END = "  INSERT INTO web_order_history"
LINES_FROM_ARRAYS = """\
  INSERT INTO web_order_lines (order_id, line_no, sku, quantity_milli, unit_price,
    base_amount, discount_amount, points_paid, final_amount, accrual_points, promotions,
    state, returned_milli, points_returned, points_reversed, store_code, split_from, replaces)
  SELECT v_order, p_numbers[i][1], p_texts[i][1], p_numbers[i][2], p_numbers[i][3],
         p_numbers[i][4], p_numbers[i][5], p_numbers[i][6], p_numbers[i][7], p_numbers[i][8],
         coalesce(p_promotions[earlier + 1 : earlier + p_numbers[i][14]], '{}'), p_texts[i][2],
         p_numbers[i][9], p_numbers[i][10], p_numbers[i][11], p_texts[i][3],
         p_numbers[i][12], p_numbers[i][13]
    FROM (SELECT i, (coalesce(sum(p_numbers[i][14]) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED
                       PRECEDING AND 1 PRECEDING), 0))::int AS earlier
            FROM generate_subscripts(p_numbers, 1) AS i) AS x
   ORDER BY i;
"""


def _revision(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kopilka_{name}",
                                                  Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def previous() -> str:
    """0037's kopilka_place_order (lines from the JSON document), created anew (the other
    signature is dropped first, so CREATE, not CREATE OR REPLACE)."""
    sql: str = _revision("0037_order_verification.py").place_order(verified=True)
    return sql.replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1)


def with_line_arrays() -> str:
    """0037's function with its lines read from the three arrays."""
    sql = previous()
    assert sql.count(HEAD) == 1 and sql.count(LINES_FROM_JSON_START) == 1, \
        "0037's kopilka_place_order changed shape"
    sql = sql.replace(HEAD, ARRAYS, 1)
    start = sql.index(LINES_FROM_JSON_START)
    return sql[:start] + LINES_FROM_ARRAYS + sql[sql.index(LINES_FROM_JSON_END, start):]


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    op.execute(with_line_arrays())


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    op.execute(previous())
