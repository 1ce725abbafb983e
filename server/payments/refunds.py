"""Refunds of order payments: the pure rules (no SQL, no gRPC). docs/payments.md has the
state machine.

A refund is an intent written before any money moves. Ledger payments (points, cash account,
certificate) are given back in the intent's own transaction, so their intent is born done.
Provider payments (card, installments) are refunded at the provider after the intent
commits, exactly once (`attempts` 0 -> 1 is claimed in a committed transaction first), and
the outcome is recorded in a second transaction:

    pending --provider said refunded--> done     (refunded_minor += amount)
    pending --provider refused--------> failed   (the reservation released)
    pending --outcome unknown---------> pending  (the job asks the provider's status)

While pending, the amount is reserved: what is left to refund is the payment's amount less
what was refunded and less every pending intent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from server.errors import DomainError, ErrorKind, invalid
from server.payments.plan import LEDGER_METHODS, PROVIDER_METHODS, Method, Payment, State


class RefundState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Origin(StrEnum):
    REFUND = "refund"  # RefundPayment
    CANCEL = "cancel"  # the order was cancelled
    LATE_PAYMENT = "late_payment"  # a cancelled checkout was paid after all


@dataclass(slots=True)
class Refund:
    id: uuid.UUID
    payment_id: uuid.UUID
    order_id: uuid.UUID
    origin: Origin
    amount_minor: int
    reason: str
    state: RefundState = RefundState.PENDING
    provider_status: str = ""
    attempts: int = 0
    principal_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    attempted_at: dt.datetime | None = None
    created_at: dt.datetime | None = None


@runtime_checkable
class RefundingProvider(Protocol):
    """A provider refunding paid payments through its API (LiqPay ``action=refund``)."""

    async def refund(self, order_id: str, amount_minor: int, currency: str) -> str:
        """Refund; the provider's status word, or raise (``retryable`` true: the outcome
        is unknown, e.g. a timeout)."""

    async def refund_status(self, order_id: str) -> tuple[str, int]:
        """(the payment's status word, the total refunded so far in minor units)."""


def left_to_refund(payment: Payment, reserved: int) -> int:
    """What may still be refunded: not refunded yet and not reserved by a pending intent."""
    return payment.amount_minor - payment.refunded_minor - reserved


def check_request(payment: Payment, requested: int, reserved: int) -> int:
    """The amount a RefundPayment may refund (0 asks for all that is left), or an error
    naming the field; nothing is reserved by a refused request."""
    if payment.state is not State.PAID:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "PAYMENT_STATE_CONFLICT",
                          f"payment {payment.id} is {payment.state.value}: only a paid "
                          "payment is refunded", metadata={"state": payment.state.value})
    if payment.method is Method.CASH_ON_DELIVERY:
        raise invalid("payment_id", "cash on delivery is refunded by the shop itself")
    left = left_to_refund(payment, reserved)
    amount = requested or left
    if amount > left or amount <= 0:
        raise invalid("amount_minor", f"at most {left} is left to refund"
                      + (f" ({reserved} is being refunded now)" if reserved else ""))
    return amount


def record_done(payment: Payment, amount: int) -> None:
    """A refund done: counted on the payment, which is reversed once all came back."""
    payment.refunded_minor += amount
    if payment.refunded_minor >= payment.amount_minor:
        payment.refunded_minor = payment.amount_minor
        payment.state = State.REVERSED


@dataclass(frozen=True, slots=True)
class CancelStep:
    """What cancelling the order does to one payment."""

    payment: Payment
    give_back: int = 0  # a ledger payment: this much back to its source now
    refund: int = 0  # a provider payment: an intent for this much
    cancel: bool = False  # not paid: the checkout is cancelled


def cancel_steps(payments: Sequence[Payment], reserved: dict[uuid.UUID, int]
                 ) -> list[CancelStep]:
    """Every paid payment refunded of what is left, every unpaid one cancelled."""
    steps = []
    for p in payments:
        left = left_to_refund(p, reserved.get(p.id, 0))
        if p.state is State.PAID and left > 0 and p.method in LEDGER_METHODS:
            steps.append(CancelStep(p, give_back=left))
        elif p.state is State.PAID and left > 0 and p.method in PROVIDER_METHODS:
            steps.append(CancelStep(p, refund=left))
        elif p.state is State.PENDING or (p.state is State.FAILED
                                          and p.method in PROVIDER_METHODS):
            # (a failed checkout could get a new link; a refused cash on delivery stays)
            steps.append(CancelStep(p, cancel=True))
    return steps


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: the provider's words after which its refunded total can be trusted
SETTLED_STATUSES = frozenset({"success", "reversed", "sandbox"})


def settle_unknown(unknown: Sequence[Refund], recorded: int, provider_status: str,
                   provider_refunded: int) -> list[tuple[Refund, bool]] | None:
    """Intents whose provider call may or may not have happened, settled from what the
    provider reports: oldest first, each is done while the provider's refunded total
    exceeds what we have recorded by its amount, else failed (the provider never refunded
    it). None while the provider's word is not final (ask again later)."""
    if provider_status not in SETTLED_STATUSES:
        return None
    extra = provider_refunded - recorded
    out = []
    for r in sorted(unknown, key=lambda r: (r.created_at or EPOCH, str(r.id))):
        done = r.amount_minor <= extra
        extra -= r.amount_minor if done else 0
        out.append((r, done))
    return out
