"""Configuration of the Nova Poshta shipment provider (the ``novaposhta`` section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.plugin_api import settings_from_mapping

DEFAULT_API_URL = "https://api.novaposhta.ua/v2.0/json/"

#: Values Nova Poshta accepts for the waybill options we expose as settings.
SERVICE_TYPES = {"WarehouseWarehouse", "WarehouseDoors", "DoorsWarehouse", "DoorsDoors"}
PAYER_TYPES = {"Sender", "Recipient", "ThirdPerson"}
PAYMENT_METHODS = {"Cash", "NonCash"}
CARGO_TYPES = {"Parcel", "Cargo", "Documents", "TiresWheels", "Pallet"}

#: Sender fields a waybill needs; tracking works without them.
SENDER_FIELDS = ("sender_ref", "sender_contact_ref", "sender_city_ref",
                 "sender_address_ref", "sender_phone")


@dataclass(frozen=True, slots=True)
class NovaPoshtaSettings:
    """API key, the shop's sender references and waybill defaults; times in seconds.

    The ``sender_*`` references come from the merchant's Nova Poshta account
    (``Counterparty.getCounterparties`` with ``CounterpartyProperty=Sender``, its contact
    person and the sending warehouse). Transient failures (network, HTTP 429/5xx) are
    retried ``retries`` times with doubling backoff from ``backoff`` to ``backoff_max``.
    """

    api_key: str
    api_url: str = DEFAULT_API_URL
    sender_ref: str = ""
    sender_contact_ref: str = ""
    sender_city_ref: str = ""
    sender_address_ref: str = ""
    sender_phone: str = ""
    service_type: str = "WarehouseWarehouse"
    payer_type: str = "Recipient"
    payment_method: str = "Cash"
    cargo_type: str = "Parcel"
    seats_amount: int = 1
    description: str = "Товари"
    timezone: str = "Europe/Kyiv"  # the waybill date is Nova Poshta's local date
    timeout: float = 15.0
    retries: int = 3
    backoff: float = 0.5
    backoff_max: float = 8.0
    name: str = "novaposhta"  # provider name the host registers

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("novaposhta.api_key must not be empty")
        for key, allowed in (("service_type", SERVICE_TYPES), ("payer_type", PAYER_TYPES),
                             ("payment_method", PAYMENT_METHODS),
                             ("cargo_type", CARGO_TYPES)):
            if getattr(self, key) not in allowed:
                raise ValueError(f"novaposhta.{key} must be one of {sorted(allowed)}")
        if self.seats_amount < 1:
            raise ValueError("novaposhta.seats_amount must be at least 1")
        if self.retries < 0 or self.backoff < 0 or self.backoff_max < 0 or self.timeout <= 0:
            raise ValueError("novaposhta retries/backoff must be >= 0, timeout > 0")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> NovaPoshtaSettings:
        return settings_from_mapping(cls, raw)
