"""The server's HTTP listener (KOPILKA_HTTP_LISTEN): one aiohttp site, many mounts.

Features that speak HTTP (the 1C exchange, the console, payment callbacks, signed links for
customers) each contribute an `HttpMount`: a name for the logs and a function that adds its
routes to the one root application. Mounts keep no conversation state in a process (the 1C
exchange keeps its own in the database), so with --workers > 1 every worker serves the
same port (SO_REUSEPORT). `HTTP_MOUNTS` in `server.app` lists the factories; a
factory returns None when its feature is off. With no mount at all nothing listens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from server.settings import split_host_port

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.app import App
    from server.plugin_host import PluginHost
    from server.settings import Settings

log = logging.getLogger("kopilka.http")


@dataclass(frozen=True, slots=True)
class HttpMount:
    """Routes one feature serves; `path` is where people find it (for the start-up log)."""

    name: str
    path: str
    add_routes: Callable[[web.Application], None]


HttpMountFactory = Callable[["Settings", "PluginHost", "ApiDeps"], HttpMount | None]


class HttpServer:
    """The aiohttp site holding every mount; `port` is bound after `start()`."""

    def __init__(self, listen: str, mounts: Sequence[HttpMount], reuse_port: bool = False
                 ) -> None:
        self._listen = listen
        self._reuse_port = reuse_port  # --workers > 1: every worker serves the one port
        self.mounts = list(mounts)
        root = web.Application(client_max_size=64 * 1024 * 1024)
        for mount in self.mounts:
            mount.add_routes(root)
        self.root = root
        self._runner = web.AppRunner(root, access_log=None)
        self.port = 0

    async def start(self, _: App) -> None:
        host, port = split_host_port(self._listen)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port,
                          reuse_port=self._reuse_port or None).start()
        self.port = int(self._runner.addresses[0][1])
        for mount in self.mounts:
            log.info("serving %s", mount.name, extra={
                "url": f"http://{host}:{self.port}{mount.path}"})

    async def stop(self, _: App) -> None:
        await self._runner.cleanup()


def http_server(settings: Settings, plugins: PluginHost, deps: ApiDeps,
                factories: Sequence[HttpMountFactory]) -> HttpServer | None:
    """The HTTP site to serve, or None (no KOPILKA_HTTP_LISTEN, or no feature mounts)."""
    if not settings.http_listen:
        return None
    mounts = [m for m in (factory(settings, plugins, deps) for factory in factories)
              if m is not None]
    if not mounts:
        log.warning("KOPILKA_HTTP_LISTEN is set but no feature mounts anything on it "
                    "(server.app HTTP_MOUNTS)")
        return None
    return HttpServer(settings.http_listen, mounts, reuse_port=settings.workers > 1)
