"""CalculateReceipt through the generated client: demo promotions, exact totals, no writes."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import members_pb2, receipts_pb2
from sqlalchemy import text

from server.api.calculation_token import decode_calculation
from server.demo import load_demo_data
from tests.helpers import rpc_error

R = receipts_pb2
KYIV = dt.timezone(dt.timedelta(hours=2))  # November: EET


def at(hour: int, minute: int = 0) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(dt.datetime(2026, 11, 23, hour, minute, tzinfo=KYIV))
    return ts


def line(n: int, sku: str, qty: int, price: int) -> R.ReceiptLine:
    return R.ReceiptLine(line_no=n, sku=sku, quantity_milli=qty, unit_price_minor=price)


@pytest.fixture
async def demo(app, admin):
    await load_demo_data(app.db.url)
    await app.deps.pricing.refresh()
    return admin


async def gold_card(client) -> str:
    found = await client.members.FindMember(members_pb2.FindMemberRequest(phone="+380671234567"))
    return found.member.cards[0].number


def assert_adds_up(reply: R.CalculateReceiptResponse) -> None:
    assert sum(x.base_amount_minor for x in reply.lines) == reply.subtotal.amount_minor
    assert sum(x.final_amount_minor for x in reply.lines) == reply.total.amount_minor
    assert reply.subtotal.amount_minor - reply.discount_total.amount_minor == \
        reply.total.amount_minor
    for x in reply.lines:
        assert x.base_amount_minor - sum(d.amount_minor for d in x.discounts) == \
            x.final_amount_minor >= 0


async def test_prices_demo_promotions_for_a_gold_member_in_the_morning(demo, app):
    card = await gold_card(demo)
    reply = await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", terminal_id="till-1", card_number=card, receipt_time=at(9, 30),
        lines=[line(1, "dairy-01", 2000, 4550),      # 91.00, -10% -> 81.90
               line(2, "drinks-01", 4000, 2000),     # 4 for 3 -> 60.00
               line(3, "bakery-01", 1000, 3000)]))   # no item promotion: 30.00
    assert_adds_up(reply)
    by_line = {x.line_no: x for x in reply.lines}
    assert [d.rule_id for d in by_line[1].discounts] == ["dairy-10", "gold-morning"]
    assert by_line[1].discounts[0].amount_minor == 910
    assert by_line[2].discounts[0].rule_id == "water-4-for-3"
    assert by_line[2].discounts[0].amount_minor == 2000
    # Gold 3% doubled before 11:00 on what is still payable: 6% of 171.90 = 10.314 -> 10.31,
    # split over lines by largest remainder (8190, 6000, 3000 -> 491.4, 360, 180 -> 491, 360, 180)
    gold = [d.amount_minor for x in reply.lines for d in x.discounts if d.rule_id == "gold-morning"]
    assert gold == [491, 360, 180]
    assert reply.total.amount_minor == 17190 - 1031
    # Gold cards accrue 10% of the total, in points of 1 kopeck
    assert reply.points_to_accrue == reply.total.amount_minor * 1000 // 10000
    assert reply.rule_set_version == app.deps.pricing.snapshot.rules.version

    calc = decode_calculation(app.deps.signer, reply.calculation_id,
                              dt.datetime.now(dt.UTC))
    assert calc.total_minor == reply.total.amount_minor and calc.card_number == card
    assert sum(x.accrual_points for x in calc.lines) == reply.points_to_accrue
    assert set(calc.applied_promotions) == {"dairy-10", "water-4-for-3", "gold-morning"}


async def test_boost_ends_at_eleven_and_anonymous_sales_get_item_promotions_only(demo):
    card = await gold_card(demo)
    lines = [line(1, "bakery-01", 1000, 10000)]
    later = await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", card_number=card, receipt_time=at(11, 0), lines=lines))
    assert later.discount_total.amount_minor == 300  # 3%, no morning boost
    anonymous = await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", receipt_time=at(9, 0), lines=lines))
    assert anonymous.discount_total.amount_minor == 0 and anonymous.points_to_accrue == 0


async def test_barcodes_resolve_and_conditional_discounts_explain_themselves(demo):
    request = R.CalculateReceiptRequest(
        store_code="kyiv-02", receipt_time=at(15),
        lines=[R.ReceiptLine(line_no=1, barcode="482003000001", quantity_milli=1000,
                             unit_price_minor=25000),  # coffee-01 -> fixed 199.00
               line(2, "sweets-02", 2000, 5000)])      # chocolate -30% with coffee
    reply = await demo.receipts.CalculateReceipt(request)
    first, second = reply.lines
    assert first.sku == "coffee-01" and first.final_amount_minor == 19900
    assert first.discounts[0].reason_code == R.DISCOUNT_REASON_PROMO_PRICE
    assert second.discounts[0].rule_id == "sweets-with-coffee"
    assert second.discounts[0].amount_minor == 3000
    assert second.discounts[0].reason_code == R.DISCOUNT_REASON_PERCENT
    # compact by default: the rule and the code, no texts
    assert not any(d.reason or d.rule_name for x in reply.lines for d in x.discounts)
    assert_adds_up(reply)

    request.explain = True
    explained = await demo.receipts.CalculateReceipt(request)
    assert [x.final_amount_minor for x in explained.lines] == \
        [x.final_amount_minor for x in reply.lines]
    assert explained.messages == reply.messages
    sweets = explained.lines[1].discounts[0]
    assert sweets.reason == "30% off SKU sweets-02" and sweets.rule_name
    assert sweets.reason_code == R.DISCOUNT_REASON_PERCENT
    assert explained.lines[0].discounts[0].reason == "promo price 199.00 for SKU coffee-01"


async def test_bad_requests_name_their_fields_and_calculation_writes_nothing(demo, app):
    async def count_rows() -> tuple[int, ...]:
        async with app.db.transaction() as session:
            return tuple((await session.execute(text(
                "SELECT (SELECT count(*) FROM receipts), (SELECT count(*) FROM "
                "idempotency_records), (SELECT count(*) FROM member_promotion_uses)"))).one())

    before = await count_rows()
    with rpc_error() as failure:
        await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", lines=[
                line(1, "dairy-01", 0, 100), line(1, "", 1000, -5),
                R.ReceiptLine(line_no=3, barcode="000", quantity_milli=1000)]))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["lines[0].quantity_milli", "lines[1].line_no",
                              "lines[1].unit_price_minor", "lines[1].sku", "lines[2].barcode"]
    with rpc_error() as failure:
        await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="nowhere", lines=[line(1, "dairy-01", 1000, 100)]))
    assert failure.fields == ["store_code"]
    with rpc_error() as failure:  # beyond year 9999: a bad field, not an internal error
        await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", receipt_time=Timestamp(seconds=2**40),
            lines=[line(1, "dairy-01", 1000, 100)]))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["receipt_time"]
    with rpc_error() as failure:
        await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", card_number="2999999999999",
            lines=[line(1, "dairy-01", 1000, 100)]))
    assert failure.code == grpc.StatusCode.NOT_FOUND and failure.reason == "CARD_NOT_FOUND"
    card = await gold_card(demo)
    await demo.members.ChangeCardState(members_pb2.ChangeCardStateRequest(
        request_id="3f0c1d2e-0000-4000-8000-000000000001", card_number=card,
        state=members_pb2.CARD_STATE_BLOCKED, reason="lost"))
    with rpc_error() as failure:
        await demo.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", card_number=card, lines=[line(1, "dairy-01", 1000, 100)]))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CARD_NOT_ACTIVE"
    after = await count_rows()
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] == before[1] + 1  # only the ChangeCardState request


async def test_a_till_prices_only_for_its_own_store(demo, make_key, client_for):
    from server.auth.principal import PrincipalKind

    till = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                     store_code="kyiv-01", terminal_id="till-1"))
    with rpc_error() as failure:
        await till.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-02", lines=[line(1, "dairy-01", 1000, 100)]))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == ["store_code"]
    own = await till.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        lines=[line(1, "dairy-01", 1000, 100)]))  # the key's store when none is given
    assert own.total.amount_minor == 90
