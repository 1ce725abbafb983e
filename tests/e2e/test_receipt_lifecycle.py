"""The whole sale: CalculateReceipt -> ConfirmReceipt -> balance, history -> pay with points."""

from __future__ import annotations

import datetime as dt
import uuid

from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import admin_pb2, bonus_pb2, members_pb2, receipts_pb2
from sqlalchemy import text

from server.demo import load_demo_data
from tests.helpers import rid

R = receipts_pb2


def line(n: int, sku: str, qty: int, price: int) -> R.ReceiptLine:
    return R.ReceiptLine(line_no=n, sku=sku, quantity_milli=qty, unit_price_minor=price)


async def confirm(client, calc: R.CalculateReceiptResponse, number: str):
    return await client.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id, receipt_number=number,
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                            amount_minor=calc.total.amount_minor)]))


async def test_sale_accrues_points_that_pay_for_the_next_sale(app, admin):
    await load_demo_data(app.db.url)
    await app.deps.pricing.refresh()
    member = (await admin.members.FindMember(
        members_pb2.FindMemberRequest(phone="0501112233"))).member  # silver: 5%
    card = member.cards[0].number

    first = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", card_number=card,
        lines=[line(1, "dairy-02", 10_000, 4000), line(2, "bakery-03", 2000, 2550)]))
    # 400.00 - 10% dairy = 360.00, + 51.00 bread = 411.00; 5% -> 2055 points
    assert first.total.amount_minor == 41100 and first.points_to_accrue == 2055
    done = await confirm(admin, first, "R-1")
    assert done.points_accrued == 2055 and done.points_balance == 2055

    balance = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=card))
    assert balance.points_available == 2055
    history = await admin.members.ListPurchases(members_pb2.ListPurchasesRequest(
        member_id=member.member_id))
    assert [(p.receipt_number, p.total.amount_minor) for p in history.purchases] == \
        [("R-1", 41100)]
    async with app.db.transaction() as session:
        uses = (await session.execute(text(
            "SELECT promotion_id FROM member_promotion_uses WHERE member_id = :m"),
            {"m": uuid.UUID(member.member_id)})).scalars().all()
    assert uses == ["dairy-10"]

    second = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", card_number=card, pay_with_points=5000,
        lines=[line(1, "bakery-01", 3000, 1000)]))
    # 30.00 receipt: at most 50% (15.00 = 1500 points) may be paid with points
    assert second.max_points_redeemable == 1500 and second.points_redeemed == 1500
    assert second.total.amount_minor == 1500
    assert second.points_to_accrue == 75  # 5% of the 15.00 still paid in money
    assert any("at most 1500" in m for m in second.messages)
    done = await confirm(admin, second, "R-2")
    assert done.points_redeemed == 1500
    assert done.points_balance == 2055 - 1500 + 75

    capped = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", card_number=card, pay_with_points=100_000,
        lines=[line(1, "coffee-02", 10_000, 50_000)]))
    assert capped.max_points_redeemable == 2055 - 1500 + 75  # the balance, not 50%


async def test_a_till_confirms_only_its_own_stores_receipts(app, admin, make_key, client_for):
    import grpc

    from server.auth.principal import PrincipalKind
    from tests.helpers import rpc_error

    await load_demo_data(app.db.url)
    await app.deps.pricing.refresh()
    elsewhere = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="lviv-01", lines=[line(1, "bakery-01", 1000, 1000)]))
    till = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                     store_code="kyiv-01", terminal_id="till-1"))
    with rpc_error() as failure:
        await confirm(till, elsewhere, "R-9")
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["calculation_id"]


HISTORY_RULES = """
schema_version: 1
name: history
settings: {currency: UAH, timezone: Europe/Kyiv}
groups: [{id: items, order: 1, resolution: priority}, {id: loyal, order: 2, resolution: priority}]
rules:
  - id: bread-after-milk
    name: Bread -1.00 for milk buyers
    group: items
    target: [{skus: [bakery-01]}]
    conditions: {previous_purchases: [{period: week, match: {skus: [dairy-02]}}]}
    benefit: {type: amount, amount: 100, scope: line}
  - id: loyal-5
    name: 5% once you spent 300.00 this month
    group: loyal
    priority: 1
    conditions: {accumulated: [{period: 30, min_amount: 30000}]}
    benefit: {type: percent, percent: "5%"}
  - id: welcome-week
    name: -2% for a week from your first welcome discount
    group: loyal
    priority: 2
    validity: {days_from_first_purchase: 7}
    conditions: {member_required: true}
    benefit: {type: percent, percent: "2%"}
"""


async def test_rules_on_the_members_history_see_confirmed_purchases(app, admin):
    """The member context query (history aggregates, first uses) end to end."""
    await load_demo_data(app.db.url)
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=HISTORY_RULES))
    card = (await admin.members.FindMember(members_pb2.FindMemberRequest(
        phone="0501112233"))).member.cards[0].number

    def bread(days_ahead: int = 0) -> R.CalculateReceiptRequest:
        moment = Timestamp()
        moment.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(days=days_ahead))
        return R.CalculateReceiptRequest(store_code="kyiv-01", card_number=card,
                                         receipt_time=moment,
                                         lines=[line(1, "bakery-01", 1000, 1000)])

    def applied(calc: R.CalculateReceiptResponse) -> list[str]:
        return sorted(d.rule_id for x in calc.lines for d in x.discounts)

    before = await admin.receipts.CalculateReceipt(bread())
    assert applied(before) == ["welcome-week"]  # no history yet: only the first-use promotion

    milk = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", card_number=card, lines=[line(1, "dairy-02", 10_000, 4000)]))
    assert applied(milk) == ["welcome-week"]
    await confirm(admin, milk, "H-1")  # 392.00 paid: milk bought, 300.00 crossed, first use

    after = await admin.receipts.CalculateReceipt(bread())
    assert applied(after) == ["bread-after-milk", "loyal-5"]  # loyal-5 goes first in its group
    assert after.total.amount_minor == 1000 - 100 - 45  # 5% of the 9.00 left
    # eight days on: milk is older than a week, the welcome week is over, 30 days still hold
    assert applied(await admin.receipts.CalculateReceipt(bread(days_ahead=8))) == ["loyal-5"]
    assert applied(await admin.receipts.CalculateReceipt(bread(days_ahead=31))) == []
