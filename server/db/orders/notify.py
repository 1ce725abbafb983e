"""Events and customer messages of an order change, queued in the change's transaction.

Every change writes a domain event (`web_order.<state>` when the state changed, else
`web_order.changed`; the payload is documented in docs/orders.md); a change of state the
customer cares about also queues an SMS (or an e-mail) from server/orders/notifications.py.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Member
from server.db.outbox.repo import enqueue_event, enqueue_message
from server.db.verification.repo import SMS_CHANNEL
from server.events.schema import NewEvent, new_event
from server.orders.model import HistoryEntry, Order, OrderState
from server.orders.notifications import render

EMAIL_CHANNEL = "email"


def event_payload(order: Order, entry: HistoryEntry,
                  previous: OrderState | None) -> dict[str, object]:
    """The event's payload (version 1), ids and amounts only: no personal data."""
    return {"order_id": str(order.id), "external_number": order.external_number,
            "store_code": order.store_code, "member_id": str(order.member_id),
            "version": entry.version, "action": entry.action, "line_no": entry.line_no,
            "state": order.state.value, "previous_state": previous.value if previous else None,
            "total_minor": order.total, "currency": order.currency,
            "points_reserved": order.points_reserved, "points_spent": order.points_spent,
            "points_accrued": order.points_accrued}


def order_event(order: Order, entry: HistoryEntry, previous: OrderState | None) -> NewEvent:
    """The change's domain event: `web_order.<state>` when the state moved, else
    `web_order.changed` (docs/events.md)."""
    moved = previous is not order.state
    return new_event(f"web_order.{order.state.value}" if moved else "web_order.changed",
                     **event_payload(order, entry, previous))


def customer_message(order: Order) -> tuple[str, str, str]:
    """(subject, text, reference) of what the customer is told of the order's new state."""
    subject, text = render(order, order.language)
    return subject, text, f"web_order:{order.id}:{order.state.value}"


class SqlNotifier:
    """Notifier (server/orders/service.py) on the change's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.mailings: list[uuid.UUID] = []

    async def changed(self, order: Order, entry: HistoryEntry,
                      previous: OrderState | None) -> None:
        event = order_event(order, entry, previous)
        await enqueue_event(self.session, event.type, event.payload, event.version)
        if previous is not order.state:
            await self.send(order, *customer_message(order))

    async def send(self, order: Order, subject: str, text: str, reference: str) -> None:
        """SMS to the member's phone, else e-mail to their address (else nothing)."""
        row = (await self.session.execute(
            select(Member.phone, Member.email).where(Member.id == order.member_id))).one()
        if row.phone:
            self.mailings.append(await enqueue_message(
                self.session, channel=SMS_CHANNEL, recipient=row.phone, text=text,
                reference=reference))
        elif row.email:
            self.mailings.append(await enqueue_message(
                self.session, channel=EMAIL_CHANNEL, recipient=row.email, text=text,
                subject=subject, reference=reference))
