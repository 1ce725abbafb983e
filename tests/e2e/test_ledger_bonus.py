"""RedeemBonus, balances, lots, cash accounts, pooling and conversion over gRPC."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import bonus_pb2, receipts_pb2

from server.accounts.rules_loader import load_accrual_rules
from server.auth.principal import PrincipalKind
from server.db.ledger.jobs import activate_due, expire_due
from server.db.ledger.rules import apply_accrual_rules
from tests.e2e.ledger_support import (
    STORE,
    assert_books_balance,
    balance,
    calculation,
    confirm,
    give_points,
    line,
    new_member,
    setup_world,
    signed_token,
)
from tests.helpers import rpc_error

B = bonus_pb2


def _ts(value: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def redeem(card: str, points: int, token: str = "") -> B.RedeemBonusRequest:
    return B.RedeemBonusRequest(request_id=str(uuid.uuid4()), card_number=card, points=points,
                                order_reference="web-1", verification_token=token)


async def test_redeem_checks_input_balance_and_verification(app, admin, make_key, client_for):
    await setup_world(admin)
    pos = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL, store_code=STORE,
                                    terminal_id="T1"))
    plain, vip = await new_member(admin, 1), await new_member(admin, 2, "vip")
    await give_points(admin, plain, 100)
    await give_points(admin, vip, 100)
    with rpc_error() as failure:
        await admin.bonus.RedeemBonus(B.RedeemBonusRequest(request_id=str(uuid.uuid4())))
    assert failure.fields == ["card_number", "points"]
    with rpc_error() as failure:
        await admin.bonus.RedeemBonus(redeem(plain.card, 101))
    assert failure.reason == "INSUFFICIENT_POINTS"
    ok = await admin.bonus.RedeemBonus(redeem(plain.card, 40))
    assert ok.points_balance == 60
    with rpc_error() as failure:
        await admin.bonus.RedeemBonus(redeem(vip.card, 10))
    assert failure.reason == "VERIFICATION_REQUIRED"
    wrong = signed_token(app, plain.card)
    with rpc_error() as failure:
        await pos.bonus.RedeemBonus(redeem(vip.card, 10, wrong))
    assert failure.reason == "VERIFICATION_CARD_MISMATCH"
    token = signed_token(app, vip.card)
    assert (await pos.bonus.RedeemBonus(redeem(vip.card, 10, token))).points_balance == 90
    with rpc_error() as failure:
        await admin.bonus.RedeemBonus(redeem("2900000009999", 1))
    assert failure.code == grpc.StatusCode.NOT_FOUND
    await assert_books_balance(app)


async def test_lots_spend_oldest_expiring_first_then_expire_and_activate(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    now = dt.datetime.now(dt.UTC)
    for points, days in ((100, 30), (50, 10), (70, None)):
        await admin.bonus.AccruePointsForList(B.AccruePointsForListRequest(
            request_id=str(uuid.uuid4()), card_numbers=[member.card, member.card],
            points=points, reason="campaign",
            expiry_time=_ts(now + dt.timedelta(days=days)) if days else None))
    scheduled = B.AccruePointsForListRequest(
        request_id=str(uuid.uuid4()), card_numbers=[member.card], points=25, reason="later",
        activation_time=_ts(now + dt.timedelta(days=3)))
    assert (await admin.bonus.AccruePointsForList(scheduled)).members_accrued == 1
    await admin.bonus.RedeemBonus(redeem(member.card, 60))  # 50 from the 10-day lot, 10 more
    got = await balance(admin, member)
    assert (got.points_available, got.points_pending) == (160, 25)
    assert [lot.points for lot in got.lots] == [90, 70, 25]

    async with app.db.transaction() as session:  # 31 days later
        assert await activate_due(session, now + dt.timedelta(days=31)) == 1
    async with app.db.transaction() as session:
        assert await expire_due(session, now + dt.timedelta(days=31)) == 2
    got = await balance(admin, member)
    assert (got.points_available, got.points_pending) == (95, 0)
    await assert_books_balance(app)


async def test_cash_accounts_pool_pay_and_convert(app, admin):
    await setup_world(admin)
    first, second = await new_member(admin, 1), await new_member(admin, 2)
    top_up = B.TopUpCashAccountRequest(request_id=str(uuid.uuid4()), card_number=first.card,
                                       amount_minor=3000, reason="cash at the desk",
                                       reason_code=B.ADJUSTMENT_REASON_DEPOSIT)
    assert (await admin.bonus.TopUpCashAccount(top_up)).cash_balance_minor == 3000
    assert (await admin.bonus.TopUpCashAccount(top_up)).cash_balance_minor == 3000  # retry
    pooled = await admin.bonus.PoolCashAccounts(B.PoolCashAccountsRequest(
        request_id=str(uuid.uuid4()), card_numbers=[first.card, second.card]))
    assert pooled.cash_balance_minor == 3000
    # the second member pays from the pooled funds
    calc_id = calculation(app, second, [line(1, 1200)])
    await admin.receipts.ConfirmReceipt(confirm(
        calc_id, "R-1", payments=[(receipts_pb2.PAYMENT_METHOD_CASH_ACCOUNT, 1200)]))
    assert (await balance(admin, first)).cash_balance_minor == 1800
    assert (await balance(admin, second)).master_account_id == pooled.master_account_id

    async with app.db.transaction() as session:  # 3 kopecks buy 2 points
        await apply_accrual_rules(session, load_accrual_rules(
            "version: v1\nconversion: {cash_minor: 3, points: 2}\n"))
    converted = await admin.bonus.ConvertFunds(B.ConvertFundsRequest(
        request_id=str(uuid.uuid4()), card_number=first.card,
        direction=B.CONVERSION_DIRECTION_CASH_TO_POINTS, amount=1000))
    assert (converted.debited, converted.credited) == (999, 666)
    assert (converted.points_balance, converted.cash_balance_minor) == (666, 801)
    back = await admin.bonus.ConvertFunds(B.ConvertFundsRequest(
        request_id=str(uuid.uuid4()), card_number=first.card,
        direction=B.CONVERSION_DIRECTION_POINTS_TO_CASH, amount=101))
    assert (back.debited, back.credited) == (101, 151)  # 151.5 kopecks, rounded down
    assert (back.points_balance, back.cash_balance_minor) == (565, 952)
    with rpc_error() as failure:
        await admin.bonus.TopUpCashAccount(B.TopUpCashAccountRequest(
            request_id=str(uuid.uuid4()), card_number=first.card, amount_minor=0))
    assert failure.fields == ["amount_minor"]
    await assert_books_balance(app)


async def test_adjust_needs_operator_and_reason(app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    cashier = client_for(await make_key("cashier"))
    with rpc_error() as failure:
        await cashier.bonus.AdjustPoints(B.AdjustPointsRequest(
            request_id=str(uuid.uuid4()), card_number=member.card, points=5, reason="x"))
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    with rpc_error() as failure:
        await admin.bonus.AdjustPoints(B.AdjustPointsRequest(
            request_id=str(uuid.uuid4()), card_number=member.card, points=5))
    assert failure.fields == ["reason"]
    await give_points(admin, member, 10)
    with rpc_error() as failure:
        await give_points(admin, member, -11)
    assert failure.reason == "INSUFFICIENT_POINTS"
    await give_points(admin, member, -4)
    assert (await balance(admin, member)).points_available == 6


async def test_list_accrual_names_bad_times_and_writes_nothing(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    now = dt.datetime.now(dt.UTC)
    for request, fields in (
        (B.AccruePointsForListRequest(
            request_id=str(uuid.uuid4()), card_numbers=[member.card], points=10,
            reason="campaign", activation_time=_ts(now + dt.timedelta(days=2)),
            expiry_time=_ts(now + dt.timedelta(days=1))), ["expiry_time"]),
        (B.AccruePointsForListRequest(  # beyond year 9999: a bad field, not INTERNAL
            request_id=str(uuid.uuid4()), card_numbers=[member.card], points=10,
            reason="campaign", activation_time=Timestamp(seconds=2**40)), ["activation_time"]),
    ):
        with rpc_error() as failure:
            await admin.bonus.AccruePointsForList(request)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == fields
    balance = await admin.bonus.GetBalance(B.GetBalanceRequest(card_number=member.card))
    assert balance.points_available == 0 and balance.points_pending == 0
