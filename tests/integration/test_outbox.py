"""The outbox against real PostgreSQL: transactional enqueue, SKIP LOCKED claims, leases,
retries to final failure, domain events to plugins, receipts that beat the send."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter

import pytest
from sqlalchemy import select, text

from server.db.database import Database
from server.db.outbox.models import OutboxItem
from server.db.outbox.repo import SqlOutboxStore, enqueue_event, enqueue_message, mailing
from server.events.consumers import EventConsumers
from server.outbox.dispatcher import OutboxDispatcher
from server.outbox.model import ClaimedEvent, ClaimedMessage
from server.outbox.policy import Decision, RetryPolicy, Verdict
from server.plugin_api import (
    DeliveryReport,
    DeliveryState,
    DomainEvent,
    OutgoingMessage,
    SendResult,
    SendStatus,
    hookimpl,
)
from server.plugin_host import PluginHost, build_plugin_manager

# Backoff of a minute, then two: the tests move a clock past it, they never wait for it.
STEADY = RetryPolicy(max_attempts=3, base_seconds=60, max_seconds=600, jitter=0)


class ManualClock:
    """The dispatcher's and the store's "now", moved by the test.

    It starts a minute ahead of the wall clock, so rows enqueued now (due at the
    database's now()) are due at once."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class Recorder:
    """A plugin that records events, and a scripted in-process "sms" channel."""

    name = "sms"

    def __init__(self, fail_events: int = 0, statuses: list[SendStatus] | None = None) -> None:
        self.events: list[DomainEvent] = []
        self.sent: list[OutgoingMessage] = []
        self.fail_events = fail_events
        self.statuses = statuses or []

    @hookimpl
    def kopilka_on_event(self, event: DomainEvent) -> None:
        self.events.append(event)
        if self.fail_events:
            self.fail_events -= 1
            raise RuntimeError("CRM is down")

    @hookimpl
    def kopilka_message_channels(self, settings):  # type: ignore[no-untyped-def]
        return [self]

    async def start(self, on_delivery_report=None) -> None:  # type: ignore[no-untyped-def]
        pass

    async def stop(self) -> None:
        pass

    async def send(self, message: OutgoingMessage) -> SendResult:
        await asyncio.sleep(0.005)  # a provider round trip, so claims overlap
        self.sent.append(message)
        status = self.statuses.pop(0) if self.statuses else SendStatus.ACCEPTED
        ids = (f"p-{len(self.sent)}",) if status is SendStatus.ACCEPTED else ()
        return SendResult(status, ids, None if ids else f"scripted {status}")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def db(database_url):
    database = Database(database_url, pool_size=4)
    yield database
    await database.dispose()


def host_with(*plugins: object) -> PluginHost:
    pm = build_plugin_manager(disabled={"smpp", "email"}, environ={}, load_entry_points=False)
    for i, plugin in enumerate(plugins):
        pm.register(plugin, name=f"test-{i}")
    return PluginHost(pm, {})


def dispatcher(db: Database, host: PluginHost, policy: RetryPolicy = STEADY,
               **kw: object) -> OutboxDispatcher:
    return OutboxDispatcher(SqlOutboxStore(db), host, policy, **kw)  # type: ignore[arg-type]


async def queue_sms(db: Database, count: int = 1) -> list[uuid.UUID]:
    async with db.transaction() as session:
        return [await enqueue_message(session, channel="sms", recipient=f"+38067000{i:04d}",
                                      text=f"n{i}", reference=f"test:{i}")
                for i in range(count)]


async def outbox_rows(db: Database) -> list[OutboxItem]:
    async with db.transaction() as session:
        return list((await session.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


async def test_nothing_leaves_when_the_business_transaction_rolls_back(db) -> None:
    recorder = Recorder()
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await enqueue_message(session, channel="sms", recipient="+380671234567",
                                  text="code 1", reference="sale:1")
            await enqueue_event(session, "receipt.confirmed", {"receipt_id": "r1"})
            raise RuntimeError("the sale failed")
    assert await dispatcher(db, host_with(recorder)).run_once() == 0
    assert await outbox_rows(db) == [] and recorder.sent == recorder.events == []


async def test_events_reach_every_plugin_after_commit(db) -> None:
    first, second = Recorder(), Recorder()
    async with db.transaction() as session:
        event_id = await enqueue_event(session, "receipt.confirmed",
                                       {"receipt_id": "r1", "total_minor": 12345})
    assert await dispatcher(db, host_with(first, second)).run_once() == 1
    for plugin in (first, second):
        (event,) = plugin.events
        assert (event.type, event.event_id) == ("receipt.confirmed", str(event_id))
        assert event.payload == {"receipt_id": "r1", "total_minor": 12345}
    (row,) = await outbox_rows(db)
    assert (row.state, row.attempts) == ("done", 1)


async def test_a_failing_event_handler_is_retried_then_recorded_as_failed(db, clock) -> None:
    flaky, steady = Recorder(fail_events=10), Recorder()
    async with db.transaction() as session:
        await enqueue_event(session, "member.registered", {"member_id": "m1"})
    worker = dispatcher(db, host_with(flaky, steady), clock=clock)
    for attempt in range(1, STEADY.max_attempts):
        assert await worker.run_once() == 1
        clock.advance(STEADY.delay(attempt) - 1)
        assert await worker.run_once() == 0  # a second early: still backing off
        clock.advance(1)
    assert await worker.run_once() == 1  # the last attempt
    clock.advance(STEADY.max_seconds * 10)
    assert await worker.run_once() == 0  # failed for good: never due again
    (row,) = await outbox_rows(db)
    assert (row.state, row.attempts) == ("failed", 3)
    assert "test-0" in row.last_error and "CRM is down" in row.last_error
    assert len(steady.events) == 3 and len({e.event_id for e in steady.events}) == 1


async def test_bad_events_are_refused_at_enqueue(db) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValueError):
            await enqueue_event(session, "ReceiptConfirmed", {})
        with pytest.raises(TypeError):
            await enqueue_event(session, "receipt.confirmed", {"at": object()})


async def test_two_dispatchers_share_the_queue_without_double_sends(db, database_url) -> None:
    ids = await queue_sms(db, 40)
    other_db = Database(database_url, pool_size=4)
    channel = Recorder()
    try:
        one = dispatcher(db, host_with(channel), batch_size=5)
        two = dispatcher(other_db, host_with(channel), batch_size=5)
        handled: Counter[str] = Counter()

        async def drain(name: str, worker: OutboxDispatcher) -> None:
            while n := await worker.run_once():
                handled[name] += n

        await asyncio.gather(drain("one", one), drain("two", two))
    finally:
        await other_db.dispose()
    assert sorted(m.recipient for m in channel.sent) == sorted(f"+38067000{i:04d}"
                                                               for i in range(40))
    assert handled["one"] > 0 and handled["two"] > 0 and sum(handled.values()) == 40
    async with db.transaction() as session:
        states = {(await mailing(session, i)).state for i in ids}
    assert states == {"sent"}


async def test_retry_then_success_keeps_the_attempts_in_the_history(db, clock) -> None:
    (mailing_id,) = await queue_sms(db)
    channel = Recorder(statuses=[SendStatus.RETRY_LATER])
    worker = dispatcher(db, host_with(channel), RetryPolicy(base_seconds=30, jitter=0),
                        clock=clock)
    assert await worker.run_once() == 1
    async with db.transaction() as session:
        queued = await mailing(session, mailing_id)
    assert (queued.state, queued.attempts, queued.last_error) == (
        "queued", 1, "scripted retry_later")
    assert await worker.run_once() == 0  # not due yet: backing off
    clock.advance(29.999)
    assert await worker.run_once() == 0
    clock.advance(0.001)
    assert await worker.run_once() == 1  # due exactly 30 s after the failed attempt
    async with db.transaction() as session:
        sent = await mailing(session, mailing_id)
    assert (sent.state, sent.attempts, sent.provider_message_ids) == ("sent", 2, ("p-2",))
    assert sent.sent_at is not None and sent.last_error is None


async def test_unconfigured_channel_fails_after_max_attempts(db, clock) -> None:
    (mailing_id,) = await queue_sms(db)
    worker = dispatcher(db, host_with(), clock=clock)  # no "sms" channel at all
    for attempt in range(1, STEADY.max_attempts + 1):
        assert await worker.run_once() == 1
        clock.advance(STEADY.delay(attempt))
    assert await worker.run_once() == 0
    async with db.transaction() as session:
        failed = await mailing(session, mailing_id)
    assert (failed.state, failed.attempts) == ("failed", 3)
    assert "not configured" in failed.last_error


async def test_without_a_clock_the_database_decides_what_is_due(db) -> None:
    """The server's dispatcher has no clock: a retry a minute away is not due now."""
    await queue_sms(db)
    worker = dispatcher(db, host_with())  # RETRY_LATER: channel not configured
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0  # the database's now() is a minute short
    (row,) = await outbox_rows(db)
    assert (row.state, row.attempts) == ("pending", 1)


async def test_an_expired_lease_is_reclaimed_and_the_stale_settle_ignored(db, clock) -> None:
    (mailing_id,) = await queue_sms(db)
    store = SqlOutboxStore(db)
    (first,) = await store.claim_due(10, 30, clock())  # this worker then "dies"
    assert await store.claim_due(10, 30, clock()) == []  # leased, not due
    clock.advance(29)
    assert await store.claim_due(10, 30, clock()) == []  # the lease still holds
    clock.advance(1)
    (second,) = await store.claim_due(10, 30, clock())  # expired: another worker takes it
    assert isinstance(second, ClaimedMessage) and second.attempt == 2
    assert isinstance(first, ClaimedMessage)
    await store.settle_message(first, SendResult(SendStatus.RETRY_LATER, error="late"),
                               Decision(Verdict.FAILED), clock())
    (row,) = await outbox_rows(db)
    assert (row.state, row.attempts) == ("pending", 2)  # the stale verdict did not land
    await store.settle_message(second, SendResult(SendStatus.ACCEPTED, ("x-1",)),
                               Decision(Verdict.DONE), clock())
    async with db.transaction() as session:
        assert (await mailing(session, mailing_id)).state == "sent"


async def test_a_receipt_that_beats_the_submit_response_is_applied_later(db) -> None:
    (mailing_id,) = await queue_sms(db)
    store = SqlOutboxStore(db)
    report = DeliveryReport("sms", "early-1", DeliveryState.DELIVERED, "000", "stat:DELIVRD")
    assert await store.record_delivery(report) is False
    (item,) = await store.claim_due(10, 30)
    assert isinstance(item, ClaimedMessage)
    await store.settle_message(item, SendResult(SendStatus.ACCEPTED, ("early-1",)),
                               Decision(Verdict.DONE))
    async with db.transaction() as session:
        view = await mailing(session, mailing_id)
    assert (view.state, view.provider_message_ids) == ("delivered", ("early-1",))


async def test_a_long_sms_is_delivered_only_when_every_part_is(db) -> None:
    (mailing_id,) = await queue_sms(db)
    store = SqlOutboxStore(db)
    (item,) = await store.claim_due(10, 30)
    assert isinstance(item, ClaimedMessage)
    await store.settle_message(item, SendResult(SendStatus.ACCEPTED, ("a", "b")),
                               Decision(Verdict.DONE))

    async def state() -> str:
        async with db.transaction() as session:
            return (await mailing(session, mailing_id)).state

    assert await store.record_delivery(DeliveryReport("sms", "a", DeliveryState.DELIVERED))
    assert await state() == "sent"
    assert await store.record_delivery(DeliveryReport("sms", "b", DeliveryState.DELIVERED))
    assert await state() == "delivered"


async def test_dispatcher_task_wakes_up_and_stops_cleanly(db) -> None:
    channel = Recorder()
    worker = dispatcher(db, host_with(channel), poll_seconds=3600)  # only wake() helps
    worker.start()
    try:
        await queue_sms(db, 2)
        worker.wake()
        async with asyncio.timeout(30):  # a guard against a hang, far below the poll
            while len(channel.sent) < 2:
                await asyncio.sleep(0.01)
    finally:
        await worker.stop(grace=1)
    assert worker._task is None


class Marker:
    """An in-process consumer writing a mark per event in the store's transaction; it fails
    on the payloads named in `fail` (once each), and with `batch` it takes them all at once."""

    def __init__(self, name: str, fail: set[str] = frozenset(), batch: bool = False) -> None:
        self.name = name
        self.fail = set(fail)
        self.calls: list[tuple[str, int]] = []  # (event's n, id of the transaction)
        self.batches: list[list[str]] = []
        if batch:
            self.handle_many = self._handle_many

    def wants(self, event_type: str) -> bool:
        return event_type == "member.registered"

    async def handle(self, event: DomainEvent, tx: object) -> None:
        n = event.payload["n"]
        self.calls.append((n, id(tx)))
        await tx.execute(text("INSERT INTO event_marks (kind, subject, occasion) "  # type: ignore[attr-defined]
                              "VALUES (:k, :n, 'test')"), {"k": self.name, "n": n})
        if n in self.fail:
            self.fail.discard(n)
            raise RuntimeError(f"not {n} yet")

    async def _handle_many(self, events: list[DomainEvent], tx: object) -> None:
        self.batches.append([e.payload["n"] for e in events])
        for event in events:
            if event.payload["n"] in self.fail:
                raise RuntimeError("one of them")  # the store then goes one by one
            await tx.execute(text("INSERT INTO event_marks (kind, subject, occasion) "  # type: ignore[attr-defined]
                                  "VALUES (:k, :n, 'test')"),
                             {"k": self.name, "n": event.payload["n"]})


async def marks(db: Database, kind: str) -> list[str]:
    async with db.transaction() as session:
        return sorted((await session.scalars(text(
            "SELECT subject FROM event_marks WHERE kind = :k"), {"k": kind})).all())


@pytest.mark.parametrize("batch", [False, True], ids=["one-by-one", "handle_many"])
async def test_a_batch_of_events_is_consumed_in_one_transaction_and_a_failure_alone_retried(
        db, clock, batch) -> None:
    """One transaction per consumer and batch, settled in one statement; the event its
    handler failed on rolls back alone (its mark and its consumption record) and comes
    back after the backoff, once, while the others are done."""
    plugin = Recorder()
    picky, steady = Marker("picky", fail={"2"}, batch=batch), Marker("steady", batch=batch)
    consumers = EventConsumers()
    consumers.register(picky)
    consumers.register(steady)
    async with db.transaction() as session:
        ids = [await enqueue_event(session, "member.registered", {"n": str(n)})
               for n in range(1, 5)]
    worker = dispatcher(db, host_with(plugin), clock=clock, consumers=consumers)
    assert await worker.run_once() == 4
    rows = await outbox_rows(db)
    assert [(r.state, r.attempts) for r in rows] == [("done", 1), ("pending", 1),
                                                     ("done", 1), ("done", 1)]
    assert "picky" in (rows[1].last_error or "") and "not 2 yet" in (rows[1].last_error or "")
    assert await marks(db, "picky") == ["1", "3", "4"]
    assert await marks(db, "steady") == ["1", "2", "3", "4"]
    if batch:
        assert picky.batches == [["1", "2", "3", "4"]] and steady.batches == [["1", "2", "3",
                                                                               "4"]]
        assert [n for n, _ in picky.calls] == ["1", "2", "3", "4"]  # the fallback, one by one
        assert steady.calls == []
    else:
        assert [n for n, _ in picky.calls] == ["1", "2", "3", "4"]
        assert len({tx for _, tx in picky.calls}) == 1  # one transaction for the batch
    clock.advance(STEADY.delay(1))
    assert await worker.run_once() == 1  # only the failed event, and only picky takes it
    assert [(r.state, r.attempts) for r in await outbox_rows(db)] == [("done", 1), ("done", 2),
                                                                      ("done", 1), ("done", 1)]
    assert await marks(db, "picky") == ["1", "2", "3", "4"]
    assert await marks(db, "steady") == ["1", "2", "3", "4"]  # steady did not run again
    assert [e.event_id for e in plugin.events] == [str(i) for i in ids] + [str(ids[1])]
    async with db.transaction() as session:
        consumed = (await session.execute(text(
            "SELECT consumer, count(*) FROM event_consumptions GROUP BY consumer "
            "ORDER BY consumer"))).all()
    assert [tuple(c) for c in consumed] == [("picky", 4), ("steady", 4)]


async def test_a_lost_claim_is_not_settled_by_the_batch(db, clock) -> None:
    """settle_events leaves an event another dispatcher re-claimed after the lease expired."""
    async with db.transaction() as session:
        for n in range(2):
            await enqueue_event(session, "member.registered", {"n": str(n)})
    store = SqlOutboxStore(db)
    first = await store.claim_due(10, 30, clock())
    clock.advance(30)
    again = await store.claim_due(1, 30, clock())
    assert len(first) == 2 and len(again) == 1
    events = [item for item in first if isinstance(item, ClaimedEvent)]
    assert await store.settle_events(events) == 1  # the other is the newer claim's now
    rows = await outbox_rows(db)
    assert sorted((r.state, r.attempts) for r in rows) == [("done", 1), ("pending", 2)]
