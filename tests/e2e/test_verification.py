"""SMS verification (seed 000) end to end: real gRPC server, PostgreSQL and a real SMSC."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import pytest
from kopilka.v1 import admin_pb2, bonus_pb2, members_pb2, receipts_pb2
from kopilka.v1 import verification_pb2 as V
from sqlalchemy import func, select, update

from server.api.servicers import bonus as bonus_servicer
from server.api.servicers import receipts as receipts_servicer
from server.auth.principal import PrincipalKind
from server.db.verification.models import Verification, VerificationTokenUse
from server.db.verification.repo import SqlVerificationRepository
from server.verification.tokens import read_verification_token
from tests.e2e.ledger_support import (
    Member,
    assert_books_balance,
    balance,
    calculation,
    confirm,
    give_points,
    line,
)
from tests.e2e.verification_support import (
    REDEEM,
    code_in,
    mailing_of,
    register,
    send_by_card,
    send_by_phone,
    server_settings,
    till,
    wait_mailing,
)
from tests.helpers import rid, rpc_error
from tests.smsc import Smsc

B, R = bonus_pb2, receipts_pb2


@pytest.fixture
def settings(tmp_path, smsc, overrides):
    return server_settings(tmp_path, smsc.port, **overrides)


async def sms_for(smsc: Smsc, count: int = 1):
    await smsc.wait_for(lambda: len(smsc.submitted) >= count)
    return smsc.submitted[count - 1]


async def test_code_goes_out_as_ucs2_and_buys_a_token_for_the_card(
        app, admin, world, make_key, client_for, smsc):
    member = await register(admin)
    card = member.cards[0].number
    pos = await till(make_key, client_for)
    before = dt.datetime.now(dt.UTC)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    assert sent.masked_phone == "+38067***4567" and sent.card_number == card
    assert sent.max_attempts == 3
    expires = sent.expire_time.ToDatetime(dt.UTC)
    assert dt.timedelta(minutes=5) <= expires - before < dt.timedelta(minutes=5, seconds=5)

    sms = await sms_for(smsc)
    assert sms.data_coding == 0x08 and sms.destination_addr == "380671234567"
    assert sms.source_addr == "Kopilka"
    code = code_in(sms.text)
    assert sms.text == f"Ваш код: {code}. Дійсний 5 хв. Нікому не повідомляйте його."

    verified = await pos.verification.VerifySMS(V.VerifySMSRequest(
        verification_id=sent.verification_id, code=code))
    assert verified.card_number == card
    assert verified.operation == V.VERIFICATION_OPERATION_REDEEM_POINTS
    assert verified.max_amount == 1000
    now = dt.datetime.now(dt.UTC)
    grant = read_verification_token(app.deps.signer, verified.verification_token)
    assert grant.card_number == card and str(grant.token_id) == sent.verification_id
    assert grant.caller.store_code == "kyiv-01" and grant.caller.terminal_id == "T1"
    expires = verified.expire_time.ToDatetime(dt.UTC)
    assert grant.expires_at == expires  # default KOPILKA_VERIFICATION_TOKEN_TTL_SECONDS: 300
    assert now + dt.timedelta(minutes=4) < expires <= now + dt.timedelta(minutes=5)

    # The code lives only as a hash, and the history keeps the text with the code masked.
    history = await wait_mailing(app, sent.verification_id, "sent")
    assert history.provider_message_ids == ("msg-1",) and history.attempts == 1
    assert history.body == "Ваш код: ******. Дійсний 5 хв. Нікому не повідомляйте його."
    async with app.db.transaction() as session:
        row = await session.scalar(select(Verification).where(
            Verification.id == uuid.UUID(sent.verification_id)))
    assert code.encode() not in bytes(row.code_hash) and len(row.code_hash) == 32
    assert row.state == "verified"


async def test_verify_retry_returns_the_same_token_and_a_used_code_is_refused(
        admin, world, make_key, client_for, smsc):
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    code = code_in((await sms_for(smsc)).text)
    request = V.VerifySMSRequest(verification_id=sent.verification_id, code=code)
    first = await pos.verification.VerifySMS(request)
    again = await pos.verification.VerifySMS(request)
    assert again == first  # a lost answer can be fetched again
    wrong = "000000" if code != "000000" else "111111"
    with rpc_error() as failure:
        await pos.verification.VerifySMS(V.VerifySMSRequest(
            verification_id=sent.verification_id, code=wrong))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "VERIFICATION_ALREADY_USED"


async def test_wrong_codes_count_down_then_lock_the_verification(
        admin, world, make_key, client_for, smsc):
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    code = code_in((await sms_for(smsc)).text)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (2, 1):
        with rpc_error() as failure:
            await pos.verification.VerifySMS(V.VerifySMSRequest(
                verification_id=sent.verification_id, code=wrong))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert failure.reason == "VERIFICATION_CODE_INVALID" and failure.fields == ["code"]
        assert f"{left} attempt(s) left" in failure.message
    for attempt in (wrong, code):  # the third wrong code locks it; then even the right one fails
        with rpc_error() as failure:
            await pos.verification.VerifySMS(V.VerifySMSRequest(
                verification_id=sent.verification_id, code=attempt))
        assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
        assert failure.reason == "VERIFICATION_ATTEMPTS_EXHAUSTED"


async def test_expired_code_is_refused(app, admin, world, make_key, client_for, smsc):
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    code = code_in((await sms_for(smsc)).text)
    async with app.db.transaction() as session:  # five minutes pass
        await session.execute(update(Verification).where(
            Verification.id == uuid.UUID(sent.verification_id))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    with rpc_error() as failure:
        await pos.verification.VerifySMS(V.VerifySMSRequest(
            verification_id=sent.verification_id, code=code))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "VERIFICATION_CODE_EXPIRED"


async def test_sale_by_phone_verifies_the_members_active_card(
        app, admin, world, make_key, client_for, smsc):
    member = await register(admin, phone="+380501112233")
    newer = await admin.members.ReplaceCard(members_pb2.ReplaceCardRequest(
        request_id=str(uuid.uuid4()), card_number=member.cards[0].number, reason="lost"))
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_phone("050 111 22 33"))
    assert sent.card_number == newer.new_card.number != member.cards[0].number
    sms = await sms_for(smsc)
    assert sms.destination_addr == "380501112233"
    verified = await pos.verification.VerifySMS(V.VerifySMSRequest(
        verification_id=sent.verification_id, code=code_in(sms.text)))
    assert read_verification_token(app.deps.signer, verified.verification_token
                                   ).card_number == newer.new_card.number


async def test_send_is_idempotent_on_request_id(admin, world, make_key, client_for, smsc):
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    request = send_by_card(card)
    first = await pos.verification.SendVerificationCode(request)
    again = await pos.verification.SendVerificationCode(request)
    assert again == first
    await sms_for(smsc)
    await pos.verification.SendVerificationCode(send_by_card(card))  # a new id sends again
    await sms_for(smsc, 2)
    assert len(smsc.submitted) == 2


@pytest.mark.parametrize("overrides", [{"verification_phone_limit": 2}])
async def test_codes_per_phone_are_limited_across_terminals(
        admin, world, make_key, client_for, smsc):
    card = (await register(admin)).cards[0].number
    first, second = await till(make_key, client_for, "T1"), await till(make_key, client_for, "T2")
    await first.verification.SendVerificationCode(send_by_card(card))
    await second.verification.SendVerificationCode(send_by_phone("+380671234567"))
    with rpc_error() as failure:
        await second.verification.SendVerificationCode(send_by_card(card))
    assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure.reason == "VERIFICATION_RATE_LIMITED" and "phone" in failure.message
    other = (await register(admin, phone="+380501112233")).cards[0].number
    await second.verification.SendVerificationCode(send_by_card(other))  # other phones fine
    await smsc.wait_for(lambda: len(smsc.submitted) == 3)


@pytest.mark.parametrize("overrides", [{"verification_terminal_limit": 2}])
async def test_codes_per_terminal_are_limited(admin, world, make_key, client_for, smsc):
    cards = [(await register(admin, phone=p)).cards[0].number
             for p in ("+380671234567", "+380501112233", "+380931234567")]
    busy, other = await till(make_key, client_for, "T1"), await till(make_key, client_for, "T2")
    for card in cards[:2]:
        await busy.verification.SendVerificationCode(send_by_card(card))
    with rpc_error() as failure:
        await busy.verification.SendVerificationCode(send_by_card(cards[2]))
    assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure.reason == "VERIFICATION_RATE_LIMITED" and "terminal" in failure.message
    await other.verification.SendVerificationCode(send_by_card(cards[2]))


async def test_every_refusal_names_its_reason(app, admin, world, make_key, client_for, smsc):
    member = await register(admin)
    card = member.cards[0].number
    no_phone = (await register(admin, phone="", email="iryna@example.com")).cards[0].number
    blocked = (await register(admin, phone="+380501112233")).cards[0].number
    await admin.members.ChangeCardState(members_pb2.ChangeCardStateRequest(
        request_id=str(uuid.uuid4()), card_number=blocked, state=members_pb2.CARD_STATE_BLOCKED,
        reason="fraud check"))
    pos = await till(make_key, client_for)
    cases = [
        (send_by_card("2910000009999"), grpc.StatusCode.NOT_FOUND, "CARD_NOT_FOUND", []),
        (send_by_card(no_phone), grpc.StatusCode.FAILED_PRECONDITION, "MEMBER_HAS_NO_PHONE", []),
        (send_by_card(blocked), grpc.StatusCode.FAILED_PRECONDITION, "CARD_NOT_ACTIVE", []),
        (send_by_phone("+380991112233"), grpc.StatusCode.NOT_FOUND, "MEMBER_NOT_FOUND", []),
        (send_by_phone("12"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["phone"]),
        (V.SendVerificationCodeRequest(request_id=str(uuid.uuid4()), operation=REDEEM,
                                       max_amount=1),
         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["subject"]),
        (V.SendVerificationCodeRequest(card_number=card, operation=REDEEM, max_amount=1),
         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["request_id"]),
        (V.SendVerificationCodeRequest(request_id=str(uuid.uuid4()), card_number=card),
         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["operation", "max_amount"]),
        (send_by_card(card, max_amount=-5), grpc.StatusCode.INVALID_ARGUMENT,
         "INVALID_ARGUMENT", ["max_amount"]),
    ]
    for request, code, reason, fields in cases:
        with rpc_error() as failure:
            await pos.verification.SendVerificationCode(request)
        assert (failure.code, failure.reason, failure.fields) == (code, reason, fields), request

    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    stranger = await till(make_key, client_for, "T9")
    verify_cases = [
        (pos, V.VerifySMSRequest(verification_id=sent.verification_id, code="12a456"),
         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["code"]),
        (pos, V.VerifySMSRequest(verification_id="nope", code="123456"),
         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["verification_id"]),
        (pos, V.VerifySMSRequest(verification_id=str(uuid.uuid4()), code="123456"),
         grpc.StatusCode.NOT_FOUND, "VERIFICATION_NOT_FOUND", []),
        (stranger, V.VerifySMSRequest(verification_id=sent.verification_id, code="123456"),
         grpc.StatusCode.NOT_FOUND, "VERIFICATION_NOT_FOUND", []),
    ]
    for client, request, code, reason, fields in verify_cases:
        with rpc_error() as failure:
            await client.verification.VerifySMS(request)
        assert (failure.code, failure.reason, failure.fields) == (code, reason, fields), request
    async with app.db.transaction() as session:  # none of those counted as an attempt
        attempts = await session.scalar(select(Verification.attempts).where(
            Verification.id == uuid.UUID(sent.verification_id)))
    assert attempts == 0


async def test_operator_edits_the_sms_template(admin, world, make_key, client_for, smsc):
    current = await admin.verification.GetVerificationTemplate(V.GetVerificationTemplateRequest())
    assert "{code}" in current.template.body and "code" in current.template.placeholders
    updated = await admin.verification.UpdateVerificationTemplate(
        V.UpdateVerificationTemplateRequest(
            request_id=str(uuid.uuid4()),
            body="{first_name}, код для картки *{card_last4}: {code} ({minutes} хв)"))
    assert updated.template.updated_by.endswith("test admin")
    card = (await register(admin, first_name="Тарас")).cards[0].number
    pos = await till(make_key, client_for)
    await pos.verification.SendVerificationCode(send_by_card(card))
    sms = await sms_for(smsc)
    assert sms.text == f"Тарас, код для картки *{card[-4:]}: {code_in(sms.text)} (5 хв)"

    for body, problem in (("Код відсутній", "{code}"), ("{code} {pin}", "pin"),
                          ("{code} {", "brace")):
        with rpc_error() as failure:
            await admin.verification.UpdateVerificationTemplate(
                V.UpdateVerificationTemplateRequest(request_id=str(uuid.uuid4()), body=body))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == ["body"]
        assert problem in failure.message
    with rpc_error() as failure:
        await pos.verification.UpdateVerificationTemplate(V.UpdateVerificationTemplateRequest(
            request_id=str(uuid.uuid4()), body="{code}"))
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


async def test_mailing_history_follows_the_delivery_receipt(
        app, admin, world, make_key, client_for, smsc):
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    sms = await sms_for(smsc)
    await wait_mailing(app, sent.verification_id, "sent")
    assert await smsc.push_receipt(sms.message_id, "DELIVRD") == 0
    delivered = await wait_mailing(app, sent.verification_id, "delivered")
    assert delivered.final_at is not None and delivered.delivery_error_code is None

    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    sms = await sms_for(smsc, 2)
    await wait_mailing(app, sent.verification_id, "sent")
    await smsc.push_receipt(sms.message_id, "UNDELIV", err="011")
    failed = await wait_mailing(app, sent.verification_id, "undeliverable")
    assert failed.delivery_error_code == "011"
    assert (await mailing_of(app, sent.verification_id)).provider_message_ids == ("msg-2",)


@pytest.mark.parametrize("overrides", [{"verification_phone_limit": 2}])
async def test_concurrent_sends_cannot_overrun_the_phone_limit(
        app, admin, world, make_key, client_for, smsc, monkeypatch):
    card = (await register(admin)).cards[0].number
    counted = SqlVerificationRepository.recent_by_phone

    async def slow_count(self, phone, since):  # type: ignore[no-untyped-def]
        sends = await counted(self, phone, since)
        await asyncio.sleep(0.05)  # widen the count-then-insert window a race would use
        return sends

    monkeypatch.setattr(SqlVerificationRepository, "recent_by_phone", slow_count)
    tills = [await till(make_key, client_for, f"T{i}") for i in range(6)]

    async def attempt(pos) -> str:  # type: ignore[no-untyped-def]
        try:
            await pos.verification.SendVerificationCode(send_by_card(card))
            return "sent"
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            return "limited"

    outcomes = await asyncio.gather(*(attempt(pos) for pos in tills))
    assert sorted(outcomes) == ["limited"] * 4 + ["sent"] * 2
    async with app.db.transaction() as session:
        rows = await session.scalar(select(func.count()).select_from(Verification))
    assert rows == 2
    await smsc.wait_for(lambda: len(smsc.submitted) == 2)


# --- Spending a token: once, for the card, operation, amount, store and terminal asked for ---

CONFIRM = V.VERIFICATION_OPERATION_CONFIRM_RECEIPT


async def token_for(pos, smsc: Smsc, card: str, *, operation: int = REDEEM,  # type: ignore[no-untyped-def]
                    max_amount: int = 1000) -> str:
    """Ask for a code at `pos`, read it off the SMSC and verify it: the token."""
    already = len(smsc.submitted)
    sent = await pos.verification.SendVerificationCode(
        send_by_card(card, operation=operation, max_amount=max_amount))
    code = code_in((await sms_for(smsc, already + 1)).text)
    verified = await pos.verification.VerifySMS(V.VerifySMSRequest(
        verification_id=sent.verification_id, code=code))
    return verified.verification_token


async def gold_with_points(admin, points: int, phone: str = "067 123 45 67") -> Member:  # type: ignore[no-untyped-def]
    member = await register(admin, phone=phone)
    holder = Member(member.member_id, member.cards[0].number)
    await give_points(admin, holder, points)
    return holder


def redeem(card: str, points: int, token: str) -> B.RedeemBonusRequest:
    return B.RedeemBonusRequest(request_id=str(uuid.uuid4()), card_number=card, points=points,
                                order_reference="web-1", verification_token=token)


def shift_clock(monkeypatch, module, by: dt.timedelta) -> None:  # type: ignore[no-untyped-def]
    """The servicer's clock, moved on by `by` (no sleeping)."""
    real = module._now
    monkeypatch.setattr(module, "_now", lambda: real() + by)


async def test_a_token_pays_for_one_spend_and_a_retry_gets_its_answer(
        app, admin, world, make_key, client_for, smsc):
    holder = await gold_with_points(admin, 150)
    pos = await till(make_key, client_for)
    token = await token_for(pos, smsc, holder.card, max_amount=500)
    with rpc_error() as failure:  # refused in the spend's transaction: the token stays unused
        await pos.bonus.RedeemBonus(redeem(holder.card, 200, token))
    assert failure.reason == "INSUFFICIENT_POINTS"
    first = redeem(holder.card, 100, token)
    spent = await pos.bonus.RedeemBonus(first)
    assert spent.points_balance == 50
    assert await pos.bonus.RedeemBonus(first) == spent  # a retry: the first answer
    with rpc_error() as failure:
        await pos.bonus.RedeemBonus(redeem(holder.card, 10, token))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "VERIFICATION_USED"
    assert (await balance(admin, holder)).points_available == 50
    await assert_books_balance(app)


async def test_verify_retry_gives_the_used_token_again_not_a_new_spend(
        admin, world, make_key, client_for, smsc):
    holder = await gold_with_points(admin, 100)
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(holder.card))
    verify = V.VerifySMSRequest(verification_id=sent.verification_id,
                                code=code_in((await sms_for(smsc)).text))
    token = (await pos.verification.VerifySMS(verify)).verification_token
    await pos.bonus.RedeemBonus(redeem(holder.card, 10, token))
    again = (await pos.verification.VerifySMS(verify)).verification_token
    with rpc_error() as failure:
        await pos.bonus.RedeemBonus(redeem(holder.card, 10, again))
    assert failure.reason == "VERIFICATION_USED"


async def test_a_token_is_bound_to_card_operation_amount_store_and_terminal(
        app, admin, world, make_key, client_for, smsc):
    holder = await gold_with_points(admin, 500)
    other = await gold_with_points(admin, 500, phone="+380501112233")
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(
        request_id=rid(), store=admin_pb2.Store(
        code="lviv-02", name="Lviv 2", time_zone="Europe/Kyiv")))
    pos, neighbour = await till(make_key, client_for, "T1"), await till(make_key, client_for, "T2")
    elsewhere = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                          store_code="lviv-02", terminal_id="T1"))
    token = await token_for(pos, smsc, holder.card, max_amount=100)
    receipt = calculation(app, holder, [line(1, 900, points_discount=50)], store="kyiv-01")
    attempts = [
        (pos.bonus.RedeemBonus(redeem(other.card, 10, token)), "VERIFICATION_CARD_MISMATCH"),
        (pos.bonus.RedeemBonus(redeem(holder.card, 101, token)), "VERIFICATION_AMOUNT_EXCEEDED"),
        (neighbour.bonus.RedeemBonus(redeem(holder.card, 10, token)),
         "VERIFICATION_TERMINAL_MISMATCH"),
        (elsewhere.bonus.RedeemBonus(redeem(holder.card, 10, token)),
         "VERIFICATION_STORE_MISMATCH"),
        (pos.receipts.ConfirmReceipt(confirm(receipt, "R-1", total=900, token=token)),
         "VERIFICATION_OPERATION_MISMATCH"),
    ]
    for call, reason in attempts:
        with rpc_error() as failure:
            await call
        assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED, reason)
    assert (await balance(admin, holder)).points_available == 500  # nothing was spent
    # none of those used the token up: the spend it was asked for still goes through
    assert (await pos.bonus.RedeemBonus(redeem(holder.card, 100, token))).points_balance == 400


async def test_confirm_receipt_spends_a_receipt_token_once_up_to_its_amount(
        app, admin, world, make_key, client_for, smsc, monkeypatch):
    holder = await gold_with_points(admin, 500)
    await admin.bonus.TopUpCashAccount(B.TopUpCashAccountRequest(
        request_id=str(uuid.uuid4()), card_number=holder.card, amount_minor=300, reason="gift",
        reason_code=B.ADJUSTMENT_REASON_DEPOSIT))
    pos = await till(make_key, client_for)
    paid = [(R.PAYMENT_METHOD_CASH_ACCOUNT, 30), (R.PAYMENT_METHOD_CASH, 70)]
    receipt = calculation(app, holder, [line(1, 100, points_discount=50)], store="kyiv-01")
    short = await token_for(pos, smsc, holder.card, operation=CONFIRM, max_amount=79)
    with rpc_error() as failure:  # 50 points + 30 from the cash account = 80
        await pos.receipts.ConfirmReceipt(confirm(receipt, "R-1", paid, token=short))
    assert failure.reason == "VERIFICATION_AMOUNT_EXCEEDED"
    token = await token_for(pos, smsc, holder.card, operation=CONFIRM, max_amount=80)
    first = confirm(receipt, "R-1", paid, token=token)
    done = await pos.receipts.ConfirmReceipt(first)
    assert (done.points_redeemed, done.points_balance) == (50, 450)
    again = calculation(app, holder, [line(1, 100, points_discount=50)], store="kyiv-01")
    with rpc_error() as failure:
        await pos.receipts.ConfirmReceipt(confirm(again, "R-2", paid, token=token))
    assert failure.reason == "VERIFICATION_USED"
    shift_clock(monkeypatch, receipts_servicer, dt.timedelta(hours=1))  # token long expired
    assert await pos.receipts.ConfirmReceipt(first) == done
    assert (await balance(admin, holder)).cash_balance_minor == 270
    await assert_books_balance(app)


@pytest.mark.parametrize("overrides", [{"verification_token_ttl_seconds": 60}])
async def test_token_lifetime_is_configured_and_a_retry_outlives_it(
        admin, world, make_key, client_for, smsc, monkeypatch):
    holder = await gold_with_points(admin, 500)
    pos = await till(make_key, client_for)
    before = dt.datetime.now(dt.UTC)
    sent = await pos.verification.SendVerificationCode(send_by_card(holder.card))
    verified = await pos.verification.VerifySMS(V.VerifySMSRequest(
        verification_id=sent.verification_id, code=code_in((await sms_for(smsc)).text)))
    expires = verified.expire_time.ToDatetime(dt.UTC)
    assert before + dt.timedelta(seconds=60) <= expires < before + dt.timedelta(seconds=70)
    spare = await token_for(pos, smsc, holder.card)
    first = redeem(holder.card, 100, verified.verification_token)
    spent = await pos.bonus.RedeemBonus(first)

    shift_clock(monkeypatch, bonus_servicer, dt.timedelta(seconds=61))
    with rpc_error() as failure:  # under the default five minutes it would still be good
        await pos.bonus.RedeemBonus(redeem(holder.card, 100, spare))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "VERIFICATION_EXPIRED"
    assert await pos.bonus.RedeemBonus(first) == spent  # used and expired: still its answer
    assert (await balance(admin, holder)).points_available == 400


async def test_concurrent_spends_with_one_token_let_exactly_one_through(
        app, admin, world, make_key, client_for, smsc):
    holder = await gold_with_points(admin, 100)
    pos = await till(make_key, client_for)
    token = await token_for(pos, smsc, holder.card, max_amount=10)

    async def attempt() -> str:
        try:
            await pos.bonus.RedeemBonus(redeem(holder.card, 10, token))
            return "spent"
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
            return "used"

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sorted(outcomes) == ["spent"] + ["used"] * 7
    assert (await balance(admin, holder)).points_available == 90
    async with app.db.transaction() as session:
        uses = await session.scalar(select(func.count()).select_from(VerificationTokenUse))
    assert uses == 1
    await assert_books_balance(app)


async def test_convert_funds_takes_a_conversion_token_once(
        admin, world, make_key, client_for, smsc):
    holder = await gold_with_points(admin, 500)
    pos = await till(make_key, client_for)
    redeem_token = await token_for(pos, smsc, holder.card, max_amount=100)
    token = await token_for(pos, smsc, holder.card, max_amount=100,
                            operation=V.VERIFICATION_OPERATION_CONVERT_FUNDS)

    def convert(with_token: str) -> B.ConvertFundsRequest:
        return B.ConvertFundsRequest(
            request_id=str(uuid.uuid4()), card_number=holder.card,
            direction=B.CONVERSION_DIRECTION_POINTS_TO_CASH, amount=100,
            verification_token=with_token)

    with rpc_error() as failure:
        await pos.bonus.ConvertFunds(convert(redeem_token))
    assert failure.reason == "VERIFICATION_OPERATION_MISMATCH"
    converted = await pos.bonus.ConvertFunds(convert(token))
    assert (converted.points_balance, converted.cash_balance_minor) == (400, 100)
    with rpc_error() as failure:
        await pos.bonus.ConvertFunds(convert(token))
    assert failure.reason == "VERIFICATION_USED"
