"""ConfirmReceipt, RefundReceipt and CancelReceipt through the real server and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
from kopilka.v1 import receipts_pb2

from tests.e2e.ledger_support import (
    assert_books_balance,
    balance,
    calculation,
    confirm,
    give_points,
    line,
    new_member,
    setup_world,
)
from tests.helpers import rpc_error

R = receipts_pb2
CASH, CASH_ACCOUNT = R.PAYMENT_METHOD_CASH, R.PAYMENT_METHOD_CASH_ACCOUNT


async def test_confirm_accrues_redeems_and_answers_retries_once(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 1000)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=14)).isoformat()
    lots = ((30, dt.datetime.now(dt.UTC).isoformat(), None, "base"), (20, later, None, "promo"))
    calc_id = calculation(app, member, [line(1, 6000, points_discount=300, accrual=30),
                                        line(2, 4000, accrual=20)], lots=lots)
    request = confirm(calc_id, "R-1", total=10_000)
    first = await admin.receipts.ConfirmReceipt(request)
    assert (first.points_redeemed, first.points_accrued) == (300, 50)
    assert first.points_balance == 1000 - 300 + 30  # the promo lot waits 14 days
    assert first.state == R.RECEIPT_STATE_CONFIRMED

    assert await admin.receipts.ConfirmReceipt(request) == first  # retry: same answer
    again = confirm(calc_id, "R-1", total=10_000)  # same receipt, new request id
    assert await admin.receipts.ConfirmReceipt(again) == first
    got = await balance(admin, member)
    assert (got.points_available, got.points_pending) == (730, 20)

    with rpc_error() as failure:  # the id reused for other content
        await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
            request_id=request.request_id, calculation_id=calc_id, receipt_number="R-2",
            payments=request.payments))
    assert failure.reason == "REQUEST_ID_REUSED"
    await assert_books_balance(app)


async def test_bad_confirm_names_fields_and_writes_nothing(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    calc_id = calculation(app, member, [line(1, 1000, points_discount=100, accrual=50)])
    with rpc_error() as failure:
        await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", payments=[(0, 1000)]))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["payments[0].method"]
    with rpc_error() as failure:
        await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", total=999))
    assert failure.fields == ["payments"]
    with rpc_error() as failure:
        await admin.receipts.ConfirmReceipt(confirm(calc_id + "x", "R-1", total=1000))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["calculation_id"]
    with rpc_error() as failure:  # 100 points to spend, none on the account
        await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", total=1000))
    assert failure.reason == "INSUFFICIENT_POINTS"
    got = await balance(admin, member)
    assert (got.points_available, got.points_pending) == (0, 0)  # the accrual rolled back too


async def test_partial_refunds_add_up_exactly(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 500)
    await admin.bonus.TopUpCashAccount(_top_up(member.card, 5000))
    # 3 units; final 1000, 100 points accrued, 101 points paid: none divisible by 3.
    calc_id = calculation(app, member, [line(1, 1000, quantity=3000, points_discount=101,
                                             accrual=100),
                                        line(2, 777, accrual=7)])
    done = await admin.receipts.ConfirmReceipt(
        confirm(calc_id, "R-9", payments=[(CASH, 1000), (CASH_ACCOUNT, 777)]))
    assert done.points_balance == 500 - 101 + 107
    steps = []
    for _ in range(3):
        steps.append(await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
            request_id=str(uuid.uuid4()), receipt_id=done.receipt_id,
            lines=[R.RefundLine(line_no=1, quantity_milli=1000)])))
    assert [s.refund_total.amount_minor for s in steps] == [333, 333, 334]
    assert [s.points_reversed for s in steps] == [33, 33, 34]
    assert [s.points_returned for s in steps] == [33, 34, 34]
    assert [s.state for s in steps] == [R.RECEIPT_STATE_PARTIALLY_REFUNDED] * 3
    # money goes back over the payments in proportion to 1000 : 777
    paid_back = {}
    for step in steps:
        for p in step.payment_refunds:
            paid_back[p.method] = paid_back.get(p.method, 0) + p.amount_minor
    assert sum(paid_back.values()) == 1000
    last = await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
        request_id=str(uuid.uuid4()), receipt_id=done.receipt_id))  # the rest: line 2
    assert last.refund_total.amount_minor == 777 and last.points_reversed == 7
    assert last.state == R.RECEIPT_STATE_REFUNDED
    for p in last.payment_refunds:
        paid_back[p.method] = paid_back.get(p.method, 0) + p.amount_minor
    assert paid_back == {CASH: 1000, CASH_ACCOUNT: 777}  # every payment back exactly
    got = await balance(admin, member)
    assert got.points_available == 500 and got.cash_balance_minor == 5000
    with rpc_error() as failure:
        await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
            request_id=str(uuid.uuid4()), receipt_id=done.receipt_id))
    assert failure.reason == "RECEIPT_ALREADY_REFUNDED"
    await assert_books_balance(app)


async def test_refund_of_spent_accrual_withholds_the_shortfall(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    calc_id = calculation(app, member, [line(1, 2000, accrual=200)])
    done = await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", total=2000))
    from kopilka.v1 import bonus_pb2

    await admin.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, points=150))
    refund = await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
        request_id=str(uuid.uuid4()), receipt_id=done.receipt_id))
    assert refund.points_reversed == 50 and refund.points_shortfall.amount_minor == 150
    assert refund.refund_total.amount_minor == 2000 - 150
    assert (await balance(admin, member)).points_available == 0  # never below zero
    await assert_books_balance(app)


async def test_cancel_of_spent_accrual_says_the_shortfall(app, admin):
    """As RefundReceipt does: accrued points already spent are withheld, and said so."""
    await setup_world(admin)
    member = await new_member(admin, 1)
    calc_id = calculation(app, member, [line(1, 2000, accrual=200)])
    done = await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", total=2000))
    from kopilka.v1 import bonus_pb2

    await admin.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, points=150))
    cancel = await admin.receipts.CancelReceipt(R.CancelReceiptRequest(
        request_id=str(uuid.uuid4()), receipt_id=done.receipt_id, reason="till error"))
    assert cancel.points_reversed == 50
    assert (cancel.points_shortfall.amount_minor, cancel.points_shortfall.currency) == \
        (150, "UAH")
    assert sum(p.amount_minor for p in cancel.payment_refunds) == 2000 - 150
    await assert_books_balance(app)


async def test_purchase_history_shows_each_receipts_state_by_member_or_card(app, admin):
    from kopilka.v1 import members_pb2 as M

    await setup_world(admin)
    member = await new_member(admin, 1)
    receipts = {}
    for number in ("R-1", "R-2", "R-3", "R-4"):
        calc_id = calculation(app, member, [line(1, 1000), line(2, 500)])
        receipts[number] = (await admin.receipts.ConfirmReceipt(
            confirm(calc_id, number, total=1500))).receipt_id
    await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
        request_id=str(uuid.uuid4()), receipt_id=receipts["R-2"],
        lines=[R.RefundLine(line_no=2, quantity_milli=1000)]))
    await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
        request_id=str(uuid.uuid4()), receipt_id=receipts["R-3"]))
    await admin.receipts.CancelReceipt(R.CancelReceiptRequest(
        request_id=str(uuid.uuid4()), receipt_id=receipts["R-4"], reason="void"))
    want = [("R-4", R.RECEIPT_STATE_CANCELLED, 1500), ("R-3", R.RECEIPT_STATE_REFUNDED, 1500),
            ("R-2", R.RECEIPT_STATE_PARTIALLY_REFUNDED, 500),
            ("R-1", R.RECEIPT_STATE_CONFIRMED, 0)]
    for asked in (M.ListPurchasesRequest(member_id=member.member_id),
                  M.ListPurchasesRequest(card_number=member.card)):
        page = await admin.members.ListPurchases(asked)
        assert [(p.receipt_number, p.state, p.refunded_total.amount_minor)
                for p in page.purchases] == want, asked
        assert {p.refunded_total.currency for p in page.purchases} == {"UAH"}
    with rpc_error() as failure:
        await admin.members.ListPurchases(M.ListPurchasesRequest(card_number="2900000009999"))
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "CARD_NOT_FOUND")
    with rpc_error() as failure:
        await admin.members.ListPurchases(M.ListPurchasesRequest())
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["member_id"])


async def test_cancel_reverses_everything_once(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 100)
    calc_id = calculation(app, member, [line(1, 900, points_discount=100, accrual=45)])
    done = await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", total=900))
    cancel = R.CancelReceiptRequest(request_id=str(uuid.uuid4()), receipt_id=done.receipt_id,
                                    reason="operator error")
    result = await admin.receipts.CancelReceipt(cancel)
    assert result.state == R.RECEIPT_STATE_CANCELLED
    assert (result.points_reversed, result.points_returned) == (45, 100)
    assert await admin.receipts.CancelReceipt(cancel) == result
    assert (await balance(admin, member)).points_available == 100
    with rpc_error() as failure:
        await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
            request_id=str(uuid.uuid4()), receipt_id=done.receipt_id))
    assert failure.reason == "RECEIPT_CANCELLED"
    with rpc_error() as failure:
        await admin.receipts.RefundReceipt(R.RefundReceiptRequest(
            request_id=str(uuid.uuid4()), receipt_id=str(uuid.uuid4())))
    assert failure.code == grpc.StatusCode.NOT_FOUND
    await assert_books_balance(app)


def _top_up(card: str, amount: int):  # type: ignore[no-untyped-def]
    from kopilka.v1 import bonus_pb2

    return bonus_pb2.TopUpCashAccountRequest(request_id=str(uuid.uuid4()), card_number=card,
                                             amount_minor=amount, reason="test",
                                             reason_code=bonus_pb2.ADJUSTMENT_REASON_DEPOSIT)
