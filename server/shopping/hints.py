"""Promotions a basket nearly qualifies for, from the pricing engine itself.

The basket is priced by `price_receipt` with the rule set, catalog and stores CalculateReceipt
uses (the same in-memory snapshot), as an anonymous receipt of the store at `moment`: its
hints are the ones a till would show for the same lines ("one more unit and 1 is free",
"spend 120.00 more for 10% off"). Nothing here prices anything of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from server.pricing import price_receipt
from server.pricing.compiler import CompiledRuleSet
from server.pricing.model import Catalog, PromotionHint, Receipt, ReceiptLine, Store
from server.shopping.model import BasketLine


def basket_hints(rules: CompiledRuleSet, catalog: Catalog, stores: Mapping[str, Store],
                 store_code: str, lines: Sequence[BasketLine], moment: dt.datetime
                 ) -> tuple[PromotionHint, ...]:
    """The hints of the basket's lines with a quantity (a line of quantity 0 only names a
    product for the pairs); none for an empty basket or a rule set without hints."""
    priced = tuple(ReceiptLine(n, x.sku, x.quantity_milli, x.unit_price_minor)
                   for n, x in enumerate(lines, start=1) if x.quantity_milli > 0)
    if not priced or not rules.hints_within_bp:
        return ()
    return price_receipt(rules, catalog, stores,
                         Receipt(store_id=store_code, time=moment, lines=priced,
                                 explain=False)).hints
