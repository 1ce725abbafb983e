"""Outbox storage: the enqueue helpers other features call inside their transaction,
and the dispatcher's store (claim with SKIP LOCKED, settle, delivery receipts).

Scheduling uses the database clock (`now()`), so every worker process agrees on what
is due; a caller may pass its own `now` instead (tests drive the schedule with a clock).
Settling a retry or failure only applies while the row still carries this attempt's
number: if a lease expired and another worker re-claimed the row, the newer claim wins.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DateTime,
    and_,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.database import Database
from server.db.outbox.models import (
    DeliveryReportLog,
    EventMark,
    Mailing,
    MailingHop,
    MailingPart,
    OutboxItem,
)
from server.events.schema import SCHEMAS, NewEvent
from server.outbox.model import Claimed, ClaimedEvent, ClaimedMessage
from server.outbox.policy import Decision, Verdict
from server.plugin_contracts import DeliveryReport, DomainEvent, OutgoingMessage, SendResult

log = logging.getLogger("kopilka.outbox")

_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_FAILED_PART_STATES = ("undeliverable", "expired", "rejected", "deleted")
# Once settled, a text with a secret keeps only its masked version.
_REDACT: dict[str, Any] = {"body": func.coalesce(Mailing.redacted_body, Mailing.body),
                           "redacted_body": None}


#: Longest and shortest lifetime a message with a fallback may have (Viber's TTL range).
LIFETIME_RANGE = (30, 1_209_600)


async def enqueue_message(
    session: AsyncSession, *, channel: str, recipient: str, text: str,
    subject: str | None = None, reference: str, redacted_text: str | None = None,
    options: Mapping[str, str] | None = None, lifetime_seconds: int | None = None,
    fallback_channel: str | None = None, fallback_text: str | None = None,
) -> uuid.UUID:
    """Queue a message in the caller's transaction; returns the mailing id.

    Nothing is sent unless the transaction commits, and once it commits the message is
    sent even if the provider is down right now (retried with backoff). `redacted_text`
    (the text with its secret masked) replaces the text in the history once the message
    is sent or has finally failed. `options` reach the channel as the message's metadata
    (e.g. Viber's message type). With `fallback_channel` the message is sent there (with
    `fallback_text`, or the same text) when `channel` refuses it, reports it undelivered,
    or has not delivered it `lifetime_seconds` after accepting it: one mailing, its hops
    in `mailing_hops`.
    """
    if not channel or not recipient or not text or not reference:
        raise ValueError("channel, recipient, text and reference are required")
    if fallback_channel is not None:
        low, high = LIFETIME_RANGE
        if lifetime_seconds is None or not low <= lifetime_seconds <= high:
            raise ValueError(f"a message with a fallback needs a lifetime of {low} to {high} s")
        if fallback_channel == channel:
            raise ValueError("the fallback must be another channel")
    mailing_id = uuid.uuid4()
    await session.execute(insert(Mailing).values(
        id=mailing_id, channel=channel, recipient=recipient, subject=subject, body=text,
        redacted_body=redacted_text, reference=reference[:128], state="queued", attempts=0,
        options=dict(options) if options else None, lifetime_seconds=lifetime_seconds,
        fallback_channel=fallback_channel, fallback_body=fallback_text))
    if fallback_channel is not None:
        await session.execute(insert(MailingHop).values(
            mailing_id=mailing_id, hop=1, channel=channel, state="queued"))
    await session.execute(insert(OutboxItem).values(kind="message", mailing_id=mailing_id))
    return mailing_id


async def enqueue_event(
    session: AsyncSession, event_type: str, payload: Mapping[str, Any], version: int = 1,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Queue a domain event ("receipt.confirmed") for plugins; returns its event id (a new
    one unless the caller already recorded the id it gives).

    Prefer `emit` with an event from `server.events.new_event`, which checks the schema."""
    event_id = event_id or uuid.uuid4()
    await session.execute(insert(OutboxItem).values(
        **event_row(event_type, payload, version, event_id)))
    return event_id


def event_row(event_type: str, payload: Mapping[str, Any], version: int = 1,
              event_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The outbox row of a domain event (kind, event_id, event_type, event_version, payload),
    checked here rather than failing in the dispatcher; for writers that batch their rows."""
    if not _EVENT_TYPE.match(event_type):
        raise ValueError(f"event type must be dotted lower-case words, got {event_type!r}")
    return {"kind": "event", "event_id": event_id or uuid.uuid4(), "event_type": event_type,
            "event_version": version, "payload": json.loads(json.dumps(dict(payload)))}


async def emit(session: AsyncSession, event: NewEvent) -> uuid.UUID:
    """Write a checked domain event to the outbox in the caller's transaction."""
    schema = SCHEMAS.get(event.type)
    if schema is None or schema.version != event.version:
        raise ValueError(f"{event.type} v{event.version} is not a registered event")
    schema.check(event.payload)
    return await enqueue_event(session, event.type, event.payload, event.version)


async def emit_once(session: AsyncSession, event: NewEvent, subject: str,
                    occasion: str) -> bool:
    """Emit `event` unless it was emitted for this subject and occasion already (by this
    or any concurrent transaction: the mark's key decides); True when emitted now."""
    marked = await session.scalar(
        pg_insert(EventMark).values(kind=event.type, subject=subject, occasion=occasion)
        .on_conflict_do_nothing().returning(EventMark.kind))
    if marked is None:
        return False
    await emit(session, event)
    return True


@dataclass(frozen=True, slots=True)
class HopView:
    """One hop of a message with a fallback: its channel and what became of it there."""

    hop: int
    channel: str
    state: str
    error: str | None
    sent_at: dt.datetime | None
    final_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class MailingView:
    """A mailing with its parts, as the history shows it."""

    id: uuid.UUID
    channel: str
    recipient: str
    subject: str | None
    body: str
    reference: str
    state: str
    attempts: int
    last_error: str | None
    delivery_error_code: str | None
    provider_message_ids: tuple[str, ...]
    created_at: dt.datetime
    sent_at: dt.datetime | None
    final_at: dt.datetime | None
    hops: tuple[HopView, ...] = ()


async def _views(session: AsyncSession, rows: Sequence[Mailing], *, masked: bool
                 ) -> list[MailingView]:
    """Rows with their provider message ids (one query for all); `masked` shows the text
    with its secret masked whenever there is such a version, else the stored text."""
    parts: dict[uuid.UUID, list[str]] = {row.id: [] for row in rows}
    if rows:
        for mailing_id, provider_id in await session.execute(
                select(MailingPart.mailing_id, MailingPart.provider_message_id)
                .where(MailingPart.mailing_id.in_(parts)).order_by(MailingPart.part)):
            parts[mailing_id].append(provider_id)
    hops: dict[uuid.UUID, list[HopView]] = {row.id: [] for row in rows}
    with_hops = [row.id for row in rows if row.fallback_channel]
    if with_hops:
        for h in (await session.scalars(
                select(MailingHop).where(MailingHop.mailing_id.in_(with_hops))
                .order_by(MailingHop.mailing_id, MailingHop.hop))).all():
            hops[h.mailing_id].append(HopView(h.hop, h.channel, h.state, h.error, h.sent_at,
                                              h.final_at))
    return [MailingView(row.id, row.channel, row.recipient, row.subject,
                        row.redacted_body if masked and row.redacted_body is not None
                        else row.body,
                        row.reference, row.state, row.attempts, row.last_error,
                        row.delivery_error_code, tuple(parts[row.id]), row.created_at,
                        row.sent_at, row.final_at, tuple(hops[row.id]))
            for row in rows]


async def mailing(session: AsyncSession, mailing_id: uuid.UUID) -> MailingView | None:
    """One mailing from the history as stored (a queued code unmasked), or None."""
    row = await session.get(Mailing, mailing_id, populate_existing=True)
    if row is None:
        return None
    (view,) = await _views(session, [row], masked=False)
    return view


@dataclass(frozen=True, slots=True)
class MailingFilter:
    """What the history listing keeps; None (or empty) means no restriction."""

    recipient: str | None = None
    channel: str | None = None
    state: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    reference: str | None = None


async def list_mailings(session: AsyncSession, where: MailingFilter,
                        before: tuple[dt.datetime, uuid.UUID] | None, limit: int
                        ) -> list[MailingView]:
    """Mailings newest first (keyset paging on created_at, id), texts always masked: the
    history never shows a one-time code, not even while it is still being sent."""
    query = select(Mailing).order_by(Mailing.created_at.desc(), Mailing.id.desc()).limit(limit)
    for column, value in ((Mailing.recipient, where.recipient), (Mailing.channel, where.channel),
                          (Mailing.state, where.state), (Mailing.reference, where.reference)):
        if value:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(Mailing.created_at >= where.since)
    if where.until is not None:
        query = query.where(Mailing.created_at < where.until)
    if before is not None:
        query = query.where(tuple_(Mailing.created_at, Mailing.id) < tuple_(*before))
    return await _views(session, (await session.scalars(query)).all(), masked=True)


_CLAIM = text("""
WITH due AS (
    SELECT id FROM outbox
    WHERE state = 'pending' AND next_attempt_at <= COALESCE(:now, now())
    ORDER BY next_attempt_at, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox AS o
SET attempts = o.attempts + 1,
    next_attempt_at = COALESCE(:now, now()) + make_interval(secs => :lease)
FROM due WHERE o.id = due.id
RETURNING o.id, o.kind, o.attempts, o.mailing_id, o.event_id, o.event_type, o.payload,
          o.created_at, o.event_version
""").bindparams(bindparam("now", type_=DateTime(timezone=True)))


# Events delivered: one statement for a batch; only rows still under this attempt's claim.
_SETTLE_DONE = text("""
UPDATE outbox AS o SET state = 'done', finished_at = now(), last_error = NULL
FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS integer[])) AS c(id, attempts)
WHERE o.id = c.id AND o.attempts = c.attempts AND o.state = 'pending'
RETURNING o.id
""")


# One text whatever the batch's size: compiled and prepared once per connection.
_CONSUMED = text("""
INSERT INTO event_consumptions (event_id, consumer)
SELECT unnest(CAST(:ids AS uuid[])), :consumer
ON CONFLICT DO NOTHING RETURNING event_id
""")


async def _consumed_now(session: AsyncSession, events: Sequence[DomainEvent],
                        consumer: str) -> set[str]:
    """Record that `consumer` handles `events` (in the caller's transaction); the ids of
    those it had not handled before."""
    fresh = await session.scalars(_CONSUMED, {
        "ids": [uuid.UUID(e.event_id) for e in events], "consumer": consumer})
    return {str(event_id) for event_id in fresh}


def _outgoing(m: Mailing) -> OutgoingMessage:
    """The message for the mailing's current hop: the fallback's channel and text after the
    first; the first hop carries the options and its lifetime (``ttl_seconds``)."""
    if m.hop > 1 and m.fallback_channel:
        return OutgoingMessage(channel=m.fallback_channel, recipient=m.recipient,
                               body=m.fallback_body or m.body, subject=m.subject,
                               reference=f"{m.id}:{m.hop}")
    metadata = dict(m.options or {})
    if m.lifetime_seconds:
        metadata["ttl_seconds"] = str(m.lifetime_seconds)
    return OutgoingMessage(channel=m.channel, recipient=m.recipient, body=m.body,
                           subject=m.subject, reference=str(m.id), metadata=metadata)


class SqlOutboxStore:
    """`server.outbox.model.OutboxStore` over PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim_due(self, limit: int, lease_seconds: float,
                        now: dt.datetime | None = None) -> list[Claimed]:
        async with self.db.transaction() as session:
            rows = (await session.execute(
                _CLAIM, {"limit": limit, "lease": lease_seconds, "now": now})).all()
            mailing_ids = [r.mailing_id for r in rows if r.kind == "message"]
            mailings = {m.id: m for m in (await session.scalars(
                select(Mailing).where(Mailing.id.in_(mailing_ids)))).all()} if mailing_ids else {}
        claimed: list[Claimed] = []
        for r in sorted(rows, key=lambda r: r.id):
            if r.kind == "message":
                claimed.append(ClaimedMessage(r.id, r.attempts, r.mailing_id,
                                              _outgoing(mailings[r.mailing_id])))
            else:
                claimed.append(ClaimedEvent(r.id, r.attempts, DomainEvent(
                    type=r.event_type, payload=r.payload or {}, event_id=str(r.event_id),
                    occurred_at=r.created_at, version=r.event_version or 1)))
        return claimed

    async def settle_message(
        self, item: ClaimedMessage, result: SendResult, decision: Decision,
        now: dt.datetime | None = None,
    ) -> None:
        async with self.db.transaction() as session:
            if decision.verdict is Verdict.DONE:
                await session.execute(update(OutboxItem).where(OutboxItem.id == item.item_id)
                                      .values(state="done", finished_at=func.now(),
                                              last_error=None))
                await session.execute(
                    update(Mailing).where(Mailing.id == item.mailing_id)
                    .where(Mailing.state.in_(("queued", "failed")))
                    .values(state="sent", attempts=item.attempt, sent_at=func.now(),
                            updated_at=func.now(), last_error=None, final_at=None,
                            fallback_due_at=_fallback_due(now), **_REDACT))
                await _set_hop(session, item.mailing_id, item.message.channel, "sent")
                await self._record_parts(session, item, result.provider_message_ids)
                return
            if not await self._settle_item(session, item.item_id, item.attempt,
                                           result.error, decision, now):
                return  # a newer claim owns the row
            values: dict[str, Any] = {"attempts": item.attempt, "last_error": result.error,
                                      "updated_at": func.now()}
            if decision.verdict is Verdict.FAILED:
                await _set_hop(session, item.mailing_id, item.message.channel, "failed",
                               result.error)
                if await _start_fallback(session, item.mailing_id):
                    return  # the next hop is queued; the mailing is not failed
                values.update(state="failed", final_at=func.now(), **_REDACT)
            await session.execute(update(Mailing).where(Mailing.id == item.mailing_id)
                                  .where(Mailing.state == "queued").values(**values))

    async def settle_event(self, item: ClaimedEvent, error: str | None,
                           decision: Decision, now: dt.datetime | None = None) -> None:
        async with self.db.transaction() as session:
            await self._settle_item(session, item.item_id, item.attempt, error, decision, now)

    async def settle_events(self, items: Sequence[ClaimedEvent]) -> int:
        async with self.db.transaction() as session:
            result = await session.execute(_SETTLE_DONE, {
                "ids": [item.item_id for item in items],
                "attempts": [item.attempt for item in items]})
            return len(result.all())

    async def consume_events(
        self, events: Sequence[DomainEvent], consumer: str,
        handle: Callable[[DomainEvent, Any], Awaitable[None]],
        handle_many: Callable[[Sequence[DomainEvent], Any], Awaitable[None]] | None = None,
    ) -> dict[str, BaseException]:
        async with self.db.transaction() as session:
            if handle_many is not None:
                try:
                    async with session.begin_nested():
                        fresh = await _consumed_now(session, events, consumer)
                        if fresh:
                            await handle_many([e for e in events if e.event_id in fresh],
                                              session)
                    return {}
                except Exception:  # one of them fails: find which, event by event
                    log.info("consumer %s failed on a batch of %d events; one by one",
                             consumer, len(events), exc_info=True)
            failures: dict[str, BaseException] = {}
            for event in events:
                try:
                    async with session.begin_nested():
                        if await _consumed_now(session, [event], consumer):
                            await handle(event, session)
                except Exception as error:
                    failures[event.event_id] = error
            return failures

    async def start_due_fallbacks(self, now: dt.datetime | None = None,
                                  limit: int = 100) -> int:
        """Move messages whose hop was not delivered within their lifetime to the fallback
        channel; how many moved. Concurrent dispatchers skip each other's rows."""
        async with self.db.transaction() as session:
            due = (await session.scalars(
                select(Mailing.id).where(Mailing.fallback_due_at <= (now or func.now()))
                .order_by(Mailing.fallback_due_at).limit(limit)
                .with_for_update(skip_locked=True))).all()
            moved = 0
            for mailing_id in due:
                channel = await session.scalar(select(Mailing.channel)
                                               .where(Mailing.id == mailing_id))
                await _set_hop(session, mailing_id, channel or "", "expired",
                               "not delivered within its lifetime")
                moved += await _start_fallback(session, mailing_id)
            return moved

    async def defer_message(self, item: ClaimedMessage, until: dt.datetime,
                            reason: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item.item_id, OutboxItem.attempts == item.attempt,
                       OutboxItem.state == "pending")
                .values(next_attempt_at=until, attempts=OutboxItem.attempts - 1,
                        last_error=f"deferred: {reason}"))

    async def record_delivery(self, report: DeliveryReport) -> bool:
        async with self.db.transaction() as session:
            await session.execute(insert(DeliveryReportLog).values(
                channel=report.channel, provider_message_id=report.provider_message_id,
                state=report.state.value, error_code=report.error_code, raw=report.raw))
            mailing_id = await session.scalar(
                update(MailingPart)
                .where(MailingPart.channel == report.channel,
                       MailingPart.provider_message_id == report.provider_message_id)
                .values(state=report.state.value, error_code=report.error_code,
                        updated_at=func.now())
                .returning(MailingPart.mailing_id))
            if mailing_id is None:
                return False  # kept in the log; applied when the send records its ids
            await _refresh_mailing_state(session, mailing_id, report.channel)
            return True

    async def _settle_item(self, session: AsyncSession, item_id: int, attempt: int,
                           error: str | None, decision: Decision,
                           now: dt.datetime | None = None) -> bool:
        values: dict[str, Any] = {"last_error": error}
        if decision.verdict is Verdict.DONE:
            values.update(state="done", finished_at=func.now())
        elif decision.verdict is Verdict.FAILED:
            values.update(state="failed", finished_at=func.now())
        elif now is not None:
            values["next_attempt_at"] = now + dt.timedelta(seconds=decision.delay_seconds)
        else:
            values["next_attempt_at"] = func.now() + func.make_interval(
                0, 0, 0, 0, 0, 0, decision.delay_seconds)
        settled = await session.scalar(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.attempts == attempt,
                   OutboxItem.state == "pending")
            .values(**values).returning(OutboxItem.id))
        return settled is not None

    async def _record_parts(self, session: AsyncSession, item: ClaimedMessage,
                            ids: tuple[str, ...]) -> None:
        """Map provider ids to the mailing and apply receipts that arrived before."""
        if not ids:
            return
        channel = item.message.channel
        for part, provider_id in enumerate(ids, start=1):
            stmt = pg_insert(MailingPart).values(
                channel=channel, provider_message_id=provider_id, mailing_id=item.mailing_id,
                part=part, state="sent")
            await session.execute(stmt.on_conflict_do_update(  # providers recycle ids
                index_elements=["channel", "provider_message_id"],
                set_={"mailing_id": item.mailing_id, "part": part, "state": "sent",
                      "error_code": None, "updated_at": func.now()}))
        early = (await session.execute(
            select(DeliveryReportLog.provider_message_id, DeliveryReportLog.state,
                   DeliveryReportLog.error_code)
            .where(DeliveryReportLog.channel == channel,
                   DeliveryReportLog.provider_message_id.in_(ids),
                   DeliveryReportLog.received_at >= func.now() - text("interval '1 hour'"))
            .order_by(DeliveryReportLog.id))).all()
        for provider_id, state, error_code in early:
            await session.execute(
                update(MailingPart).where(MailingPart.channel == channel,
                                          MailingPart.provider_message_id == provider_id)
                .values(state=state, error_code=error_code))
        if early:
            await _refresh_mailing_state(session, item.mailing_id, channel)


def _fallback_due(now: dt.datetime | None) -> Any:
    """When a first hop just accepted has to have delivered (NULL without a fallback)."""
    start: Any = now if now is not None else func.now()
    return case((and_(Mailing.fallback_channel.is_not(None), Mailing.hop == 1),
                 start + func.make_interval(0, 0, 0, 0, 0, 0, Mailing.lifetime_seconds)),
                else_=None)


async def _set_hop(session: AsyncSession, mailing_id: uuid.UUID, channel: str, state: str,
                   error: str | None = None) -> None:
    """Record a hop's outcome (mailings without a fallback have no hop rows)."""
    values: dict[str, Any] = {"state": state, "error": error}
    if state == "sent":
        values["sent_at"] = func.now()
    else:
        values["final_at"] = func.now()
    settled = ("delivered",) if state != "delivered" else ()
    await session.execute(update(MailingHop).where(
        MailingHop.mailing_id == mailing_id, MailingHop.channel == channel,
        MailingHop.state.not_in(settled)).values(**values))


async def _start_fallback(session: AsyncSession, mailing_id: uuid.UUID) -> int:
    """Queue the fallback hop of a first hop that did not deliver; 0 if there is none (or it
    started already: the `hop = 1` guard makes this happen once)."""
    started = await session.scalar(
        update(Mailing).where(Mailing.id == mailing_id, Mailing.hop == 1,
                              Mailing.fallback_channel.is_not(None))
        .values(hop=2, state="queued", fallback_due_at=None, final_at=None,
                updated_at=func.now())
        .returning(Mailing.fallback_channel))
    if started is None:
        return 0
    await session.execute(insert(MailingHop).values(
        mailing_id=mailing_id, hop=2, channel=started, state="queued"))
    await session.execute(insert(OutboxItem).values(kind="message", mailing_id=mailing_id))
    return 1


async def _refresh_mailing_state(session: AsyncSession, mailing_id: uuid.UUID,
                                 channel: str) -> None:
    """delivered when every part is; undeliverable as soon as one part finally failed.

    Parts count per hop (`channel`): a first hop that failed moves the message on to its
    fallback instead; a late "delivered" of the first hop still marks the message delivered."""
    parts = (await session.execute(
        select(MailingPart.state, MailingPart.error_code)
        .where(MailingPart.mailing_id == mailing_id, MailingPart.channel == channel))).all()
    failed = [p for p in parts if p.state in _FAILED_PART_STATES]
    if failed:
        await _set_hop(session, mailing_id, channel, "undeliverable", failed[0].error_code)
        if await _start_fallback(session, mailing_id):
            return
        values: dict[str, Any] = {"state": "undeliverable",
                                  "delivery_error_code": failed[0].error_code}
    elif parts and all(p.state == "delivered" for p in parts):
        await _set_hop(session, mailing_id, channel, "delivered")
        values = {"state": "delivered", "delivery_error_code": None, "fallback_due_at": None}
    else:
        return
    await session.execute(
        update(Mailing).where(Mailing.id == mailing_id,
                              Mailing.state.in_(("sent", "delivered", "undeliverable")))
        .values(**values, final_at=func.now(), updated_at=func.now()))
