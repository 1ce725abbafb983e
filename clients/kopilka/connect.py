"""One object that holds a channel and every service stub, with the API key attached."""

from __future__ import annotations

import grpc

from kopilka.v1 import (
    admin_pb2_grpc,
    bonus_pb2_grpc,
    certificates_pb2_grpc,
    mailings_pb2_grpc,
    members_pb2_grpc,
    receipts_pb2_grpc,
    verification_pb2_grpc,
)


def bearer_metadata(api_key: str) -> tuple[tuple[str, str], ...]:
    """Metadata that authenticates a call with an API key."""
    return (("authorization", f"Bearer {api_key}"),)


class _BearerAuth(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds the API key to every call so callers never forget it."""

    def __init__(self, api_key: str) -> None:
        self._metadata = bearer_metadata(api_key)

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        metadata = list(client_call_details.metadata or ()) + list(self._metadata)
        details = client_call_details._replace(metadata=metadata)
        return await continuation(details, request)


class KopilkaClient:
    """Async client: `async with KopilkaClient("127.0.0.1:50051", key) as k: await k.members...`."""

    def __init__(self, target: str, api_key: str | None = None) -> None:
        interceptors = [_BearerAuth(api_key)] if api_key else []
        self.channel = grpc.aio.insecure_channel(target, interceptors=interceptors)
        self.members = members_pb2_grpc.MemberServiceStub(self.channel)
        self.receipts = receipts_pb2_grpc.ReceiptServiceStub(self.channel)
        self.bonus = bonus_pb2_grpc.BonusServiceStub(self.channel)
        self.verification = verification_pb2_grpc.VerificationServiceStub(self.channel)
        self.certificates = certificates_pb2_grpc.CertificateServiceStub(self.channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(self.channel)
        self.mailings = mailings_pb2_grpc.MailingServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> KopilkaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
