"""Built-in plugin: 1C:Enterprise exchange in CommerceML 2 (the ``onec`` settings section).

Catalog in (import.xml + offers.xml -> CatalogItems), orders out (``Документ`` list), and
``plugins.onec.exchange_http`` for 1C's HTTP exchange protocol.
"""

from __future__ import annotations

from plugins.onec.exchange import OneCExchange
from plugins.onec.settings import OneCSettings
from plugins.onec.xmlio import CommerceMLError
from server.plugin_api import CatalogExchange, PluginSettings, hookimpl

__all__ = ["CommerceMLError", "OneCExchange", "OneCSettings", "kopilka_catalog_exchanges"]


@hookimpl
def kopilka_catalog_exchanges(settings: PluginSettings) -> list[CatalogExchange]:
    """Offer the "1c" exchange when an ``onec`` section is configured."""
    section = settings.get("onec")
    return [OneCExchange(OneCSettings.from_mapping(section))] if section is not None else []

