"""ReceiptService: Confirm, Refund and Cancel write the ledger; CalculateReceipt is mixed in."""

from __future__ import annotations

import datetime as dt
import uuid

from kopilka.v1 import receipts_pb2, receipts_pb2_grpc

from server.api.convert import money, timestamp
from server.api.deps import ApiDeps, acting_terminal, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.scope import acting_store_in_scope, check_receipt_in_scope, snapshot_networks
from server.api.servicers.calculate import CalculateReceiptMixin
from server.api.verification_spend import receipt_spend
from server.db.certificate_payments import pay_with_certificate
from server.db.ledger_fast import confirm_plain_receipt
from server.db.ledger_idempotency import claim as claim_id
from server.db.ledger_idempotency import (
    claim_of,
    request_digest,
    run_once_in_session,
    run_once_pooled,
    store_answer,
)
from server.db.ledger_receipts import (
    Booking,
    Confirmed,
    PaymentIn,
    Refunded,
    confirm_receipt,
    refund_receipt,
)
from server.db.ledger_repo import card_holder
from server.db.verification_uses import consume_verification
from server.errors import Violations, invalid
from server.receipts.calculation import Calculation, decode_calculation

SERVICE = "/kopilka.v1.ReceiptService/"
R = receipts_pb2
METHODS = {
    R.PAYMENT_METHOD_CASH: "cash", R.PAYMENT_METHOD_BANK_CARD: "bank_card",
    R.PAYMENT_METHOD_CASH_ACCOUNT: "cash_account", R.PAYMENT_METHOD_CERTIFICATE: "certificate",
    R.PAYMENT_METHOD_ONLINE: "online",
}
METHOD_TO_PB = {v: k for k, v in METHODS.items()}
STATES = {
    "confirmed": R.RECEIPT_STATE_CONFIRMED,
    "partially_refunded": R.RECEIPT_STATE_PARTIALLY_REFUNDED,
    "refunded": R.RECEIPT_STATE_REFUNDED,
    "cancelled": R.RECEIPT_STATE_CANCELLED,
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_payments(request: receipts_pb2.ConfirmReceiptRequest, calc: Calculation
                   ) -> list[PaymentIn]:
    """Payments as the ledger stores them; every bad one named, and they must add up."""
    errors = Violations()
    payments = []
    for i, p in enumerate(request.payments):
        method = METHODS.get(p.method)
        if method is None:
            errors.add(f"payments[{i}].method", "required: a known payment method")
        if p.amount_minor <= 0:
            errors.add(f"payments[{i}].amount_minor", "must be positive")
        if method == "certificate" and not p.certificate_number:
            errors.add(f"payments[{i}].certificate_number", "required for a certificate")
        if method == "cash_account" and not calc.member_id:
            errors.add(f"payments[{i}].method", "a cash account needs a member's card")
        payments.append(PaymentIn(method or "", p.amount_minor, p.certificate_number))
    errors.raise_if_any()
    paid = sum(p.amount_minor for p in payments)
    if paid != calc.total_minor:
        raise invalid("payments", f"add up to {paid}, the receipt total is {calc.total_minor}")
    return payments


def _refund_pb(result: Refunded) -> list[receipts_pb2.PaymentRefund]:
    return [R.PaymentRefund(method=METHOD_TO_PB[m], amount_minor=a, certificate_number=c)
            for m, a, c in result.payment_refunds]


async def _acting_for(deps: ApiDeps, calc: Calculation) -> None:
    """The caller may book this calculation: its store is in scope, its terminal is the key's."""
    stores = deps.pricing.snapshot.stores
    await acting_store_in_scope(calc.store_code, snapshot_networks(stores), "calculation_id")
    acting_terminal(calc.terminal_id, "calculation_id", may_be_empty=False)


class ReceiptServicer(CalculateReceiptMixin, receipts_pb2_grpc.ReceiptServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def ConfirmReceipt(self, request, context):  # type: ignore[no-untyped-def]
        who = caller()
        claim = claim_of(SERVICE + "ConfirmReceipt", request, who.key_id)
        if not request.calculation_id:
            raise invalid("calculation_id", "required")
        if not request.receipt_number or len(request.receipt_number) > 64:
            raise invalid("receipt_number", "required, at most 64 characters")
        now = _now()
        calc = decode_calculation(self.deps.signer, request.calculation_id, now)
        await _acting_for(self.deps, calc)  # a till confirms its own receipts
        payments = parse_payments(request, calc)
        spends = calc.points_redeemed > 0 or any(p.method == "cash_account" for p in payments)
        # a retry under a new request id must ask the same: the token is not part of that
        booking = Booking(claim, request_digest(request, "request_id", "verification_token"),
                          who.label)
        number, answers = request.receipt_number, R.ConfirmReceiptResponse

        def answer(done: Confirmed) -> receipts_pb2.ConfirmReceiptResponse:
            if done.first_answer is not None:
                return answers.FromString(done.first_answer)
            return answers(
                receipt_id=str(done.receipt_id), state=R.RECEIPT_STATE_CONFIRMED,
                points_accrued=done.points_accrued, points_redeemed=done.points_redeemed,
                points_balance=done.points_balance, confirm_time=timestamp(now))

        async def spending(conn, pay_certificate=None):  # type: ignore[no-untyped-def]
            if not await claim_id(conn, claim):
                return None
            if spends and calc.card_number:
                _, needs_token = await card_holder(conn, calc.card_number)
                if needs_token:
                    await consume_verification(conn, self.deps.signer,
                                               request.verification_token,
                                               receipt_spend(calc, payments),
                                               claim.request_id, now)
            reply = answer(await confirm_receipt(conn, calc, number, payments, booking, now,
                                                 pay_certificate))
            await store_answer(conn, claim, reply)
            return reply

        if any(p.method == "certificate" for p in payments):  # rare: needs a SQLAlchemy session
            async def with_session(session, conn):  # type: ignore[no-untyped-def]
                async def pay(certificate: str, amount: int, receipt_id) -> None:  # type: ignore[no-untyped-def]
                    await pay_with_certificate(
                        session, number=certificate, amount_minor=amount, receipt_id=receipt_id,
                        store_code=calc.store_code, currency=calc.currency, now=now)

                return await spending(conn, pay)

            return await run_once_in_session(self.deps.db, claim, answers, with_session)
        pool = self.deps.ledger_pool
        if spends:
            return await run_once_pooled(pool, claim, answers, spending)
        receipt_id = uuid.uuid4()  # the hot path: one call, the balance filled in by it
        return await confirm_plain_receipt(
            pool, booking, calc, number, payments, now, receipt_id,
            answers(receipt_id=str(receipt_id), state=R.RECEIPT_STATE_CONFIRMED,
                    points_accrued=calc.points_to_accrue, points_redeemed=calc.points_redeemed,
                    confirm_time=timestamp(now)))

    async def RefundReceipt(self, request, context):  # type: ignore[no-untyped-def]
        receipt_id = parse_uuid(request.receipt_id, "receipt_id")
        lines = [(x.line_no, x.quantity_milli) for x in request.lines] or None
        principal = caller().label

        async def work(session) -> receipts_pb2.RefundReceiptResponse:  # type: ignore[no-untyped-def]
            await check_receipt_in_scope(session, receipt_id)
            result = await refund_receipt(session, receipt_id, lines, principal, _now())
            return R.RefundReceiptResponse(
                refund_total=money(result.money_minor, result.currency),
                points_reversed=result.points_reversed, points_returned=result.points_returned,
                state=STATES[result.state],
                points_shortfall=money(result.shortfall, result.currency),
                payment_refunds=_refund_pb(result))

        return await run_once(self.deps.db, SERVICE + "RefundReceipt", request,
                              R.RefundReceiptResponse, work)

    async def CancelReceipt(self, request, context):  # type: ignore[no-untyped-def]
        receipt_id = parse_uuid(request.receipt_id, "receipt_id")
        if not request.reason.strip():
            raise invalid("reason", "required")
        principal = caller().label

        async def work(session) -> receipts_pb2.CancelReceiptResponse:  # type: ignore[no-untyped-def]
            await check_receipt_in_scope(session, receipt_id)
            result = await refund_receipt(session, receipt_id, None, principal, _now(),
                                          cancel=True, reason=request.reason.strip())
            return R.CancelReceiptResponse(
                state=STATES[result.state], points_reversed=result.points_reversed,
                points_returned=result.points_returned, payment_refunds=_refund_pb(result))

        return await run_once(self.deps.db, SERVICE + "CancelReceipt", request,
                              R.CancelReceiptResponse, work)
