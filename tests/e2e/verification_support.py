"""Shared setup for the verification e2e tests: a store, card types, members, a till key,
server settings wired to a real SMSC on loopback, and mailing-history polling."""

from __future__ import annotations

import asyncio
import re
import uuid

from kopilka.v1 import admin_pb2, members_pb2
from kopilka.v1 import verification_pb2 as V
from sqlalchemy import select

from server.auth.principal import PrincipalKind
from server.db.outbox.repo import MailingView, mailing
from server.db.verification.models import Verification
from server.settings import Settings
from tests.helpers import rid
from tests.ports import idle_port

M = members_pb2

# Fast timings so outages and retries finish in well under a second per test.
SMPP_FAST = {"system_id": "kopilka", "password": "secret", "connect_timeout": 1.0,
             "response_timeout": 1.0, "reconnect_delay": 0.05, "reconnect_delay_max": 0.1,
             "throttle_backoff": 0.05, "send_timeout": 0.3}


def server_settings(tmp_path, smsc_port: int | None, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
        log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
        outbox_poll_seconds=0.05, outbox_backoff_seconds=0.05, outbox_backoff_max_seconds=0.2,
        outbox_max_attempts=30, shutdown_grace_seconds=1.0,
    )
    if smsc_port is not None:
        values.update(smpp_host="127.0.0.1", smpp_port=smsc_port, smpp_source_addr="Kopilka",
                      plugin_settings={"smpp": SMPP_FAST})
    values.update(overrides)
    return Settings(**values)


async def setup_world(admin) -> None:
    """Store kyiv-01 and a card type that requires verification."""
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(
        request_id=rid(), store=admin_pb2.Store(
        code="kyiv-01", name="Kyiv 1", time_zone="Europe/Kyiv")))
    await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
        card_type=admin_pb2.CardType(code="gold", name="Gold", accrual_bps=1000,
                                     number_prefix="2910", requires_verification=True)))


async def register(admin, phone: str = "067 123 45 67", email: str = "",
                   first_name: str = "Olena") -> M.Member:
    reply = await admin.members.RegisterMember(M.RegisterMemberRequest(
        request_id=str(uuid.uuid4()),
        profile=M.MemberProfile(first_name=first_name, phone=phone, email=email),
        channel=M.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="gold"))
    return reply.member


async def till(make_key, client_for, terminal_id: str = "T1"):
    """A cashier client bound to a till of store kyiv-01."""
    secret = await make_key("cashier", kind=PrincipalKind.TERMINAL, store_code="kyiv-01",
                            terminal_id=terminal_id)
    return client_for(secret)


REDEEM = V.VERIFICATION_OPERATION_REDEEM_POINTS


def send_by_card(number: str, request_id: str | None = None, *, operation: int = REDEEM,
                 max_amount: int = 1000) -> V.SendVerificationCodeRequest:
    return V.SendVerificationCodeRequest(request_id=request_id or str(uuid.uuid4()),
                                         card_number=number, operation=operation,
                                         max_amount=max_amount)


def send_by_phone(phone: str) -> V.SendVerificationCodeRequest:
    return V.SendVerificationCodeRequest(request_id=str(uuid.uuid4()), phone=phone,
                                         operation=REDEEM, max_amount=1000)


def code_in(text: str) -> str:
    (code,) = re.findall(r"\b\d{6}\b", text)
    return code


async def mailing_of(app, verification_id: str) -> MailingView:
    async with app.db.transaction() as session:
        mailing_id = await session.scalar(select(Verification.mailing_id).where(
            Verification.id == uuid.UUID(verification_id)))
        view = await mailing(session, mailing_id)
    assert view is not None
    return view


async def wait_mailing(app, verification_id: str, state: str,
                       timeout: float = 5.0) -> MailingView:
    """Poll the mailing history until the verification's SMS reaches `state`."""
    async with asyncio.timeout(timeout):
        while (view := await mailing_of(app, verification_id)).state != state:
            await asyncio.sleep(0.02)
    return view


def marketing_settings(tmp_path, smsc_port: int, smtp_port: int) -> Settings:
    """A server sending campaigns at any hour, uncapped, by SMS (the SMSC) and e-mail (the
    SMTP server), with the HTTP site for its links."""
    return server_settings(tmp_path, smsc_port, marketing_quiet_start="00:00",
                           marketing_quiet_end="00:00", marketing_daily_cap=0,
                           http_listen=f"127.0.0.1:{idle_port()}", smtp_host="127.0.0.1",
                           smtp_port=smtp_port, smtp_start_tls=False,
                           smtp_sender="Kopilka <noreply@kopilka.test>")
