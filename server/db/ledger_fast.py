"""The two hot paths as one round trip each: a PL/pgSQL function call in autocommit.

RedeemBonus (`kopilka_redeem_points`) and a ConfirmReceipt that spends nothing (no points,
cash account or certificate: `kopilka_confirm_receipt`); receipts that spend take the general
path in ledger_receipts. The functions (migration 0007) claim the request id, do the work and
store the answer in the one transaction the call is; a retry gets the stored bytes back.

The answer is built here before the call, except for the points balance that only the
function knows: `split_answer` gives the deterministic serialization of the fields around the
balance field, and the function puts the balance field between them, so the stored bytes are
exactly the deterministic serialization of the whole answer. Refusals come back as SQLSTATEs
(nothing was written, the claim included) and become the usual DomainErrors here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message

from server.db import ledger_sql as q
from server.db.ledger_idempotency import Claim, reused
from server.db.ledger_pool import LedgerPool
from server.db.ledger_receipts import (
    Booking,
    PaymentIn,
    calculation_lots,
    receipt_row,
    refusal,
)
from server.db.ledger_repo import card_holder, insufficient, points_balance
from server.errors import DomainError, ErrorKind
from server.receipts.calculation import Calculation

R = TypeVar("R", bound=Message)

# SQLSTATEs raised by the functions of migrations 0007/0009 (KL003, KL004: ledger_receipts)
NOT_REDEEMED, REQUEST_ID_REUSED = "KL001", "KL002"


def split_answer(answer: Message, field: str) -> tuple[bytes, int, bytes]:
    """(fields numbered below `field`, its number, fields above), serialized deterministically:
    head + field + tail is the deterministic serialization of the whole message."""
    number = answer.DESCRIPTOR.fields_by_name[field].number
    head, tail = type(answer)(), type(answer)()
    head.CopyFrom(answer)
    tail.CopyFrom(answer)
    for f in answer.DESCRIPTOR.fields:
        if f.number >= number:
            head.ClearField(f.name)
        if f.number <= number:
            tail.ClearField(f.name)
    return (head.SerializeToString(deterministic=True), number,
            tail.SerializeToString(deterministic=True))


async def redeem_points(pool: LedgerPool, claim: Claim, card_number: str, points: int,
                        verified: bool, reference: str, principal: str, tx_id: uuid.UUID,
                        answer: R) -> R:
    """Debit the card member's points and their lots exactly once; `answer` without its
    `points_balance`, which the function fills in. INSUFFICIENT_POINTS & co. when refused."""
    head, field, tail = split_answer(answer, "points_balance")
    async with (await pool.get()).acquire() as conn:
        try:
            stored = await conn.fetchval(q.REDEEM_POINTS, *claim.params, card_number, points,
                                         tx_id, reference, principal, verified, head, field, tail)
        except asyncpg.PostgresError as error:
            if error.sqlstate != NOT_REDEEMED:
                raise _mapped(error, claim.principal_id) from None
            # say why (nothing was written): card, verification, or balance
            member_id, needs_token = await card_holder(conn, card_number)
            if needs_token and not verified:
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_REQUIRED",
                                  "this card requires an SMS verification: call "
                                  "SendVerificationCode and VerifySMS, then pass the token"
                                  ) from None
            raise insufficient("points", await points_balance(conn, member_id)) from None
    return type(answer).FromString(bytes(stored))


async def confirm_plain_receipt(pool: LedgerPool, booking: Booking, calc: Calculation,
                                receipt_number: str, payments: list[PaymentIn],
                                now: dt.datetime, receipt_id: uuid.UUID, answer: R) -> R:
    """Write a receipt that spends nothing, with its accrual, exactly once; `answer` without
    its `points_balance`. A known receipt number answers with its first confirmation when
    the same caller asked the same; otherwise RECEIPT_NUMBER_TAKEN."""
    if calc.points_redeemed or any(p.method in ("cash_account", "certificate")
                                   for p in payments):
        raise ValueError("a receipt that spends takes ledger_receipts.confirm_receipt")
    lots = calculation_lots(calc) if calc.member_id else []
    active = sum(x.points for x in lots if x.activation_time <= now)
    head, field, tail = split_answer(answer, "points_balance")
    row = receipt_row(calc, receipt_id, receipt_number, payments, booking, uuid.uuid4())
    async with (await pool.get()).acquire() as conn:
        try:
            stored = await conn.fetchval(
                q.CONFIRM_RECEIPT, *booking.claim.params, *row, active,
                sum(x.points for x in lots) - active, now, [x.rule_id for x in lots],
                [x.points for x in lots], [x.activation_time for x in lots],
                [x.expiry_time for x in lots], list(calc.applied_promotions), calc.receipt_time,
                head, field, tail)
        except asyncpg.PostgresError as error:
            raise _mapped(error, booking.claim.principal_id) from None
    return type(answer).FromString(bytes(stored))


def _mapped(error: asyncpg.PostgresError, principal_id: uuid.UUID) -> Exception:
    """The DomainError a function's refusal stands for; other errors stay as they are."""
    if error.sqlstate == REQUEST_ID_REUSED:
        return reused()
    return refusal(error, principal_id)
