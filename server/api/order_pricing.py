"""Orders priced by the receipt engine: the same `price_receipt`, the same accrual
(server/api/servicers/calculate.py `receipt_accrual`), the same split of points and
discounts per line as CalculateReceipt, so an order costs what the same lines cost at a till.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from server.api.servicers.calculate import calculated_lines, receipt_accrual
from server.db.pricing.context import CardPricingContext
from server.features.pricing import PricingSnapshot
from server.orders.model import Order
from server.orders.service import Pricer
from server.pricing import price_receipt
from server.pricing.model import Receipt, ReceiptLine


def order_pricer(snap: PricingSnapshot, card: CardPricingContext | None,
                 moment: dt.datetime) -> Pricer:
    """A Pricer for the snapshot, the customer's card context and the pricing time."""

    def price(order: Order, points: int) -> int:
        live = order.live_lines
        if not live:
            return 0
        member = card.member if card else None
        if member is not None and member.points_balance is not None and order.points_reserved:
            # the order's own reservation is the member's to use again when pricing anew
            member = dataclasses.replace(
                member, points_balance=member.points_balance + order.points_reserved)
        result = price_receipt(snap.rules, snap.catalog, snap.stores, Receipt(
            store_id=order.store_code, time=moment,
            lines=tuple(ReceiptLine(x.line_no, x.sku, x.quantity_milli, x.unit_price)
                        for x in live),
            card_type=card.card_type if card else None, member=member,
            bonus_points_to_pay=points, explain=False))
        _, per_line, lots = receipt_accrual(snap, card, order.store_code, moment, result)
        for line, calc, priced in zip(live, calculated_lines(result, per_line), result.lines,
                                      strict=True):
            line.base_amount = calc.base_amount_minor
            line.discount_amount = calc.discount_minor
            line.points_paid = calc.points_discount_minor
            line.final_amount = calc.final_amount_minor
            line.accrual_points = calc.accrual_points
            line.promotions = tuple(d.rule_id for d in priced.discounts)
        order.accrual_lots = [list(x) for x in lots]
        return result.bonus_discount

    return price
