"""The dashboard's discounts by rule over plain HTTP: each receipt line keeps each rule's
discount (CalculateReceipt -> the token -> ConfirmReceipt -> receipt_details.lines), and the
rules, points paid and the unrecorded rest add up to the period's discounts."""

from __future__ import annotations

import re
import uuid

import aiohttp
from kopilka.v1 import admin_pb2, bonus_pb2
from kopilka.v1 import receipts_pb2 as R

from tests.e2e.console_support import base_url, http_login, make_user, settings
from tests.e2e.ledger_support import STORE, calculation, confirm, line, new_member, setup_world
from tests.helpers import rid

__all__ = ["settings"]

RULES = """
groups: [{id: items, order: 1}, {id: receipt, order: 2}]
rules:
  - {id: milk-10, name: "Молоко -10%", group: items, target: [{skus: [milk]}],
     benefit: {type: percent, percent: "10%"}}
  - {id: everyone-1, group: receipt, benefit: {type: amount, amount: 100, scope: receipt}}
"""
#: applied before RULES, so its rule is named by the rule-set history, not the active set
EARLIER = """
groups: [{id: items, order: 1}]
rules:
  - {id: bread-5, name: "Хліб -5%", group: items, target: [{skus: [bread]}],
     benefit: {type: percent, percent: "5%"}}
"""


def table(html: str) -> dict[str, tuple[str, str]]:
    """Label -> (rule id, amount)."""
    part = html[html.index('id="discounts-by-rule"'):]
    part = part[:part.index("</table>")]
    return {label: (rule, amount) for label, rule, amount in re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]*)</td><td>([^<]+)</td></tr>", part)}


async def test_discounts_given_by_rule(app, admin):
    await setup_world(admin)
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku=sku, name=sku, group_code="food") for sku in ("milk", "bread")]))
    member = await new_member(admin, 1)
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=EARLIER))
    await app.deps.pricing.refresh()
    earlier = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code=STORE, card_number=member.card, lines=[
            R.ReceiptLine(line_no=1, sku="bread", quantity_milli=1000, unit_price_minor=3000)]))
    assert earlier.discount_total.amount_minor == 150
    await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=earlier.calculation_id,
        receipt_number="R-0", payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                                                  amount_minor=earlier.total.amount_minor)]))
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(request_id=rid(), document=RULES))
    await app.deps.pricing.refresh()
    await admin.bonus.AdjustPoints(bonus_pb2.AdjustPointsRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, points=300, reason="test",
        reason_code=bonus_pb2.ADJUSTMENT_REASON_CORRECTION))
    calc = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code=STORE, card_number=member.card, pay_with_points=300, lines=[
            R.ReceiptLine(line_no=1, sku="milk", quantity_milli=2000, unit_price_minor=5000),
            R.ReceiptLine(line_no=2, sku="bread", quantity_milli=1000, unit_price_minor=3000)]))
    given: dict[str, int] = {}
    for priced in calc.lines:
        for d in priced.discounts:
            given[d.rule_id] = given.get(d.rule_id, 0) + d.amount_minor
    assert given.get("milk-10") == 1000 and given.get("everyone-1") == 100, given
    await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id, receipt_number="R-1",
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                            amount_minor=calc.total.amount_minor)]))
    # a receipt booked without the split (as before receipts kept it): 15.00 not recorded
    legacy = calculation(app, member, [line(1, 10_000, discount=1_500)])
    await admin.receipts.ConfirmReceipt(confirm(legacy, "R-2", total=10_000))
    await make_user(app, "boss@shop.ua", "admin")
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http_login(http, url, "boss@shop.ua")
        async with http.get(url + "/dashboard") as page:
            html = await page.text()
    rows = table(html)
    points = given.pop("bonus_points", 0)  # the engine's rule id for points paid
    assert points == 300
    assert given.keys() == {"milk-10", "everyone-1"}
    # named by the active rule set, by the one before it, or (no name) by the id
    assert {k: v for k, v in rows.items() if v[0]} == {
        "Молоко -10%": ("milk-10", "10.00"), "everyone-1": ("everyone-1", "1.00"),
        "Хліб -5%": ("bread-5", "1.50")}
    assert rows["Оплачено балами"] == ("", "3.00")
    assert rows["Без розбивки за правилами"] == ("", "15.00")
    assert "Молоко -10%" in html[html.index("<svg"):html.index('id="discounts-by-rule"')]
    total = calc.discount_total.amount_minor + 1_500 + 150
    assert sum(int(v.replace(".", "").replace("\u202f", "")) for _, v in rows.values()) == total
    assert html.count('<svg class="chart"') == 6
