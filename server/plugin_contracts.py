"""Types exchanged between the Kopilka host and its plugins (published by `server.plugin_api`).

Pure data and Protocols only: no grpc, SQLAlchemy or pluggy here, so that domain code,
the outbox dispatcher and third-party plugins can all import this module cheaply.
Providers are objects with *async* methods returned by *sync* registration hooks,
because pluggy calls hooks synchronously and never awaits coroutines.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from aiohttp import web

#: Per-plugin configuration sections, e.g. ``{"smpp": {"host": "...", "port": 2775}}``.
#: A plugin whose section is missing is not configured and returns no providers.
PluginSettings = Mapping[str, Mapping[str, Any]]


# --- messaging ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to one recipient on one channel (SMS, e-mail, Viber, ...).

    ``reference`` is the caller's idempotency key (the outbox row id), passed through so
    providers that support client references can deduplicate retries.
    """

    channel: str
    recipient: str
    body: str
    subject: str | None = None
    sender: str | None = None
    reference: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class SendStatus(enum.StrEnum):
    """Outcome of a send, telling the outbox whether to retry."""

    ACCEPTED = "accepted"  # the provider took every part; receipts may follow
    REJECTED = "rejected"  # permanent failure: retrying the same message will not help
    RETRY_LATER = "retry_later"  # transient failure (network, throttling): retry later


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a provider answered; ``provider_message_ids`` has one id per accepted part."""

    status: SendStatus
    provider_message_ids: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is SendStatus.ACCEPTED


class DeliveryState(enum.StrEnum):
    """Final or intermediate state of a sent message (SMPP 3.4 message_state names)."""

    ENROUTE = "enroute"
    DELIVERED = "delivered"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNDELIVERABLE = "undeliverable"
    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A delivery receipt for one provider message id (one part of a long SMS)."""

    channel: str
    provider_message_id: str
    state: DeliveryState
    error_code: str | None = None
    raw: str = ""


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message a member sent us (a mobile-originated SMS such as "STOP").

    ``sender`` is E.164 with "+" for phone channels when the provider gives digits."""

    channel: str
    sender: str
    body: str
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


#: Async callback for incoming messages; if it raises, the channel asks for redelivery.
IncomingCallback = Callable[[IncomingMessage], Awaitable[None]]


#: Async callback the host passes to ``MessageChannel.start``; it may persist the report.
#: If it raises, the channel tells the provider to redeliver the report when it can.
DeliveryCallback = Callable[[DeliveryReport], Awaitable[None]]


@runtime_checkable
class MessageChannel(Protocol):
    """A way to reach a member: ``name`` is the channel key ("sms", "email", "viber")."""

    name: str

    async def start(self, on_delivery_report: DeliveryCallback | None = None) -> None:
        """Open connections; report receipts to ``on_delivery_report`` from now on."""

    async def stop(self) -> None:
        """Close connections; pending sends fail with ``RETRY_LATER``."""

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send one message; never raises for provider errors, returns a status instead."""


@runtime_checkable
class HttpCallbackChannel(MessageChannel, Protocol):
    """A channel whose provider reports back over HTTP (Viber status callbacks, ...).

    The server mounts ``http_endpoint()`` on its HTTP site (KOPILKA_HTTP_LISTEN) when it
    starts the channels; the endpoint verifies each callback and hands the reports to the
    ``on_delivery_report`` the channel was started with. Stateless between requests, so it
    runs in every worker process.
    """

    def http_endpoint(self) -> HttpEndpoint:
        """The routes the provider calls (``path`` is their prefix, e.g. ``/hooks/viber``)."""


@runtime_checkable
class ReceivingChannel(MessageChannel, Protocol):
    """A channel that also receives messages from members (SMPP deliver_sm, Viber replies).

    Optional: the host calls ``on_incoming`` before ``start`` on channels that have it."""

    def on_incoming(self, callback: IncomingCallback) -> None:
        """Give incoming messages to ``callback`` from now on."""


# --- payments ----------------------------------------------------------------------------


class PaymentState(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """Money in integer minor units plus ISO 4217 currency, as everywhere in Kopilka."""

    order_id: str
    amount_minor: int
    currency: str
    description: str
    result_url: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentCheckout:
    """How to send the buyer to the provider: a URL and/or form fields to POST there."""

    provider: str
    order_id: str
    url: str
    form_fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    """A verified payment status, from a provider callback or a status query."""

    provider: str
    order_id: str
    state: PaymentState
    provider_payment_id: str | None = None
    amount_minor: int | None = None
    currency: str | None = None


class InvalidSignatureError(ValueError):
    """A provider callback whose signature does not verify; never trust its content."""


@runtime_checkable
class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, request: PaymentRequest) -> PaymentCheckout:
        """Prepare a payment the buyer completes on the provider's side."""

    def parse_callback(self, form: Mapping[str, str]) -> PaymentNotice:
        """Verify and decode a provider callback; raise ``InvalidSignatureError`` if forged."""

    async def fetch_status(self, order_id: str) -> PaymentNotice:
        """Ask the provider for the current state (for callbacks that never came)."""


# --- shipments ---------------------------------------------------------------------------


class ShipmentState(enum.StrEnum):
    CREATED = "created"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived"
    RECEIVED = "received"
    REFUSED = "refused"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    order_id: str
    recipient_name: str
    recipient_phone: str
    destination: str  # provider-specific destination reference (city/warehouse id)
    declared_value_minor: int
    currency: str
    weight_grams: int


@dataclass(frozen=True, slots=True)
class Shipment:
    provider: str
    order_id: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class TrackingInfo:
    provider: str
    tracking_number: str
    state: ShipmentState
    provider_status: str  # the provider's own code, kept for support staff


@runtime_checkable
class ShipmentProvider(Protocol):
    name: str

    async def create_shipment(self, request: ShipmentRequest) -> Shipment:
        """Register a parcel with the carrier and return its tracking number."""

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingInfo]:
        """Current state of several parcels in one provider call."""


# --- catalog exchange (1C and similar ERP systems) ---------------------------------------


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One product, or one variant of it, as the ERP describes it.

    Variants (1C "characteristics") share their product's ``sku`` and carry a
    ``variant_id``; ``external_id`` is the ERP's own key (1C ``Ид``, "product#variant"
    for a variant) for round trips such as order export. ``stock_milli`` is the quantity
    on hand in thousandths, like every quantity in Kopilka.
    """

    sku: str
    name: str
    group: str | None = None
    brand: str | None = None
    barcodes: tuple[str, ...] = ()
    price_minor: int | None = None
    currency: str | None = None
    subgroup: str | None = None
    external_id: str | None = None
    variant_id: str | None = None
    stock_milli: int | None = None


@dataclass(frozen=True, slots=True)
class OrderExport:
    """An order as the ERP should see it; lines are (sku, quantity in thousandths, sum)."""

    order_id: str
    created_at: datetime
    total_minor: int
    currency: str
    lines: tuple[tuple[str, int, int], ...]
    # Where the order is in its life (the order's state name) and its version: the ERP
    # sees a changed order again, and the exchange marks exactly this version exported.
    state: str = ""
    version: int = 0


@dataclass(frozen=True, slots=True)
class StockRow:
    """A balance the ERP reports for a store (its warehouse mapped by the plugin's
    settings): the SKU and the quantity on hand in thousandths."""

    store_code: str
    sku: str
    quantity_milli: int


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """What the ERP says became of an order: ``action`` is confirm, complete or cancel."""

    order_id: str
    action: str
    reason: str


class ExchangeState(Protocol):
    """Where an HTTP exchange keeps its conversations (sessions, uploaded files, running
    imports, the orders a query handed out, the ERP's product keys), so any worker process
    can answer the next request and a restart between two files loses nothing."""

    async def open_session(self, token: str, keep: int) -> None:
        """A new session; only the ``keep`` most recent ones stay."""

    async def has_session(self, token: str) -> bool: ...

    async def reset_files(self, token: str) -> None:
        """Forget the session's uploads (``mode=init`` starts a fresh exchange)."""

    async def append_file(self, token: str, filename: str, chunk: bytes) -> None: ...

    async def read_file(self, token: str, filename: str) -> bytes | None: ...

    async def begin_import(self, token: str, filename: str, stale_seconds: float
                           ) -> tuple[str, str]:
        """("start", "") when this caller should run the import now (none ran, or the one
        running stopped beating for ``stale_seconds``), else ("running" | "done" |
        "failed", message)."""

    async def beat_import(self, token: str, filename: str) -> None: ...

    async def import_state(self, token: str, filename: str) -> tuple[str, str]:
        """("" | "running" | "done" | "failed", message) of the file's import."""

    async def end_import(self, token: str, filename: str, state: str, message: str) -> None:
        """``state``: "done" or "failed" (told to the ERP once), "" forgets the import."""

    async def remember_query(self, token: str, orders: list[tuple[str, int]]) -> None: ...

    async def take_query(self, token: str) -> list[tuple[str, int]]:
        """The (order id, version) pairs the session's last query handed out, forgotten."""

    async def known_products(self) -> dict[str, tuple[str, str]]:
        """ERP product key -> (SKU, name), of every package stored before."""

    async def remember_products(self, products: list[tuple[str, str, str]]) -> None: ...


@runtime_checkable
class CatalogExchange(Protocol):
    name: str

    async def parse_catalog(self, documents: Mapping[str, bytes]) -> list[CatalogItem]:
        """Decode files uploaded by the ERP (e.g. import.xml + offers.xml)."""

    async def render_orders(self, orders: Sequence[OrderExport]) -> bytes:
        """Encode orders for the ERP to download."""


CatalogCallback = Callable[[list[CatalogItem]], Awaitable[None]]
OrdersQuery = Callable[[], Awaitable[Sequence[OrderExport]]]
OrdersExported = Callable[[list[tuple[str, int]]], Awaitable[None]]
StockCallback = Callable[[list[StockRow]], Awaitable[list[str]]]  # -> notes for the ERP
StatusCallback = Callable[[list[OrderStatus]], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class ExchangeHooks:
    """What the server gives an HTTP exchange besides the catalog: its state, orders to
    export and mark exported, stock per warehouse, and order statuses read back."""

    state: ExchangeState | None = None
    orders_query: OrdersQuery | None = None
    orders_exported: OrdersExported | None = None
    on_stock: StockCallback | None = None
    on_statuses: StatusCallback | None = None


@dataclass(frozen=True, slots=True)
class CatalogPackage:
    """A parsed ERP upload: its items, and notes telling the operator what was left out."""

    items: list[CatalogItem]
    notes: tuple[str, ...] = ()


@runtime_checkable
class ReportingCatalogExchange(CatalogExchange, Protocol):
    """A catalog exchange that also reports what it skipped (for `kopilka catalog` imports)."""

    def parse_package(self, documents: Mapping[str, bytes]) -> CatalogPackage:
        """Like ``parse_catalog``, with notes; raises ``ValueError`` for a malformed file."""


@runtime_checkable
class HttpEndpoint(Protocol):
    """An aiohttp application the server mounts on its HTTP listener (KOPILKA_HTTP_LISTEN)."""

    path: str

    def app(self) -> web.Application:
        """The application to serve; its cleanup releases what the endpoint holds."""

    def add_routes(self, application: web.Application) -> None:
        """Add the endpoint's routes to a shared application (the server's one site)."""

    async def close(self) -> None:
        """Release what the endpoint holds (the server calls it when the site stops)."""


@runtime_checkable
class HttpCatalogExchange(CatalogExchange, Protocol):
    """A catalog exchange the ERP drives over HTTP (1C's "Обмен с сайтом" pushes to us)."""

    def http_endpoint(self, on_catalog: CatalogCallback,
                      hooks: ExchangeHooks | None = None) -> HttpEndpoint:
        """The endpoint the ERP talks to; items it uploads go to ``on_catalog``, the rest
        through ``hooks``.

        Raises ``ValueError`` naming the settings it lacks (e.g. the login the ERP uses).
        """


# --- scanners ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scan:
    """One scanned code. For an in-store EAN-13 with an embedded value (prefixes 20-29
    as the store's scales print them) ``item_code`` is the article number and either
    ``quantity_milli`` (weight: grams = kg in thousandths) or ``price_minor`` is set."""

    source: str
    code: str
    symbology: str | None = None
    scanned_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    item_code: str | None = None
    quantity_milli: int | None = None
    price_minor: int | None = None


@runtime_checkable
class ScannerSource(Protocol):
    name: str

    def scans(self) -> AsyncIterator[Scan]:
        """Yield scanned codes until the source is closed."""

    async def close(self) -> None:
        """Release the device."""


# --- domain events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened, delivered after commit by the outbox (at least once).

    ``type`` is dotted ``noun.verb_past`` ("receipt.confirmed", "member.registered");
    ``event_id`` is stable across redeliveries so handlers can deduplicate; ``version`` is
    the payload schema's version (docs/events.md lists every type and its fields).
    """

    type: str
    payload: Mapping[str, Any]
    event_id: str
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: int = 1
