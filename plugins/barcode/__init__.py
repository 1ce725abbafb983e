"""Built-in plugin: barcode scanners on serial ports (the ``barcode`` settings section)."""

from __future__ import annotations

from plugins.barcode.scanner import SerialScanner
from plugins.barcode.settings import BarcodeSettings
from server.plugin_api import PluginSettings, ScannerSource, hookimpl

__all__ = ["BarcodeSettings", "SerialScanner", "kopilka_scanner_sources"]


@hookimpl
def kopilka_scanner_sources(settings: PluginSettings) -> list[ScannerSource]:
    """Offer one scanner per configured port when a ``barcode`` section is present.

    The section is one scanner's settings, or ``{"scanners": [{...}, {...}]}`` for a
    checkout with several (each needs its own ``name``).
    """
    section = settings.get("barcode")
    if not section:
        return []
    configs = section.get("scanners", [section])
    return [SerialScanner(BarcodeSettings.from_mapping(config)) for config in configs]
