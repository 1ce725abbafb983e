"""Process-level running: pick the database, migrate, serve until a signal, metrics endpoint."""

from __future__ import annotations

import asyncio
import logging
import signal

from server.db.embedded import ensure_database, start_embedded_postgres
from server.db.migrate import migrate
from server.settings import Settings, split_host_port

log = logging.getLogger("kopilka.runtime")


async def prepare_database(settings: Settings) -> str:
    """The database URL to use: KOPILKA_DATABASE_URL, or an embedded PostgreSQL, migrated."""
    if settings.database_url:
        url = settings.database_url
    else:
        server_url = await asyncio.to_thread(start_embedded_postgres, settings.data_dir)
        url = await ensure_database(server_url)
    await migrate(url)
    return url


def start_metrics_server(settings: Settings, multiprocess: bool = False) -> int:
    """Serve /metrics on its own port in a thread; returns the bound port."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    registry = REGISTRY
    if multiprocess:
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
    host, port = split_host_port(settings.metrics_listen)
    httpd, _thread = start_http_server(port, addr=host, registry=registry)
    bound = int(httpd.server_port)
    log.info("serving metrics", extra={"port": bound, "path": "/metrics"})
    return bound


async def serve(settings: Settings, database_url: str) -> None:
    """Run one server process until SIGINT/SIGTERM, then shut down gracefully."""
    from server.app import build_app

    app = build_app(settings, database_url)
    await app.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
    await app.stop()
