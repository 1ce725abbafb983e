"""Domain events end to end: each produced by the real RPC (generated client, real server,
real PostgreSQL), read back from the outbox, delivered to a plugin's `kopilka_on_event` and
to in-process consumers; retries and jobs run twice (or by two workers at once) emit once."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from kopilka.v1 import members_pb2 as M
from sqlalchemy import text

from server.db.database import Database
from server.events.schema import SCHEMAS
from server.features.jobs import run_steps
from server.plugin_api import DomainEvent, hookimpl
from server.settings import Settings
from tests.e2e import certificates_helpers as certs
from tests.e2e.ledger_support import calculation, confirm, line, new_member, setup_world

KYIV = ZoneInfo("Europe/Kyiv")


class Recorder:
    """A plugin recording every event its hook is given."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    @hookimpl
    def kopilka_on_event(self, event: DomainEvent) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[DomainEvent]:
        return [e for e in self.events if e.type == kind]


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    """Quick polls and retries; the jobs run only when a test runs them."""
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
                    outbox_poll_seconds=0.05, outbox_backoff_seconds=0.05,
                    jobs_interval_seconds=0)


@pytest.fixture
def recorder(app) -> Recorder:  # type: ignore[no-untyped-def]
    plugin = Recorder()
    app.deps.plugins.plugin_manager.register(plugin, name="test-recorder")
    return plugin


async def outbox_events(app) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        rows = (await session.execute(text(
            "SELECT event_id, event_type, event_version, payload, state FROM outbox "
            "WHERE kind = 'event' ORDER BY id"))).mappings().all()
    return [dict(r) for r in rows]


async def delivered(app, recorder: Recorder, count: int) -> list[DomainEvent]:  # type: ignore[no-untyped-def]
    """Wait until the recorder has `count` events and every outbox event is settled."""
    for _ in range(200):
        rows = await outbox_events(app)
        if len(recorder.events) >= count and all(r["state"] == "done" for r in rows):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # nothing more arrives
    return recorder.events


def checked(events: list[DomainEvent]) -> None:
    for event in events:
        schema = SCHEMAS[event.type]
        assert event.version == schema.version
        schema.check(event.payload)


async def test_a_member_sale_emits_purchase_and_points_events_once(app, admin, recorder):
    await setup_world(admin)
    member = await new_member(admin, 1)
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(days=90)).isoformat()
    now = dt.datetime.now(dt.UTC).isoformat()
    calc_id = calculation(app, member, [line(1, 6000, accrual=30), line(2, 4000, accrual=20)],
                          lots=((30, now, expiry, "base"), (20, now, None, "promo")))
    request = confirm(calc_id, "R-1", total=10_000)
    first = await admin.receipts.ConfirmReceipt(request)
    assert await admin.receipts.ConfirmReceipt(request) == first  # a retry
    assert await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", total=10_000)) == first

    events = await delivered(app, recorder, 4)
    checked(events)
    assert [e.type for e in events] == ["member.registered", "purchase.confirmed",
                                        "purchase.first", "points.accrued"]
    registered, purchase, first_purchase, accrued = events
    assert registered.payload["member_id"] == member.member_id
    assert registered.payload["card_number"] == member.card
    assert purchase.payload == {
        "member_id": member.member_id, "card_number": member.card,
        "receipt_id": first.receipt_id, "store_code": "S1", "terminal_id": "T1",
        "receipt_number": "R-1", "currency": "UAH", "total_minor": 10_000,
        "points_accrued": 50, "points_redeemed": 0,
        "receipt_time": purchase.payload["receipt_time"]}
    assert first_purchase.payload["receipt_id"] == first.receipt_id
    assert accrued.payload["points"] == 50 and accrued.payload["points_balance"] == 50
    assert dt.datetime.fromisoformat(accrued.payload["expiry_time"]) == \
        dt.datetime.fromisoformat(expiry)
    rows = await outbox_events(app)  # read back: versioned, the ids the plugin saw
    assert [(str(r["event_id"]), r["event_version"]) for r in rows] == [
        (e.event_id, 1) for e in events]

    second = calculation(app, member, [line(1, 500, accrual=5)], lots=((5, now, None, "b"),))
    await admin.receipts.ConfirmReceipt(confirm(second, "R-2", total=500))
    anonymous = calculation(app, None, [line(1, 700)])
    await admin.receipts.ConfirmReceipt(confirm(anonymous, "R-3", total=700))
    events = await delivered(app, recorder, 6)
    assert [e.type for e in events[4:]] == ["purchase.confirmed", "points.accrued"]
    assert len(events) == 6  # no second purchase.first, nothing for the anonymous sale


async def test_blocking_a_card_and_selling_a_certificate_emit_events(app, admin, recorder):
    await setup_world(admin)
    member = await new_member(admin, 2)
    await admin.members.ChangeCardState(M.ChangeCardStateRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, state=M.CARD_STATE_BLOCKED,
        reason="lost"))
    await certs.setup_stores(admin)
    await certs.upsert_type(admin, certs.money_type())
    (sold,) = await certs.issue(admin)
    await certs.issue(admin, print_only=True)  # printed, not sold: no event
    events = await delivered(app, recorder, 3)
    checked(events)
    assert [e.type for e in events] == ["member.registered", "card.blocked",
                                        "certificate.issued"]
    assert events[1].payload == {"card_number": member.card, "member_id": member.member_id,
                                 "card_type": "silver", "reason": "lost"}
    assert events[2].payload["certificate_number"] == sold.number
    assert events[2].payload["denomination_minor"] == 100000


async def test_time_based_events_are_emitted_once_by_two_workers(app, admin, recorder):
    await setup_world(admin)
    today = dt.datetime.now(KYIV).date()
    born = today.replace(year=1990) if (today.month, today.day) != (2, 29) else \
        dt.date(1992, 2, 29)
    reply = await admin.members.RegisterMember(M.RegisterMemberRequest(
        request_id=str(uuid.uuid4()), channel=M.REGISTRATION_CHANNEL_OPERATOR,
        profile=M.MemberProfile(first_name="B", phone="+380671110000",
                                birth_date=born.isoformat()), issue_card_type="silver"))
    member = await new_member(admin, 3)
    now = dt.datetime.now(dt.UTC)
    soon = (now + dt.timedelta(days=3)).isoformat()
    calc_id = calculation(app, member, [line(1, 1000, accrual=10), line(2, 1000, accrual=15)],
                          lots=((10, now.isoformat(), soon, "a"), (15, now.isoformat(), soon, "b")))
    await admin.receipts.ConfirmReceipt(confirm(calc_id, "R-1", total=2000))
    await certs.setup_stores(admin)
    await certs.upsert_type(admin, certs.money_type(valid_days=10))
    (cert,) = await certs.issue(admin)
    before = len(await delivered(app, recorder, 6))

    other = Database(app.db.url, pool_size=2)  # a second worker, no advisory lock between
    try:
        passes = await asyncio.gather(run_steps(app.db, now), run_steps(other, now))
        again = await run_steps(other, now)
    finally:
        await other.dispose()
    assert all(not p.failed for p in [*passes, again])
    for step in ("points_expiring", "birthday_events", "certificates_expiring"):
        assert sorted(p.counts[step] for p in passes) == [0, 1], step
        assert again.counts[step] == 0
    events = (await delivered(app, recorder, before + 3))[before:]
    checked(events)
    by_type = {e.type: e.payload for e in events}
    assert len(events) == 3 and set(by_type) == {"points.expiring", "member.birthday",
                                                 "certificate.expiring"}
    assert by_type["points.expiring"]["member_id"] == member.member_id
    assert by_type["points.expiring"]["points"] == 25
    assert by_type["points.expiring"]["expiry_date"] == \
        dt.datetime.fromisoformat(soon).astimezone(KYIV).date().isoformat()
    assert by_type["member.birthday"] == {"member_id": reply.member.member_id,
                                          "birth_date": born.isoformat(),
                                          "date": today.isoformat()}
    assert by_type["certificate.expiring"]["certificate_number"] == cert.number


class Flaky:
    """An in-process consumer that fails its first call."""

    def __init__(self, name: str, fail: int = 0) -> None:
        self.name = name
        self.fail = fail
        self.handled: list[str] = []

    def wants(self, event_type: str) -> bool:
        return event_type == "member.registered"

    async def handle(self, event: DomainEvent, tx: Any) -> None:
        await tx.execute(text("SELECT 1"))  # the store's transaction
        if self.fail:
            self.fail -= 1
            raise RuntimeError("not yet")
        self.handled.append(event.event_id)


async def test_consumers_run_after_the_plugins_at_most_once_each(app, admin, recorder):
    steady, flaky = Flaky("steady"), Flaky("flaky", fail=1)
    app.deps.events.register(steady)
    app.deps.events.register(flaky)
    await setup_world(admin)
    await new_member(admin, 4)
    for _ in range(200):
        if flaky.handled:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    (row,) = await outbox_events(app)
    assert row["state"] == "done"
    event_id = str(row["event_id"])
    assert steady.handled == [event_id] and flaky.handled == [event_id]  # once each
    assert [e.event_id for e in recorder.events] == [event_id, event_id]  # hook: at least once
    async with app.db.transaction() as session:
        done = (await session.execute(text(
            "SELECT consumer FROM event_consumptions WHERE event_id = :e ORDER BY consumer"),
            {"e": row["event_id"]})).scalars().all()
    assert done == ["flaky", "marketing.triggers", "steady"]  # the triggers consume it too
