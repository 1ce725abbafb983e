"""Sending refund intents to the provider, across transactions (docs/payments.md).

Every door that refunds a provider payment (RefundPayment, CancelOrder and the other ways an
order is cancelled, a late payment of a cancelled checkout) writes the intent in its own
transaction (server/db/payments/refunds.py) and then calls `send` after commit:

1. claim the intent's one provider call (attempts 0 -> 1) and commit;
2. call the provider, outside any transaction;
3. record the outcome in a new transaction: done, failed, or left pending when the provider
   could not say (a timeout: the money may have gone back).

`settle` is the jobs pass's safety net: intents never sent are sent, intents sent but never
recorded (a crash between 2 and 3) are settled from the provider's status answer, never by
calling refund again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING

from server.db.ledger.repo import raw_connection
from server.db.payments import refunds as refund_sql
from server.db.payments.repo import SqlPayments
from server.payments import refunds as rules
from server.payments.refunds import Refund, RefundingProvider, RefundState

if TYPE_CHECKING:
    from server.db.database import Database

log = logging.getLogger("kopilka.payments")
#: an intent sent this long ago and not recorded is settled from the provider's status
SETTLE_AFTER = dt.timedelta(minutes=5)
#: an intent written this long ago and never sent is sent by the job (its door crashed)
UNSENT_AFTER = dt.timedelta(minutes=1)
BATCH = 100


def refunder(provider: object) -> RefundingProvider | None:
    return provider if isinstance(provider, RefundingProvider) else None


async def send(db: Database, provider: RefundingProvider | None, refund_id: uuid.UUID,
               now: dt.datetime) -> Refund:
    """Send one pending intent, at most once ever; the intent as it is afterwards."""
    async with db.transaction() as session:
        conn = await raw_connection(session)
        claimed = await refund_sql.claim_attempt(conn, refund_id, now) \
            if provider is not None else None
        current = claimed or await refund_sql.get(conn, refund_id)
        payment = await SqlPayments(session, conn).payment(current.payment_id) \
            if current is not None else None
    assert current is not None and payment is not None
    if claimed is None or provider is None:  # sent already, settled, or no provider
        return current
    assert payment.provider_order_id is not None
    try:
        status = await provider.refund(payment.provider_order_id, claimed.amount_minor,
                                       payment.currency)
    except (RuntimeError, ValueError) as error:  # LiqPayError: refused or unreachable
        if getattr(error, "retryable", False):  # the outcome is unknown: the job settles it
            log.warning("refund outcome unknown", extra={"refund_id": str(refund_id)})
            return claimed
        code = str(getattr(error, "code", "") or "error")
        async with db.transaction() as session:
            return await refund_sql.record_outcome(session, refund_id, False, code, now,
                                                   "provider")
    async with db.transaction() as session:
        return await refund_sql.record_outcome(session, refund_id, True, status, now,
                                               "provider")


async def send_order(db: Database, provider: RefundingProvider | None, order_id: uuid.UUID,
                     now: dt.datetime) -> list[Refund]:
    """Send the order's intents never sent (after a cancel committed); a failure is left
    to the job and logged."""
    if provider is None:
        return []
    async with db.transaction() as session:
        ids = await refund_sql.unattempted(await raw_connection(session), order_id=order_id)
    out = []
    for refund_id in ids:
        try:
            out.append(await send(db, provider, refund_id, now))
        except Exception:  # the job sends or settles it; the cancel has committed
            log.exception("refund not sent", extra={"refund_id": str(refund_id)})
    return out


async def settle(db: Database, provider: RefundingProvider, now: dt.datetime) -> int:
    """The jobs pass: send intents left unsent, settle those sent but never recorded.
    Returns how many intents were sent or settled."""
    async with db.transaction() as session:
        conn = await raw_connection(session)
        unsent = await refund_sql.unattempted(conn, created_before=now - UNSENT_AFTER,
                                              limit=BATCH)
        unknown = await refund_sql.unknown(conn, now - SETTLE_AFTER, BATCH)
    done = 0
    for refund_id in unsent:
        done += (await send(db, provider, refund_id, now)).attempts > 0
    for payment_id in unknown:
        done += await _settle_payment(db, provider, payment_id, now)
    return done


async def _settle_payment(db: Database, provider: RefundingProvider, payment_id: uuid.UUID,
                          now: dt.datetime) -> int:
    async with db.transaction() as session:
        payment = await (await SqlPayments.of(session)).payment(payment_id)
    assert payment is not None and payment.provider_order_id is not None
    try:
        status, refunded = await provider.refund_status(payment.provider_order_id)
    except (RuntimeError, ValueError):  # unreachable or refused: the next pass asks again
        log.warning("refund status failed", extra={"payment_id": str(payment_id)})
        return 0
    async with db.transaction() as session:
        pay = await SqlPayments.of(session)
        locked = await pay.payment(payment_id, for_update=True)
        assert locked is not None
        sent = await refund_sql.pending_of_payment(pay.conn, payment_id)
        if any(r.attempted_at is None or r.attempted_at >= now - SETTLE_AFTER for r in sent):
            return 0  # one may be in flight: settle when all are old enough
        verdicts = rules.settle_unknown(sent, locked.refunded_minor, status, refunded)
        if verdicts is None:
            return 0
        for r, ok in verdicts:
            settled = await refund_sql.record_outcome(session, r.id, ok, status, now, "status")
            if settled.state is RefundState.FAILED:
                log.warning("refund never reached the provider",
                            extra={"refund_id": str(r.id)})
        return len(verdicts)
