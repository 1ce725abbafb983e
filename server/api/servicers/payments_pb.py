"""Protobuf shapes of order payments and their refunds (PaymentService)."""

from __future__ import annotations

from kopilka.v1 import payments_pb2

from server.payments.plan import Method, Payment, State
from server.payments.refunds import Refund, RefundState

PB = payments_pb2
METHODS = {PB.ORDER_PAYMENT_METHOD_CERTIFICATE: Method.CERTIFICATE,
           PB.ORDER_PAYMENT_METHOD_POINTS: Method.POINTS,
           PB.ORDER_PAYMENT_METHOD_CASH_ACCOUNT: Method.CASH_ACCOUNT,
           PB.ORDER_PAYMENT_METHOD_CARD: Method.CARD,
           PB.ORDER_PAYMENT_METHOD_INSTALLMENTS: Method.INSTALLMENTS,
           PB.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY: Method.CASH_ON_DELIVERY}
METHOD_TO_PB = {v: k for k, v in METHODS.items()}
STATE_TO_PB = {State.PENDING: PB.PAYMENT_STATE_PENDING, State.PAID: PB.PAYMENT_STATE_PAID,
               State.FAILED: PB.PAYMENT_STATE_FAILED, State.REVERSED: PB.PAYMENT_STATE_REVERSED,
               State.CANCELLED: PB.PAYMENT_STATE_CANCELLED}
REFUND_STATE_TO_PB = {RefundState.PENDING: PB.REFUND_STATE_PENDING,
                      RefundState.DONE: PB.REFUND_STATE_DONE,
                      RefundState.FAILED: PB.REFUND_STATE_FAILED}


def payment_pb(p: Payment) -> PB.OrderPayment:
    return PB.OrderPayment(payment_id=str(p.id), entity_code=p.entity_code,
                      method=METHOD_TO_PB[p.method], amount_minor=p.amount_minor,
                      currency=p.currency, state=STATE_TO_PB[p.state],
                      provider_status=p.provider_status,
                      provider_order_id=p.provider_order_id or "",
                      refunded_minor=p.refunded_minor,
                      certificate_number=p.certificate_number or "")


def refund_pb(r: Refund) -> PB.OrderPaymentRefund:
    return PB.OrderPaymentRefund(refund_id=str(r.id), amount_minor=r.amount_minor,
                                 state=REFUND_STATE_TO_PB[r.state],
                                 provider_status=r.provider_status)
