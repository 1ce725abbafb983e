"""The application service of orders: one function per change, whatever door calls it.

Each change runs inside the caller's transaction (the repository, the money and the notifier
share it): lock the order, check the expected version, apply the action
(server/orders/actions.py), price again when lines changed, move points through the ledger,
bump the version, write the history entry, queue the events and the customer's messages.
A refusal anywhere rolls all of it back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from server.certificates.numbers import masked
from server.errors import DomainError, ErrorKind, FieldViolation, invalid, not_found
from server.orders import actions
from server.orders.actions import Effect as Effect
from server.orders.model import HistoryEntry, Line, Order, OrderState


class OrderRepository(Protocol):
    """Orders inside one open transaction."""

    async def lock(self, order_id: uuid.UUID) -> Order | None: ...
    async def add(self, order: Order) -> None: ...  # with its lines
    async def save(self, order: Order) -> None: ...
    async def add_history(self, order_id: uuid.UUID, entry: HistoryEntry) -> None: ...


class OrderMoney(Protocol):
    """Points of an order through the one ledger (same transaction)."""

    async def reserve(self, order: Order, points: int) -> None: ...
    async def release(self, order: Order, points: int) -> None: ...
    async def accrue(self, order: Order) -> None: ...
    async def give_back(self, order: Order, points: int) -> int: ...
    async def take_back(self, order: Order, points: int) -> int: ...
    async def accrue_lots(self, order: Order, lots: list[list[object]]) -> int: ...
    async def settle(self, order: Order, amount: int, method: str,
                     certificate_number: str | None = None) -> None: ...


class OrderPayments(Protocol):
    """The order's payments (same transaction): a cancelled order's are refunded
    (docs/payments.md, Refunds)."""

    async def order_cancelled(self, order: Order, reason: str) -> None: ...


class Notifier(Protocol):
    """Events and customer messages of a change (same transaction, through the outbox)."""

    async def changed(self, order: Order, entry: HistoryEntry,
                      previous: OrderState | None) -> None: ...


#: prices the order's live lines (amounts, points paid, accrual, lots) with at most the
#: given points; returns the points the pricing used
Pricer = Callable[[Order, int], int]


@dataclass(frozen=True, slots=True)
class Ports:
    """What a change needs, built by the door for one transaction."""

    orders: OrderRepository
    money: OrderMoney
    notifier: Notifier
    price: Pricer
    principal: str
    payments: OrderPayments | None = None


async def place(ports: Ports, order: Order, points_to_spend: int) -> Order:
    """A new order (version 1): priced, points reserved, history, events and messages."""
    if points_to_spend and not order.card_number:
        raise invalid("points_to_spend", "spending points needs a customer with a card")
    used = ports.price(order, points_to_spend)
    order.points_requested = points_to_spend
    if used:
        await ports.money.reserve(order, used)
        order.points_reserved = used
    order.version = 1
    await ports.orders.add(order)
    entry = placed_entry(order, ports.principal, order.created_at)
    await ports.orders.add_history(order.id, entry)
    await ports.notifier.changed(order, entry, None)
    return order


def placed_entry(order: Order, principal: str, at: dt.datetime | None = None) -> HistoryEntry:
    """The history entry of a placement (version 1)."""
    return HistoryEntry(1, principal, "place", 0, "", OrderState.PLACED,
                        {"total_minor": order.total, "points_reserved": order.points_reserved,
                         "lines": len(order.lines)}, at)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The changed order and what the action did."""

    order: Order
    effect: Effect
    points_returned: int = 0
    points_reversed: int = 0
    refund_minor: int = 0


async def act(ports: Ports, order_id: uuid.UUID, expected_version: int | None, reason: str,
              action: Callable[[Order], Effect]) -> Outcome:
    """Apply one action to a locked order of the expected version (None: whatever version,
    for a store's answer or the deadline job, which act on their own request's lines)."""
    order = await _locked(ports, order_id, expected_version)
    previous = order.state
    effect = action(order)
    if effect.reprice and order.state is not OrderState.CANCELLED:
        used = ports.price(order, order.points_reserved)
        if used < order.points_reserved:
            await ports.money.release(order, order.points_reserved - used)
            effect.detail["points_released"] = order.points_reserved - used
            order.points_reserved = used
    outcome = await _settle_money(ports, order, previous, effect)
    if order.state is OrderState.CANCELLED and previous is not OrderState.CANCELLED \
            and ports.payments is not None:
        await ports.payments.order_cancelled(order, reason)
    order.version += 1
    await ports.orders.save(order)
    entry = HistoryEntry(order.version, ports.principal, effect.action.value, effect.line_no,
                         reason, order.state, effect.detail)
    await ports.orders.add_history(order.id, entry)
    await ports.notifier.changed(order, entry, previous)
    return outcome


SETTLEMENTS = ("points", "cash_account", "payment", "certificate")


@dataclass(frozen=True, slots=True)
class Exchanged:
    """An exchange: the returns' outcome, the new lines' total and the difference settled
    (positive: the customer paid it; negative: the customer got it back)."""

    outcome: Outcome
    new_total_minor: int
    difference_minor: int


async def exchange(ports: Ports, order_id: uuid.UUID, expected_version: int, reason: str,
                   returns: Sequence[tuple[int, int]],
                   new_lines: Sequence[tuple[str, int, int]], settle: str,
                   certificate_number: str = "") -> Exchanged:
    """Return lines and hand over new ones in one change: the new lines are priced by the
    engine on their own (no points), their points accrue at once, and the difference
    between their total and the returned lines' value is settled from points, the cash
    account or a gift certificate (to them when it is the customer's), or recorded as a
    payment (to take, or to give back) for the shop."""
    if settle not in SETTLEMENTS:
        raise invalid("settlement", "points, cash account, certificate or payment")
    certificate_number = certificate_of(certificate_number)
    if settle == "certificate" and not certificate_number:
        raise invalid("certificate_number", "required for a certificate settlement")
    if settle != "certificate" and certificate_number:
        raise invalid("certificate_number", "only for a certificate settlement")
    order = await _locked(ports, order_id, expected_version)
    previous = order.state
    effect, added = actions.exchange(order, returns, new_lines)
    priced = Order(order.id, order.external_number, order.store_code, order.member_id,
                   order.card_number, OrderState.PLACED, 0, order.language,
                   order.delivery_kind, order.pickup_store_code, None, "", order.currency,
                   lines=added)
    ports.price(priced, 0)
    outcome = await _settle_money(ports, order, previous, effect)
    new_total = sum(x.final_amount for x in added)
    difference = new_total - outcome.refund_minor
    accrued = await ports.money.accrue_lots(order, priced.accrual_lots)
    order.points_accrued += accrued
    if difference:
        await _settle_difference(ports, order, difference, settle, certificate_number)
    effect.detail.update(new_total_minor=new_total, difference_minor=difference,
                         settlement=settle, points_accrued=accrued)
    if certificate_number:  # the history shows its last 4 characters only
        effect.detail["certificate_number"] = masked(certificate_number)
    order.version += 1
    await ports.orders.save(order)
    entry = HistoryEntry(order.version, ports.principal, effect.action.value, 0, reason,
                         order.state, effect.detail)
    await ports.orders.add_history(order.id, entry)
    await ports.notifier.changed(order, entry, previous)
    return Exchanged(outcome, new_total, difference)


def certificate_of(number: str) -> str:
    """A certificate number as the certificates RPCs take it (upper case, no spaces)."""
    return number.strip().upper()


async def _settle_difference(ports: Ports, order: Order, difference: int, settle: str,
                             certificate_number: str) -> None:
    """The difference through the money port; a certificate's refusal (blocked, expired,
    too little on it, unknown...) names the request's certificate_number."""
    if settle != "certificate":
        await ports.money.settle(order, difference, settle)
        return
    try:
        await ports.money.settle(order, difference, settle, certificate_number)
    except DomainError as error:
        if error.violations:
            raise
        raise dataclasses.replace(
            error, violations=[FieldViolation("certificate_number", error.message)]) from None


async def _locked(ports: Ports, order_id: uuid.UUID, expected_version: int | None) -> Order:
    if expected_version is not None and expected_version <= 0:
        raise invalid("expected_version", "required: the version of the order you saw")
    order = await ports.orders.lock(order_id)
    if order is None:
        raise not_found("order", str(order_id), "ORDER_NOT_FOUND")
    if expected_version is not None and order.version != expected_version:
        raise DomainError(
            ErrorKind.ABORTED, "ORDER_VERSION_CONFLICT",
            f"order {order_id} is at version {order.version}, not {expected_version}: "
            "read it again", metadata={"expected": str(expected_version),
                                       "actual": str(order.version)})
    return order


def _share(total: int, part: int, whole: int) -> int:
    """`total` * part / whole rounded down: cumulative shares never exceed the total."""
    return total * part // whole if whole else 0


async def _settle_money(ports: Ports, order: Order, previous: OrderState,
                        effect: Effect) -> Outcome:
    if order.state is OrderState.CANCELLED and previous is not OrderState.CANCELLED:
        if order.points_reserved:
            await ports.money.release(order, order.points_reserved)
            effect.detail["points_released"] = order.points_reserved
            order.points_reserved = 0
        return Outcome(order, effect)
    if order.state is OrderState.COMPLETED and previous is not OrderState.COMPLETED:
        order.points_spent, order.points_reserved = order.points_reserved, 0
        await ports.money.accrue(order)
        effect.detail.update(points_spent=order.points_spent,
                             points_accrued=order.points_accrued)
        return Outcome(order, effect)
    if not effect.returned:
        return Outcome(order, effect)
    give = take = refund = 0
    for line_no, milli in effect.returned:
        line = order.line(line_no)
        assert line is not None
        give += _line_share(line, "points_returned", line.points_paid)
        take += _line_share(line, "points_reversed", line.accrual_points)
        refund += (_share(line.final_amount, line.returned_milli, line.quantity_milli)
                   - _share(line.final_amount, line.returned_milli - milli,
                            line.quantity_milli))
    returned = await ports.money.give_back(order, give) if give else 0
    reversed_ = await ports.money.take_back(order, take) if take else 0
    order.points_returned += returned
    order.points_reversed += reversed_
    effect.detail.update(points_returned=returned, points_reversed=reversed_,
                         refund_minor=refund)
    return Outcome(order, effect, returned, reversed_, refund)


def _line_share(line: Line, attr: str, total: int) -> int:
    """What this return adds to the line's `attr` (points given back or taken back so far)."""
    due = _share(total, line.returned_milli, line.quantity_milli)
    delta = due - int(getattr(line, attr))
    setattr(line, attr, due)
    return delta


def require_reason(reason: str) -> str:
    """A cancellation or a return says why."""
    if not reason.strip():
        raise invalid("reason", "required: say why")
    return reason.strip()


def return_pairs(raw: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(int(n), int(q)) for n, q in raw]
