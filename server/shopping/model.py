"""Values of the shopping context, their validation and the events they raise."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.errors import DomainError, ErrorKind, Violations
from server.limits import MAX_AMOUNT
from server.pricing.money import line_amount

BASKET_ABANDONED = "basket.abandoned"
WISHLIST_PROMOTED = "wishlist.item_promoted"
WISHLIST_RESTOCKED = "wishlist.item_restocked"


class BasketState(enum.StrEnum):
    OPEN = "open"
    ORDERED = "ordered"


class SiteEventKind(enum.StrEnum):
    VIEW = "view"
    SEARCH = "search"
    BASKET_ADD = "basket_add"
    BASKET_REMOVE = "basket_remove"


@dataclass(frozen=True, slots=True)
class BasketLine:
    """One product of a basket; money in minor units, quantity in thousandths."""

    sku: str
    quantity_milli: int
    unit_price_minor: int

    @property
    def amount_minor(self) -> int:
        return line_amount(self.quantity_milli, self.unit_price_minor)


@dataclass(frozen=True, slots=True)
class Basket:
    """A store's basket as last reported."""

    id: uuid.UUID
    store_code: str
    basket_id: str
    member_id: uuid.UUID | None
    currency: str
    version: int
    state: BasketState
    lines: tuple[BasketLine, ...]
    total_minor: int
    reported_at: dt.datetime
    ordered_at: dt.datetime | None = None
    abandoned_at: dt.datetime | None = None
    order_reference: str | None = None


@dataclass(frozen=True, slots=True)
class BasketReport:
    """What the store reports: the whole basket now (validated by `check_report`)."""

    store_code: str
    basket_id: str
    member_id: uuid.UUID | None
    currency: str
    lines: tuple[BasketLine, ...]
    version: int  # 0: the next version after the stored one


@dataclass(frozen=True, slots=True)
class WishlistItem:
    id: uuid.UUID
    member_id: uuid.UUID
    sku: str
    added_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SiteEvent:
    """One thing a member did on a store's site."""

    member_id: uuid.UUID
    store_code: str
    kind: SiteEventKind
    occurred_at: dt.datetime
    sku: str | None = None
    search_query: str | None = None
    basket_id: str | None = None
    quantity_milli: int | None = None
    id: uuid.UUID | None = None  # set once stored


@dataclass(frozen=True, slots=True)
class StockChange:
    """A store's available quantity of a SKU, as the stock table now says."""

    store_code: str
    sku: str
    available_milli: int


@dataclass(frozen=True, slots=True)
class Pair:
    """`sku` bought with `because_of`: counts from confirmed receipts (integers only)."""

    sku: str
    because_of: str
    pair_count: int
    confidence_permille: int
    support_permille: int


@dataclass(frozen=True, slots=True)
class Recommendation:
    sku: str
    because_of_sku: str
    reason: str
    pair_count: int
    confidence_permille: int
    support_permille: int


def basket_total(lines: Sequence[BasketLine]) -> int:
    return sum(line.amount_minor for line in lines)


def check_report(basket_id: str, currency: str, lines: Sequence[BasketLine], version: int,
                 known_skus: frozenset[str]) -> None:
    """Every bad field of a report at once, as field violations; nothing is stored."""
    errors = Violations()
    if not basket_id.strip():
        errors.add("basket_id", "required: the store's id of the basket")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        errors.add("currency", "an ISO 4217 code of three capital letters, e.g. UAH")
    if version < 0:
        errors.add("version", "must not be negative (0: numbered by the server)")
    seen: set[str] = set()
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        if not line.sku:
            errors.add(f"{where}.sku", "required")
        elif line.sku in seen:
            errors.add(f"{where}.sku", "appears on another line: one line per product")
        elif line.sku not in known_skus:
            errors.add(f"{where}.sku", "not in the catalog")
        seen.add(line.sku)
        if not 0 < line.quantity_milli <= MAX_AMOUNT:
            errors.add(f"{where}.quantity_milli", "must be positive (thousandths)")
        if not 0 <= line.unit_price_minor <= MAX_AMOUNT:
            errors.add(f"{where}.unit_price_minor", "must not be negative")
    errors.raise_if_any()


def check_site_event(index: int, event: SiteEvent) -> list[tuple[str, str]]:
    """The bad fields of one site event (field path, description)."""
    where = f"events[{index}]"
    bad: list[tuple[str, str]] = []
    needs_sku = event.kind is not SiteEventKind.SEARCH
    if needs_sku and not event.sku:
        bad.append((f"{where}.sku", f"required for a {event.kind.value} event"))
    if event.kind is SiteEventKind.SEARCH and not (event.search_query or "").strip():
        bad.append((f"{where}.search_query", "required for a search event"))
    basket_change = event.kind in (SiteEventKind.BASKET_ADD, SiteEventKind.BASKET_REMOVE)
    if basket_change and not 0 < (event.quantity_milli or 0) <= MAX_AMOUNT:
        bad.append((f"{where}.quantity_milli", "must be positive for a basket change"))
    return bad


def not_orderable(basket: Basket) -> DomainError:
    """A report or change of a basket that became an order."""
    return DomainError(ErrorKind.FAILED_PRECONDITION, "BASKET_ALREADY_ORDERED",
                       f"basket {basket.basket_id!r} was ordered: it no longer changes",
                       metadata={"order_reference": (basket.order_reference or "")[:64]})


def lines_json(lines: Sequence[BasketLine]) -> list[dict[str, Any]]:
    return [{"sku": x.sku, "quantity_milli": x.quantity_milli,
             "unit_price_minor": x.unit_price_minor} for x in lines]


def lines_from_json(rows: Sequence[Mapping[str, Any]]) -> tuple[BasketLine, ...]:
    return tuple(BasketLine(str(r["sku"]), int(r["quantity_milli"]), int(r["unit_price_minor"]))
                 for r in rows)


def abandoned_payload(basket: Basket, minutes: int) -> dict[str, Any]:
    """basket.abandoned, version 1 (docs/events.md)."""
    return {
        "basket_id": basket.basket_id, "store_code": basket.store_code,
        "member_id": None if basket.member_id is None else str(basket.member_id),
        "version": basket.version, "currency": basket.currency,
        "total_minor": basket.total_minor, "lines": lines_json(basket.lines),
        "reported_at": basket.reported_at.isoformat(), "abandoned_after_minutes": minutes,
    }


def promoted_payload(member_id: uuid.UUID, sku: str, promotion_id: str, rule_id: str,
                     rule_set_version: str, reason: str) -> dict[str, Any]:
    """wishlist.item_promoted, version 1 (docs/events.md)."""
    return {"member_id": str(member_id), "sku": sku,
            "promotion_id": promotion_id, "rule_id": rule_id,
            "rule_set_version": rule_set_version, "reason": reason}


def restocked_payload(member_id: uuid.UUID, sku: str, available_milli: int, restock: int,
                      stores: Sequence[str]) -> dict[str, Any]:
    """wishlist.item_restocked, version 1 (docs/events.md)."""
    return {"member_id": str(member_id), "sku": sku,
            "available_milli": available_milli, "restock": restock,
            "store_codes": sorted(stores)}
