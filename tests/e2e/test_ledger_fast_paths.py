"""The lean hot paths (one PL/pgSQL function call each, asyncpg pool) keep every promise of
the general path: exactly once, one transaction, and the certificate route."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import asyncpg
import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from kopilka.v1 import bonus_pb2, receipts_pb2

from server.api.calculation_token import encode_calculation
from server.certificates import service
from server.certificates.model import CertificateKind, CertificateTypeInfo
from server.db.certificates.repo import SqlCertificateRepository
from server.receipts.calculation import CalculatedLine, Calculation
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
)
from tests.helpers import rpc_error

R = receipts_pb2


def _with_promotion(app, member, final: int, accrual: int) -> str:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    lines = (CalculatedLine(1, "SKU1", 1000, final, final, 0, 0, final, accrual),)
    return encode_calculation(app.deps.signer, Calculation(
        str(uuid.uuid4()), STORE, "T1", "UAH", now, "test", lines, final, 0, final, accrual, 0,
        now, member.card, member.member_id, "silver",
        accrual_lots=((accrual, now.isoformat(), None, "base"),),
        applied_promotions=("promo-1",)))


async def test_plain_receipt_once_per_request_and_per_receipt_number(app, admin, database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    request = confirm(_with_promotion(app, member, 2000, 100), "F-1", total=2000)
    first = await admin.receipts.ConfirmReceipt(request)
    assert (first.points_accrued, first.points_redeemed, first.points_balance) == (100, 0, 100)
    assert await admin.receipts.ConfirmReceipt(request) == first
    again = confirm(request.calculation_id, "F-1", total=2000)  # new request id, same receipt
    assert await admin.receipts.ConfirmReceipt(again) == first
    assert await admin.receipts.ConfirmReceipt(again) == first
    with rpc_error() as failure:
        await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
            request_id=request.request_id, calculation_id=request.calculation_id,
            receipt_number="F-2", payments=request.payments))
    assert failure.reason == "REQUEST_ID_REUSED"
    anonymous = await admin.receipts.ConfirmReceipt(
        confirm(calculation(app, None, [line(1, 500)]), "F-3", total=500))
    assert (anonymous.points_accrued, anonymous.points_balance) == (0, 0)
    assert (await balance(admin, member)).points_available == 100
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM receipts") == 2
        assert await conn.fetchval("SELECT count(*) FROM ledger_accounts "
                                   "WHERE member_id IS NULL") == 0
        assert await conn.fetch("SELECT member_id, promotion_id FROM member_promotion_uses") \
            == [(uuid.UUID(member.member_id), "promo-1")]
    finally:
        await conn.close()
    await assert_books_balance(app)


async def test_one_request_sent_20_times_at_once_runs_once(app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 100)
    secret = await make_key("cashier")  # one caller over four connections
    clients = [client_for(secret) for _ in range(4)]
    redeem = bonus_pb2.RedeemBonusRequest(request_id=str(uuid.uuid4()), card_number=member.card,
                                          points=30)
    receipt = confirm(calculation(app, member, [line(1, 1000, accrual=50)]), "F-9", total=1000)
    redeemed = await asyncio.gather(*(clients[i % 4].bonus.RedeemBonus(redeem)
                                      for i in range(20)))
    confirmed = await asyncio.gather(*(clients[i % 4].receipts.ConfirmReceipt(receipt)
                                       for i in range(20)))
    assert all(a == redeemed[0] for a in redeemed) and redeemed[0].points_balance == 70
    assert all(a == confirmed[0] for a in confirmed)
    assert (await balance(admin, member)).points_available == 120
    await assert_books_balance(app)


async def _certificate(app, balance_minor: int) -> str:  # type: ignore[no-untyped-def]
    gift = CertificateTypeInfo(code="gift", name="Gift", kind=CertificateKind.MONEY,
                               currency="UAH", denominations=(balance_minor,),
                               number_prefix="2100", valid_days=30)
    async with app.db.transaction() as session:
        repo = SqlCertificateRepository(session)
        await service.upsert_type(repo, gift)
        [cert] = await service.issue(repo, type_code="gift", count=1, store_code=STORE,
                                     denomination_minor=0, print_only=False,
                                     now=dt.datetime.now(dt.UTC), principal="test",
                                     batch_id=uuid.uuid4())
    return cert.number


async def _certificate_balance(app, number: str) -> int:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        cert = await SqlCertificateRepository(session).certificate(number)
    assert cert is not None
    return cert.balance_minor


async def test_certificate_paid_receipt_spends_it_in_the_same_transaction(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    number = await _certificate(app, 1000)
    cert, cash = R.PAYMENT_METHOD_CERTIFICATE, R.PAYMENT_METHOD_CASH

    def paid(receipt: str, by_certificate: int, total: int) -> R.ConfirmReceiptRequest:
        return R.ConfirmReceiptRequest(
            request_id=str(uuid.uuid4()),
            calculation_id=calculation(app, member, [line(1, total, accrual=10)]),
            receipt_number=receipt,
            payments=[R.Payment(method=cert, amount_minor=by_certificate,
                                certificate_number=number),
                      R.Payment(method=cash, amount_minor=total - by_certificate)])

    request = paid("C-1", 700, 900)
    done = await admin.receipts.ConfirmReceipt(request)
    assert done.points_balance == 10
    assert await admin.receipts.ConfirmReceipt(request) == done  # retry: not spent twice
    assert await _certificate_balance(app, number) == 300
    with rpc_error() as failure:  # 300 left: the receipt, its points and the claim roll back
        await admin.receipts.ConfirmReceipt(paid("C-2", 400, 500))
    assert failure.reason == "INSUFFICIENT_BALANCE"
    assert await _certificate_balance(app, number) == 300
    assert (await balance(admin, member)).points_available == 10
    await assert_books_balance(app)


async def _stored(database_url: str, request_id: str) -> dict[str, object]:
    conn = await asyncpg.connect(database_url)
    try:
        return json.loads(await conn.fetchval(
            "SELECT result FROM idempotency_records WHERE request_id = $1",
            uuid.UUID(request_id)))
    finally:
        await conn.close()


async def test_stored_results_give_the_same_answer_again(app, admin, database_url):
    """The ledger keeps each call's result as values; a retry is answered from them, byte
    for byte as the first time, whatever happened in between."""
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 100_000)
    redeem = bonus_pb2.RedeemBonusRequest(request_id=str(uuid.uuid4()), card_number=member.card,
                                          points=1)
    redeemed = await admin.bonus.RedeemBonus(redeem)
    assert redeemed.points_balance == 99_999 and redeemed.transaction_id
    assert await _stored(database_url, redeem.request_id) == {
        "transaction_id": redeemed.transaction_id, "points_balance": 99_999}
    receipt = confirm(calculation(app, member, [line(1, 1000, accrual=50)]), "S-1", total=1000)
    confirmed = await admin.receipts.ConfirmReceipt(receipt)
    assert (confirmed.points_accrued, confirmed.points_balance) == (50, 100_049)
    assert confirmed.receipt_id and confirmed.HasField("confirm_time")
    assert confirmed.state == R.RECEIPT_STATE_CONFIRMED
    stored = await _stored(database_url, receipt.request_id)
    assert stored["receipt_id"] == confirmed.receipt_id and stored["points_balance"] == 100_049
    await give_points(admin, member, 7)  # the balance moves on; the answers do not
    again = await admin.receipts.ConfirmReceipt(receipt)
    assert again.SerializeToString(deterministic=True) == \
        confirmed.SerializeToString(deterministic=True)
    assert await admin.bonus.RedeemBonus(redeem) == redeemed


async def test_an_answer_stored_before_results_were_values_is_still_answered(
        app, admin, database_url):
    """A call answered before migration 0013 kept protobuf bytes only; its retry gets them."""
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 100)
    redeem = bonus_pb2.RedeemBonusRequest(request_id=str(uuid.uuid4()), card_number=member.card,
                                          points=5)
    first = await admin.bonus.RedeemBonus(redeem)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE idempotency_records SET result = NULL, response = $2 "
                           "WHERE request_id = $1", uuid.UUID(redeem.request_id),
                           first.SerializeToString(deterministic=True))
    finally:
        await conn.close()
    assert await admin.bonus.RedeemBonus(redeem) == first
    assert (await balance(admin, member)).points_available == 95


def _error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    return info
    raise AssertionError("no ErrorInfo in the error")


async def test_refused_redemption_writes_nothing_not_even_the_claim(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 20)
    redeem = bonus_pb2.RedeemBonusRequest(request_id=str(uuid.uuid4()), card_number=member.card,
                                          points=30)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await admin.bonus.RedeemBonus(redeem)
    info = _error_info(refused.value)
    assert (info.reason, info.metadata["available"]) == ("INSUFFICIENT_POINTS", "20")
    await give_points(admin, member, 15)
    done = await admin.bonus.RedeemBonus(redeem)  # the same request id: it was not claimed
    assert done.points_balance == 5
    with rpc_error() as failure:
        await admin.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
            request_id=redeem.request_id, card_number=member.card, points=1))
    assert failure.reason == "REQUEST_ID_REUSED"
    with rpc_error() as failure:  # another method under the same request id
        await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
            request_id=redeem.request_id,
            calculation_id=calculation(app, member, [line(1, 100, accrual=5)]),
            receipt_number="X-1", payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                                                      amount_minor=100)]))
    assert failure.reason == "REQUEST_ID_REUSED"
    with rpc_error() as failure:
        await admin.bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
            request_id=str(uuid.uuid4()), card_number="0000", points=1))
    assert failure.reason == "CARD_NOT_FOUND"
    assert (await balance(admin, member)).points_available == 5
    await assert_books_balance(app)


async def test_known_receipt_number_answers_first_or_is_refused_writing_nothing(
        app, admin, database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    request = confirm(calculation(app, member, [line(1, 1000, accrual=50)]), "N-1", total=1000)
    first = await admin.receipts.ConfirmReceipt(request)
    assert first.points_balance == 50
    request.request_id = str(uuid.uuid4())  # the same sale again under a new request id
    assert await admin.receipts.ConfirmReceipt(request) == first  # its first answer
    other = confirm(calculation(app, member, [line(1, 700, accrual=30)]), "N-1", total=700)
    with rpc_error() as failure:  # another sale under the taken number: refused
        await admin.receipts.ConfirmReceipt(other)
    assert failure.reason == "RECEIPT_NUMBER_TAKEN"
    assert failure.fields == ["receipt_number"]
    assert first.receipt_id not in failure.message and not failure.metadata
    conn = await asyncpg.connect(database_url)
    try:  # a receipt with no confirmation answer (not written by ConfirmReceipt) holds N-2
        await conn.execute(
            "INSERT INTO receipts (id, store_code, terminal_id, receipt_number, card_number, "
            "state, currency, subtotal_minor, discount_total_minor, total_minor) "
            "VALUES ($1, $2, 'T1', 'N-2', '', 'confirmed', 'UAH', 1, 0, 1)",
            uuid.uuid4(), STORE)
        taken = confirm(calculation(app, member, [line(1, 500, accrual=20)]), "N-2", total=500)
        with rpc_error() as failure:
            await admin.receipts.ConfirmReceipt(taken)
        assert failure.reason == "RECEIPT_NUMBER_TAKEN"
        assert await conn.fetchval("SELECT count(*) FROM idempotency_records "
                                   "WHERE request_id = $1", uuid.UUID(taken.request_id)) == 0
    finally:
        await conn.close()
    assert (await balance(admin, member)).points_available == 50
    await assert_books_balance(app)
