"""JSON over HTTP/1.1 for web shops: every gRPC service on the HTTP site, Connect protocol.

Shops written in PHP or JavaScript call `POST /kopilka.v1.OrderService/PlaceOrder` with
`Content-Type: application/json`, the request message in proto3 JSON, and
`Authorization: Bearer <key>` (the header gRPC clients send as metadata). The answer is the
response message in proto3 JSON, or an error `{"code", "message", "details"}` with the
HTTP status Connect assigns to the code. This is Connect's unary protocol (and its
server-streaming one, `application/connect+json`, for streamed RPCs such as WhatIf), so
Connect's own clients (connect-es, connect-go ...) work too; docs/json_http.md says why
Connect and not google.api.http transcoding.

No RPC is implemented twice: each call runs the very handler the gRPC server runs, wrapped
by the same `ApiInterceptor` (key, permission per RPC_PERMISSIONS, rate limits, the field
limits of server/limits.py, error mapping), over the same servicer instance, so
idempotency on request_id, scope and audit are the servicers' as they are over gRPC.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import grpc
from aiohttp import web
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from google.rpc import status_pb2

from server.api.status import to_status
from server.errors import DomainError, ErrorKind, FieldViolation
from server.features.http import HttpMount

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.plugin_host import PluginHost
    from server.settings import Settings

JSON = "application/json"
STREAM_JSON = "application/connect+json"
END_STREAM = 0x02
MAX_BODY = 4 * 1024 * 1024  # the gRPC server's default receive limit

#: Connect's HTTP status per code (connectrpc.com/docs/protocol#error-codes)
HTTP_STATUS = {
    grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500, grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500, grpc.StatusCode.UNAUTHENTICATED: 401,
}

Handler = Any  # grpc.RpcMethodHandler, as ApiInterceptor wrapped it


class Aborted(grpc.aio.AbortError):
    """The interceptor ended the call (what grpc.aio's context.abort raises)."""

    def __init__(self, code: grpc.StatusCode, message: str, details: bytes | None) -> None:
        super().__init__(message)
        self.status_code, self.message, self.details = code, message, details


class HttpCallContext:
    """The part of grpc.aio's ServicerContext the interceptor and servicers use."""

    def __init__(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        self._metadata = (("authorization", auth),) if auth else ()
        host = request.remote or ""
        self._peer = f"ipv6:[{host}]:0" if ":" in host else f"ipv4:{host}:0"
        self._code: grpc.StatusCode | None = None

    def peer(self) -> str:
        return self._peer

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def code(self) -> grpc.StatusCode | None:
        return self._code

    async def abort_with_status(self, status: grpc.Status) -> None:
        details = next((v for k, v in status.trailing_metadata or ()
                        if k == "grpc-status-details-bin"), None)
        self._code = status.code
        raise Aborted(status.code, status.details, cast(bytes | None, details))

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        self._code = code
        raise Aborted(code, details, None)


class RpcCapture:
    """Stands in for grpc.aio.Server in `add_XServicer_to_server`: keeps the handlers."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def add_generic_rpc_handlers(self, _: object) -> None:
        pass  # add_registered_method_handlers names each method

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, Any]) -> None:
        self.handlers.update({f"/{service}/{name}": h for name, h in handlers.items()})


def error_body(code: grpc.StatusCode, message: str, details: bytes | None) -> dict[str, Any]:
    """Connect's error: code name, message, and each google.rpc detail (ErrorInfo with the
    reason, BadRequest naming the fields, RetryInfo) as type, base64 value and its JSON."""
    body: dict[str, Any] = {"code": code.name.lower(), "message": message}
    if details:
        status = status_pb2.Status.FromString(details)
        body["details"] = [{
            "type": any_.TypeName(),
            "value": base64.b64encode(any_.value).decode().rstrip("="),
            "debug": _unpacked(any_),
        } for any_ in status.details]
    return body


def _unpacked(any_: Any) -> dict[str, Any]:
    try:
        kind = descriptor_pool.Default().FindMessageTypeByName(any_.TypeName())
    except KeyError:
        return {}
    message = message_factory.GetMessageClass(kind)()
    any_.Unpack(message)
    return json_format.MessageToDict(message)


def _malformed(problem: str) -> Aborted:
    status = to_status(DomainError(
        ErrorKind.INVALID_ARGUMENT, "MALFORMED_REQUEST",
        "the body is not this RPC's request message in proto3 JSON",
        [FieldViolation("", problem[:150])]))
    details = dict(status.trailing_metadata or ()).get("grpc-status-details-bin")
    return Aborted(status.code, status.details, cast(bytes | None, details))


def _fail(error: Aborted, stream: bool = False) -> web.Response:
    body = error_body(error.status_code, error.message, error.details)
    if stream:
        return web.Response(body=_envelope(END_STREAM, {"error": body}),
                            content_type=STREAM_JSON)
    return web.json_response(body, status=HTTP_STATUS.get(error.status_code, 500))


def _envelope(flags: int, payload: dict[str, Any] | str) -> bytes:
    data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
    return struct.pack(">BI", flags, len(data)) + data


class ConnectJson:
    """The routes: one POST per RPC, each over its interceptor-wrapped handler."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        pool = descriptor_pool.Default()
        self._calls: dict[str, tuple[Handler, type[Message], bool]] = {}
        for method, handler in handlers.items():
            _, service, name = method.split("/")
            descriptor = pool.FindMethodByName(f"{service}.{name}")
            request_class = message_factory.GetMessageClass(descriptor.input_type)
            self._calls[method] = (handler, request_class,
                                   bool(descriptor.server_streaming))

    def add_routes(self, root: web.Application) -> None:
        for method in self._calls:
            root.router.add_post(method, self._handler(method))

    def _handler(self, method: str) -> Callable[[web.Request], Any]:
        handler, request_class, streaming = self._calls[method]

        async def unary(request: web.Request) -> web.StreamResponse:
            if request.content_type != JSON:
                return web.json_response({"code": "unknown", "message": (
                    f"send Content-Type {JSON} (Connect's unary JSON protocol)")}, status=415)
            context = HttpCallContext(request)
            try:
                message = _parse(await request.read(), request_class)
                reply = await handler.unary_unary(message, context)
            except Aborted as error:
                return _fail(error)
            return web.Response(text=json_format.MessageToJson(reply, indent=None),
                                content_type=JSON)

        async def stream(request: web.Request) -> web.StreamResponse:
            if request.content_type != STREAM_JSON:
                return web.json_response({"code": "unknown", "message": (
                    f"send Content-Type {STREAM_JSON} (Connect's streaming protocol)")},
                    status=415)
            context = HttpCallContext(request)
            raw = await request.read()
            try:
                if len(raw) < 5 or struct.unpack(">BI", raw[:5])[1] != len(raw) - 5:
                    raise _malformed("not one enveloped message")
                message = _parse(raw[5:], request_class)
                replies: AsyncIterator[Message] = handler.unary_stream(message, context)
                first = await anext(replies, None)
            except Aborted as error:
                return _fail(error, stream=True)
            response = web.StreamResponse(headers={"Content-Type": STREAM_JSON})
            await response.prepare(request)
            end: dict[str, Any] = {}
            try:
                item = first
                while item is not None:
                    await response.write(_envelope(0, json_format.MessageToJson(
                        item, indent=None)))
                    item = await anext(replies, None)
            except Aborted as error:
                end = {"error": error_body(error.status_code, error.message, error.details)}
            await response.write(_envelope(END_STREAM, end))
            await response.write_eof()
            return response

        return stream if streaming else unary


def _parse(body: bytes, request_class: type[Message]) -> Message:
    if len(body) > MAX_BODY:
        raise _malformed(f"larger than {MAX_BODY} bytes")
    message = request_class()
    try:
        json_format.Parse(body.decode("utf-8") if body.strip() else "{}", message)
    except (json_format.ParseError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(str(exc)) from exc
    return message


def connect_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps) -> HttpMount | None:
    """Every RPC the gRPC server serves, as JSON (on whenever KOPILKA_HTTP_LISTEN is set)."""
    if not deps.rpc_handlers:
        return None
    routes = ConnectJson(deps.rpc_handlers)
    return HttpMount("JSON over HTTP (Connect) for every service", "/kopilka.v1.",
                     routes.add_routes)
