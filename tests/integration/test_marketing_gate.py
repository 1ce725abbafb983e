"""Quiet hours across time zones at the moment of sending, and trigger idempotency under
redelivery and two concurrent consumers: real PostgreSQL, the real outbox path."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.db.marketing import repo
from server.db.marketing.campaigns import link_keys
from server.db.marketing.gate import SqlSendGate
from server.db.marketing.triggers import TriggerConsumer, upsert
from server.db.outbox.repo import SqlOutboxStore, enqueue_event, mailing
from server.marketing.pacing import Pacing
from server.marketing.sms_parts import sms_parts
from server.marketing.triggers import check_trigger
from server.outbox.dispatcher import OutboxDispatcher
from server.outbox.model import ClaimedEvent
from tests.integration.test_outbox import STEADY, Recorder, host_with


@pytest.fixture
async def db(database_url):  # type: ignore[no-untyped-def]
    database = Database(database_url, pool_size=4)
    yield database
    await database.dispose()


PACING = Pacing(dt.time(21, 0), dt.time(9, 0), 0, "Europe/Kyiv")


class At:
    def __init__(self, when: dt.datetime) -> None:
        self.now = when

    def __call__(self) -> dt.datetime:
        return self.now


async def member(db, phone: str, tz: str | None) -> uuid.UUID:  # type: ignore[no-untyped-def]
    member_id = uuid.uuid4()
    async with db.transaction() as session:
        conn = await raw_connection(session)
        await conn.execute("INSERT INTO members (id, first_name, last_name, middle_name, gender, "
                           "marital_status, address, social_ids, phone, registration_channel) "
                           "VALUES ($1, 'Olena', '', '', '', '', '', '{}', $2, 'operator')",
                           member_id, phone)
        await repo.set_preferences(conn, member_id, None, tz)
        await repo.record_consent(conn, member_id, "sms", "marketing", True, "web", "v1", "t")
    return member_id


async def fire(db, consumer, event_type, payload):  # type: ignore[no-untyped-def]
    """Enqueue the event in the outbox and claim it back: the DomainEvent as delivered."""
    async with db.transaction() as session:
        await enqueue_event(session, event_type, payload)
    # (queued messages come along in the claim; their lease ends long before the clock's 2030)
    (item,) = [i for i in await SqlOutboxStore(db).claim_due(10, 30)
               if isinstance(i, ClaimedEvent)]
    return item.event


async def test_quiet_hours_follow_the_members_time_zone_at_sending(db) -> None:
    kyiv = await member(db, "+380671234567", "Europe/Kyiv")
    ny = await member(db, "+12125550100", "America/New_York")
    consumer = TriggerConsumer(db, link_keys("http://x", b"k" * 32), "uk", "Europe/Kyiv")
    for m in (kyiv, ny):
        event = await fire(db, consumer, "member.birthday", {"member_id": str(m)})
        assert await consumer.on_event(event) == 1
    # 12:00 UTC = 14:00 in Kyiv (sends) and 07:00 in New York (quiet until 09:00 there)
    clock = At(dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC))
    recorder = Recorder()
    worker = OutboxDispatcher(SqlOutboxStore(db), host_with(recorder), STEADY, clock=clock,
                              gate=SqlSendGate(db, PACING))
    await worker.run_once()
    assert [m.recipient for m in recorder.sent] == ["+380671234567"]
    clock.now = dt.datetime(2030, 6, 1, 12, 59, tzinfo=dt.UTC)
    await worker.run_once()
    assert len(recorder.sent) == 1  # still 08:59 in New York
    clock.now = dt.datetime(2030, 6, 1, 13, 0, tzinfo=dt.UTC)
    await worker.run_once()
    assert [m.recipient for m in recorder.sent] == ["+380671234567", "+12125550100"]


async def test_a_trigger_fires_once_under_retries_and_two_consumers(db) -> None:
    m = await member(db, "+380671234567", None)
    keys = link_keys("http://x", b"k" * 32)
    first, second = (TriggerConsumer(db, keys, "uk", "Europe/Kyiv") for _ in range(2))
    event = await fire(db, first, "member.birthday", {"member_id": str(m)})
    counts = await asyncio.gather(first.on_event(event), second.on_event(event))
    assert sorted(counts) == [0, 1]
    assert await first.on_event(event) == 0  # redelivered
    # another birthday event the same year: one greeting a year
    again = await fire(db, first, "member.birthday", {"member_id": str(m)})
    assert again.event_id != event.event_id and await first.on_event(again) == 0
    async with db.transaction() as session:
        conn = await raw_connection(session)
        (mailing_id,) = [r["mailing_id"] for r in await conn.fetch(
            "SELECT mailing_id FROM trigger_firings")]
    async with db.transaction() as session:
        view = await mailing(session, mailing_id)
    assert view is not None and view.body.startswith("Olena, з днем народження")


async def add_trigger(db, code: str, event_type: str, **over) -> None:  # type: ignore[no-untyped-def]
    spec = check_trigger(**{
        "code": code, "event_type": event_type, "condition": "", "template_code": "birthday",
        "channel": "sms", "delay_seconds": 0, "occurrence": "event", "max_per_occurrence": 1,
        "stop_events": [], "active": True, **over})
    async with db.transaction() as session:
        await upsert(await raw_connection(session), spec)


async def test_the_frequency_cap_defers_the_next_message_a_day_after(db) -> None:
    m = await member(db, "+380671234567", "Europe/Kyiv")
    await add_trigger(db, "promo", "points.expiring")
    consumer = TriggerConsumer(db, link_keys("http://x", b"k" * 32), "uk", "Europe/Kyiv")
    for _ in range(2):
        assert await consumer.on_event(await fire(db, consumer, "points.expiring",
                                                  {"member_id": str(m)})) == 1
    clock = At(dt.datetime(2030, 6, 1, 10, 0, tzinfo=dt.UTC))  # 13:00 in Kyiv
    recorder = Recorder()
    worker = OutboxDispatcher(SqlOutboxStore(db), host_with(recorder), STEADY, clock=clock,
                              gate=SqlSendGate(db, Pacing(dt.time(21), dt.time(9), 1,
                                                          "Europe/Kyiv")))
    await worker.run_once()
    assert len(recorder.sent) == 1  # the cap is one a day: the second waits
    clock.now += dt.timedelta(hours=23, minutes=59)
    await worker.run_once()
    assert len(recorder.sent) == 1
    clock.now += dt.timedelta(minutes=1)
    await worker.run_once()
    assert len(recorder.sent) == 2


async def test_basket_reminders_at_most_n_and_a_purchase_stops_them(db) -> None:
    m = await member(db, "+380671234567", None)
    await add_trigger(db, "basket", "basket.abandoned", occurrence="payload:basket_id",
                      max_per_occurrence=2, delay_seconds=3600,
                      stop_events=["purchase.confirmed"])
    consumer = TriggerConsumer(db, link_keys("http://x", b"k" * 32), "uk", "Europe/Kyiv")
    basket = {"member_id": str(m), "basket_id": "b-1"}
    fired = [await consumer.on_event(await fire(db, consumer, "basket.abandoned", basket))
             for _ in range(3)]
    assert fired == [1, 1, 0]  # at most two reminders for one basket
    other = {"member_id": str(m), "basket_id": "b-2"}
    assert await consumer.on_event(await fire(db, consumer, "basket.abandoned", other)) == 1
    await consumer.on_event(await fire(db, consumer, "purchase.confirmed",
                                       {"member_id": str(m)}))
    clock = At(dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC))
    recorder = Recorder()
    worker = OutboxDispatcher(SqlOutboxStore(db), host_with(recorder), STEADY, clock=clock,
                              gate=SqlSendGate(db, PACING))
    await worker.run_once()
    assert recorder.sent == []  # every queued reminder was stopped by the purchase
    async with db.transaction() as session:
        states = [r["state"] for r in await (await raw_connection(session)).fetch(
            "SELECT state FROM mailings WHERE reference = 'trigger:basket'")]
    assert states == ["failed"] * 3


async def test_sms_parts_agree_in_sql_and_python(db) -> None:
    texts = ["", "a" * 160, "a" * 161, "{" * 80, "{" * 81, "ї" * 70, "ї" * 71, "ї" * 134,
             "ї" * 135, "Hello €", "😀" * 35, "😀" * 36, "Привіт, Olena!"]
    async with db.transaction() as session:
        conn = await raw_connection(session)
        in_sql = [await conn.fetchval("SELECT kopilka_sms_parts($1)", t) for t in texts]
    assert in_sql == [sms_parts(t) for t in texts]
    assert in_sql == [0, 1, 2, 1, 2, 1, 2, 2, 3, 1, 1, 2, 1]
