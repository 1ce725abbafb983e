"""Viber business messages with the SMS fallback, end to end: the real server (outbox,
dispatcher, HTTP site), real PostgreSQL, the real SMSC peer (tests/smsc.py) for the SMS hop,
and a contract-following fake Viber partner (tests/viber_peer.py; no real peer runs here).
One mailing holds every hop; MailingService.ListMailings shows them."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import aiohttp
import pytest
from kopilka.v1 import mailings_pb2 as ML

from server.auth.principal import PrincipalKind
from server.db.outbox.repo import MailingView, SqlOutboxStore, enqueue_message, mailing
from tests.e2e.verification_support import SMPP_FAST, server_settings
from tests.ports import idle_port
from tests.viber_peer import ViberPeer

PHONE = "+380671234567"
DIGITS = "380671234567"


@pytest.fixture
async def viber():  # type: ignore[no-untyped-def]
    peer = ViberPeer(viber_users={DIGITS})
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
def settings(tmp_path, smsc, viber):  # type: ignore[no-untyped-def]
    port = idle_port()
    return server_settings(
        tmp_path, smsc.port, http_listen=f"127.0.0.1:{port}",
        plugin_settings={"smpp": SMPP_FAST, "viber": {
            "send_url": viber.send_url, "auth_token": viber.auth_token, "sender": "Kopilka",
            "callback_url": f"http://127.0.0.1:{port}/hooks/viber"}})


async def queue(app, text: str = "Your order is ready", *, phone: str = PHONE,  # type: ignore[no-untyped-def]
                fallback: str | None = "Order ready (SMS)", lifetime: int = 60,
                options: dict[str, str] | None = None) -> uuid.UUID:
    async with app.db.transaction() as session:
        mailing_id = await enqueue_message(
            session, channel="viber", recipient=phone, text=text, reference="test:viber",
            options=options or {"viber_type": "transactional"}, lifetime_seconds=lifetime,
            fallback_channel="sms", fallback_text=fallback)
    app.deps.outbox.wake()
    return mailing_id


async def until(app, mailing_id: uuid.UUID, state: str, hop: int | None = None,  # type: ignore[no-untyped-def]
                timeout: float = 5.0) -> MailingView:
    async with asyncio.timeout(timeout):
        while True:
            async with app.db.transaction() as session:
                view = await mailing(session, mailing_id)
            assert view is not None
            if view.state == state and (hop is None or len(view.hops) == hop):
                return view
            await asyncio.sleep(0.02)


def hops(view: MailingView) -> list[tuple[str, str]]:
    return [(h.channel, h.state) for h in view.hops]


async def test_delivered_on_viber_needs_no_sms(app, viber, smsc, make_key, client_for):
    mailing_id = await queue(app)
    await until(app, mailing_id, "sent")
    (sent,) = viber.sent
    assert sent.body == {
        "source_addr": "Kopilka", "destination_addr": DIGITS, "message_type": 106,
        "text": "Your order is ready", "validity_period": 60,
        "callback_url": f"http://127.0.0.1:{app.http.port}/hooks/viber"}
    assert await viber.callback(sent, "delivered") == 200
    view = await until(app, mailing_id, "delivered")
    assert hops(view) == [("viber", "delivered")]
    assert view.provider_message_ids == (str(sent.token),)
    assert smsc.submitted == []

    operator = client_for(await make_key("operator", kind=PrincipalKind.OPERATOR))
    (listed,) = (await operator.mailings.ListMailings(ML.ListMailingsRequest(
        channel="viber"))).mailings
    assert listed.state == ML.MAILING_STATE_DELIVERED
    assert [(h.hop, h.channel, h.state) for h in listed.hops] == [(1, "viber", "delivered")]
    assert listed.hops[0].HasField("send_time") and listed.hops[0].HasField("final_time")


async def test_not_a_viber_user_gets_the_sms_at_once(app, viber, smsc):
    mailing_id = await queue(app, phone="+380501112233")
    await smsc.wait_for(lambda: len(smsc.submitted) == 1)
    assert viber.refused[0][0] == 9 and viber.sent == []
    assert smsc.submitted[0].text == "Order ready (SMS)"
    view = await until(app, mailing_id, "sent", hop=2)
    assert hops(view) == [("viber", "failed"), ("sms", "sent")]
    assert "not a Viber user" in (view.hops[0].error or "")
    await smsc.push_receipt(smsc.submitted[0].message_id or "", "DELIVRD")
    view = await until(app, mailing_id, "delivered")
    assert hops(view) == [("viber", "failed"), ("sms", "delivered")]


@pytest.mark.parametrize("event", ["expired", "failed"])
async def test_expired_or_failed_on_viber_falls_back_to_sms(app, viber, smsc, event):
    mailing_id = await queue(app)
    await until(app, mailing_id, "sent")
    assert await viber.callback(viber.sent[0], event, desc="no device") == 200
    await smsc.wait_for(lambda: len(smsc.submitted) == 1)
    view = await until(app, mailing_id, "sent", hop=2)
    assert hops(view) == [("viber", "undeliverable"), ("sms", "sent")]
    assert await viber.callback(viber.sent[0], event) == 200  # a repeated callback
    await asyncio.sleep(0.3)
    assert len(smsc.submitted) == 1  # still one SMS


async def test_no_delivery_within_the_lifetime_sends_the_sms_once(app, viber, smsc):
    mailing_id = await queue(app, lifetime=30)
    view = await until(app, mailing_id, "sent")
    store = SqlOutboxStore(app.db)
    assert view.sent_at is not None
    assert await store.start_due_fallbacks(view.sent_at + dt.timedelta(seconds=29)) == 0
    later = view.sent_at + dt.timedelta(seconds=31)
    moved = await asyncio.gather(store.start_due_fallbacks(later),
                                 store.start_due_fallbacks(later))
    assert sorted(moved) == [0, 1]
    await smsc.wait_for(lambda: len(smsc.submitted) == 1)
    view = await until(app, mailing_id, "sent", hop=2)
    assert hops(view) == [("viber", "expired"), ("sms", "sent")]


async def test_a_forged_callback_is_refused_and_changes_nothing(app, viber, smsc):
    mailing_id = await queue(app)
    await until(app, mailing_id, "sent")
    assert await viber.callback(viber.sent[0], "delivered", key="not-the-token") == 403
    async with aiohttp.ClientSession() as session, session.post(
            viber.sent[0].body["callback_url"], json={"event": "delivered"}) as reply:
        assert reply.status == 403  # unsigned
    await asyncio.sleep(0.2)
    view = await until(app, mailing_id, "sent")
    assert hops(view) == [("viber", "sent")]


async def test_promotional_carries_image_and_button_and_bad_ones_go_by_sms(app, viber, smsc):
    promo = await queue(app, "Sale -20%", options={
        "viber_type": "promotional", "image": "https://example.com/a.png",
        "button_caption": "Shop now", "button_action": "https://example.com/sale"})
    await until(app, promo, "sent")
    body = viber.sent[0].body
    assert (body["message_type"], body["image"], body["button_caption"],
            body["button_action"]) == (108, "https://example.com/a.png", "Shop now",
                                       "https://example.com/sale")
    mixed = await queue(app, "Text", options={"viber_type": "transactional",
                                              "button_caption": "Go",
                                              "button_action": "https://example.com"})
    await smsc.wait_for(lambda: len(smsc.submitted) == 1)
    view = await until(app, mixed, "sent", hop=2)
    assert "text only" in (view.hops[0].error or "")
    assert len(viber.sent) == 1  # refused before any call
