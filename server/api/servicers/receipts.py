"""ReceiptService: Confirm, Refund and Cancel write the ledger; CalculateReceipt is mixed in."""

from __future__ import annotations

import datetime as dt

from kopilka.v1 import receipts_pb2, receipts_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.calculation_token import decode_calculation
from server.api.context import Context
from server.api.convert import money, timestamp
from server.api.deps import ApiDeps, acting_terminal, caller
from server.api.idempotency import claim_of, parse_uuid, request_digest, run_once
from server.api.scope import acting_store_in_scope, check_receipt_in_scope, snapshot_networks
from server.api.servicers.calculate import CalculateReceiptMixin
from server.api.verification_spend import calling_key
from server.db.ledger.refunds import Refunded, refund_receipt
from server.errors import Violations, invalid
from server.ledger.model import Legacy, PaymentIn
from server.receipts.calculation import Calculation

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

    async def ConfirmReceipt(
            self, request: receipts_pb2.ConfirmReceiptRequest, context: Context
    ) -> receipts_pb2.ConfirmReceiptResponse:
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
        # a retry under a new request id must ask the same: the token is not part of that
        content = request_digest(request, "request_id", "verification_token")
        done = await self.deps.ledger.confirm_receipt(
            claim, calc, request.receipt_number, payments, content, who.label,
            request.verification_token, calling_key(), now)
        if isinstance(done, Legacy):
            return R.ConfirmReceiptResponse.FromString(done.answer)
        return R.ConfirmReceiptResponse(
            receipt_id=done.receipt_id, state=R.RECEIPT_STATE_CONFIRMED,
            points_accrued=done.points_accrued, points_redeemed=done.points_redeemed,
            points_balance=done.points_balance, confirm_time=timestamp(done.confirm_time))

    async def RefundReceipt(
            self, request: receipts_pb2.RefundReceiptRequest, context: Context
    ) -> receipts_pb2.RefundReceiptResponse:
        receipt_id = parse_uuid(request.receipt_id, "receipt_id")
        lines = [(x.line_no, x.quantity_milli) for x in request.lines] or None
        principal = caller().label

        async def work(session: AsyncSession) -> receipts_pb2.RefundReceiptResponse:
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

    async def CancelReceipt(
            self, request: receipts_pb2.CancelReceiptRequest, context: Context
    ) -> receipts_pb2.CancelReceiptResponse:
        receipt_id = parse_uuid(request.receipt_id, "receipt_id")
        if not request.reason.strip():
            raise invalid("reason", "required")
        principal = caller().label

        async def work(session: AsyncSession) -> receipts_pb2.CancelReceiptResponse:
            await check_receipt_in_scope(session, receipt_id)
            result = await refund_receipt(session, receipt_id, None, principal, _now(),
                                          cancel=True, reason=request.reason.strip())
            return R.CancelReceiptResponse(
                state=STATES[result.state], points_reversed=result.points_reversed,
                points_returned=result.points_returned, payment_refunds=_refund_pb(result),
                points_shortfall=money(result.shortfall, result.currency))

        return await run_once(self.deps.db, SERVICE + "CancelReceipt", request,
                              R.CancelReceiptResponse, work)
