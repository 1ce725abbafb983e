"""The server's plugin API: what a Kopilka plugin imports, and all it may rely on.

Like ``pytest`` or ``tox.plugin``, the host publishes its hook marker, the hook
specifications and the types they exchange; plugins (built-in or third-party) import them
from here::

    from server.plugin_api import OutgoingMessage, SendResult, SendStatus, hookimpl

The server itself imports no plugin: plugins are found through the ``kopilka.plugins``
entry-point group (see ``plugins/README.md``; ``server.plugin_host`` loads them). The
types live in ``server.plugin_contracts`` (no pluggy there, so domain code imports them).

Registration hooks are *sync* and return provider objects whose methods are async
(tox's pattern): pluggy calls implementations synchronously and would hand back an
un-awaited coroutine from an ``async def`` hook. Every hook returns a list so one plugin
can offer several providers; the host flattens the results. A plugin whose settings
section is missing returns an empty list.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import pluggy

from server.plugin_contracts import (
    CatalogCallback,
    CatalogExchange,
    CatalogItem,
    CatalogPackage,
    DeliveryCallback,
    DeliveryReport,
    DeliveryState,
    DomainEvent,
    ExchangeHooks,
    ExchangeState,
    HttpCallbackChannel,
    HttpCatalogExchange,
    HttpEndpoint,
    IncomingCallback,
    IncomingMessage,
    InvalidSignatureError,
    MessageChannel,
    OrderExport,
    OrderStatus,
    OutgoingMessage,
    PaymentCheckout,
    PaymentNotice,
    PaymentProvider,
    PaymentRequest,
    PaymentState,
    PluginSettings,
    ReceivingChannel,
    ReportingCatalogExchange,
    Scan,
    ScannerSource,
    SendResult,
    SendStatus,
    Shipment,
    ShipmentProvider,
    ShipmentRequest,
    ShipmentState,
    StockRow,
    TrackingInfo,
)

#: The entry-point group plugins register under (``[project.entry-points."kopilka.plugins"]``).
ENTRY_POINT_GROUP = "kopilka.plugins"
PROJECT_NAME = "kopilka"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def kopilka_message_channels(settings: PluginSettings) -> list[MessageChannel]:
    """Return message channels (SMS, e-mail, Viber, ...) this plugin provides.

    Channel names must be unique across plugins; the host refuses duplicates. The host
    calls ``start(on_delivery_report)`` before the first send and ``stop()`` at shutdown;
    a channel that receives messages from members (``ReceivingChannel``) gets
    ``on_incoming(callback)`` before ``start``.
    ``settings`` maps plugin names to their configuration sections: read your own and
    return ``[]`` when it is missing.
    """
    return []  # pluggy calls the implementations, never this spec


@hookspec
def kopilka_payment_providers(settings: PluginSettings) -> list[PaymentProvider]:
    """Return payment providers (LiqPay, ...) used for online payments and top-ups.

    ``settings`` maps plugin names to their configuration sections: read your own and
    return ``[]`` when it is missing.
    """
    return []  # pluggy calls the implementations, never this spec


@hookspec
def kopilka_shipment_providers(settings: PluginSettings) -> list[ShipmentProvider]:
    """Return shipment providers (Nova Poshta, ...) that create and track parcels.

    ``settings`` maps plugin names to their configuration sections: read your own and
    return ``[]`` when it is missing.
    """
    return []  # pluggy calls the implementations, never this spec


@hookspec
def kopilka_catalog_exchanges(settings: PluginSettings) -> list[CatalogExchange]:
    """Return catalog exchanges with ERP systems (1C CommerceML, ...).

    ``settings`` maps plugin names to their configuration sections: read your own and
    return ``[]`` when it is missing.
    """
    return []  # pluggy calls the implementations, never this spec


@hookspec
def kopilka_scanner_sources(settings: PluginSettings) -> list[ScannerSource]:
    """Return barcode scanner sources (serial ports, keyboard wedges, ...).

    ``settings`` maps plugin names to their configuration sections: read your own and
    return ``[]`` when it is missing.
    """
    return []  # pluggy calls the implementations, never this spec


@hookspec
def kopilka_on_event(event: DomainEvent) -> None:
    """React to ``event``, a committed domain event such as "receipt.confirmed".

    Called synchronously by the outbox dispatcher, at least once per event: keep it quick
    and idempotent (deduplicate on ``event.event_id``). Start slow work elsewhere, e.g. by
    enqueueing it; an exception is logged and recorded against this plugin only.
    """


# --- settings sections -------------------------------------------------------------------
# Sections come from environment variables or files, so values may be strings; they are
# coerced to each field's annotated type (``int``, ``float``, ``bool``, optionally
# ``| None``). Unknown keys are errors: a typo must not silently fall back to a default.

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def settings_from_mapping(cls: type[T], raw: Mapping[str, Any]) -> T:
    """Instantiate dataclass ``cls`` from ``raw``, coercing string values."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(cls)
    return cls(**{name: _coerce(name, hints[name], value) for name, value in raw.items()})


def _coerce(name: str, hint: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if isinstance(hint, types.UnionType):  # "int | None": use the non-None member
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is bool:
        lowered = value.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(f"{name}: expected a boolean, got {value!r}")
        return lowered in _TRUE
    if hint in (int, float):
        return hint(value)
    return value


__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "CatalogCallback",
    "CatalogExchange",
    "CatalogItem",
    "CatalogPackage",
    "DeliveryCallback",
    "DeliveryReport",
    "DeliveryState",
    "DomainEvent",
    "ExchangeHooks",
    "ExchangeState",
    "HttpCallbackChannel",
    "HttpCatalogExchange",
    "HttpEndpoint",
    "IncomingCallback",
    "IncomingMessage",
    "InvalidSignatureError",
    "MessageChannel",
    "OrderExport",
    "OrderStatus",
    "OutgoingMessage",
    "PaymentCheckout",
    "PaymentNotice",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentState",
    "PluginSettings",
    "ReceivingChannel",
    "ReportingCatalogExchange",
    "Scan",
    "ScannerSource",
    "SendResult",
    "SendStatus",
    "Shipment",
    "ShipmentProvider",
    "ShipmentRequest",
    "ShipmentState",
    "StockRow",
    "TrackingInfo",
    "hookimpl",
    "hookspec",
    "settings_from_mapping",
]
