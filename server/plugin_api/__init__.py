"""The server's plugin API: what a Kopilka plugin imports, and all it may rely on.

Like ``pytest`` or ``tox.plugin``, the host publishes its hook marker, hook specifications
and the types they exchange; plugins (built-in or third-party) import them from here::

    from server.plugin_api import OutgoingMessage, SendResult, SendStatus, hookimpl

The server itself imports no plugin: plugins are found through the ``kopilka.plugins``
entry-point group (see ``plugins/README.md`` and ``server.plugin_host``).
"""

from server.plugin_api.config import settings_from_mapping
from server.plugin_api.contracts import (
    CatalogCallback,
    CatalogExchange,
    CatalogItem,
    CatalogPackage,
    DeliveryCallback,
    DeliveryReport,
    DeliveryState,
    DomainEvent,
    HttpCatalogExchange,
    HttpEndpoint,
    InvalidSignatureError,
    MessageChannel,
    OrderExport,
    OutgoingMessage,
    PaymentCheckout,
    PaymentNotice,
    PaymentProvider,
    PaymentRequest,
    PaymentState,
    PluginSettings,
    ReportingCatalogExchange,
    Scan,
    ScannerSource,
    SendResult,
    SendStatus,
    Shipment,
    ShipmentProvider,
    ShipmentRequest,
    ShipmentState,
    TrackingInfo,
)
from server.plugin_api.hookspecs import PROJECT_NAME, hookimpl, hookspec

#: The entry-point group plugins register under (``[project.entry-points."kopilka.plugins"]``).
ENTRY_POINT_GROUP = "kopilka.plugins"

__all__ = [
    "ENTRY_POINT_GROUP", "PROJECT_NAME", "CatalogCallback", "CatalogExchange", "CatalogItem",
    "CatalogPackage", "DeliveryCallback", "DeliveryReport", "DeliveryState", "DomainEvent",
    "HttpCatalogExchange", "HttpEndpoint", "InvalidSignatureError", "MessageChannel",
    "OrderExport", "OutgoingMessage", "PaymentCheckout", "PaymentNotice", "PaymentProvider",
    "PaymentRequest", "PaymentState", "PluginSettings", "ReportingCatalogExchange", "Scan",
    "ScannerSource", "SendResult", "SendStatus", "Shipment", "ShipmentProvider",
    "ShipmentRequest", "ShipmentState", "TrackingInfo", "hookimpl", "hookspec",
    "settings_from_mapping",
]
