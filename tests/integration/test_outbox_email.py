"""E-mail through the outbox to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy

import pytest

from server.db.database import Database
from server.db.outbox.repo import SqlOutboxStore, enqueue_message, mailing
from server.features.outbox import plugin_sections
from server.outbox.dispatcher import OutboxDispatcher
from server.outbox.policy import RetryPolicy
from server.plugin_host import PluginHost, build_plugin_manager
from server.settings import Settings
from tests.smtp import running_smtp


@pytest.fixture
async def smtp():
    async with running_smtp() as running:
        yield running


async def test_email_goes_out_through_the_outbox_and_lands_in_the_history(
        database_url, smtp) -> None:
    mailbox, port = smtp
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_start_tls=False,
                        smtp_sender="Копілка <noreply@kopilka.test>",
                        plugin_settings={"email": {"timeout": 2}})
    host = PluginHost(build_plugin_manager(disabled={"smpp"}, environ={},
                                           load_entry_points=False), plugin_sections(settings))
    db = Database(database_url, pool_size=2)
    try:
        async with db.transaction() as session:
            ok = await enqueue_message(
                session, channel="email", recipient="olena@example.test",
                subject="Ваш сертифікат", text="Сертифікат на 500 грн активовано.",
                reference="certificate:42")
            refused = await enqueue_message(
                session, channel="email", recipient="nobody@example.test", subject="x",
                text="x", reference="certificate:43")
        worker = OutboxDispatcher(SqlOutboxStore(db), host,
                                  RetryPolicy(max_attempts=3, base_seconds=0.01, jitter=0))
        assert await worker.run_once() == 2
        async with db.transaction() as session:
            sent, failed = await mailing(session, ok), await mailing(session, refused)
    finally:
        await db.dispose()
    (envelope,) = mailbox.received
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert parsed["Subject"] == "Ваш сертифікат"
    assert parsed.get_content().strip() == "Сертифікат на 500 грн активовано."
    assert sent.state == "sent" and sent.provider_message_ids == (parsed["Message-ID"],)
    assert (failed.state, failed.attempts) == ("failed", 1)  # 5xx is permanent: no retry
    assert "550" in failed.last_error
