"""Built-in plugin: LiqPay payments (API v3), configured by the ``liqpay`` section."""

from __future__ import annotations

from plugins.liqpay.provider import LiqPayError, LiqPayProvider
from plugins.liqpay.settings import LiqPaySettings
from server.plugin_api import PaymentProvider, PluginSettings, hookimpl

__all__ = ["LiqPayError", "LiqPayProvider", "LiqPaySettings", "kopilka_payment_providers"]


@hookimpl
def kopilka_payment_providers(settings: PluginSettings) -> list[PaymentProvider]:
    """Offer the "liqpay" provider when a ``liqpay`` section is configured."""
    section = settings.get("liqpay")
    return [LiqPayProvider(LiqPaySettings.from_mapping(section))] if section else []
