"""The e-mail channel against a real aiosmtpd server on a loopback port."""

from __future__ import annotations

import email
import email.policy

import pytest

from plugins.email import EmailChannel, EmailSettings
from server.plugin_api import OutgoingMessage, SendStatus
from tests.smtp import running_smtp


@pytest.fixture
async def smtp_server():
    async with running_smtp() as running:
        yield running


def channel_for(port: int) -> EmailChannel:
    return EmailChannel(EmailSettings.from_mapping({
        "host": "127.0.0.1", "port": str(port), "sender": "Копілка <noreply@kopilka.test>",
        "start_tls": "false", "timeout": "2"}))


async def test_cyrillic_subject_and_body_arrive_intact(smtp_server) -> None:
    mailbox, port = smtp_server
    body = "Вітаємо! Ваш сертифікат на 500 грн активовано.\nДякуємо, що ви з нами."
    result = await channel_for(port).send(OutgoingMessage(
        channel="email", recipient="olena@example.test", subject="Ваш подарунковий сертифікат",
        body=body, reference="outbox-42"))
    assert result.status is SendStatus.ACCEPTED
    (envelope,) = mailbox.received
    assert envelope.mail_from == "noreply@kopilka.test"
    assert envelope.rcpt_tos == ["olena@example.test"]
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert parsed["Subject"] == "Ваш подарунковий сертифікат"
    assert parsed["From"].addresses[0].display_name == "Копілка"
    assert parsed.get_content().rstrip("\n") == body
    assert parsed["Message-ID"] == result.provider_message_ids[0]
    assert "outbox-42" in result.provider_message_ids[0]


async def test_unknown_recipient_is_rejected(smtp_server) -> None:
    mailbox, port = smtp_server
    result = await channel_for(port).send(OutgoingMessage(
        channel="email", recipient="nobody@example.test", subject="x", body="x"))
    assert result.status is SendStatus.REJECTED and "550" in (result.error or "")
    assert mailbox.received == []


async def test_temporary_refusal_asks_to_retry_later(smtp_server) -> None:
    _, port = smtp_server
    result = await channel_for(port).send(OutgoingMessage(
        channel="email", recipient="busy@example.test", subject="x", body="x"))
    assert result.status is SendStatus.RETRY_LATER and "452" in (result.error or "")


async def test_unreachable_server_asks_to_retry_later() -> None:
    result = await channel_for(1).send(OutgoingMessage(
        channel="email", recipient="olena@example.test", subject="x", body="x"))
    assert result.status is SendStatus.RETRY_LATER
