"""The one server interceptor: metrics, error mapping and authentication per RPC.

Three concerns, one wrapper: grpc.aio calls `intercept_service` on every RPC, and three
stacked interceptors each rebuilt a handler per call (~0.4 ms of CPU per RPC). This one
builds the wrapped handler once per method and caches it; the per-call work is only the
key check, the permission check and the metric updates. Health and reflection pass
through unauthenticated.

Rate limits (server/auth/limits.py) sit here too: lookups per key only on LOOKUP_RPCS, and
failed authentications per peer address, counted only when authentication fails.

Every request passes server/api/edge.py's check (the limits of server/limits.py) after
authentication, and bytes that do not parse reach the behaviour as `Undecodable` (the
deserializer is wrapped) so they are INVALID_ARGUMENT, not grpc.aio's UNKNOWN.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, cast

import grpc
from grpc.aio import ServerInterceptor

from server.api import metrics
from server.api.context import Context
from server.api.edge import Undecodable, check_request, lenient, undecodable
from server.api.status import GRPC_CODES, to_status
from server.audit.actor import request_id
from server.auth.keys import KeyVerifier
from server.auth.limits import LOOKUP_RPCS, Limits, auth_failures_limited, lookups_limited
from server.auth.permissions import PUBLIC_SERVICE_PREFIXES, RPC_PERMISSIONS, Permission
from server.auth.principal import Principal, current_principal
from server.auth.roles import RoleBook
from server.errors import DomainError, ErrorKind

log = logging.getLogger("kopilka.api")

Behavior: TypeAlias = Callable[[Any, Context], Awaitable[Any]]
StreamBehavior: TypeAlias = Callable[[Any, Context], AsyncIterator[Any]]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


def _bearer(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


async def authenticate(
    verifier: KeyVerifier, metadata: Any, needed: Permission | None, roles: RoleBook
) -> Principal:
    """The caller behind `authorization: Bearer <key>`, allowed to use `needed`."""
    secret = _bearer(metadata)
    if secret is None:
        metrics.AUTH_FAILURES.labels("missing_key").inc()
        raise DomainError(ErrorKind.UNAUTHENTICATED, "API_KEY_MISSING",
                          "send an API key as 'authorization: Bearer <key>'")
    principal = await verifier.verify(secret)
    if principal is None:
        metrics.AUTH_FAILURES.labels("unknown_key").inc()
        raise DomainError(ErrorKind.UNAUTHENTICATED, "API_KEY_INVALID",
                          "the API key is unknown or revoked")
    if needed is None or not roles.allows(principal, needed):
        metrics.AUTH_FAILURES.labels("permission").inc()
        raise DomainError(
            ErrorKind.PERMISSION_DENIED, "PERMISSION_DENIED",
            f"{principal.label} lacks permission {needed or 'undeclared RPC'}",
            metadata={"permission": str(needed or "")},
        )
    return principal


def peer_address(peer: str) -> str:
    """'ipv4:10.0.0.7:51234' -> 'ipv4:10.0.0.7' (the port changes per connection)."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return f"{kind}:{rest.rpartition(':')[0]}"
    return peer


class ApiInterceptor(ServerInterceptor):
    """Wraps every unary-unary and server-streaming API method once; see the module
    docstring."""

    def __init__(self, verifier: KeyVerifier, limits: Limits | None = None,
                 outage: Callable[[BaseException], DomainError | None] | None = None,
                 roles: RoleBook | None = None) -> None:
        self._verifier = verifier
        self._roles = roles or RoleBook()  # the app passes the one it keeps loaded
        self._limits = limits or Limits.per_minute(0, 0)
        # An unexpected error -> DATABASE_UNAVAILABLE when it means the database is down
        # (server/db/outage.py: DatabaseWatch.check), else None.
        self._outage = outage or (lambda _: None)
        self._handlers: dict[str, Handler | None] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = details.method
        try:
            return self._handlers[method]
        except KeyError:
            handler = self.wrap(method, await continuation(details))
            if handler is not None:
                self._handlers[method] = handler
            return handler

    def wrap(self, method: str, handler: Handler | None) -> Handler | None:
        """`handler` with every check of this interceptor (JSON over HTTP uses it too)."""
        if handler is None or method.startswith(PUBLIC_SERVICE_PREFIXES):
            return handler
        if handler.unary_stream is not None or handler.stream_stream is not None:
            return self._wrap_stream(method, handler)
        if handler.unary_unary is None:
            return handler
        # cast: under grpc.aio the behaviour is the servicer's coroutine function, called with
        # an aio context; the stubs give RpcMethodHandler the sync server's signature only
        inner = cast(Behavior, handler.unary_unary)
        return grpc.unary_unary_rpc_method_handler(
            self._behavior(method, inner),
            request_deserializer=lenient(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )

    def _wrap_stream(self, method: str, handler: Handler) -> Handler:
        """Streaming RPCs (PromotionService.WhatIf, ImportService): the same key, permission
        and request checks before the first response; a client stream's messages are checked
        as they come; a DomainError raised mid-stream ends it with its status; counted in the
        grpc_server_* metrics. No per-key lookup limits (no streaming RPC is a lookup)."""
        _, service, name = method.split("/", 2)
        kind = "bidi_stream" if handler.stream_stream is not None else "server_stream"
        started = metrics.GRPC_STARTED.labels(kind, service, name)
        outage = self._outage
        needed = RPC_PERMISSIONS.get(method)
        verifier, roles, failures = self._verifier, self._roles, self._limits.auth_failures
        client_streaming = handler.stream_stream is not None
        inner = cast(StreamBehavior,
                     handler.stream_stream or handler.unary_stream)

        async def checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
            async for request in requests:
                if isinstance(request, Undecodable):
                    raise undecodable()
                check_request(request)
                yield request

        async def behavior(request: Any, context: Context) -> AsyncIterator[Any]:
            started.inc()
            code = grpc.StatusCode.OK
            try:
                if failures.busy:
                    delay = failures.wait(peer_address(context.peer()))
                    if delay:
                        raise auth_failures_limited(failures.per_minute, delay)
                try:
                    principal = await authenticate(
                        verifier, context.invocation_metadata(), needed, roles)
                except DomainError as error:
                    if error.kind is ErrorKind.UNAUTHENTICATED:
                        failures.take(peer_address(context.peer()))
                    raise
                if not client_streaming:
                    if isinstance(request, Undecodable):
                        raise undecodable()
                    check_request(request)
                token = current_principal.set(principal)
                rid = request_id.set(str(getattr(request, "request_id", "")))
                try:
                    async for response in inner(
                            checked(request) if client_streaming else request, context):
                        yield response
                finally:
                    request_id.reset(rid)
                    current_principal.reset(token)
            except DomainError as error:
                code = GRPC_CODES[error.kind]
                await context.abort_with_status(to_status(error))
            except grpc.aio.AbortError:
                raise
            except Exception as error:
                unavailable = outage(error)
                if unavailable is not None:
                    code = GRPC_CODES[unavailable.kind]
                    await context.abort_with_status(to_status(unavailable))
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error", extra={"method": method})
                await context.abort(code, "internal error; see server log")
            finally:
                metrics.GRPC_HANDLED.labels(kind, service, name, code.name).inc()

        make = (grpc.stream_stream_rpc_method_handler if client_streaming
                else grpc.unary_stream_rpc_method_handler)
        return make(behavior, request_deserializer=lenient(handler.request_deserializer),
                    response_serializer=handler.response_serializer)

    def _behavior(self, method: str, inner: Behavior) -> Behavior:
        _, service, name = method.split("/", 2)
        started = metrics.GRPC_STARTED.labels("unary", service, name)
        seconds = metrics.GRPC_HANDLING_SECONDS.labels("unary", service, name)
        handled: dict[grpc.StatusCode, Any] = {}  # label children, made on first use
        needed = RPC_PERMISSIONS.get(method)
        verifier = self._verifier
        roles = self._roles
        failures = self._limits.auth_failures
        limited = method in LOOKUP_RPCS and self._limits.lookups.per_minute > 0
        lookups = self._limits.lookups if limited else None
        outage = self._outage

        async def behavior(request: Any, context: Context) -> Any:
            started.inc()
            began = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if failures.busy:  # some address failed lately: is it this one?
                    delay = failures.wait(peer_address(context.peer()))
                    if delay:
                        raise auth_failures_limited(failures.per_minute, delay)
                try:
                    principal = await authenticate(
                        verifier, context.invocation_metadata(), needed, roles)
                except DomainError as error:
                    if error.kind is ErrorKind.UNAUTHENTICATED:
                        failures.take(peer_address(context.peer()))
                    raise
                if lookups is not None:
                    delay = lookups.take(principal.key_id)
                    if delay:
                        raise lookups_limited(lookups.per_minute, delay)
                if isinstance(request, Undecodable):
                    raise undecodable()
                check_request(request)
                token = current_principal.set(principal)
                rid = request_id.set(str(getattr(request, "request_id", "")))  # for audit rows
                try:
                    return await inner(request, context)
                finally:
                    request_id.reset(rid)
                    current_principal.reset(token)
            except DomainError as error:
                code = GRPC_CODES[error.kind]
                if error.kind is ErrorKind.INVALID_ARGUMENT:
                    log.info("invalid request", extra={"method": method, "reason": error.reason})
                await context.abort_with_status(to_status(error))
            except grpc.aio.AbortError:
                aborted = context.code()
                code = aborted if isinstance(aborted, grpc.StatusCode) else code
                raise
            except NotImplementedError:
                code = grpc.StatusCode.UNIMPLEMENTED
                await context.abort(code, f"{method} not implemented")
            except Exception as error:
                unavailable = outage(error)
                if unavailable is not None:  # the database is down: no traceback per call
                    code = grpc.StatusCode.UNAVAILABLE
                    await context.abort_with_status(to_status(unavailable))
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error", extra={"method": method})
                await context.abort(code, "internal error; see server log")
            finally:
                seconds.observe(time.perf_counter() - began)
                counter = handled.get(code)
                if counter is None:
                    counter = handled[code] = metrics.GRPC_HANDLED.labels(
                        "unary", service, name, code.name)
                counter.inc()

        return behavior
