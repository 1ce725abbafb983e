"""Coupons through the real server and PostgreSQL: issue one or a batch, a coupon unlocking
its promotion on CalculateReceipt, ConfirmReceipt spending it exactly once (also when two
receipts race for a single-use coupon), and every refusal with its reason."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import admin_pb2, coupons_pb2, receipts_pb2

from server.engagement.coupons import check_character, well_formed
from tests.e2e.ledger_support import STORE, Member, new_member, setup_world
from tests.helpers import rid, rpc_error

C, R = coupons_pb2, receipts_pb2

RULES = """
rules:
  - {id: coupon-20, promotion: spring-coupon, conditions: {coupon: spring-coupon},
     benefit: {type: percent, percent: "20%", scope: receipt}, message: "Coupon: 20% off"}
  - {id: everyone-1, benefit: {type: amount, amount: 100, scope: receipt}}
"""


def ts(moment: dt.datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


async def world(admin) -> tuple[Member, Member]:  # type: ignore[no-untyped-def]
    await setup_world(admin)
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(request_id=rid(), document=RULES))
    return await new_member(admin, 1), await new_member(admin, 2)


async def issue(admin, **fields) -> C.Coupon:  # type: ignore[no-untyped-def]
    reply = await admin.coupons.IssueCoupon(C.IssueCouponRequest(
        request_id=str(uuid.uuid4()), promotion_id="spring-coupon", **fields))
    return reply.coupon


async def calculate(admin, member: Member | None, *codes: str,  # type: ignore[no-untyped-def]
                    terminal: str = "T1") -> R.CalculateReceiptResponse:
    return await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code=STORE, terminal_id=terminal, card_number=member.card if member else "",
        lines=[R.ReceiptLine(line_no=1, sku="milk", quantity_milli=1000,
                             unit_price_minor=10_000)],
        coupon_codes=list(codes)))


def confirm(calc: R.CalculateReceiptResponse, number: str) -> R.ConfirmReceiptRequest:
    return R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id, receipt_number=number,
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH, amount_minor=calc.total.amount_minor)])


async def test_a_coupon_unlocks_its_promotion_and_is_spent_once(app, admin):
    anna, _ = await world(admin)
    coupon = await issue(admin, member_id=anna.member_id)
    assert well_formed(coupon.code) and coupon.max_uses == 1 and coupon.uses == 0
    assert coupon.state == C.COUPON_STATE_ACTIVE and coupon.source == "operator"

    plain = await calculate(admin, anna)
    assert plain.discount_total.amount_minor == 100  # only the rule for everyone
    # a rule with a coupon condition is filed under its coupon: without one it is not looked at
    with_coupon = await calculate(admin, anna, coupon.code.lower()[:4] + "-" + coupon.code[4:])
    # both rules compete in the default group: coupon-20 comes first (id order) and wins
    assert with_coupon.discount_total.amount_minor == 2000
    assert [(c.code, c.accepted, c.applied) for c in with_coupon.coupons] == [
        (coupon.code, True, True)]
    assert "Coupon: 20% off" in with_coupon.messages

    done = await admin.receipts.ConfirmReceipt(confirm(with_coupon, "R-1"))
    assert done.receipt_id
    spent = (await admin.coupons.GetCoupon(C.GetCouponRequest(code=coupon.code))).coupon
    assert spent.uses == 1

    again = await calculate(admin, anna, coupon.code)  # used up: no discount, a clear message
    assert again.discount_total.amount_minor == 100
    assert [(c.accepted, c.reason) for c in again.coupons] == [(False, "COUPON_USED_UP")]
    assert any("COUPON_USED_UP" in m for m in again.messages)
    async with app.db.transaction() as session:
        events = (await session.execute(sa.text(
            "SELECT event_type, payload->>'receipt_id' FROM outbox "
            "WHERE event_type LIKE 'coupon.%' ORDER BY id"))).all()
    assert [e[0] for e in events] == ["coupon.issued", "coupon.redeemed"]
    assert events[1][1] == done.receipt_id


async def test_refusals_on_calculate_are_messages_without_discount(app, admin):
    anna, boris = await world(admin)
    now = dt.datetime.now(dt.UTC)
    others = await issue(admin, member_id=boris.member_id)
    expired = await issue(admin, valid_from_time=ts(now - dt.timedelta(days=2)),
                          valid_to_time=ts(now - dt.timedelta(days=1)))
    future = await issue(admin, valid_from_time=ts(now + dt.timedelta(days=1)))
    blocked = await issue(admin)
    await admin.coupons.BlockCoupon(C.BlockCouponRequest(
        request_id=str(uuid.uuid4()), code=blocked.code, reason="leaked on a forum"))
    body = "ABCDEFGH2345"
    wrong_check = body + ("2" if check_character(body) != "2" else "3")
    unknown = body + check_character(body)
    reply = await calculate(admin, anna, others.code, expired.code, future.code, blocked.code,
                            wrong_check, unknown)
    assert reply.discount_total.amount_minor == 100
    assert [(c.code, c.accepted, c.reason) for c in reply.coupons] == [
        (others.code, False, "COUPON_OTHER_MEMBER"), (expired.code, False, "COUPON_EXPIRED"),
        (future.code, False, "COUPON_NOT_YET_VALID"), (blocked.code, False, "COUPON_BLOCKED"),
        (wrong_check, False, "COUPON_CODE_INVALID"), (unknown, False, "COUPON_NOT_FOUND")]
    assert sum("refused" in m for m in reply.messages) == 6
    # an anonymous receipt cannot use a member's coupon either
    anonymous = await calculate(admin, None, others.code)
    assert anonymous.coupons[0].reason == "COUPON_OTHER_MEMBER"


async def test_two_receipts_race_for_one_single_use_coupon(app, admin):
    anna, _ = await world(admin)
    coupon = await issue(admin)
    first = await calculate(admin, anna, coupon.code, terminal="T1")
    second = await calculate(admin, anna, coupon.code, terminal="T2")
    assert first.coupons[0].applied and second.coupons[0].applied
    results = await asyncio.gather(
        admin.receipts.ConfirmReceipt(confirm(first, "R-1")),
        admin.receipts.ConfirmReceipt(confirm(second, "R-2")), return_exceptions=True)
    won = [r for r in results if isinstance(r, R.ConfirmReceiptResponse)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "the coupon has been used" in (lost[0].details() or "")  # COUPON_USED_UP
    async with app.db.transaction() as session:
        receipts = await session.scalar(sa.text("SELECT count(*) FROM receipts"))
        uses = await session.scalar(sa.text("SELECT count(*) FROM coupon_uses"))
    assert receipts == 1 and uses == 1  # the loser wrote nothing


async def test_confirm_refuses_a_coupon_blocked_after_the_calculation(app, admin):
    anna, _ = await world(admin)
    coupon = await issue(admin, max_uses=3)
    calc = await calculate(admin, anna, coupon.code)
    await admin.coupons.BlockCoupon(C.BlockCouponRequest(
        request_id=str(uuid.uuid4()), code=coupon.code, reason="withdrawn"))
    with rpc_error() as failure:
        await admin.receipts.ConfirmReceipt(confirm(calc, "R-1"))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "COUPON_BLOCKED" and failure.metadata["code"] == coupon.code
    state = (await admin.coupons.GetCoupon(C.GetCouponRequest(code=coupon.code))).coupon
    assert state.uses == 0 and state.state == C.COUPON_STATE_BLOCKED
    assert state.block_reason == "withdrawn"


async def test_n_use_coupon_and_batches(app, admin):
    anna, boris = await world(admin)
    request = C.IssueCouponBatchRequest(request_id=str(uuid.uuid4()),
                                        promotion_id="spring-coupon", count=500, max_uses=2,
                                        prefix="SPR")
    batch = await admin.coupons.IssueCouponBatch(request)
    assert await admin.coupons.IssueCouponBatch(request) == batch  # a retry: the same batch
    assert len(set(batch.codes)) == 500
    assert all(c.startswith("SPR") and well_formed(c) for c in batch.codes)
    listed: list[str] = []
    token = ""
    while True:
        page = await admin.coupons.ListCoupons(C.ListCouponsRequest(
            batch_id=batch.batch_id, page_size=200, page_token=token))
        listed += [c.code for c in page.coupons]
        token = page.next_page_token
        if not token:
            break
    assert sorted(listed) == sorted(batch.codes)
    code = batch.codes[0]
    for n, who in enumerate((anna, boris)):  # unbound: anyone, twice
        calc = await calculate(admin, who, code)
        assert calc.coupons[0].applied
        await admin.receipts.ConfirmReceipt(confirm(calc, f"R-{n}"))
    third = await calculate(admin, anna, code)
    assert third.coupons[0].reason == "COUPON_USED_UP"


async def test_bad_issue_requests_name_the_field_and_write_nothing(app, admin):
    await world(admin)
    now = dt.datetime.now(dt.UTC)
    for request, field in (
        (C.IssueCouponRequest(promotion_id=""), "promotion_id"),
        (C.IssueCouponRequest(promotion_id="p", prefix="O0"), "prefix"),
        (C.IssueCouponRequest(promotion_id="p", valid_from_time=ts(now),
                              valid_to_time=ts(now - dt.timedelta(hours=1))), "valid_to_time"),
        (C.IssueCouponRequest(promotion_id="p", max_uses=-1), "max_uses"),
        (C.IssueCouponRequest(promotion_id="p", member_id="nope"), "member_id"),
    ):
        request.request_id = str(uuid.uuid4())
        with rpc_error() as failure:
            await admin.coupons.IssueCoupon(request)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and field in failure.fields
    with rpc_error() as failure:
        await admin.coupons.IssueCoupon(C.IssueCouponRequest(
            request_id=str(uuid.uuid4()), promotion_id="p", member_id=str(uuid.uuid4())))
    assert failure.reason == "MEMBER_NOT_FOUND"
    with rpc_error() as failure:
        await admin.coupons.IssueCouponBatch(C.IssueCouponBatchRequest(
            request_id=str(uuid.uuid4()), promotion_id="p", count=0))
    assert failure.fields == ["count"]
    with rpc_error() as failure:
        await admin.coupons.GetCoupon(C.GetCouponRequest(code="NOPE2"))
    assert failure.reason == "COUPON_NOT_FOUND"
    listed = await admin.coupons.ListCoupons(C.ListCouponsRequest(promotion_id="p"))
    assert list(listed.coupons) == []
