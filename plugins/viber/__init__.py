"""Built-in plugin: Viber business messages through a partner's HTTP API (``viber`` section).

Offers the "viber" channel: transactional and promotional messages to a phone number, with
a lifetime, and the provider's status callbacks (signed) at ``/hooks/viber`` on the server's
HTTP site. A message queued with an SMS fallback goes out by SMS when Viber refuses it,
reports it expired or failed, or has not delivered it within its lifetime (the outbox does
that; see docs/events.md "Viber and the SMS fallback"). The wire format: plugins/viber/wire.py.
"""

from __future__ import annotations

from plugins.viber.channel import ViberChannel
from plugins.viber.settings import ViberSettings
from server.plugin_api import MessageChannel, PluginSettings, hookimpl

__all__ = ["ViberChannel", "ViberSettings", "kopilka_message_channels"]


@hookimpl
def kopilka_message_channels(settings: PluginSettings) -> list[MessageChannel]:
    """Offer the "viber" channel when a ``viber`` section is configured."""
    section = settings.get("viber")
    return [ViberChannel(ViberSettings.from_mapping(section))] if section else []
