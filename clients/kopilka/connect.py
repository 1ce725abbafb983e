"""One object that holds a channel and every service stub, with the API key attached."""

from __future__ import annotations

import os
from pathlib import Path

import grpc

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


def bearer_metadata(api_key: str) -> tuple[tuple[str, str], ...]:
    """Metadata that authenticates a call with an API key."""
    return (("authorization", f"Bearer {api_key}"),)


def _read(what: str, path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def tls_credentials(
    root_ca_file: str | os.PathLike[str] | None = None,
    client_cert_file: str | os.PathLike[str] | None = None,
    client_key_file: str | os.PathLike[str] | None = None,
) -> grpc.ChannelCredentials:
    """TLS to the server: trust `root_ca_file` (PEM; None: the system's roots), and present
    `client_cert_file` + `client_key_file` (PEM) where the server requires client certificates.
    """
    if (client_cert_file is None) != (client_key_file is None):
        raise ValueError("a client certificate needs its private key: give both "
                         "client_cert_file and client_key_file, or neither")
    return grpc.ssl_channel_credentials(
        root_certificates=_read("root CA file", root_ca_file) if root_ca_file else None,
        private_key=_read("client key file", client_key_file) if client_key_file else None,
        certificate_chain=(
            _read("client certificate file", client_cert_file) if client_cert_file else None),
    )


def open_channel(
    target: str,
    credentials: grpc.ChannelCredentials | None = None,
    interceptors: list[grpc.aio.ClientInterceptor] | None = None,
) -> grpc.aio.Channel:
    """A secure channel when `credentials` are given, else plaintext (127.0.0.1 development)."""
    if credentials is None:
        return grpc.aio.insecure_channel(target, interceptors=interceptors)
    return grpc.aio.secure_channel(target, credentials, interceptors=interceptors)


class _Key:
    """Adds the API key to every call so callers never forget it."""

    def __init__(self, api_key: str) -> None:
        self._metadata = bearer_metadata(api_key)

    def _with_key(self, client_call_details: grpc.aio.ClientCallDetails
                  ) -> grpc.aio.ClientCallDetails:
        metadata = list(client_call_details.metadata or ()) + list(self._metadata)
        replaced: grpc.aio.ClientCallDetails = client_call_details._replace(  # type: ignore[attr-defined]
            metadata=metadata)
        return replaced



# grpc.aio files each interceptor under the first kind it is an instance of: one per kind
class _BearerAuth(_Key, grpc.aio.UnaryUnaryClientInterceptor):
    """The key on unary calls."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._with_key(client_call_details), request)


class _BearerAuthUnaryStream(_Key, grpc.aio.UnaryStreamClientInterceptor):
    """The same for server-streaming calls (ImportService.RunImport)."""

    async def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._with_key(client_call_details), request)


class _BearerAuthStreamStream(_Key, grpc.aio.StreamStreamClientInterceptor):
    """The same for bidirectional calls (ImportService.UploadImport)."""

    async def intercept_stream_stream(self, continuation, client_call_details,  # type: ignore[no-untyped-def]
                                      request_iterator):
        return await continuation(self._with_key(client_call_details), request_iterator)


class KopilkaClient:
    """Async client: `async with KopilkaClient("127.0.0.1:50051", key) as k: await k.members...`.

    Plaintext unless TLS is asked for: `tls=True` (the system's root CAs), or `root_ca_file`
    (the PEM CA that signed the server's certificate); `client_cert_file` + `client_key_file`
    for a server that requires client certificates (mTLS). `credentials` takes ready-made
    `grpc.ChannelCredentials` instead.
    """

    def __init__(
        self,
        target: str,
        api_key: str | None = None,
        *,
        tls: bool = False,
        root_ca_file: str | os.PathLike[str] | None = None,
        client_cert_file: str | os.PathLike[str] | None = None,
        client_key_file: str | os.PathLike[str] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        if credentials is None and (tls or root_ca_file or client_cert_file or client_key_file):
            credentials = tls_credentials(root_ca_file, client_cert_file, client_key_file)
        interceptors: list[grpc.aio.ClientInterceptor] = (
            [_BearerAuth(api_key), _BearerAuthUnaryStream(api_key),
             _BearerAuthStreamStream(api_key)] if api_key else [])
        self.channel = open_channel(target, credentials, interceptors)
        self.members = members_pb2_grpc.MemberServiceStub(self.channel)
        self.orders = orders_pb2_grpc.OrderServiceStub(self.channel)
        self.payments = payments_pb2_grpc.PaymentServiceStub(self.channel)
        self.receipts = receipts_pb2_grpc.ReceiptServiceStub(self.channel)
        self.bonus = bonus_pb2_grpc.BonusServiceStub(self.channel)
        self.verification = verification_pb2_grpc.VerificationServiceStub(self.channel)
        self.certificates = certificates_pb2_grpc.CertificateServiceStub(self.channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(self.channel)
        self.mailings = mailings_pb2_grpc.MailingServiceStub(self.channel)
        self.users = users_pb2_grpc.UserServiceStub(self.channel)
        self.roles = roles_pb2_grpc.RoleServiceStub(self.channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(self.channel)
        self.shopping = shopping_pb2_grpc.ShoppingServiceStub(self.channel)
        self.marketing = marketing_pb2_grpc.MarketingServiceStub(self.channel)
        self.promotions = promotions_pb2_grpc.PromotionServiceStub(self.channel)
        self.imports = imports_pb2_grpc.ImportServiceStub(self.channel)
        self.coupons = coupons_pb2_grpc.CouponServiceStub(self.channel)
        self.appeals = appeals_pb2_grpc.AppealServiceStub(self.channel)
        self.social = social_pb2_grpc.SocialServiceStub(self.channel)
        self.surveys = surveys_pb2_grpc.SurveyServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> KopilkaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
