"""An online-store order and its lines as the domain sees them (no SQL, no protobuf)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class OrderState(StrEnum):
    """Where an order is (docs/orders.md has the diagram)."""

    PLACED = "placed"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class LineState(StrEnum):
    """Where one line is."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class DeliveryKind(StrEnum):
    """How the order reaches the customer."""

    PICKUP = "pickup"
    COURIER = "courier"
    NOVA_POSHTA = "nova_poshta"


LIVE = frozenset({LineState.OPEN, LineState.CONFIRMED})


@dataclass(slots=True)
class Line:
    """One order line; amounts come from the pricing engine (minor units, milli-quantities)."""

    line_no: int
    sku: str
    quantity_milli: int
    unit_price: int
    state: LineState = LineState.OPEN
    base_amount: int = 0
    discount_amount: int = 0
    points_paid: int = 0
    final_amount: int = 0
    accrual_points: int = 0
    promotions: tuple[str, ...] = ()
    returned_milli: int = 0
    points_returned: int = 0  # spent points credited back by returns of this line
    points_reversed: int = 0  # accrued points taken back by returns of this line
    store_code: str | None = None
    split_from: int | None = None
    replaces: int | None = None

    @property
    def live(self) -> bool:
        """Still part of what the customer gets (not cancelled, not returned)."""
        return self.state in LIVE


@dataclass(slots=True)
class Address:
    """A delivery address kept on the member."""

    city: str = ""
    street: str = ""
    postal_code: str = ""
    nova_poshta_branch: str = ""
    recipient_name: str = ""
    recipient_phone: str = ""
    id: uuid.UUID | None = None


@dataclass(slots=True)
class Order:
    """An order with its lines; `version` goes up by one with every change."""

    id: uuid.UUID
    external_number: str
    store_code: str
    member_id: uuid.UUID
    card_number: str | None
    state: OrderState
    version: int
    language: str
    delivery_kind: DeliveryKind
    pickup_store_code: str | None
    address: Address | None
    comment: str
    currency: str
    points_requested: int = 0
    points_reserved: int = 0
    points_spent: int = 0
    points_accrued: int = 0
    points_returned: int = 0
    points_reversed: int = 0
    reserve_tx_id: uuid.UUID | None = None
    accrual_tx_id: uuid.UUID | None = None
    # lots the order earns, booked at completion: [rule id, points, activation, expiry]
    accrual_lots: list[list[Any]] = field(default_factory=list)
    # per lot id, points given back to it / taken back from it by returns and releases
    lot_returns: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"returned": {}, "reversed": {}})
    lines: list[Line] = field(default_factory=list)
    created_by: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def line(self, line_no: int) -> Line | None:
        return next((x for x in self.lines if x.line_no == line_no), None)

    @property
    def live_lines(self) -> list[Line]:
        return [x for x in self.lines if x.live]

    @property
    def total(self) -> int:
        return sum(x.final_amount for x in self.live_lines)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change: who, when, what, why, and the version it made."""

    version: int
    principal: str
    action: str
    line_no: int
    reason: str
    state: OrderState
    detail: dict[str, Any]
    created_at: dt.datetime | None = None
