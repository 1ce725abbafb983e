"""`kopilka-client`: call any Kopilka RPC with a JSON request, print the JSON response.

    kopilka-client --key kpk_demo_operator MemberService FindMember '{"phone": "0671234567"}'
    kopilka-client --list                      # every service and method

TLS: --tls-ca FILE (or KOPILKA_TLS_CA_FILE) trusts the CA that signed the server's certificate,
--tls uses the system's root CAs; --tls-cert/--tls-key (KOPILKA_TLS_CLIENT_CERT_FILE,
KOPILKA_TLS_CLIENT_KEY_FILE) present a client certificate. Without them: plaintext.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

import grpc
from google.protobuf import json_format

from kopilka import connect
from kopilka.v1 import (
    admin_pb2,
    bonus_pb2,
    certificates_pb2,
    mailings_pb2,
    members_pb2,
    receipts_pb2,
    verification_pb2,
)

MODULES = (admin_pb2, bonus_pb2, certificates_pb2, mailings_pb2, members_pb2, receipts_pb2,
           verification_pb2)
SERVICES = {
    service.name: (module, service)
    for module in MODULES
    for service in module.DESCRIPTOR.services_by_name.values()
}


def _message_class(module, descriptor):  # type: ignore[no-untyped-def]
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


async def call(target: str, key: str | None, service: str, method: str, body: str,
               credentials: grpc.ChannelCredentials | None = None) -> str:
    """One RPC, JSON in and out; `credentials` (kopilka.tls_credentials) for TLS."""
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; try --list")
    module, descriptor = SERVICES[service]
    rpc = descriptor.methods_by_name.get(method)
    if rpc is None:
        raise SystemExit(f"{service} has no method {method!r}; try --list")
    request = json_format.Parse(body or "{}", _message_class(module, rpc.input_type)())
    response_class = _message_class(module, rpc.output_type)
    metadata = connect.bearer_metadata(key) if key else ()
    async with connect.open_channel(target, credentials) as channel:
        stub = channel.unary_unary(
            f"/{descriptor.full_name}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        response = await stub(request, metadata=metadata, timeout=30)
    # Cyrillic names and messages as text, not \u escapes
    return json_format.MessageToJson(response, preserving_proto_field_name=True,
                                     ensure_ascii=False)


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
    parser.add_argument("service", nargs="?")
    parser.add_argument("method", nargs="?")
    parser.add_argument("json", nargs="?", default="{}", help="request as JSON")
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
    try:
        print(asyncio.run(call(args.target, args.key, args.service, args.method, args.json,
                               credentials)))
    except grpc.aio.AioRpcError as error:
        print(f"{error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except json_format.ParseError as error:
        print(f"bad request JSON: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
