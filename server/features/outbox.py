"""Plugins and the outbox for the App: plugin host from settings, channel start with
delivery receipts recorded in the mailing history, the dispatcher task.

`build_app` keeps the host as `deps.plugins` and the dispatcher as `deps.outbox` (None when
KOPILKA_OUTBOX_ENABLED=false, e.g. on a read-only replica node).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from server.db.marketing.gate import SqlSendGate
from server.db.outbox.repo import SqlOutboxStore
from server.events.consumers import EventConsumers
from server.features.stop_reply import incoming_handler
from server.marketing.pacing import Pacing
from server.outbox.dispatcher import OutboxDispatcher
from server.outbox.policy import RetryPolicy
from server.plugin_contracts import DeliveryReport
from server.plugin_host import PluginHost, build_plugin_manager
from server.settings import Settings

if TYPE_CHECKING:
    from server.app import App

log = logging.getLogger("kopilka.outbox")


def plugin_sections(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per-plugin settings sections: the typed smpp_/smtp_ fields plus plugin_settings."""
    sections: dict[str, dict[str, Any]] = {}
    if settings.smpp_host:
        sections["smpp"] = {
            "host": settings.smpp_host, "port": settings.smpp_port,
            "system_id": settings.smpp_system_id, "password": settings.smpp_password,
            "source_addr": settings.smpp_source_addr,
        }
    if settings.smtp_host:
        sections["email"] = {
            "host": settings.smtp_host, "port": settings.smtp_port,
            "sender": settings.smtp_sender, "username": settings.smtp_username,
            "password": settings.smtp_password, "use_tls": settings.smtp_use_tls,
            "start_tls": settings.smtp_start_tls,
        }
    if settings.dev_sms or (settings.demo_mode and not settings.smpp_host):
        # the demo has no SMSC: its codes are shown on the terminal (plugins/devsms)
        sections["devsms"] = {"demo": settings.demo_mode,
                              "allow_outside_demo": settings.dev_sms}
    for name, extra in settings.plugin_settings.items():
        sections[name] = {**sections.get(name, {}), **extra}
    return sections


def build_plugin_host(settings: Settings) -> PluginHost:
    """Load plugins and create their providers now, so bad configuration stops start-up."""
    host = PluginHost(build_plugin_manager(), plugin_sections(settings))
    host.message_channels()
    return host


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.outbox_max_attempts,
                       base_seconds=settings.outbox_backoff_seconds,
                       max_seconds=settings.outbox_backoff_max_seconds)


def pacing(settings: Settings) -> Pacing:
    """Quiet hours and the frequency cap of marketing messages, from settings."""
    return Pacing(dt.time.fromisoformat(settings.marketing_quiet_start),
                  dt.time.fromisoformat(settings.marketing_quiet_end),
                  settings.marketing_daily_cap, settings.marketing_time_zone)


def build_dispatcher(settings: Settings, store: SqlOutboxStore, host: PluginHost,
                     consumers: EventConsumers | None = None) -> OutboxDispatcher | None:
    """The outbox dispatcher of this process, or None when KOPILKA_OUTBOX_ENABLED=false;
    it gives events to the plugins' hook, then to `consumers`; marketing messages pass the
    send gate (quiet hours, cap, consent) as they go."""
    if not settings.outbox_enabled:
        return None
    return OutboxDispatcher(
        store, host, retry_policy(settings), batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds, lease_seconds=settings.outbox_lease_seconds,
        consumers=consumers, gate=SqlSendGate(store.db, pacing(settings)))


def attach(app: App, host: PluginHost, store: SqlOutboxStore,
           dispatcher: OutboxDispatcher | None) -> None:
    """Start the channels (delivery receipts go to `store`) and the dispatcher with the app;
    stop them before the pool closes."""
    settings = app.settings

    async def on_delivery_report(report: DeliveryReport) -> None:
        # Raising (database down) makes the channel ask the provider to redeliver.
        if not await store.record_delivery(report):
            log.info("receipt for unknown %s message %s kept for later", report.channel,
                     report.provider_message_id)

    async def start(app: App) -> None:
        await host.start_channels(on_delivery_report,
                                  incoming_handler(app.db, settings.default_region))
        if dispatcher is not None:
            dispatcher.start()

    async def stop(app: App) -> None:
        if dispatcher is not None:
            await dispatcher.stop(grace=settings.shutdown_grace_seconds)
        await host.stop_channels()

    app.on_start.append(start)
    app.on_stop.append(stop)
