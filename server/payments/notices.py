"""Applying a provider's verified payment notice (callback or status answer) to a payment:
one application service for the HTTP callback and the status job alike.

Duplicates, replays and out-of-order notices are harmless by construction: a replay is
recognised by the digest of its signed data, and a notice moves a payment only along
server/payments/plan.py MOVES (a late "failure" after "success" changes nothing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from server.payments.plan import Payment, State, move
from server.plugin_api import PaymentNotice


class Outcome(StrEnum):
    MOVED = "moved"
    UNCHANGED = "unchanged"  # duplicate or out of order: acknowledged, nothing changed
    REPLAYED = "replayed"
    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"


class NoticeStore(Protocol):
    async def by_provider_order(self, provider_order_id: str) -> Payment | None: ...
    async def remember_callback(self, digest: str, provider: str, provider_order_id: str,
                                status: str, outcome: str) -> bool: ...
    async def save(self, p: Payment) -> None: ...


class Audit(Protocol):
    async def __call__(self, payment: Payment, before: State, via: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Applied:
    outcome: Outcome
    payment_id: uuid.UUID | None = None
    state: State | None = None
    previous: State | None = None  # where a moved payment was (CANCELLED: refund it)


async def apply(store: NoticeStore, audit: Audit, notice: PaymentNotice, via: str,
                digest: str | None = None) -> Applied:
    """Move the payment the notice names; `digest` (callbacks only) detects replays."""
    payment = await store.by_provider_order(notice.order_id)
    if payment is None:
        return Applied(Outcome.UNKNOWN_ORDER)
    if notice.amount_minor is not None and (notice.amount_minor != payment.amount_minor
                                            or notice.currency != payment.currency):
        return Applied(Outcome.AMOUNT_MISMATCH, payment.id, payment.state)
    target = move(payment, notice.state)
    outcome = Outcome.MOVED if target is not None else Outcome.UNCHANGED
    if digest is not None and not await store.remember_callback(
            digest, notice.provider, notice.order_id, notice.state.value, outcome.value):
        return Applied(Outcome.REPLAYED, payment.id, payment.state)
    if target is None:
        return Applied(outcome, payment.id, payment.state)
    before = payment.state
    payment.state = target
    payment.provider_status = notice.state.value
    payment.provider_payment_id = notice.provider_payment_id or payment.provider_payment_id
    await store.save(payment)
    await audit(payment, before, via)
    return Applied(outcome, payment.id, target, before)
