"""Trust at the ledger's edges (issue 10, items 1, 3, 8, 9), through the generated client.

A taken receipt number never answers with another sale, a calculation books one receipt,
request ids are the caller's own, and a lot past its expiry time is never spent or shown,
whether or not the expiry job has run.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import grpc
from kopilka.v1 import admin_pb2, bonus_pb2, members_pb2, receipts_pb2

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
from tests.helpers import rid, rpc_error

R = receipts_pb2


async def _count(database_url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


# --- 1. a taken receipt number --------------------------------------------------------------

async def test_taken_number_with_other_content_is_refused_on_the_spending_path(
        app, admin, database_url):
    """A receipt that spends points takes the general path; the promise is the same there."""
    await setup_world(admin)
    alice, bob = await new_member(admin, 1), await new_member(admin, 2)
    await give_points(admin, alice, 500)
    await give_points(admin, bob, 500)
    first = confirm(calculation(app, alice, [line(1, 900, points_discount=100, accrual=40)]),
                    "T-1", total=900)
    answer = await admin.receipts.ConfirmReceipt(first)
    receipts_before = await _count(database_url, "SELECT count(*) FROM receipts")
    other = confirm(calculation(app, bob, [line(1, 800, points_discount=200, accrual=30)]),
                    "T-1", total=800)
    with rpc_error() as failure:
        await admin.receipts.ConfirmReceipt(other)
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "RECEIPT_NUMBER_TAKEN" and failure.fields == ["receipt_number"]
    assert answer.receipt_id not in failure.message and not failure.metadata
    assert (await balance(admin, bob)).points_available == 500  # nothing spent
    assert await _count(database_url, "SELECT count(*) FROM receipts") == receipts_before
    assert await _count(database_url, "SELECT count(*) FROM idempotency_records "
                        "WHERE request_id = $1", uuid.UUID(other.request_id)) == 0
    first.request_id = str(uuid.uuid4())  # the same sale under a new request id: its answer
    assert await admin.receipts.ConfirmReceipt(first) == answer
    assert (await balance(admin, alice)).points_available == 440
    await assert_books_balance(app)


async def test_the_same_content_from_another_key_is_not_answered(app, admin, make_key,
                                                                 client_for):
    """Only the caller that booked the number sees its answer (balances are in it)."""
    await setup_world(admin)
    member = await new_member(admin, 1)
    request = confirm(calculation(app, member, [line(1, 1000, accrual=50)]), "K-1", total=1000)
    await admin.receipts.ConfirmReceipt(request)
    other_key = client_for(await make_key("admin"))
    request.request_id = str(uuid.uuid4())
    with rpc_error() as failure:
        await other_key.receipts.ConfirmReceipt(request)
    assert failure.reason == "RECEIPT_NUMBER_TAKEN"
    assert (await balance(admin, member)).points_available == 50


# --- 3. one calculation, one receipt --------------------------------------------------------

async def test_a_calculation_books_one_receipt(app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    calc = calculation(app, member, [line(1, 1000, accrual=50)])
    first = await admin.receipts.ConfirmReceipt(confirm(calc, "C-1", total=1000))
    with rpc_error() as failure:  # another request id and receipt number, same calculation
        await admin.receipts.ConfirmReceipt(confirm(calc, "C-2", total=1000))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "CALCULATION_ALREADY_CONFIRMED"
    assert failure.fields == ["calculation_id"]
    assert failure.metadata == {"receipt_id": first.receipt_id, "receipt_number": "C-1"}
    other_key = client_for(await make_key("admin"))
    with rpc_error() as failure:  # another key learns nothing about the first receipt
        await other_key.receipts.ConfirmReceipt(confirm(calc, "C-3", total=1000))
    assert failure.reason == "CALCULATION_ALREADY_CONFIRMED" and not failure.metadata
    assert first.receipt_id not in failure.message
    assert (await balance(admin, member)).points_available == 50  # accrued once
    await assert_books_balance(app)


async def test_a_spending_calculation_confirmed_at_once_under_many_numbers_books_one(
        app, admin, database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 1000)
    calc = calculation(app, member, [line(1, 900, points_discount=100, accrual=40)])
    results = await asyncio.gather(
        *(admin.receipts.ConfirmReceipt(confirm(calc, f"R-{i}", total=900)) for i in range(12)),
        return_exceptions=True)
    booked = [r for r in results if isinstance(r, R.ConfirmReceiptResponse)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(booked) == 1 and len(refused) == 11
    assert {e.code() for e in refused} == {grpc.StatusCode.ALREADY_EXISTS}
    assert (await balance(admin, member)).points_available == 1000 - 100 + 40
    assert await _count(database_url, "SELECT count(*) FROM receipts") == 1
    await assert_books_balance(app)


# --- 8. request ids are per caller ----------------------------------------------------------

async def test_another_key_replaying_a_request_id_gets_its_own_answer(app, admin, make_key,
                                                                      client_for):
    await setup_world(admin)
    alice, bob = await new_member(admin, 1), await new_member(admin, 2)
    await give_points(admin, alice, 100)
    await give_points(admin, bob, 100)
    till_a = client_for(await make_key("cashier"))
    till_b = client_for(await make_key("cashier"))
    request_id = str(uuid.uuid4())
    first = await till_a.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
        request_id=request_id, card_number=alice.card, points=30))
    mine = await till_b.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
        request_id=request_id, card_number=bob.card, points=10))
    assert mine.points_balance == 90 and mine.transaction_id != first.transaction_id
    # on the ORM path too: RegisterMember under the same id from two keys
    reg_id = str(uuid.uuid4())
    one = await till_a.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=reg_id, profile=members_pb2.MemberProfile(first_name="A", phone="+380671110001"),
        channel=members_pb2.REGISTRATION_CHANNEL_POS, issue_card_type="silver"))
    two = await till_b.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=reg_id, profile=members_pb2.MemberProfile(first_name="B", phone="+380671110002"),
        channel=members_pb2.REGISTRATION_CHANNEL_POS, issue_card_type="silver"))
    assert one.member.member_id != two.member.member_id
    # and each caller's retry still gets its own first answer
    again = await till_b.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
        request_id=request_id, card_number=bob.card, points=10))
    assert again == mine
    assert (await balance(admin, alice)).points_available == 70
    assert (await balance(admin, bob)).points_available == 90
    await assert_books_balance(app)


# --- 9. expired points ----------------------------------------------------------------------

async def _lots_expire_now(database_url: str, member_id: str, points: int) -> None:
    """Time passes for the member's lot of `points`: its expiry time is a minute ago, and the
    expiry job has not run."""
    conn = await asyncpg.connect(database_url)
    try:
        done = await conn.execute(
            "UPDATE point_lots SET expiry_at = now() - interval '1 minute' "
            "WHERE member_id = $1 AND points_initial = $2", uuid.UUID(member_id), points)
        assert done == "UPDATE 1"
    finally:
        await conn.close()


async def test_expired_lots_are_neither_shown_nor_spent_before_the_job_runs(
        app, admin, database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 300)
    await give_points(admin, member, 50)
    await _lots_expire_now(database_url, member.member_id, 300)
    shown = await balance(admin, member)
    assert shown.points_available == 50 and [x.points for x in shown.lots] == [50]
    with rpc_error() as failure:  # the fast path (one PL/pgSQL call)
        await admin.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
            request_id=str(uuid.uuid4()), card_number=member.card, points=100))
    assert failure.reason == "INSUFFICIENT_POINTS" and failure.metadata == {"available": "50"}
    spent = await admin.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, points=20))
    assert spent.points_balance == 30
    assert await _count(database_url, "SELECT count(*) FROM point_lots WHERE state = 'expired'"
                        ) == 1
    await assert_books_balance(app)


async def test_a_receipt_cannot_spend_expired_points(app, admin, database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 300)
    await _lots_expire_now(database_url, member.member_id, 300)
    calc = calculation(app, member, [line(1, 900, points_discount=100)])
    with rpc_error() as failure:  # the calculation was made when the points were still there
        await admin.receipts.ConfirmReceipt(confirm(calc, "E-1", total=900))
    assert failure.reason == "INSUFFICIENT_POINTS"
    assert (await balance(admin, member)).points_available == 0
    await assert_books_balance(app)


async def test_calculate_receipt_offers_no_expired_points(app, admin, database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 300)
    await give_points(admin, member, 40)
    await _lots_expire_now(database_url, member.member_id, 300)
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku="SKU1", name="Thing", group_code="g1")]))
    await app.deps.pricing.refresh()
    priced = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="S1", terminal_id="T1", card_number=member.card, lines=[
            R.ReceiptLine(line_no=1, sku="SKU1", quantity_milli=1000, unit_price_minor=10_000)]))
    assert priced.max_points_redeemable == 40


async def test_a_confirmed_receipt_answers_a_balance_without_expired_points(
        app, admin, database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 300)
    await _lots_expire_now(database_url, member.member_id, 300)
    done = await admin.receipts.ConfirmReceipt(
        confirm(calculation(app, member, [line(1, 1000, accrual=50)]), "E-2", total=1000))
    assert done.points_balance == 50
    await assert_books_balance(app)
