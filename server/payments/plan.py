"""How an order is paid: its amount split per legal entity, each share paid by one or more
methods adding up to the kopeck, and how a provider's verified notice moves a payment.

Pure rules (no SQL, no gRPC): server/db/payments/ stores and charges, the servicer
translates. Ledger methods (certificate, points, cash account) are charged when the plan is
set, through the one ledger; card and installments wait for the provider; cash on delivery
waits for the parcel.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from server.errors import DomainError, ErrorKind, Violations
from server.plugin_api import PaymentState as Notice


class Method(StrEnum):
    CERTIFICATE = "certificate"
    POINTS = "points"
    CASH_ACCOUNT = "cash_account"
    CARD = "card"
    INSTALLMENTS = "installments"
    CASH_ON_DELIVERY = "cash_on_delivery"


LEDGER_METHODS = frozenset({Method.CERTIFICATE, Method.POINTS, Method.CASH_ACCOUNT})
PROVIDER_METHODS = frozenset({Method.CARD, Method.INSTALLMENTS})


class State(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REVERSED = "reversed"
    CANCELLED = "cancelled"  # not paid when its order was cancelled (a late success refunds)


@dataclass(slots=True)
class Payment:
    id: uuid.UUID
    order_id: uuid.UUID
    entity_code: str
    method: Method
    amount_minor: int
    currency: str
    state: State = State.PENDING
    certificate_number: str | None = None
    ledger_tx_id: uuid.UUID | None = None
    provider: str = ""
    provider_order_id: str | None = None
    provider_payment_id: str | None = None
    provider_status: str = ""
    refunded_minor: int = 0


@dataclass(frozen=True, slots=True)
class NewPayment:
    method: Method | None
    amount_minor: int
    entity_code: str
    certificate_number: str


def shares(lines: Sequence[tuple[str, int]], product_entity: Mapping[str, str],
           store_entity: str | None, store_code: str) -> dict[str, int]:
    """(sku, final amount) of live lines -> amount per entity: the product's entity, else
    the order's store's; a line of neither is refused (the order cannot be invoiced)."""
    out: dict[str, int] = {}
    for sku, amount in lines:
        entity = product_entity.get(sku) or store_entity
        if entity is None:
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION, "ENTITY_NOT_ASSIGNED",
                f"neither product {sku} nor store {store_code} belongs to a legal entity: "
                "AssignToEntity first", metadata={"sku": sku, "store_code": store_code})
        out[entity] = out.get(entity, 0) + amount
    return out


def check(new: Sequence[NewPayment], due: Mapping[str, int], has_card: bool) -> list[NewPayment]:
    """The payments with their entity filled in, or INVALID_ARGUMENT naming the field: per
    entity they must add up to its share exactly."""
    errors = Violations()
    if not new:
        errors.add("payments", "at least one payment")
    out = []
    paid: dict[str, int] = {}
    only = next(iter(due)) if len(due) == 1 else None
    for i, p in enumerate(new):
        path = f"payments[{i}]"
        if p.method is None:
            errors.add(f"{path}.method", "required")
        if p.amount_minor <= 0:
            errors.add(f"{path}.amount_minor", "must be > 0")
        entity = p.entity_code or only
        if entity is None:
            errors.add(f"{path}.entity_code", f"required: the order is sold by "
                       f"{', '.join(sorted(due))}")
        elif entity not in due:
            errors.add(f"{path}.entity_code", f"{entity} sells nothing in this order "
                       f"(entities: {', '.join(sorted(due))})")
        if p.method is Method.CERTIFICATE and not p.certificate_number:
            errors.add(f"{path}.certificate_number", "required for a certificate payment")
        if p.method is not Method.CERTIFICATE and p.certificate_number:
            errors.add(f"{path}.certificate_number", "only for a certificate payment")
        if p.method in (Method.POINTS, Method.CASH_ACCOUNT) and not has_card:
            errors.add(f"{path}.method", "points and the cash account need a customer card")
        if entity is not None:
            paid[entity] = paid.get(entity, 0) + max(p.amount_minor, 0)
            out.append(NewPayment(p.method, p.amount_minor, entity, p.certificate_number))
    if not errors:
        for entity, amount in sorted(due.items()):
            if paid.get(entity, 0) != amount:
                errors.add("payments", f"payments of {entity} add up to "
                           f"{paid.get(entity, 0)}, its share of the order is {amount}")
    errors.raise_if_any()
    return out


#: where a verified notice may move a payment; anything else is ignored (out of order)
MOVES: dict[State, dict[Notice, State]] = {
    State.PENDING: {Notice.SUCCEEDED: State.PAID, Notice.FAILED: State.FAILED,
                    Notice.REVERSED: State.REVERSED},
    State.FAILED: {Notice.SUCCEEDED: State.PAID},  # a retried checkout was paid after all
    State.PAID: {Notice.REVERSED: State.REVERSED},
    State.REVERSED: {},
    # a late success is taken (and refunded at once: server/features/refunds.py)
    State.CANCELLED: {Notice.SUCCEEDED: State.PAID},
}


def move(payment: Payment, notice: Notice) -> State | None:
    """The payment's next state for a notice, or None: a duplicate, a late "pending" or
    a "failure" after the money arrived changes nothing."""
    return MOVES[payment.state].get(notice)


def overall(payments: Sequence[Payment]) -> str:
    """The order's payment state in one word."""
    if not payments:
        return "unpaid"
    states = {p.state for p in payments}
    if states == {State.PAID}:
        return "paid"
    if State.REVERSED in states and states <= {State.REVERSED, State.PAID}:
        return "reversed"
    if State.CANCELLED in states and states <= {State.CANCELLED, State.REVERSED}:
        return "cancelled"
    if State.FAILED in states:
        return "failed"
    return "pending"
