"""`kopilka-client`: call any Kopilka RPC with a JSON request, print the JSON response.

    kopilka-client --key kpk_demo_operator MemberService FindMember '{"phone": "0671234567"}'
    kopilka-client --list                      # every service and method
    kopilka-client --field calculation_id ReceiptService CalculateReceipt - < request.json

The request is JSON on the command line, or read from stdin when given as "-" (a shell
here-document then fills in variables). A request with a request_id field that is left
out gets a fresh UUID (give your own to retry). --field a.b.0.c prints one value of the
answer (a string without quotes) for shell variables; --field a,b prints both on one line.

TLS: --tls-ca FILE (or KOPILKA_TLS_CA_FILE) trusts the CA that signed the server's certificate,
--tls uses the system's root CAs; --tls-cert/--tls-key (KOPILKA_TLS_CLIENT_CERT_FILE,
KOPILKA_TLS_CLIENT_KEY_FILE) present a client certificate. Without them: plaintext.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence

import grpc
from google.protobuf import json_format

from kopilka import connect
from kopilka.v1 import (
    admin_pb2,
    appeals_pb2,
    audit_pb2,
    bonus_pb2,
    certificates_pb2,
    coupons_pb2,
    imports_pb2,
    mailings_pb2,
    marketing_pb2,
    members_pb2,
    orders_pb2,
    payments_pb2,
    promotions_pb2,
    receipts_pb2,
    roles_pb2,
    shopping_pb2,
    social_pb2,
    surveys_pb2,
    users_pb2,
    verification_pb2,
)

MODULES = (admin_pb2, appeals_pb2, audit_pb2, bonus_pb2, certificates_pb2, coupons_pb2,
           imports_pb2, mailings_pb2, marketing_pb2, members_pb2, orders_pb2, payments_pb2,
           promotions_pb2, receipts_pb2, roles_pb2, shopping_pb2, social_pb2, surveys_pb2,
           users_pb2, verification_pb2)
SERVICES = {
    service.name: (module, service)
    for module in MODULES
    for service in module.DESCRIPTOR.services_by_name.values()
}


def _message_class(module, descriptor):  # type: ignore[no-untyped-def]
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


async def call(target: str, key: str | None, service: str, method: str, body: str,
               credentials: grpc.ChannelCredentials | None = None,
               zeros: bool = False) -> str:
    """One RPC, JSON in and out; `credentials` (kopilka.tls_credentials) for TLS; `zeros`
    prints fields at their zero value too (proto3 JSON leaves them out)."""
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; try --list")
    module, descriptor = SERVICES[service]
    rpc = descriptor.methods_by_name.get(method)
    if rpc is None:
        raise SystemExit(f"{service} has no method {method!r}; try --list")
    request = json_format.Parse(body or "{}", _message_class(module, rpc.input_type)())
    if "request_id" in rpc.input_type.fields_by_name and not request.request_id:
        request.request_id = str(uuid.uuid4())
    response_class = _message_class(module, rpc.output_type)
    metadata = connect.bearer_metadata(key) if key else ()
    path = f"/{descriptor.full_name}/{method}"
    serialize, parse = (lambda m: m.SerializeToString()), response_class.FromString
    async with connect.open_channel(target, credentials) as channel:
        if rpc.server_streaming:  # ImportService: one JSON line per response, no deadline
            if rpc.client_streaming:  # the one request is the whole stream
                responses = [r async for r in channel.stream_stream(path, serialize, parse)(
                    iter([request]), metadata=metadata)]
            else:
                responses = [r async for r in channel.unary_stream(path, serialize, parse)(
                    request, metadata=metadata)]
        else:
            responses = [await channel.unary_unary(path, serialize, parse)(
                request, metadata=metadata, timeout=30)]
    # Cyrillic names and messages as text, not \u escapes
    return "\n".join(json_format.MessageToJson(
        response, preserving_proto_field_name=True, indent=None if rpc.server_streaming else 2,
        ensure_ascii=False, always_print_fields_with_no_presence=zeros) for response in responses)


def pick(answer: str, path: str) -> str:
    """The value at dotted `path` ("member.cards.0.number") of a JSON answer, for a shell
    variable: strings bare, anything else as JSON. The answer is printed with its zero
    values, so a missing key is a wrong path (or a message the server left unset)."""
    value: object = json.loads(answer)
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(path)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kopilka-client", description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("KOPILKA_TARGET", "127.0.0.1:50051"))
    parser.add_argument("--key", default=os.environ.get("KOPILKA_API_KEY"),
                        help="API key (or KOPILKA_API_KEY)")
    env = os.environ.get
    parser.add_argument("--tls", action="store_true", default=env("KOPILKA_TLS") == "1",
                        help="TLS with the system's root CAs (or KOPILKA_TLS=1)")
    parser.add_argument("--tls-ca", default=env("KOPILKA_TLS_CA_FILE"), metavar="FILE",
                        help="TLS, trusting this PEM CA (or KOPILKA_TLS_CA_FILE)")
    parser.add_argument("--tls-cert", default=env("KOPILKA_TLS_CLIENT_CERT_FILE"),
                        metavar="FILE",
                        help="client certificate, PEM (or KOPILKA_TLS_CLIENT_CERT_FILE)")
    parser.add_argument("--tls-key", default=env("KOPILKA_TLS_CLIENT_KEY_FILE"), metavar="FILE",
                        help="its private key, PEM (or KOPILKA_TLS_CLIENT_KEY_FILE)")
    parser.add_argument("--list", action="store_true", help="list services and methods")
    parser.add_argument("--field", metavar="PATH",
                        help="print only this value of the answer, e.g. calculation_id or "
                        "member.cards.0.number; several, comma-separated: on one line")
    parser.add_argument("service", nargs="?")
    parser.add_argument("method", nargs="?")
    parser.add_argument("json", nargs="?", default="{}",
                        help='request as JSON; "-" reads it from stdin')
    args = parser.parse_args(argv)
    if args.list or not args.method:
        for name, (_, descriptor) in sorted(SERVICES.items()):
            print(name, " ".join(m.name for m in descriptor.methods))
        return 0
    credentials = None
    if args.tls or args.tls_ca or args.tls_cert or args.tls_key:
        try:
            credentials = connect.tls_credentials(args.tls_ca, args.tls_cert, args.tls_key)
        except ValueError as error:
            print(f"kopilka-client: {error}", file=sys.stderr)
            return 2
    body = sys.stdin.read() if args.json == "-" else args.json
    try:
        answer = asyncio.run(call(args.target, args.key, args.service, args.method, body,
                                  credentials, zeros=bool(args.field)))  # a 0 prints as 0
        print(" ".join(pick(answer, path) for path in args.field.split(","))
              if args.field else answer)
    except (KeyError, IndexError, ValueError) as error:
        print(f"kopilka-client: no {args.field!r} in the answer ({error})", file=sys.stderr)
        return 2
    except grpc.aio.AioRpcError as error:
        print(f"{error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except json_format.ParseError as error:
        print(f"bad request JSON: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
