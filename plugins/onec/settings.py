"""Configuration of the 1C exchange (the ``onec`` settings section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.plugin_api import settings_from_mapping

_SKU_SOURCES = ("article", "id")


@dataclass(frozen=True, slots=True)
class OneCSettings:
    """How 1C's catalog maps onto Kopilka's, and the HTTP exchange credentials.

    ``sku_source``: "article" uses ``Артикул`` (falling back to ``Ид`` when empty), "id"
    always the product ``Ид`` (exact order round trips; offer-only packages work without
    the product list). ``price_type``: the ``ТипЦены`` (Ид or name) to import; empty takes
    each offer's first price. ``brand_fields``: comma-separated requisite/property names
    read as the brand when there is no ``Изготовитель``.
    """

    sku_source: str = "article"
    price_type: str = ""
    default_currency: str = "UAH"
    brand_fields: str = "Бренд,Торговая марка,Марка,Производитель,Виробник"
    username: str = ""
    password: str = ""
    upload_dir: str = ""  # no longer used: uploads live in the database (kept for old configs)
    file_limit: int = 50 * 1024 * 1024  # bytes per upload request 1C may send
    import_step_seconds: float = 20.0  # answer "progress" after this long, 1C re-asks
    buyer_name: str = "Роздрібний покупець"  # Контрагент of exported orders
    buyer_id: str = "kopilka-retail-buyer"
    time_zone: str = "Europe/Kyiv"  # order dates and times as 1C users read them
    # 1C warehouses -> Kopilka stores: "warehouse Ид or name=store code", comma-separated;
    # balances of warehouses not named here are left out (and the answer says so).
    warehouses: str = ""

    def __post_init__(self) -> None:
        if self.sku_source not in _SKU_SOURCES:
            raise ValueError(f"onec.sku_source must be one of {_SKU_SOURCES}, "
                             f"got {self.sku_source!r}")
        if self.file_limit < 1024:
            raise ValueError("onec.file_limit must be at least 1024 bytes")
        _ = self.warehouse_stores  # a malformed mapping fails at start-up

    @property
    def brand_names(self) -> frozenset[str]:
        return frozenset(n.strip().lower() for n in self.brand_fields.split(",") if n.strip())

    @property
    def warehouse_stores(self) -> dict[str, str]:
        pairs = [p.partition("=") for p in self.warehouses.split(",") if p.strip()]
        if any(not sep or not key.strip() or not store.strip() for key, sep, store in pairs):
            raise ValueError("onec.warehouses: 'warehouse Ид or name=store code', "
                             "comma-separated")
        return {key.strip(): store.strip() for key, _, store in pairs}

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> OneCSettings:
        return settings_from_mapping(cls, raw)
