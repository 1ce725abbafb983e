"""Stores, card types and products as the domain validates them."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field

from server.errors import Violations
from server.limits import MAX_PRODUCTS
from server.members.cards import validate_number_prefix
from server.members.model import CardTypeInfo

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """A store and the networks it belongs to."""

    code: str
    name: str
    time_zone: str = "Europe/Kyiv"
    network_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """A catalog product with the attributes promotions select on."""

    sku: str
    name: str = ""
    group_code: str = ""
    subgroup_code: str = ""
    brand: str = ""
    supplier_code: str = ""
    price_category: str = ""
    barcodes: tuple[str, ...] = field(default_factory=tuple)


def _check_code(errors: Violations, path: str, value: str) -> None:
    if not _CODE.fullmatch(value):  # match() would let a trailing newline through
        errors.add(path, "1-64 letters, digits, '_', '-' or '.', starting with a letter or digit")


def known_time_zone(name: str) -> str:
    """`name` if it is an IANA time zone; ValueError saying so otherwise (stores, rule sets
    and accrual rule sets all check their zones this way)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    return name


def validate_store(store: StoreInfo, path: str = "store") -> None:
    errors = Violations()
    _check_code(errors, f"{path}.code", store.code)
    if not store.name.strip():
        errors.add(f"{path}.name", "required")
    try:
        known_time_zone(store.time_zone)
    except ValueError as exc:
        errors.add(f"{path}.time_zone", str(exc))
    for i, network in enumerate(store.network_codes):
        _check_code(errors, f"{path}.network_codes[{i}]", network)
    errors.raise_if_any()


def validate_card_type(card_type: CardTypeInfo, path: str = "card_type") -> None:
    errors = Violations()
    _check_code(errors, f"{path}.code", card_type.code)
    if not card_type.name.strip():
        errors.add(f"{path}.name", "required")
    if not 0 <= card_type.accrual_bps <= 10_000:
        errors.add(f"{path}.accrual_bps", "must be between 0 and 10000 (100%)")
    problem = validate_number_prefix(card_type.number_prefix)
    if problem:
        errors.add(f"{path}.number_prefix", problem)
    errors.raise_if_any()


def validate_products(products: list[ProductInfo], path: str = "products") -> None:
    errors = Violations()
    if not products:
        errors.add(path, "at least one product")
    if len(products) > MAX_PRODUCTS:
        errors.add(path, f"at most {MAX_PRODUCTS} products per call")
    seen_barcodes: dict[str, int] = {}
    seen_skus: dict[str, int] = {}
    for i, product in enumerate(products):
        _check_code(errors, f"{path}[{i}].sku", product.sku)
        if product.sku in seen_skus:  # one upsert cannot write a row twice
            errors.add(f"{path}[{i}].sku", f"also given as {path}[{seen_skus[product.sku]}]")
        seen_skus.setdefault(product.sku, i)
        for j, barcode in enumerate(product.barcodes):
            if not (barcode.isascii() and barcode.isdigit()) or not 8 <= len(barcode) <= 14:
                errors.add(f"{path}[{i}].barcodes[{j}]", "8 to 14 digits")
            elif barcode in seen_barcodes:
                other = seen_barcodes[barcode]
                errors.add(f"{path}[{i}].barcodes[{j}]", "given twice for this product"
                           if other == i else "also given for another product")
            seen_barcodes.setdefault(barcode, i)
    errors.raise_if_any()
