"""Built-in plugin: e-mail over SMTP, configured by the ``email`` settings section."""

from __future__ import annotations

from plugins.email.channel import EmailChannel
from plugins.email.settings import EmailSettings
from server.plugin_api import MessageChannel, PluginSettings, hookimpl

__all__ = ["EmailChannel", "EmailSettings", "kopilka_message_channels"]


@hookimpl
def kopilka_message_channels(settings: PluginSettings) -> list[MessageChannel]:
    """Offer the "email" channel when an ``email`` section is configured."""
    section = settings.get("email")
    return [EmailChannel(EmailSettings.from_mapping(section))] if section else []
