"""Hook specifications of the ``kopilka`` pluggy project.

Registration hooks are *sync* and return provider objects whose methods are async
(tox's pattern): pluggy calls implementations synchronously and would hand back an
un-awaited coroutine from an ``async def`` hook. Every hook returns a list so one plugin
can offer several providers; the host flattens the results. A plugin whose settings
section is missing returns an empty list.
"""

from __future__ import annotations

import pluggy

from server.plugin_api.contracts import (
    CatalogExchange,
    DomainEvent,
    MessageChannel,
    PaymentProvider,
    PluginSettings,
    ScannerSource,
    ShipmentProvider,
)

PROJECT_NAME = "kopilka"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def kopilka_message_channels(settings: PluginSettings) -> list[MessageChannel]:
    """Return message channels (SMS, e-mail, Viber, ...) this plugin provides.

    Channel names must be unique across plugins; the host refuses duplicates. The host
    calls ``start(on_delivery_report)`` before the first send and ``stop()`` at shutdown.
    """


@hookspec
def kopilka_payment_providers(settings: PluginSettings) -> list[PaymentProvider]:
    """Return payment providers (LiqPay, ...) used for online payments and top-ups."""


@hookspec
def kopilka_shipment_providers(settings: PluginSettings) -> list[ShipmentProvider]:
    """Return shipment providers (Nova Poshta, ...) that create and track parcels."""


@hookspec
def kopilka_catalog_exchanges(settings: PluginSettings) -> list[CatalogExchange]:
    """Return catalog exchanges with ERP systems (1C CommerceML, ...)."""


@hookspec
def kopilka_scanner_sources(settings: PluginSettings) -> list[ScannerSource]:
    """Return barcode scanner sources (serial ports, keyboard wedges, ...)."""


@hookspec
def kopilka_on_event(event: DomainEvent) -> None:
    """React to a committed domain event such as "receipt.confirmed".

    Called synchronously by the outbox dispatcher, at least once per event: keep it quick
    and idempotent (deduplicate on ``event.event_id``). Start slow work elsewhere, e.g. by
    enqueueing it; an exception is logged and recorded against this plugin only.
    """
