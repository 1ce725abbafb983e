"""A placement in one database call (kopilka_place_order: migrations 0034, 0037, 0044).

The common placement (a card whose member the pricing read found; pickup, or a new delivery
address) needs nothing from the database that the call cannot check itself. So the
application service (server/orders/service.py `place`) runs on ports that only collect
what it writes: the order with its lines and new address, the history entry, the points to
reserve, the event and the customer's message; `write` then sends it all with the audit rows
and the stored answer as one statement on the hot-path pool.

Whatever the call would have to refuse (a request id used before, a card that changed hands,
an unknown pickup store, points short, a card that requires an SMS verification without a
token for the spend or with one used already, the ledger's or a column's refusal) writes
nothing and `write` answers False: the door then places the order the general way, which
answers each of those exactly as it always did. A token that does not cover the spend
(forged, expired, another card, operation, amount or key) raises Undecided before anything
is sent, for the same reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from prometheus_client import Counter

from server.db.audit.repo import Change, append_arguments
from server.db.orders.notify import customer_message, order_event
from server.db.outbox.repo import event_row
from server.errors import DomainError
from server.ledger.model import Claim
from server.orders.model import HistoryEntry, Order, OrderState
from server.verification.model import Operation
from server.verification.tokens import TokenCheck, authorize

PLACE = ("SELECT kopilka_place_order($1, $2, $3, $4, $5, $6::jsonb, $7::bigint[], "
         "$8::text[], $9::text[])")
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat()


FALLBACKS = Counter(
    "kopilka_order_placement_fallbacks",
    "PlaceOrder calls the one-call placement left to the general path, by reason: the "
    "request's shape (no card context, a saved address, ...), a bad request id, a token "
    "that does not cover the spend (undecided), or what kopilka_place_order refused "
    "(KLP01's DETAIL, else the SQLSTATE).", ["reason"])


class Document(NamedTuple):
    """A placement as kopilka_place_order takes it: everything but the lines as one JSON
    document, the lines as arrays (migration 0044: 14 numbers and 3 texts a line, and every
    line's promotions one after the other)."""

    json: str
    numbers: list[list[int | None]]
    texts: list[list[str | None]]
    promotions: list[str]


class Undecided(Exception):
    """Only the general path can answer this placement (nothing was written)."""


class PlacementBatch:
    """The OrderRepository, OrderMoney and Notifier of one placement: they keep what the
    placement writes (a placement only adds, reserves and tells: other calls are errors)."""

    def __init__(self, principal: str, now: Any, verification: TokenCheck | None = None
                 ) -> None:
        self.principal = principal
        self.now = now  # the ledger's time of the reservation (SqlOrderMoney's `now`)
        self.verification = verification  # the request's token, if any
        self.order: dict[str, Any] | None = None
        self.numbers: list[list[int | None]] = []
        self.texts: list[list[str | None]] = []
        self.promotions: list[str] = []
        self.new_address = False
        self.history: dict[str, Any] | None = None
        self.reserve_points: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []
        self.message: dict[str, Any] | None = None

    # OrderRepository -----------------------------------------------------------------
    async def add(self, order: Order) -> None:
        a = order.address
        if a is not None and a.id is None:
            a.id = uuid.uuid4()
            self.new_address = True
        self.order = {
            "id": str(order.id), "external_number": order.external_number,
            "store_code": order.store_code, "member_id": str(order.member_id),
            "card_number": order.card_number, "state": order.state.value,
            "version": order.version, "language": order.language,
            "delivery_kind": order.delivery_kind.value,
            "pickup_store_code": order.pickup_store_code,
            "address": None if a is None else {
                "id": str(a.id), "city": a.city, "street": a.street,
                "postal_code": a.postal_code, "nova_poshta_branch": a.nova_poshta_branch,
                "recipient_name": a.recipient_name, "recipient_phone": a.recipient_phone},
            "comment": order.comment, "currency": order.currency,
            "points_requested": order.points_requested,
            "points_reserved": order.points_reserved,
            "reserve_tx_id": str(order.reserve_tx_id) if order.reserve_tx_id else None,
            # the placement's own values, encoded once by `document` (nothing changes them
            # in between: a placement only adds)
            "accrual_lots": order.accrual_lots, "lot_returns": order.lot_returns,
            "created_by": order.created_by, "created_at": _time(order.created_at)}
        # the lines as migration 0044's arrays (asyncpg sends them in binary)
        self.numbers = [[x.line_no, x.quantity_milli, x.unit_price, x.base_amount,
                         x.discount_amount, x.points_paid, x.final_amount, x.accrual_points,
                         x.returned_milli, x.points_returned, x.points_reversed, x.split_from,
                         x.replaces, len(x.promotions)] for x in order.lines]
        self.texts = [[x.sku, x.state.value, x.store_code] for x in order.lines]
        self.promotions = [rule for x in order.lines for rule in x.promotions]

    async def add_history(self, order_id: uuid.UUID, entry: HistoryEntry) -> None:
        self.history = {
            "version": entry.version, "principal": entry.principal, "action": entry.action,
            "line_no": entry.line_no, "reason": entry.reason, "state": entry.state.value,
            "detail": entry.detail,  # encoded by `document` (non-JSON values as text)
            "created_at": _time(entry.created_at)}

    async def lock(self, order_id: uuid.UUID) -> Order | None:
        raise RuntimeError("a placement only adds an order")

    async def save(self, order: Order) -> None:
        raise RuntimeError("a placement only adds an order")

    # OrderMoney ----------------------------------------------------------------------
    async def reserve(self, order: Order, points: int) -> None:
        """The reservation, with the id of a token that covers it: the call uses it once
        when the card requires verification (and refuses without one), as SqlOrderMoney."""
        token_id = None
        check = self.verification
        if check is not None and check.token:
            try:
                token_id = str(authorize(check.signer, check.token, check.spend(
                    order.card_number or "", Operation.PLACE_ORDER, points), self.now).token_id)
            except DomainError:
                raise Undecided from None
        order.reserve_tx_id = uuid.uuid4()
        self.reserve_points = {"tx_id": str(order.reserve_tx_id), "points": points,
                               "reason": f"order {order.id}", "principal": self.principal,
                               "now": _time(self.now), "token_id": token_id}

    async def release(self, order: Order, points: int) -> None:
        raise RuntimeError("a placement only reserves points")

    async def accrue(self, order: Order) -> None:
        raise RuntimeError("a placement only reserves points")

    async def give_back(self, order: Order, points: int) -> int:
        raise RuntimeError("a placement only reserves points")

    async def take_back(self, order: Order, points: int) -> int:
        raise RuntimeError("a placement only reserves points")

    async def accrue_lots(self, order: Order, lots: list[list[object]]) -> int:
        raise RuntimeError("a placement only reserves points")

    async def settle(self, order: Order, amount: int, method: str,
                     certificate_number: str | None = None) -> None:
        raise RuntimeError("a placement only reserves points")

    # Notifier ------------------------------------------------------------------------
    async def changed(self, order: Order, entry: HistoryEntry,
                      previous: OrderState | None) -> None:
        event = order_event(order, entry, previous)
        row = event_row(event.type, event.payload, event.version)
        self.events.append({"event_id": str(row["event_id"]), "event_type": row["event_type"],
                            "event_version": row["event_version"], "payload": row["payload"]})
        if previous is not order.state:
            subject, text, reference = customer_message(order)
            self.message = {"id": str(uuid.uuid4()), "subject": subject, "text": text,
                            "reference": reference[:128]}

    def document(self, sees_vip: bool, audit: Sequence[Change]) -> Document:
        """kopilka_place_order's arguments after the claim and the answer."""
        if self.order is None or self.history is None:
            raise RuntimeError("nothing was placed")
        rows = [[label, str(key) if key else None, rid, *rest]
                for label, key, rid, *rest in append_arguments(*audit)]
        return Document(_ENCODE({
            "order": self.order, "new_address": self.new_address, "history": self.history,
            "reserve": self.reserve_points, "events": self.events, "message": self.message,
            "sees_vip": sees_vip, "audit": rows}), self.numbers, self.texts, self.promotions)


async def write(conn: asyncpg.Connection | PoolConnectionProxy, claim: Claim, answer: bytes,
                document: Document) -> bool:
    """Claim, placement, audit and stored answer in one statement (its own transaction):
    True when written; False when the general path must decide (nothing was written)."""
    try:
        await conn.execute(PLACE, claim.principal_id, claim.request_id, claim.method,
                           claim.digest, answer, *document)
    except asyncpg.PostgresError as error:  # asyncpg.DataError among them
        FALLBACKS.labels(_refusal(error)).inc()
        return False
    return True


def _refusal(error: asyncpg.PostgresError) -> str:
    """A bounded label: KLP01's DETAIL (one of four words), else the SQLSTATE."""
    state = str(getattr(error, "sqlstate", "") or "unknown")
    detail = str(getattr(error, "detail", "") or "")
    if state == "KLP01" and detail in ("request_id", "customer", "pickup_store_code",
                                       "points_to_spend"):
        return detail
    return state
