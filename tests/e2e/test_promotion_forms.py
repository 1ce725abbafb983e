"""Issue 18 rule forms priced by CalculateReceipt through the generated client: additive and
compounding stacking, groups sharing an order, "at most N units", the min_units shorthand,
hints for a receipt that nearly qualifies, and the bonus-rule version."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import admin_pb2, members_pb2, receipts_pb2

from server.accounts.rules_loader import load_accrual_rules
from server.db.ledger.rules import apply_accrual_rules
from server.demo import load_demo_data
from tests.helpers import rid

R = receipts_pb2

FORMS = """
groups:
  - {id: dairy, order: 1, stacking: additive}
  - {id: drinks, order: 1, stacking: compounding}
  - {id: late, order: 2}
rules:
  - {id: dairy-15, group: dairy, target: [{groups: [dairy]}],
     benefit: {type: percent, percent: "15%"}}
  - {id: dairy-01-5, group: dairy, target: [{skus: [dairy-01]}],
     benefit: {type: percent, percent: "5%"}}
  - {id: drinks-10, group: drinks, target: [{groups: [drinks]}],
     benefit: {type: percent, percent: "10%"}}
  - {id: drinks-1-off, group: drinks, priority: 200, target: [{groups: [drinks]}],
     benefit: {type: amount, amount: 100, scope: unit, max_units: 2}}
  - {id: three-breads, group: late, target: [{groups: [bakery]}], conditions: {min_units: 3},
     benefit: {type: fixed_price, price: 1000, max_units: 1}, message: "Third bread for 10.00"}
"""


@pytest.fixture
async def forms(app, admin):
    await load_demo_data(app.db.url)
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(request_id=rid(), document=FORMS))
    return admin


def at_noon() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC))
    return ts


def line(n: int, sku: str, qty: int, price: int) -> R.ReceiptLine:
    return R.ReceiptLine(line_no=n, sku=sku, quantity_milli=qty, unit_price_minor=price)


def by_rule(reply: R.CalculateReceiptResponse) -> dict[int, list[tuple[str, int]]]:
    return {x.line_no: [(d.rule_id, d.amount_minor) for d in x.discounts] for x in reply.lines}


async def test_stacking_unit_caps_and_the_shorthand_price_over_grpc(forms, app):
    reply = await forms.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", receipt_time=at_noon(),
        lines=[line(1, "dairy-01", 1000, 1001),     # 15% + 5% = 20% of 10.01 -> 2.00 (1.50+0.50)
               line(2, "drinks-01", 3000, 2000),    # 10% of 60.00, then 1.00 x 2 units
               line(3, "bakery-01", 2000, 3000),    # 3 breads: one unit at 10.00
               line(4, "bakery-02", 1000, 2500)]))
    assert reply.rule_set_version == app.deps.pricing.snapshot.rules.version
    assert by_rule(reply) == {
        1: [("dairy-01-5", 50), ("dairy-15", 150)],  # (priority, id) order
        2: [("drinks-10", 600), ("drinks-1-off", 200)],
        3: [("three-breads", 2000)],  # first line first: 30.00 -> 10.00 for one unit
        4: [],
    }
    assert "Third bread for 10.00" in reply.messages
    assert sum(x.final_amount_minor for x in reply.lines) == reply.total.amount_minor

    two_breads = await forms.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", receipt_time=at_noon(), lines=[line(1, "bakery-01", 2000, 3000)]))
    assert two_breads.discount_total.amount_minor == 0
    hint = "1 unit more for promo price 10.00: three-breads (rule three-breads)"
    assert [(h.rule_id, h.message, h.missing_quantity_milli) for h in two_breads.hints] == [
        ("three-breads", hint, 1000)]
    assert hint in two_breads.messages


async def test_the_response_names_the_bonus_rules_that_computed_the_points(forms, app):
    found = await forms.members.FindMember(members_pb2.FindMemberRequest(phone="+380671234567"))
    card = found.member.cards[0].number
    request = R.CalculateReceiptRequest(
        store_code="kyiv-01", receipt_time=at_noon(), card_number=card,
        lines=[line(1, "bakery-01", 2000, 3000), line(2, "coffee-01", 1000, 25000)])
    before = await forms.receipts.CalculateReceipt(request)
    assert before.bonus_rule_version == ""  # none applied: the card type's percent
    async with app.db.transaction() as session:
        await apply_accrual_rules(session, load_accrual_rules("""
version: spring-points
rules:
  - {id: per-bread, award: {points_per_unit: 7}, groups: [bakery]}
  - {id: per-amount, award: {points: 2, per: "10.00"}, exclude: {groups: [bakery]}}
"""))
    await app.deps.pricing.refresh(force=True)
    reply = await forms.receipts.CalculateReceipt(request)
    assert reply.bonus_rule_version == "spring-points"
    assert reply.rule_set_version == app.deps.pricing.snapshot.rules.version
    # 2 breads x 7 = 14; 2 points per 10.00 of the coffee's 250.00 = 50
    assert reply.points_to_accrue == 14 + 50


async def test_rewards_the_balance_pays_for_are_offered(forms, app):
    found = await forms.members.FindMember(members_pb2.FindMemberRequest(phone="+380671234567"))
    card = found.member.cards[0].number
    sale = await forms.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", terminal_id="till-1", card_number=card,
        lines=[line(1, "coffee-01", 4000, 25000)]))
    confirmed = await forms.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=sale.calculation_id, receipt_number="RW-1",
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                            amount_minor=sale.total.amount_minor)]))
    balance = confirmed.points_balance
    assert balance > 0
    async with app.db.transaction() as session:
        await apply_accrual_rules(session, load_accrual_rules(f"""
version: rewards-1
rewards:
  - {{id: coffee, name: Free coffee, points: {balance}, kind: product, sku: coffee-01}}
  - {{id: ten-off, name: 10.00 off, points: 1, kind: discount, amount_minor: 1000}}
  - {{id: too-dear, points: {balance + 1}, kind: coupon, coupon: SPA}}
  - {{id: silver-only, points: 1, kind: coupon, coupon: S1, card_types: [silver]}}
"""))
    await app.deps.pricing.refresh(force=True)
    reply = await forms.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", card_number=card, lines=[line(1, "bakery-03", 1000, 3000)]))
    assert [(r.reward_id, r.points, r.kind) for r in reply.rewards] == [
        ("coffee", balance, "product"), ("ten-off", 1, "discount")]
    assert f"Reward for {balance} points: Free coffee (reward coffee)" in reply.messages
    paying = await forms.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", card_number=card, pay_with_points=1000,
        lines=[line(1, "bakery-03", 1000, 3000)]))
    assert [r.reward_id for r in paying.rewards] == ["ten-off"]  # after paying 10.00 in points
    anonymous = await forms.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", lines=[line(1, "bakery-03", 1000, 3000)]))
    assert not anonymous.rewards
