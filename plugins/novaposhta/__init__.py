"""Built-in plugin: Nova Poshta waybills and tracking, configured by ``novaposhta``."""

from __future__ import annotations

from plugins.novaposhta.client import NovaPoshtaError
from plugins.novaposhta.provider import NovaPoshtaProvider
from plugins.novaposhta.settings import NovaPoshtaSettings
from server.plugin_api import PluginSettings, ShipmentProvider, hookimpl

__all__ = ["NovaPoshtaError", "NovaPoshtaProvider", "NovaPoshtaSettings",
           "kopilka_shipment_providers"]


@hookimpl
def kopilka_shipment_providers(settings: PluginSettings) -> list[ShipmentProvider]:
    """Offer the "novaposhta" provider when a ``novaposhta`` section is configured."""
    section = settings.get("novaposhta")
    return [NovaPoshtaProvider(NovaPoshtaSettings.from_mapping(section))] if section else []
