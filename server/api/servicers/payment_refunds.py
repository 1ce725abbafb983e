"""RefundPayment's door: the refund intent is written in the run_once transaction (the payment
locked, the amount reserved), sent to the provider after commit (server/features/refunds.py),
and answered as it is then. A retry with the same request_id finds the same intent and never
sends it again; a refund the provider refused forgets its request_id (nothing was refunded),
so the same id may be tried again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from kopilka.v1 import payments_pb2
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.servicers.payments_pb import payment_pb, refund_pb
from server.db.payments import refunds as refund_sql
from server.db.payments.repo import SqlPayments
from server.errors import DomainError, ErrorKind, invalid
from server.features import refunds as refund_flow
from server.orders.model import Order
from server.payments import plan
from server.payments import refunds as rules
from server.payments.plan import Payment
from server.payments.refunds import Origin, RefundingProvider, RefundState

PB = payments_pb2
METHOD = "/kopilka.v1.PaymentService/RefundPayment"
FindPayment = Callable[[SqlPayments, AsyncSession, str], Awaitable[tuple[Payment, Order]]]


def refunder(deps: ApiDeps, provider_name: str) -> RefundingProvider:
    """The provider that refunds card and installment payments, or FAILED_PRECONDITION."""
    provider = refund_flow.refunder(deps.plugins.payment_providers().get(provider_name))
    if provider is None:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "PAYMENT_PROVIDER_NOT_CONFIGURED",
                          "the payment provider cannot refund")
    return provider


async def refund_payment(deps: ApiDeps, request: PB.RefundPaymentRequest,
                         find: FindPayment, provider_name: str) -> PB.RefundPaymentResponse:
    if request.amount_minor < 0:
        raise invalid("amount_minor", "must be >= 0 (0: all that is left)")
    reason = request.reason.strip()
    if not reason:
        raise invalid("reason", "required: say why")
    request_id = parse_uuid(request.request_id, "request_id")
    now = deps.clock()
    who = caller()

    async def work(session: AsyncSession) -> PB.RefundPaymentResponse:
        pay = await SqlPayments.of(session)
        payment, order = await find(pay, session, request.payment_id)
        held = (await refund_sql.reserved(pay.conn, [payment.id])).get(payment.id, 0)
        amount = rules.check_request(payment, request.amount_minor, held)
        if payment.method in plan.PROVIDER_METHODS:
            refunder(deps, provider_name)  # refused before anything is written
        r = await refund_sql.open_refund(session, pay, payment, amount, Origin.REFUND, reason,
                                         order.member_id, who.label, now, who.key_id,
                                         request_id)
        return PB.RefundPaymentResponse(payment=payment_pb(payment), refund=refund_pb(r))

    first = await run_once(deps.db, METHOD, request, PB.RefundPaymentResponse, work)
    refund_id = uuid.UUID(first.refund.refund_id)
    r = await refund_sql_state(deps, refund_id)
    if r.state is RefundState.PENDING:
        r = await refund_flow.send(deps.db, refund_flow.refunder(
            deps.plugins.payment_providers().get(provider_name)), refund_id, now)
    if r.state is RefundState.FAILED:
        raise DomainError(ErrorKind.UNAVAILABLE, "PAYMENT_PROVIDER_FAILED",
                          f"the refund was not made: {r.provider_status}",
                          metadata={"provider_status": r.provider_status})
    async with deps.db.transaction() as session:
        payment = await (await SqlPayments.of(session)).payment(r.payment_id)
    assert payment is not None
    return PB.RefundPaymentResponse(payment=payment_pb(payment), refund=refund_pb(r))


async def refund_sql_state(deps: ApiDeps, refund_id: uuid.UUID) -> rules.Refund:
    async with deps.db.transaction() as session:
        r = await refund_sql.get((await SqlPayments.of(session)).conn, refund_id)
    assert r is not None
    return r
