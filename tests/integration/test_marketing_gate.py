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
from server.db.marketing.triggers import TriggerConsumer
from server.db.outbox.repo import SqlOutboxStore, enqueue_event, mailing
from server.marketing.pacing import Pacing
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
