"""Built-in plugin: a development SMS channel for the demo (``devsms`` settings section).

It offers the "sms" channel but sends nothing: each message is shown on the terminal where
the server runs (one-time codes included, which is the point: the demo has no SMSC) and, as
it goes through the outbox like real SMS, lands in the mailing history as delivered.
``kopilka serve --demo-data`` turns it on when no SMSC is configured. Anywhere else it
refuses to start unless asked explicitly (``allow_outside_demo``, KOPILKA_DEV_SMS=1):
codes on a terminal are no verification at all.
"""

from __future__ import annotations

from plugins.devsms.channel import DevSmsChannel, DevSmsSettings, NotInDemoModeError
from server.plugin_api import MessageChannel, PluginSettings, hookimpl

__all__ = ["DevSmsChannel", "DevSmsSettings", "NotInDemoModeError", "kopilka_message_channels"]


@hookimpl
def kopilka_message_channels(settings: PluginSettings) -> list[MessageChannel]:
    """Offer the "sms" channel when a ``devsms`` section is given, in demo mode only (or
    with ``allow_outside_demo``)."""
    section = settings.get("devsms")
    if section is None:
        return []
    config = DevSmsSettings.from_mapping(section)
    if not (config.demo or config.allow_outside_demo):
        raise NotInDemoModeError(
            "devsms shows one-time codes on the server's terminal instead of sending them: "
            "demo mode only (kopilka serve --demo-data) unless KOPILKA_DEV_SMS=1")
    return [DevSmsChannel(config)]
