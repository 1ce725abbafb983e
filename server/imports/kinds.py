"""The kinds of data an import brings over: their columns and how each row is checked.

A kind's `parse` turns one source row into the values staged for it (in `columns` order)
and the flags recorded with it; RowError names the field when the row cannot be used.
Checks that need the database (duplicates, unknown references) are the store's, set-based.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.imports import fields as f
from server.imports.model import RowError
from server.members.cards import CardState
from server.org.model import validate_products

Parsed = tuple[tuple[Any, ...], list[str]]
CERTIFICATE_STATES = ("new", "active", "redeemed", "expired", "blocked", "closed")
ORDER_STATES = ("placed", "confirmed", "completed", "cancelled", "returned")
DELIVERY_KINDS = ("pickup", "courier", "nova_poshta")


@dataclass(frozen=True, slots=True)
class Kind:
    """One importable kind."""

    name: str
    columns: tuple[tuple[str, str], ...]  # staged column, PostgreSQL type
    parse: Callable[[dict[str, str], dt.datetime], Parsed]
    required: tuple[str, ...]  # source columns a file must have
    amount: str | None = None  # the staged column reconciled as a sum
    member_key: str | None = None  # the staged column naming the member (card number)
    ledger: bool = False  # money or points: a changed row is refused, never re-booked
    id_column: str = "id"  # the source's own id
    lines: bool = False  # one row per line: the rows of one source id are one unit (sales)
    refuse_changed: bool = False  # a changed row is refused, as ledger kinds' are (orders)


def _networks(row: dict[str, str], now: dt.datetime) -> Parsed:
    return (f.code(row, "code"), f.text(row, "name", 1000)), []


def _stores(row: dict[str, str], now: dt.datetime) -> Parsed:
    from zoneinfo import available_timezones

    zone = f.text(row, "time_zone", 64) or "Europe/Kyiv"
    if zone not in available_timezones():
        raise RowError("time_zone", "not an IANA time zone (Europe/Kyiv)")
    return (f.code(row, "code"), f.text(row, "name", 1000, required=True), zone,
            f.codes(row, "networks")), []


def _card_types(row: dict[str, str], now: dt.datetime) -> Parsed:
    from server.members.cards import validate_number_prefix

    prefix = f.text(row, "number_prefix", 6, required=True)
    if (why := validate_number_prefix(prefix)) is not None:
        raise RowError("number_prefix", why)
    return (f.code(row, "code"), f.text(row, "name", 1000, required=True),
            f.integer(row, "accrual_bps", maximum=10000, default=0), prefix,
            f.flag(row, "requires_verification")), []


def _directory(row: dict[str, str], now: dt.datetime) -> Parsed:
    return (f.code(row, "code"), f.text(row, "name", 1000)), []


def _groups(row: dict[str, str], now: dt.datetime) -> Parsed:
    return (f.code(row, "code"), f.text(row, "name", 1000),
            f.code(row, "parent_code", required=False)), []


def _products(row: dict[str, str], now: dt.datetime) -> Parsed:
    from server.errors import DomainError
    from server.org.model import ProductInfo

    product = ProductInfo(
        sku=row.get("sku", "").strip(), name=f.text(row, "name", 1000),
        group_code=f.text(row, "group_code", 64), subgroup_code=f.text(row, "subgroup_code", 64),
        brand=f.text(row, "brand", 128), supplier_code=f.text(row, "supplier_code", 64),
        price_category=f.text(row, "price_category", 64), barcodes=tuple(f.codes(row, "barcodes")))
    try:
        validate_products([product], path="p")
    except DomainError as exc:
        violation = exc.violations[0]
        raise RowError(violation.field.split("].", 1)[-1].split("[")[0] or "sku",
                       violation.description) from None
    return (product.sku, product.name, product.group_code, product.subgroup_code, product.brand,
            product.supplier_code, product.price_category, list(product.barcodes)), []


def _members(row: dict[str, str], now: dt.datetime) -> Parsed:
    number, legacy = f.card_number(row, required=False)
    phone, email = f.phone(row), f.email(row)
    if phone is None and email is None:
        raise RowError("phone", "a member needs a phone or an e-mail")
    state = f.text(row, "card_state", 16) or "active"
    if state not in {s.value for s in CardState}:
        raise RowError("card_state", "new, active, blocked, closed or completed")
    card_type = f.code(row, "card_type", required=bool(number))
    gender = f.text(row, "gender", 16).lower()
    birth = f.date(row, "birth_date")
    if birth is not None and not dt.date(1900, 1, 1) <= birth <= now.date():
        raise RowError("birth_date", "between 1900-01-01 and today")
    return (uuid.uuid4(), number or None, card_type or None, state, phone, email,
            f.text(row, "first_name", 200), f.text(row, "last_name", 200),
            f.text(row, "middle_name", 200), gender, birth,
            f.text(row, "address", 1000)), (["legacy_card_number"] if legacy else [])


def _points(row: dict[str, str], now: dt.datetime) -> Parsed:
    number, _ = f.card_number(row)
    points = f.integer(row, "points")
    if points == 0:
        raise RowError("points", "at least 1 (a zero balance needs no lot)")
    activation = f.moment(row, "activation_at") or now
    expiry = f.moment(row, "expiry_at")
    if expiry is not None and expiry <= now:
        raise RowError("expiry_at", "already expired: the points could never be spent")
    if expiry is not None and expiry <= activation:
        raise RowError("expiry_at", "before the activation")
    return (number, points, activation, expiry), []


def _cash(row: dict[str, str], now: dt.datetime) -> Parsed:
    number, _ = f.card_number(row)
    amount = f.integer(row, "balance_minor")
    if amount == 0:
        raise RowError("balance_minor", "at least 1 (a zero balance needs no entry)")
    return (number, amount), []


def _certificates(row: dict[str, str], now: dt.datetime) -> Parsed:
    number = f.text(row, "number", 32, required=True)
    state = f.text(row, "state", 16) or "active"
    if state not in CERTIFICATE_STATES:
        raise RowError("state", ", ".join(CERTIFICATE_STATES))
    face = f.integer(row, "denomination_minor", minimum=1)
    balance = f.integer(row, "balance_minor")
    if balance > face:
        raise RowError("balance_minor", "more than the face value")
    return (number, f.code(row, "type_code"), state, face, balance,
            f.moment(row, "activated_at"), f.moment(row, "expires_at"),
            f.code(row, "store_code", required=False) or None), []


def _sales(row: dict[str, str], now: dt.datetime) -> Parsed:
    number, _ = f.card_number(row, required=False)
    sold = f.moment(row, "sold_at", required=True)
    assert sold is not None
    if sold > now:
        raise RowError("sold_at", "in the future")
    currency = (f.text(row, "currency", 3) or "UAH").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise RowError("currency", "an ISO 4217 code")
    return (f.code(row, "store_code"), f.text(row, "terminal_id", 64),
            f.text(row, "receipt_number", 64, required=True), number or None, sold,
            f.integer(row, "line_no", minimum=1, maximum=100_000),
            f.text(row, "sku", 64, required=True),
            f.integer(row, "quantity_milli", minimum=1),
            f.integer(row, "amount_minor"), currency), []


def _orders(row: dict[str, str], now: dt.datetime) -> Parsed:
    number, _ = f.card_number(row, required=False)
    phone, email = f.phone(row), f.email(row)
    if not number and phone is None and email is None:
        raise RowError("card_number", "the customer: a card number, a phone or an e-mail")
    created = f.moment(row, "created_at", required=True)
    assert created is not None
    if created > now:
        raise RowError("created_at", "in the future")
    state = f.text(row, "state", 16) or "completed"
    if state not in ORDER_STATES:
        raise RowError("state", ", ".join(ORDER_STATES))
    delivery = f.text(row, "delivery_kind", 16) or "pickup"
    if delivery not in DELIVERY_KINDS:
        raise RowError("delivery_kind", ", ".join(DELIVERY_KINDS))
    currency = (f.text(row, "currency", 3) or "UAH").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise RowError("currency", "an ISO 4217 code")
    return (f.code(row, "store_code"), f.text(row, "number", 64, required=True), number or None,
            phone, email, state, created, delivery,
            f.code(row, "pickup_store_code", required=False) or None,
            f.text(row, "city", 200), f.text(row, "street", 500), f.text(row, "postal_code", 16),
            f.text(row, "nova_poshta_branch", 64), f.text(row, "recipient_name", 200),
            f.text(row, "recipient_phone", 20), f.text(row, "comment", 1000), currency,
            f.integer(row, "points_spent", default=0),
            f.integer(row, "line_no", minimum=1, maximum=100_000),
            f.text(row, "sku", 64, required=True),
            f.integer(row, "quantity_milli", minimum=1), f.integer(row, "unit_price_minor"),
            f.integer(row, "amount_minor"), f.integer(row, "discount_minor", default=0),
            None), []


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("networks", (("code", "text"), ("name", "text")), _networks, ("id", "code")),
    Kind("stores", (("code", "text"), ("name", "text"), ("time_zone", "text"),
                    ("networks", "text[]")), _stores, ("id", "code", "name")),
    Kind("card-types", (("code", "text"), ("name", "text"), ("accrual_bps", "integer"),
                        ("number_prefix", "text"), ("requires_verification", "boolean")),
         _card_types, ("id", "code", "name", "number_prefix")),
    Kind("product-groups", (("code", "text"), ("name", "text"), ("parent_code", "text")),
         _groups, ("id", "code")),
    Kind("brands", (("code", "text"), ("name", "text")), _directory, ("id", "code")),
    Kind("suppliers", (("code", "text"), ("name", "text")), _directory, ("id", "code")),
    Kind("products", (("sku", "text"), ("name", "text"), ("group_code", "text"),
                      ("subgroup_code", "text"), ("brand", "text"), ("supplier_code", "text"),
                      ("price_category", "text"), ("barcodes", "text[]")),
         _products, ("id", "sku")),
    Kind("members", (("member_id", "uuid"), ("card_number", "text"), ("card_type", "text"),
                     ("card_state", "text"), ("phone", "text"), ("email", "text"),
                     ("first_name", "text"), ("last_name", "text"), ("middle_name", "text"),
                     ("gender", "text"), ("birth_date", "date"), ("address", "text")),
         _members, ("id",), member_key="card_number"),
    Kind("points", (("card_number", "text"), ("points", "bigint"),
                    ("activation_at", "timestamptz"), ("expiry_at", "timestamptz")),
         _points, ("id", "card_number", "points"), amount="points", member_key="card_number",
         ledger=True),
    Kind("cash-accounts", (("card_number", "text"), ("amount", "bigint")), _cash,
         ("id", "card_number", "balance_minor"), amount="amount", member_key="card_number",
         ledger=True),
    Kind("certificates", (("number", "text"), ("type_code", "text"), ("state", "text"),
                          ("denomination", "bigint"), ("balance", "bigint"),
                          ("activated_at", "timestamptz"), ("expires_at", "timestamptz"),
                          ("store_code", "text")),
         _certificates, ("id", "number", "type_code", "denomination_minor", "balance_minor"),
         amount="balance", ledger=True),
    Kind("sales", (("store_code", "text"), ("terminal_id", "text"), ("receipt_number", "text"),
                   ("card_number", "text"), ("sold_at", "timestamptz"), ("line_no", "integer"),
                   ("sku", "text"), ("quantity_milli", "bigint"), ("amount", "bigint"),
                   ("currency", "text")),
         _sales, ("receipt_id", "store_code", "receipt_number", "sold_at", "line_no", "sku",
                  "quantity_milli", "amount_minor"),
         amount="amount", member_key="card_number", ledger=True, id_column="receipt_id",
         lines=True),
    Kind("orders", (("store_code", "text"), ("number", "text"), ("card_number", "text"),
                    ("phone", "text"), ("email", "text"), ("state", "text"),
                    ("created_at", "timestamptz"), ("delivery_kind", "text"),
                    ("pickup_store_code", "text"), ("city", "text"), ("street", "text"),
                    ("postal_code", "text"), ("nova_poshta_branch", "text"),
                    ("recipient_name", "text"), ("recipient_phone", "text"),
                    ("comment", "text"), ("currency", "text"), ("points_spent", "bigint"),
                    ("line_no", "integer"), ("sku", "text"), ("quantity_milli", "bigint"),
                    ("unit_price", "bigint"), ("amount", "bigint"), ("discount", "bigint"),
                    ("member_id", "uuid")),
         _orders, ("order_id", "store_code", "number", "created_at", "line_no", "sku",
                   "quantity_milli", "unit_price_minor", "amount_minor"),
         amount="amount", id_column="order_id", lines=True, refuse_changed=True),
)}
