"""Server interceptors: metrics (outermost), errors, then authentication.

Each wraps unary-unary handlers only; health and reflection streams pass through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc.aio import ServerInterceptor

from server.api import metrics
from server.api.status import to_status
from server.auth.keys import KeyVerifier
from server.auth.permissions import PUBLIC_SERVICE_PREFIXES, RPC_PERMISSIONS
from server.auth.principal import current_principal
from server.errors import DomainError, ErrorKind

log = logging.getLogger("kopilka.api")

Behavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def _wrap(handler: grpc.RpcMethodHandler | None, make: Callable[[Behavior], Behavior]):  # type: ignore[no-untyped-def]
    """Replace a unary-unary handler's behaviour with `make(behaviour)`."""
    if handler is None or handler.unary_unary is None:
        return handler
    return grpc.unary_unary_rpc_method_handler(
        make(handler.unary_unary),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _split(method: str) -> tuple[str, str]:
    _, service, name = method.split("/", 2)
    return service, name


class MetricsInterceptor(ServerInterceptor):
    """grpc_server_started/handled/handling_seconds by service, method and code."""

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        service, name = _split(details.method)

        def make(inner: Behavior) -> Behavior:
            started = metrics.GRPC_STARTED.labels("unary", service, name)
            seconds = metrics.GRPC_HANDLING_SECONDS.labels("unary", service, name)

            async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
                started.inc()
                began = time.perf_counter()
                code = grpc.StatusCode.OK
                try:
                    return await inner(request, context)
                except BaseException:
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                finally:
                    seconds.observe(time.perf_counter() - began)
                    if isinstance(code, int):
                        code = grpc.StatusCode.UNKNOWN
                    metrics.GRPC_HANDLED.labels("unary", service, name, code.name).inc()

            return behavior

        return _wrap(handler, make)


class ErrorInterceptor(ServerInterceptor):
    """DomainError -> rich status; anything unexpected -> INTERNAL, traceback logged only."""

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        method = details.method

        def make(inner: Behavior) -> Behavior:
            async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    return await inner(request, context)
                except DomainError as error:
                    if error.kind is ErrorKind.INVALID_ARGUMENT:
                        log.info("invalid request",
                                 extra={"method": method, "reason": error.reason})
                    await context.abort_with_status(to_status(error))
                except grpc.aio.AbortError:
                    raise
                except NotImplementedError:
                    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} not implemented")
                except Exception:
                    log.exception("unhandled error", extra={"method": method})
                    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see server log")

            return behavior

        return _wrap(handler, make)


def _bearer(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class AuthInterceptor(ServerInterceptor):
    """API key from `authorization: Bearer`, then the RPC's declared permission."""

    def __init__(self, verifier: KeyVerifier) -> None:
        self._verifier = verifier

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        method = details.method
        if method.startswith(PUBLIC_SERVICE_PREFIXES):
            return handler
        needed = RPC_PERMISSIONS.get(method)
        secret = _bearer(details.invocation_metadata)
        verifier = self._verifier

        def make(inner: Behavior) -> Behavior:
            async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
                if secret is None:
                    metrics.AUTH_FAILURES.labels("missing_key").inc()
                    raise DomainError(ErrorKind.UNAUTHENTICATED, "API_KEY_MISSING",
                                      "send an API key as 'authorization: Bearer <key>'")
                principal = await verifier.verify(secret)
                if principal is None:
                    metrics.AUTH_FAILURES.labels("unknown_key").inc()
                    raise DomainError(ErrorKind.UNAUTHENTICATED, "API_KEY_INVALID",
                                      "the API key is unknown or revoked")
                if needed is None or needed not in principal.permissions:
                    metrics.AUTH_FAILURES.labels("permission").inc()
                    raise DomainError(
                        ErrorKind.PERMISSION_DENIED, "PERMISSION_DENIED",
                        f"{principal.label} lacks permission {needed or 'undeclared RPC'}",
                        metadata={"permission": str(needed or "")},
                    )
                token = current_principal.set(principal)
                try:
                    return await inner(request, context)
                finally:
                    current_principal.reset(token)

            return behavior

        return _wrap(handler, make)
