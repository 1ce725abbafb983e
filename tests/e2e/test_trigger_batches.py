"""The triggers' batch handler (TriggerConsumer.handle_many, what the dispatcher calls with a
claimed batch) leaves the same rows as `handle` on each event in turn: firings, stops,
messages with their send times, coupons; inactive triggers and events without a member fire
nothing. Real server, PostgreSQL and triggers set through MarketingService."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from kopilka.v1 import marketing_pb2 as MK

from server.features.triggers import trigger_consumer
from server.plugin_contracts import DomainEvent
from tests.e2e.ledger_support import new_member, setup_world
from tests.e2e.verification_support import marketing_settings
from tests.smtp import running_smtp


@pytest.fixture
async def smtp():  # type: ignore[no-untyped-def]
    async with running_smtp() as running:
        yield running


@pytest.fixture
def settings(tmp_path, smsc, smtp):  # type: ignore[no-untyped-def]
    return marketing_settings(tmp_path, smsc.port, smtp[1])


def rid() -> str:
    return str(uuid.uuid4())


def trigger(code: str, event_type: str, **fields: Any) -> MK.UpsertTriggerRequest:
    fields = {"template_code": "gold", "channel": "sms", "occurrence": "event",
              "max_per_occurrence": 1, "delay_seconds": 3600, "active": True, **fields}
    return MK.UpsertTriggerRequest(request_id=rid(), trigger=MK.Trigger(
        code=code, event_type=event_type, **fields))


# What the triggers wrote, without the ids, times and coupon codes each run makes anew.
SNAPSHOT = """
SELECT f.trigger_code, f.member_id::text, f.occurrence, f.seq, f.event_id::text,
       f.stopped_at IS NOT NULL, m.recipient, replace(m.body, c.code, '<its coupon>'),
       m.state, o.next_attempt_at, mm.parts, c.member_id::text, c.source
FROM trigger_firings f
LEFT JOIN mailings m ON m.id = f.mailing_id
LEFT JOIN outbox o ON o.mailing_id = m.id
LEFT JOIN marketing_messages mm ON mm.mailing_id = m.id
LEFT JOIN coupons c ON c.id = f.coupon_id
ORDER BY f.trigger_code, f.member_id, f.occurrence, f.seq
"""


async def written(app, handle) -> tuple[list[tuple[Any, ...]], int]:  # type: ignore[no-untyped-def]
    """The rows `handle(session)` leaves, read in its transaction, then rolled back."""
    async with app.db.sessions() as session:
        tx = await session.begin()
        try:
            await handle(session)
            firings = [tuple(r) for r in (await session.execute(sa.text(SNAPSHOT))).all()]
            coupons = await session.scalar(sa.text("SELECT count(*) FROM coupons"))
        finally:
            await tx.rollback()
    return firings, int(coupons or 0)


async def test_a_batch_leaves_the_rows_that_one_event_at_a_time_leaves(app, admin):
    await setup_world(admin)
    members = [await new_member(admin, 71 + i) for i in range(3)]
    for m in members:
        await admin.marketing.SetConsent(MK.SetConsentRequest(
            request_id=rid(), member_id=m.member_id, consent=MK.Consent(
                channel="sms", purpose="marketing", granted=True, source="questionnaire",
                wording_version="v1")))
    for code, body in (("gold", "Gold for you"), ("gift", "A gift: {{ coupon }}")):
        await admin.marketing.UpsertTemplate(MK.UpsertTemplateRequest(
            request_id=rid(), template=MK.Template(code=code, channel="sms",
                                                   default_language="uk", texts=[
                                                       MK.TemplateText(language="uk",
                                                                       body=body)])))
    # fires per event and is stopped by a purchase; fires once a year; issues a coupon;
    # never fires (inactive) but still stops; fires on purchases
    await admin.marketing.UpsertTrigger(trigger(
        "a-gold", "member.tier_changed", stop_events=["purchase.confirmed"]))
    await admin.marketing.UpsertTrigger(trigger("b-yearly", "member.tier_changed",
                                                occurrence="year"))
    await admin.marketing.UpsertTrigger(trigger(
        "c-coupon", "member.tier_changed", template_code="gift", coupon=MK.RecipientCoupon(
            promotion_id="spring-coupon", valid_days=30)))
    await admin.marketing.UpsertTrigger(trigger("d-off", "member.tier_changed", active=False,
                                                stop_events=["points.accrued"]))
    await admin.marketing.UpsertTrigger(trigger("e-thanks", "purchase.confirmed",
                                                max_per_occurrence=2, occurrence="day"))
    await asyncio.sleep(0.5)  # the registrations' events are the dispatcher's, not ours
    at = dt.datetime(2030, 5, 1, 9, tzinfo=dt.UTC)
    m0, m1, m2 = (m.member_id for m in members)

    def event(kind: str, member: str, minutes: int = 0) -> DomainEvent:
        return DomainEvent(kind, {"member_id": member}, str(uuid.uuid4()),
                           at + dt.timedelta(minutes=minutes))

    events = [event("member.tier_changed", m0), event("member.tier_changed", m1),
              event("purchase.confirmed", m0, 1), event("member.tier_changed", m0, 2),
              event("points.accrued", m1, 3), event("purchase.confirmed", m0, 4),
              event("purchase.confirmed", m0, 5), event("member.tier_changed", "not-a-uuid"),
              event("member.tier_changed", m2, 6)]
    consumer = trigger_consumer(app.deps)
    assert consumer is not None

    async def one_by_one(session) -> None:  # type: ignore[no-untyped-def]
        for e in events:
            await consumer.handle(e, session)

    async def batch(session) -> None:  # type: ignore[no-untyped-def]
        await consumer.handle_many(events, session)

    expected = await written(app, one_by_one)
    firings, coupons = expected
    assert coupons == 4  # c-coupon fired on each tier change of a member
    assert {f[0] for f in firings} == {"a-gold", "b-yearly", "c-coupon", "e-thanks"}
    assert sum(1 for f in firings if f[0] == "e-thanks") == 2  # at most 2 a day
    stopped = {(f[1], f[5]) for f in firings if f[0] == "a-gold"}
    assert stopped == {(m0, True), (m1, False), (m2, False)}  # m0's two by its purchases
    assert sum(1 for f in firings if f[0] == "b-yearly") == 3  # m0 once in the year
    assert await written(app, batch) == expected
