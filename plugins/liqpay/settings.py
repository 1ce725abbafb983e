"""Configuration of the LiqPay payment provider (the ``liqpay`` settings section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.plugin_api import settings_from_mapping

DEFAULT_API_URL = "https://www.liqpay.ua/api/request"
DEFAULT_CHECKOUT_URL = "https://www.liqpay.ua/api/3/checkout"


@dataclass(frozen=True, slots=True)
class LiqPaySettings:
    """Merchant keys and URLs; times are in seconds.

    ``result_url`` (where the buyer returns) and ``server_url`` (where LiqPay posts the
    signed callback) are defaults that a ``PaymentRequest`` may override per payment.
    ``sandbox`` asks LiqPay for test payments and is the only case in which the
    ``sandbox`` status counts as paid: in production it is not real money.
    """

    public_key: str
    private_key: str
    api_url: str = DEFAULT_API_URL
    checkout_url: str = DEFAULT_CHECKOUT_URL
    result_url: str = ""
    server_url: str = ""
    language: str = ""  # "uk" or "en"; empty lets LiqPay choose
    sandbox: bool = False
    timeout: float = 15.0
    name: str = "liqpay"  # provider name the host registers

    def __post_init__(self) -> None:
        for key in ("public_key", "private_key"):
            if not getattr(self, key):
                raise ValueError(f"liqpay.{key} must not be empty")
        if self.timeout <= 0:
            raise ValueError("liqpay.timeout must be positive")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> LiqPaySettings:
        return settings_from_mapping(cls, raw)
