"""The two hot paths with the idempotency claim folded into their first statement.

RedeemBonus: BEGIN, claim + debit, lots + stored answer, COMMIT (4 round trips).
ConfirmReceipt that spends nothing (no points, cash account or certificate): BEGIN,
claim + receipt + accrual + promotion uses, stored answer, COMMIT. Receipts that spend take
the general path in ledger_receipts. Each function returns None when the request id was
taken (see ledger_idempotency for the contract).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import asyncpg

from server.db import ledger_sql as q
from server.db.ledger_idempotency import Claim
from server.db.ledger_receipts import Confirmed, PaymentIn, calculation_lots
from server.db.ledger_repo import card_holder, insufficient, points_balance
from server.errors import DomainError, ErrorKind
from server.receipts.calculation import Calculation


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A debited points account whose lots are still to be spent (`spend_lots_and_answer`)."""

    tx_id: uuid.UUID
    member_id: uuid.UUID
    points: int
    balance: int


async def claim_and_redeem(conn: asyncpg.Connection, claim: Claim, card_number: str,
                           points: int, verified: bool, reference: str, principal: str
                           ) -> Redeemed | None:
    """Claim the request and debit the card member's points, or say why not."""
    tx_id = uuid.uuid4()
    row = await conn.fetchrow(q.CLAIM_AND_REDEEM, *claim.params, card_number, points, tx_id,
                              reference, principal, verified)
    if not row["claimed"]:
        return None
    if row["balance"] is None:  # say why: card, verification, or balance
        member_id, needs_token = await card_holder(conn, card_number)
        if needs_token and not verified:
            raise DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_REQUIRED",
                              "this card requires an SMS verification: call "
                              "SendVerificationCode and VerifySMS, then pass the token")
        raise insufficient("points", await points_balance(conn, member_id))
    return Redeemed(tx_id, row["member_id"], points, int(row["balance"]))


async def spend_lots_and_answer(conn: asyncpg.Connection, claim: Claim, done: Redeemed,
                                answer: bytes) -> None:
    """Take the debited points from the lots (a fresh snapshot, after the account lock) and
    store the answer; the transaction must not commit if lots and balance disagree."""
    taken = await conn.fetchval(q.CONSUME_LOTS_AND_ANSWER, done.member_id, done.points,
                                done.tx_id, claim.request_id, answer)
    if taken != done.points:
        raise RuntimeError(f"lots of member {done.member_id} hold {taken} of {done.points} "
                           "points")


async def claim_and_confirm(conn: asyncpg.Connection, claim: Claim, calc: Calculation,
                            receipt_number: str, payments: list[PaymentIn], principal: str,
                            now: dt.datetime) -> Confirmed | None:
    """Claim the request and write a receipt that spends nothing, with its accrual."""
    if calc.points_redeemed or any(p.method in ("cash_account", "certificate")
                                   for p in payments):
        raise ValueError("a receipt that spends takes ledger_receipts.confirm_receipt")
    member_id = uuid.UUID(calc.member_id) if calc.member_id else None
    receipt_id, tx_id = uuid.uuid4(), uuid.uuid4()
    lines = [[x.line_no, x.quantity_milli, x.final_amount_minor, x.accrual_points,
              x.points_discount_minor, x.sku] for x in calc.lines]
    stored_payments = [{"m": p.method, "a": p.amount_minor, "c": p.certificate_number}
                       for p in payments]
    lots = calculation_lots(calc) if member_id is not None else []
    active = sum(x.points for x in lots if x.activation_time <= now)
    row = await conn.fetchrow(
        q.CLAIM_AND_CONFIRM, *claim.params, receipt_id, calc.store_code, calc.terminal_id,
        receipt_number, member_id, calc.card_number, calc.currency, calc.subtotal_minor,
        calc.discount_total_minor, calc.total_minor, tx_id, json.dumps(lines),
        json.dumps(stored_payments), calc.points_to_accrue, calc.points_redeemed, principal,
        active, sum(x.points for x in lots) - active, now, [x.rule_id for x in lots],
        [x.points for x in lots], [x.activation_time for x in lots],
        [x.expiry_time for x in lots], list(calc.applied_promotions), calc.receipt_time)
    if not row["claimed"]:
        return None
    if not row["inserted"]:  # the receipt is known: its first confirmation answers
        answer = await conn.fetchval(q.FIRST_CONFIRM_ANSWER, calc.store_code,
                                     calc.terminal_id, receipt_number)
        if answer is None:
            raise DomainError(ErrorKind.ALREADY_EXISTS, "RECEIPT_NUMBER_TAKEN",
                              "this receipt number is already used by another receipt")
        return Confirmed(None, first_answer=bytes(answer))
    balance = int(row["balance"]) if member_id is not None else 0
    return Confirmed(receipt_id, calc.points_to_accrue, calc.points_redeemed, balance)
