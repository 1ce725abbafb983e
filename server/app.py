"""Composition root: settings in, a running gRPC server out. No import-time side effects."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from kopilka.v1 import (
    admin_pb2_grpc,
    appeals_pb2_grpc,
    audit_pb2_grpc,
    bonus_pb2_grpc,
    certificates_pb2_grpc,
    coupons_pb2_grpc,
    imports_pb2_grpc,
    mailings_pb2_grpc,
    marketing_pb2_grpc,
    members_pb2_grpc,
    orders_pb2_grpc,
    payments_pb2_grpc,
    promotions_pb2_grpc,
    receipts_pb2_grpc,
    roles_pb2_grpc,
    shopping_pb2_grpc,
    social_pb2_grpc,
    surveys_pb2_grpc,
    users_pb2_grpc,
    verification_pb2_grpc,
)

from server.api.deps import ApiDeps
from server.api.interceptors import ApiInterceptor
from server.api.servicers.admin import AdminServicer
from server.api.servicers.appeals import AppealServicer
from server.api.servicers.audit import AuditServicer
from server.api.servicers.bonus import BonusServicer
from server.api.servicers.certificates import CertificateServicer
from server.api.servicers.coupons import CouponServicer
from server.api.servicers.imports import ImportServicer
from server.api.servicers.mailings import MailingServicer
from server.api.servicers.marketing import MarketingServicer
from server.api.servicers.members import MemberServicer
from server.api.servicers.orders import OrderServicer
from server.api.servicers.payments import PaymentServicer
from server.api.servicers.promotions import PromotionServicer
from server.api.servicers.receipts import ReceiptServicer
from server.api.servicers.roles import RoleServicer
from server.api.servicers.shopping import ShoppingServicer
from server.api.servicers.social import SocialServicer
from server.api.servicers.surveys import SurveyServicer
from server.api.servicers.users import UserServicer
from server.api.servicers.verification import VerificationServicer
from server.api.tls import describe, server_credentials
from server.auth.keys import KeyVerifier
from server.auth.limits import Limits
from server.auth.principal import Principal
from server.db.api_keys_repo import principal_by_secret_hash
from server.db.database import Database
from server.db.ledger.pool import LedgerPool
from server.db.ledger.store import SqlLedgerStore
from server.db.outbox.repo import SqlOutboxStore
from server.db.secrets_repo import signing_secret
from server.events.consumers import EventConsumer, EventConsumers
from server.features import channel_http as channel_http_feature
from server.features import connect_http as connect_http_feature
from server.features import console as console_feature
from server.features import jobs as jobs_feature
from server.features import ledger_pool as ledger_pool_feature
from server.features import meta_hooks as meta_hooks_feature
from server.features import onec_http as onec_http_feature
from server.features import order_links as order_links_feature
from server.features import outbox as outbox_feature
from server.features import payments_http as payments_http_feature
from server.features import pricing as pricing_feature
from server.features import roles as roles_feature
from server.features import surveys as surveys_feature
from server.features import telephony as telephony_feature
from server.features import triggers as triggers_feature
from server.features import unsubscribe as unsubscribe_feature
from server.features.connect_http import RpcCapture
from server.features.http import HttpMountFactory, HttpServer, http_server
from server.features.pricing import PricingState
from server.ledger.service import LedgerService
from server.settings import Settings, split_host_port

log = logging.getLogger("kopilka.app")

# (add_XServicer_to_server, servicer class taking ApiDeps, full service name)
# What the HTTP site (KOPILKA_HTTP_LISTEN) serves; each factory returns None when its feature
# is off. Add a feature's factory here; it adds its own routes to the one site.
HTTP_MOUNTS: list[HttpMountFactory] = [onec_http_feature.onec_mount,
                                       connect_http_feature.connect_mount,
                                       channel_http_feature.channel_callbacks_mount,
                                       console_feature.console_mount,
                                       order_links_feature.order_links_mount,
                                       unsubscribe_feature.unsubscribe_mount,
                                       telephony_feature.telephony_mount,
                                       payments_http_feature.payments_mount,
                                       payments_http_feature.invoices_mount,
                                       meta_hooks_feature.meta_mount,
                                       surveys_feature.surveys_mount]

# In-process consumers of domain events (marketing triggers, ...): each factory returns one
# for this process, or None when its feature is off; the dispatcher runs them after the
# plugins' `kopilka_on_event`, each at most once per event (server/events/consumers.py).
EVENT_CONSUMERS: list[Callable[[ApiDeps], EventConsumer | None]] = [
    triggers_feature.trigger_consumer]

SERVICERS: list[tuple[Callable[[Any, grpc.aio.Server], None], Callable[[ApiDeps], Any], str]] = [
    (members_pb2_grpc.add_MemberServiceServicer_to_server, MemberServicer,
     "kopilka.v1.MemberService"),
    (admin_pb2_grpc.add_AdminServiceServicer_to_server, AdminServicer, "kopilka.v1.AdminService"),
    (certificates_pb2_grpc.add_CertificateServiceServicer_to_server, CertificateServicer,
     "kopilka.v1.CertificateService"),
    (verification_pb2_grpc.add_VerificationServiceServicer_to_server, VerificationServicer,
     "kopilka.v1.VerificationService"),
    (receipts_pb2_grpc.add_ReceiptServiceServicer_to_server, ReceiptServicer,
     "kopilka.v1.ReceiptService"),
    (bonus_pb2_grpc.add_BonusServiceServicer_to_server, BonusServicer, "kopilka.v1.BonusService"),
    (mailings_pb2_grpc.add_MailingServiceServicer_to_server, MailingServicer,
     "kopilka.v1.MailingService"),
    (users_pb2_grpc.add_UserServiceServicer_to_server, UserServicer, "kopilka.v1.UserService"),
    (roles_pb2_grpc.add_RoleServiceServicer_to_server, RoleServicer, "kopilka.v1.RoleService"),
    (audit_pb2_grpc.add_AuditServiceServicer_to_server, AuditServicer, "kopilka.v1.AuditService"),
    (shopping_pb2_grpc.add_ShoppingServiceServicer_to_server, ShoppingServicer,
     "kopilka.v1.ShoppingService"),
    (orders_pb2_grpc.add_OrderServiceServicer_to_server, OrderServicer, "kopilka.v1.OrderService"),
    (marketing_pb2_grpc.add_MarketingServiceServicer_to_server, MarketingServicer,
     "kopilka.v1.MarketingService"),
    (promotions_pb2_grpc.add_PromotionServiceServicer_to_server, PromotionServicer,
     "kopilka.v1.PromotionService"),
    (imports_pb2_grpc.add_ImportServiceServicer_to_server, ImportServicer,
     "kopilka.v1.ImportService"),
    (coupons_pb2_grpc.add_CouponServiceServicer_to_server, CouponServicer,
     "kopilka.v1.CouponService"),
    (appeals_pb2_grpc.add_AppealServiceServicer_to_server, AppealServicer,
     "kopilka.v1.AppealService"),
    (payments_pb2_grpc.add_PaymentServiceServicer_to_server, PaymentServicer,
     "kopilka.v1.PaymentService"),
    (social_pb2_grpc.add_SocialServiceServicer_to_server, SocialServicer,
     "kopilka.v1.SocialService"),
    (surveys_pb2_grpc.add_SurveyServiceServicer_to_server, SurveyServicer,
     "kopilka.v1.SurveyService"),
]


class ListenError(RuntimeError):
    """The gRPC address cannot be bound; `kopilka serve` says so in one line."""


@dataclass
class App:
    """A built server: call `start()`, then `stop()`; `grpc_port` is known after start."""

    settings: Settings
    deps: ApiDeps
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    service_names: list[str]
    grpc_port: int = 0
    # The HTTP site when KOPILKA_HTTP_LISTEN is set and something mounts (`port` bound at start).
    http: HttpServer | None = None
    # Feature start-up (pricing load, pools, channels, the outbox dispatcher), run in order
    # before health says SERVING; stopped in reverse order before the pool closes.
    on_start: list[Callable[[App], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[App], Awaitable[None]]] = field(default_factory=list)
    serving: bool = False  # between start() saying SERVING and stop()

    @property
    def db(self) -> Database:
        return self.deps.db

    def add_background(self, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `run()` as a task from start() until stop() cancels it (polling loops)."""
        task: asyncio.Task[None] | None = None

        async def start(_: App) -> None:
            nonlocal task
            task = asyncio.create_task(run())

        async def stop(_: App) -> None:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        self.on_start.append(start)
        self.on_stop.append(stop)

    async def start(self) -> int:
        """Listen, run the start hooks, then say SERVING: a caller that saw SERVING finds
        the pricing snapshot, pools and channels ready."""
        credentials = server_credentials(self.settings)  # bad TLS files: fail before anything
        async with self.db.transaction() as session:
            self.deps.load_signer(await signing_secret(session))
        host, port = split_host_port(self.settings.grpc_listen)
        address = f"{host}:{port}"
        try:
            self.grpc_port = (
                self.server.add_insecure_port(address) if credentials is None
                else self.server.add_secure_port(address, credentials)
            )
        except RuntimeError:  # grpc raises "Failed to bind" where older versions returned 0
            self.grpc_port = 0
        if self.grpc_port == 0:
            raise ListenError(f"cannot listen on {self.settings.grpc_listen} "
                              "(KOPILKA_GRPC_LISTEN): the port is taken or the address is "
                              "not this machine's")
        for name in [*self.service_names, ""]:  # the health servicer starts out SERVING
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        for hook in self.on_start:
            await hook(self)
        for name in [*self.service_names, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.serving = True
        log.info("serving gRPC", extra={"port": self.grpc_port,
                                        "transport": describe(self.settings)})
        return self.grpc_port

    async def database_changed(self, up: bool) -> None:
        """While the database is unreachable every service says NOT_SERVING, so load
        balancers send calls to another server (server/db/outage.py)."""
        if not self.serving:
            return  # not started yet, or stopping: start() and stop() own the health
        status = (health_pb2.HealthCheckResponse.SERVING if up
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        for name in [*self.service_names, ""]:
            await self.health.set(name, status)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking calls, let running ones finish within `grace`, close the pool."""
        self.serving = False
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.shutdown_grace_seconds if grace is None else grace)
        for hook in reversed(self.on_stop):
            await hook(self)
        await self.db.dispose()


# Calls here are small unary messages: HTTP/2 BDP probing (pings that size the flow-control
# window for bulk streams) only costs CPU on every call; the default 64 KiB window suffices.
GRPC_TUNING = [("grpc.http2.bdp_probe", 0)]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_app(settings: Settings, database_url: str,
              clock: Callable[[], float] = time.monotonic,
              wall_clock: Callable[[], dt.datetime] = _utc_now) -> App:
    """Wire database, auth, interceptors, servicers and features for one server process;
    `clock` (seconds, monotonic) drives the rate limits and the API key caches, and
    `wall_clock` (aware UTC) the logins, sessions and key lifetimes, so tests can move time."""
    timeouts = {"connect_timeout": settings.db_connect_timeout_seconds,
                "statement_timeout": settings.db_statement_timeout_seconds}
    db = Database(database_url, pool_size=settings.db_pool_size, **timeouts)
    plugins = outbox_feature.build_plugin_host(settings)  # bad plugin settings: fail now
    outbox_store = SqlOutboxStore(db)
    ledger_pool = LedgerPool(db.url, settings.db_pool_size, watch=db.watch, **timeouts)
    consumers = EventConsumers()
    deps = ApiDeps(
        db=db, settings=settings, pricing=PricingState(db), ledger_pool=ledger_pool,
        plugins=plugins,
        outbox=outbox_feature.build_dispatcher(settings, outbox_store, plugins, consumers),
        ledger=LedgerService(SqlLedgerStore(ledger_pool, db), lambda: deps.signer),
        clock=wall_clock, events=consumers)
    for make_consumer in EVENT_CONSUMERS:
        if (consumer := make_consumer(deps)) is not None:
            consumers.register(consumer)

    async def lookup(digest: bytes) -> Principal | None:
        async with db.transaction() as session:
            return await principal_by_secret_hash(session, digest, wall_clock())

    verifier = KeyVerifier(lookup, ttl=settings.api_key_cache_seconds,
                           negative_ttl=settings.api_key_negative_cache_seconds, clock=clock)
    options = [("grpc.so_reuseport", 1 if settings.workers > 1 else 0), *GRPC_TUNING]
    interceptor = ApiInterceptor(verifier, Limits.per_minute(
        settings.lookup_rate_per_minute, settings.auth_failures_per_minute, clock),
        outage=db.watch.check, roles=deps.roles)
    server = grpc.aio.server(interceptors=[interceptor], options=options)
    names = []
    capture = RpcCapture()
    for add, servicer, name in SERVICERS:
        instance = servicer(deps)
        add(instance, server)
        add(instance, cast(grpc.aio.Server, capture))  # the same servicer, for JSON over HTTP
        names.append(name)
    deps.rpc_handlers = {method: wrapped for method, handler in capture.handlers.items()
                         if (wrapped := interceptor.wrap(method, handler)) is not None}
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME],
        server,
    )
    app = App(settings, deps, server, health_servicer, names,
              http=http_server(settings, plugins, deps, HTTP_MOUNTS))
    db.watch.on_change(app.database_changed)
    # Start order: the ledger pool, roles and pricing first (calls need them), then the jobs loop,
    # the channels and dispatcher, and last the HTTP exchange that feeds the catalog.
    ledger_pool_feature.attach(app, deps.ledger_pool)
    roles_feature.attach(app, deps.roles)
    pricing_feature.attach(app, deps.pricing)
    jobs_feature.attach(app)
    outbox_feature.attach(app, plugins, outbox_store, deps.outbox)
    if app.http is not None:
        app.on_start.append(app.http.start)
        app.on_stop.append(app.http.stop)
    return app
