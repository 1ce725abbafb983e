"""Status callbacks of message channels (Viber, ...) on the server's one HTTP site.

A channel that implements `HttpCallbackChannel` (server/plugin_contracts.py) gets its
endpoint mounted at the endpoint's own path (``/hooks/<provider>``); the endpoint verifies
each callback and passes the reports to the `on_delivery_report` the outbox feature started
the channel with, which records them in the mailing history (and moves a message that was
not delivered on to its fallback hop). The core knows the contract only, never the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from server.features.http import HttpMount
from server.plugin_contracts import HttpCallbackChannel
from server.plugin_host import PluginHost
from server.settings import Settings

if TYPE_CHECKING:
    from server.api.deps import ApiDeps


def channel_callbacks_mount(settings: Settings, plugins: PluginHost,
                            deps: ApiDeps) -> HttpMount | None:
    """The callback routes of every channel that has them, or None when none does."""
    endpoints = [channel.http_endpoint() for channel in plugins.message_channels().values()
                 if isinstance(channel, HttpCallbackChannel)]
    if not endpoints:
        return None

    def add_routes(root: web.Application) -> None:
        for endpoint in endpoints:
            endpoint.add_routes(root)

        async def close(_: web.Application) -> None:
            for endpoint in endpoints:
                await endpoint.close()

        root.on_cleanup.append(close)

    return HttpMount("message channel callbacks", ", ".join(e.path for e in endpoints),
                     add_routes)
