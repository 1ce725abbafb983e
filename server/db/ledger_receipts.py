"""Receipts in the ledger: confirm (accrue, redeem, pay), refund and cancel, exactly once."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual import Lot
from server.accounts.allocation import allocate
from server.accounts.refund import SoldLine, plan_refund, split_refund, withhold
from server.db import ledger_sql as q
from server.db.ledger_cash import credit_cash, pay_from_cash
from server.db.ledger_idempotency import Claim
from server.db.ledger_repo import (
    accrue,
    change_balance,
    consume_lots,
    debit,
    expire_due_lots,
    lock_points_accounts,
    member_account_id,
    new_tx,
    points_balance,
    raw_connection,
    spend_points,
)
from server.errors import DomainError, ErrorKind, FieldViolation, not_found
from server.receipts.calculation import Calculation

# SQLSTATEs of kopilka_book_receipt (migration 0009)
RECEIPT_NUMBER_TAKEN, CALCULATION_CONFIRMED = "KL003", "KL004"

# Payment methods as stored; refunds withhold a points shortfall from till money first.
TILL_METHODS = ("cash", "bank_card", "online")
WITHHOLD_ORDER = (*TILL_METHODS, "cash_account", "certificate")


@dataclass(frozen=True, slots=True)
class PaymentIn:
    """One payment of a receipt: method (see WITHHOLD_ORDER), amount, certificate number."""

    method: str
    amount_minor: int
    certificate_number: str = ""


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What ConfirmReceipt wrote, or the first answer bytes when the receipt was known."""

    receipt_id: uuid.UUID | None
    points_accrued: int = 0
    points_redeemed: int = 0
    points_balance: int = 0
    first_answer: bytes | None = None


@dataclass(frozen=True, slots=True)
class Booking:
    """Who books a receipt and what they asked: the claim of the call, a digest of its content
    (the request without request_id and verification token), the caller's audit label."""

    claim: Claim
    content_hash: bytes
    principal: str


def receipt_row(calc: Calculation, receipt_id: uuid.UUID, number: str,
                payments: list[PaymentIn], booking: Booking, tx_id: uuid.UUID) -> tuple[Any, ...]:
    """kopilka_book_receipt's parameters after the claim's principal and request id ($3-$20);
    the hot-path function takes the same run after its own claim parameters."""
    lines = [[x.line_no, x.quantity_milli, x.final_amount_minor, x.accrual_points,
              x.points_discount_minor, x.sku] for x in calc.lines]
    stored_payments = [{"m": p.method, "a": p.amount_minor, "c": p.certificate_number}
                       for p in payments]
    return (receipt_id, calc.store_code, calc.terminal_id, number,
            uuid.UUID(calc.member_id) if calc.member_id else None, calc.card_number,
            calc.currency, calc.subtotal_minor, calc.discount_total_minor, calc.total_minor,
            tx_id, json.dumps(lines), json.dumps(stored_payments), calc.points_to_accrue,
            calc.points_redeemed, booking.principal, booking.content_hash,
            _calculation_uuid(calc))


def _calculation_uuid(calc: Calculation) -> uuid.UUID | None:
    try:
        return uuid.UUID(calc.calculation_id)
    except ValueError:  # signed by us, so always a UUID; never let that break a sale
        return None


def refusal(error: asyncpg.PostgresError, principal_id: uuid.UUID) -> Exception:
    """The DomainError a refused booking stands for (KL003, KL004); other errors as they are.

    A calculation booked already names its receipt only to the key that booked it: the
    function puts "principal receipt-id number" of the first receipt in the error's detail.
    """
    if error.sqlstate == RECEIPT_NUMBER_TAKEN:
        return DomainError(ErrorKind.ALREADY_EXISTS, "RECEIPT_NUMBER_TAKEN",
                           "this receipt number is already used by another receipt; "
                           "give the sale a number of its own",
                           [FieldViolation("receipt_number", "taken by another receipt")])
    if error.sqlstate != CALCULATION_CONFIRMED:
        return error
    metadata: dict[str, str] = {}
    first_principal, receipt_id, number = (error.detail or "  ").split(" ", 2)
    if first_principal == str(principal_id):
        metadata = {"receipt_id": receipt_id, "receipt_number": number}
    return DomainError(ErrorKind.ALREADY_EXISTS, "CALCULATION_ALREADY_CONFIRMED",
                       "this calculation is confirmed already: calculate the receipt again",
                       [FieldViolation("calculation_id", "confirmed already")], metadata)


def calculation_lots(calc: Calculation) -> list[Lot]:
    """The lots the calculation promised; a lone active lot when it carried none."""
    if not calc.accrual_lots:
        return ([Lot(calc.points_to_accrue, calc.receipt_time, None, "")]
                if calc.points_to_accrue else [])
    return [Lot(points, dt.datetime.fromisoformat(act),
                dt.datetime.fromisoformat(exp) if exp else None, rule_id)
            for points, act, exp, rule_id in calc.accrual_lots if points > 0]


# Spends a certificate for a receipt: (number, amount, receipt id), in the same transaction.
CertificatePayer = Callable[[str, int, uuid.UUID], Awaitable[None]]


async def confirm_receipt(
    conn: asyncpg.Connection, calc: Calculation, receipt_number: str, payments: list[PaymentIn],
    booking: Booking, now: dt.datetime, pay_certificate: CertificatePayer | None = None,
) -> Confirmed:
    """Write the receipt, its points and its payments in the caller's transaction.

    Certificate payments go through `pay_certificate` (the certificate module works on a
    SQLAlchemy session, so such receipts run inside one; see the ReceiptService).
    """
    member_id = uuid.UUID(calc.member_id) if calc.member_id else None
    receipt_id, tx_id = uuid.uuid4(), uuid.uuid4()
    claim = booking.claim
    try:
        first = await conn.fetchval(q.BOOK_RECEIPT, claim.principal_id, claim.request_id,
                                    *receipt_row(calc, receipt_id, receipt_number, payments,
                                                 booking, tx_id))
    except asyncpg.PostgresError as error:  # nothing written: the transaction rolls back
        raise refusal(error, claim.principal_id) from None
    if first is not None:
        return Confirmed(None, first_answer=bytes(first))
    if member_id is not None:
        await expire_due_lots(conn, member_id, now)
    balance = 0
    if member_id is not None:
        if calc.points_redeemed:
            balance = await spend_points(conn, member_id, calc.points_redeemed, tx_id, now)
        lots = calculation_lots(calc)
        if lots:
            balance = await accrue(conn, member_id, tx_id, lots, now, receipt_id)
        elif not calc.points_redeemed:
            balance = await points_balance(conn, member_id, now)
    for payment in payments:
        if payment.method == "cash_account" and member_id is not None:
            await pay_from_cash(conn, member_id, payment.amount_minor, tx_id)
        elif payment.method == "certificate":
            if pay_certificate is None:
                raise RuntimeError("a certificate payment needs a CertificatePayer")
            await pay_certificate(payment.certificate_number, payment.amount_minor, receipt_id)
    if member_id is not None and calc.applied_promotions:
        await conn.execute(q.RECORD_PROMOTION_USES, member_id, list(calc.applied_promotions),
                           calc.receipt_time, calc.store_code)
    return Confirmed(receipt_id, calc.points_to_accrue, calc.points_redeemed, balance)


@dataclass(slots=True)
class Refunded:
    """What a refund or cancellation returned."""

    state: str
    currency: str
    money_minor: int = 0
    points_reversed: int = 0
    points_returned: int = 0
    shortfall: int = 0
    payment_refunds: list[tuple[str, int, str]] = field(default_factory=list)


def _json(value: Any) -> Any:
    """jsonb as Python: SQLAlchemy's connection setup decodes it, a bare one does not."""
    return json.loads(value) if isinstance(value, str) else value


async def _locked_receipt(conn: asyncpg.Connection, receipt_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT d.*, r.state, r.member_id, r.currency FROM receipt_details d "
        "JOIN receipts r ON r.id = d.receipt_id WHERE d.receipt_id = $1 FOR UPDATE OF d, r",
        receipt_id)
    if row is None:
        raise not_found("receipt", str(receipt_id), "RECEIPT_NOT_FOUND")
    return row


async def _reverse_accrual(conn: asyncpg.Connection, row: asyncpg.Record, member_id: uuid.UUID,
                           points: int, reversed_: dict[str, int], tx_id: uuid.UUID,
                           result: Refunded) -> None:
    lots = await conn.fetch(
        "SELECT id, points_initial, points_left, state FROM point_lots "
        "WHERE receipt_id = $1 AND tx_id = $2 ORDER BY id FOR UPDATE",
        row["receipt_id"], row["tx_id"])
    weights = [x["points_initial"] - reversed_.get(str(x["id"]), 0) for x in lots]
    unmet = 0
    for lot, share in zip(lots, allocate(points, weights) if lots else [], strict=True):
        if not share:
            continue
        reversed_[str(lot["id"])] = reversed_.get(str(lot["id"]), 0) + share
        if lot["state"] == "expired":
            continue  # the points are gone already; nothing was spent from them
        take = min(share, lot["points_left"])
        unmet += share - take
        if take:
            await conn.execute("UPDATE point_lots SET points_left = points_left - $2 "
                               "WHERE id = $1", lot["id"], take)
            await conn.execute("INSERT INTO lot_movements (tx_id, lot_id, points) "
                               "VALUES ($1, $2, $3)", tx_id, lot["id"], -take)
            kind = "points" if lot["state"] == "active" else "points_pending"
            await change_balance(conn, await member_account_id(conn, member_id, kind),
                                 -take, tx_id)
            result.points_reversed += take
    if unmet:  # already spent: take the rest from other points, withhold what is missing
        extra = min(unmet, await points_balance(conn, member_id))
        if extra:
            await debit(conn, member_id, extra, tx_id)
            await consume_lots(conn, member_id, extra, tx_id)
            result.points_reversed += extra
        result.shortfall = unmet - extra


async def _return_redeemed(conn: asyncpg.Connection, row: asyncpg.Record, member_id: uuid.UUID,
                           points: int, returned: dict[str, int], tx_id: uuid.UUID,
                           result: Refunded) -> None:
    spent = await conn.fetch(
        "SELECT l.id, -m.points AS spent, l.state FROM lot_movements m "
        "JOIN point_lots l ON l.id = m.lot_id WHERE m.tx_id = $1 AND m.points < 0 "
        "ORDER BY l.id FOR UPDATE OF l", row["tx_id"])
    weights = [x["spent"] - returned.get(str(x["id"]), 0) for x in spent]
    credited = 0
    for lot, share in zip(spent, allocate(points, weights) if spent else [], strict=True):
        if not share:
            continue
        returned[str(lot["id"])] = returned.get(str(lot["id"]), 0) + share
        if lot["state"] != "active":
            continue  # the lot expired meanwhile: these points would have expired too
        await conn.execute("UPDATE point_lots SET points_left = points_left + $2 WHERE id = $1",
                           lot["id"], share)
        await conn.execute("INSERT INTO lot_movements (tx_id, lot_id, points) "
                           "VALUES ($1, $2, $3)", tx_id, lot["id"], share)
        credited += share
    if credited:
        await change_balance(conn, await member_account_id(conn, member_id, "points"),
                             credited, tx_id)
    result.points_returned = credited


async def refund_receipt(
    session: AsyncSession, receipt_id: uuid.UUID, request: list[tuple[int, int]] | None,
    principal: str, now: dt.datetime, *, cancel: bool = False, reason: str = "",
) -> Refunded:
    """Refund lines (None: everything left) or cancel; reverses points and money exactly."""
    conn = await raw_connection(session)
    row = await _locked_receipt(conn, receipt_id)
    if row["state"] == "cancelled":
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "RECEIPT_CANCELLED",
                          "the receipt is cancelled")
    if cancel and row["state"] != "confirmed":
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "RECEIPT_NOT_CANCELLABLE",
                          f"a {row['state'].replace('_', ' ')} receipt cannot be cancelled; "
                          "refund what is left instead")
    state = _json(row["refunded"])
    lines = [SoldLine(n, qty, final, acc, pts) for n, qty, final, acc, pts, _ in
             _json(row["lines"])]
    done = {int(k): v for k, v in state.get("lines", {}).items()}
    plan = plan_refund(lines, done, request)
    tx_id = await new_tx(conn, "cancel" if cancel else "refund", receipt_id=receipt_id,
                         reason=reason, principal=principal)
    result = Refunded("cancelled" if cancel else
                      ("refunded" if plan.complete else "partially_refunded"), row["currency"])
    member_id = row["member_id"]
    reversed_, returned = state.get("reversed", {}), state.get("returned", {})
    if member_id is not None and (plan.accrual_points or plan.points_returned):
        await lock_points_accounts(conn, member_id)
        await expire_due_lots(conn, member_id, now)
        if plan.accrual_points:
            await _reverse_accrual(conn, row, member_id, plan.accrual_points, reversed_, tx_id,
                                   result)
        if plan.points_returned:
            await _return_redeemed(conn, row, member_id, plan.points_returned, returned, tx_id,
                                   result)
    payments = _json(row["payments"])
    paid_back = state.get("payments", [0] * len(payments))
    gross = split_refund(plan.money_minor, [p["a"] - r for p, r in zip(payments, paid_back,
                                                                      strict=True)])
    result.shortfall = min(result.shortfall, plan.money_minor)
    order = sorted(range(len(payments)), key=lambda i: WITHHOLD_ORDER.index(payments[i]["m"]))
    net = withhold(gross, order, result.shortfall)
    for payment, amount in zip(payments, net, strict=True):
        if not amount:
            continue
        if payment["m"] == "cash_account":
            await credit_cash(conn, member_id, amount, tx_id)
        elif payment["m"] == "certificate":
            from server.db.certificate_payments import refund_to_certificate

            await refund_to_certificate(session, number=payment["c"], amount_minor=amount,
                                        receipt_id=receipt_id, now=now)
        result.payment_refunds.append((payment["m"], amount, payment["c"]))
    result.money_minor = sum(net)
    new_state = {"lines": {str(k): v for k, v in plan.refunded_after.items()},
                 "payments": [r + g for r, g in zip(paid_back, gross, strict=True)],
                 "reversed": reversed_, "returned": returned}
    await conn.execute("UPDATE receipt_details SET refunded = $2::jsonb WHERE receipt_id = $1",
                       receipt_id, json.dumps(new_state))
    await conn.execute("UPDATE receipts SET state = $2 WHERE id = $1", receipt_id, result.state)
    return result
