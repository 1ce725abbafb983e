"""Built-in plugin: SMS over SMPP 3.4, configured by the ``smpp`` settings section."""

from __future__ import annotations

from plugins.smpp.channel import SmppChannel
from plugins.smpp.settings import SmppSettings
from server.plugin_api import MessageChannel, PluginSettings, hookimpl

__all__ = ["SmppChannel", "SmppSettings", "kopilka_message_channels"]


@hookimpl
def kopilka_message_channels(settings: PluginSettings) -> list[MessageChannel]:
    """Offer the "sms" channel when an ``smpp`` section is configured."""
    section = settings.get("smpp")
    return [SmppChannel(SmppSettings.from_mapping(section))] if section else []
