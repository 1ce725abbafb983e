"""A provider outage never blocks a verification nor loses its SMS (real SMSC, real server)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import smpp34
from kopilka.v1 import verification_pb2 as V

from tests.e2e.verification_support import (
    code_in,
    mailing_of,
    register,
    send_by_card,
    server_settings,
    setup_world,
    till,
    wait_mailing,
)
from tests.helpers import rpc_error
from tests.ports import idle_port
from tests.smsc import Smsc


@pytest.fixture
async def smsc():
    """An SMSC that is NOT running yet: the test brings it up on `smsc.port`."""
    peer = Smsc()
    peer.port = idle_port()  # never one a retrying client could take for itself
    yield peer
    await peer.stop()


@pytest.fixture
def settings(tmp_path, smsc, overrides):
    return server_settings(tmp_path, smsc.port, **overrides)


async def test_code_sent_during_an_outage_arrives_when_the_smsc_returns(
        app, admin, make_key, client_for, smsc):
    await setup_world(admin)
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))  # not blocked

    async def attempts() -> int:
        return (await mailing_of(app, sent.verification_id)).attempts

    async with asyncio.timeout(5):
        while await attempts() < 2:  # retried with backoff while the SMSC is down
            await asyncio.sleep(0.02)
    history = await mailing_of(app, sent.verification_id)
    assert history.state == "queued" and "unreachable" in (history.last_error or "")

    await smsc.start(smsc.port)
    await smsc.wait_for(lambda: len(smsc.submitted) == 1)
    code = code_in(smsc.submitted[0].text)
    delivered = await wait_mailing(app, sent.verification_id, "sent")
    assert delivered.attempts >= 2 and delivered.last_error is None
    verified = await pos.verification.VerifySMS(V.VerifySMSRequest(
        verification_id=sent.verification_id, code=code))
    assert verified.card_number == card


@pytest.mark.parametrize("overrides", [{"outbox_max_attempts": 3}])
async def test_message_fails_finally_after_max_attempts(app, admin, make_key, client_for, smsc):
    await setup_world(admin)
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    failed = await wait_mailing(app, sent.verification_id, "failed")
    assert failed.attempts == 3 and failed.final_at is not None
    assert "unreachable" in (failed.last_error or "")
    assert failed.body.startswith("Ваш код: ******.")  # the code left with the message
    await smsc.start(smsc.port)
    await asyncio.sleep(0.3)
    assert smsc.submitted == []  # a failed message is not resent


async def test_permanent_rejection_fails_at_once(app, admin, make_key, client_for, smsc):
    await smsc.start(smsc.port)
    smsc.script.append(smpp34.ESME_RINVDSTADR)
    await setup_world(admin)
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    failed = await wait_mailing(app, sent.verification_id, "failed")
    assert failed.attempts == 1 and "0x0000000B" in (failed.last_error or "")
    assert len(smsc.submitted) == 1


@pytest.mark.parametrize("overrides", [{"smpp_host": "", "plugin_settings": {}}])
async def test_without_an_sms_channel_sending_is_refused(admin, make_key, client_for):
    await setup_world(admin)
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    with rpc_error() as failure:
        await pos.verification.SendVerificationCode(send_by_card(card))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "MESSAGE_CHANNEL_NOT_CONFIGURED"
