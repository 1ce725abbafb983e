"""Past confirmed receipts for what-if runs, streamed in keyset pages on (confirmed_at, id)
so a long period never sits in memory and every page is one index range scan."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text

from server.db.database import Database
from server.pricing.model import ReceiptLine
from server.pricing.whatif import PastReceipt

PAGE = 1000

_PAGE_SQL = text("""
SELECT r.id, r.store_code, r.confirmed_at, r.discount_total_minor, c.card_type,
       d.lines, d.points_accrued, d.points_redeemed
  FROM receipts r
  JOIN receipt_details d ON d.receipt_id = r.id
  LEFT JOIN cards c ON c.number = r.card_number
 WHERE r.state NOT IN ('cancelled', 'refunded')
   AND r.confirmed_at >= :start AND r.confirmed_at < :end
   AND (r.confirmed_at, r.id) > (:after_time, :after_id)
 ORDER BY r.confirmed_at, r.id
 LIMIT :page
""")


async def past_receipts(db: Database, start: dt.datetime, end: dt.datetime,
                        page: int = PAGE) -> AsyncIterator[list[PastReceipt | None]]:
    """Pages of receipts confirmed in [start, end); None for a receipt stored without shelf
    prices (before issue 18), which cannot be priced again."""
    after_time, after_id = start - dt.timedelta(microseconds=1), uuid.UUID(int=0)
    while True:
        async with db.transaction() as session:
            rows = (await session.execute(_PAGE_SQL, {
                "start": start, "end": end, "after_time": after_time, "after_id": after_id,
                "page": page})).all()
        if not rows:
            return
        yield [_past(row) for row in rows]
        after_time, after_id = rows[-1][2], rows[-1][0]
        if len(rows) < page:
            return


def _past(row: tuple[object, ...]) -> PastReceipt | None:
    receipt_id, store, confirmed, discount, card_type, raw, accrued, redeemed = row
    items = json.loads(raw) if isinstance(raw, str) else raw
    assert isinstance(items, list)
    lines = []
    for item in items:
        price = item.get("unit_price_minor")
        if price is None:
            return None
        lines.append(ReceiptLine(int(item["line_no"]), str(item["sku"]),
                                 int(item["quantity_milli"]), int(price)))
    assert isinstance(confirmed, dt.datetime)
    return PastReceipt(str(receipt_id), str(store), confirmed,
                       None if card_type is None else str(card_type), tuple(lines),
                       int(str(discount)) - int(str(redeemed)), int(str(accrued)))
