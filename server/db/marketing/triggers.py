"""Triggers in PostgreSQL, and the consumer that turns domain events into messages.

`TriggerConsumer.on_event` takes a DomainEvent (delivered at least once by the outbox):
for each active trigger on its type it checks the condition over the member, claims a
firing slot (unique per trigger and event, and per member, occurrence and sequence number
up to the trigger's maximum) and queues the message after the delay, all in one
transaction; a redelivery or a second consumer finds the slot taken and queues nothing. A
trigger with a coupon issues the member's coupon with the firing, in the same transaction
(server/db/marketing/coupons.py), and the message shows its code.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.db.marketing.campaigns import ADDRESS, LinkKeys, unsubscribe_token
from server.db.marketing.coupons import issue_for_firing
from server.db.marketing.repo import template
from server.db.marketing.segments import compile_segment
from server.events.schema import SCHEMAS
from server.marketing.coupons import offer_of
from server.marketing.segments import parse_segment
from server.marketing.sms_parts import sms_parts
from server.marketing.templates import pick_language, render
from server.marketing.triggers import TriggerSpec, occurrence_key, send_at
from server.plugin_contracts import DomainEvent


async def upsert(conn: asyncpg.Connection, t: TriggerSpec) -> None:
    await conn.execute("""
        INSERT INTO marketing_triggers (code, event_type, condition, template_code, channel,
          delay_seconds, occurrence, max_per_occurrence, stop_events, active, coupon)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
        ON CONFLICT (code) DO UPDATE SET event_type = EXCLUDED.event_type,
          condition = EXCLUDED.condition, template_code = EXCLUDED.template_code,
          channel = EXCLUDED.channel, delay_seconds = EXCLUDED.delay_seconds,
          occurrence = EXCLUDED.occurrence, max_per_occurrence = EXCLUDED.max_per_occurrence,
          stop_events = EXCLUDED.stop_events, active = EXCLUDED.active,
          coupon = EXCLUDED.coupon""",
                       t.code, t.event_type, t.condition, t.template_code, t.channel,
                       t.delay_seconds, t.occurrence, t.max_per_occurrence,
                       list(t.stop_events), t.active,
                       json.dumps(t.coupon.as_json()) if t.coupon else None)


def _member_of(event: DomainEvent) -> uuid.UUID | None:
    """The member an event is about, or None (a payload without a member id)."""
    try:
        return uuid.UUID(str(event.payload.get("member_id")))
    except ValueError:
        return None


class TriggerConsumer:
    """The triggers as an event consumer (server/events/consumers.py): the dispatcher hands
    it each committed member event once, in the transaction that records it handled it."""

    name = "marketing.triggers"

    def __init__(self, db: Database, keys: LinkKeys | Callable[[], LinkKeys],
                 default_language: str, default_time_zone: str) -> None:
        self.db = db
        self._keys = keys
        self.language = default_language
        self.time_zone = default_time_zone

    @property
    def keys(self) -> LinkKeys:
        """The unsubscribe-link keys (a callable: the server secret loads at start)."""
        return self._keys if isinstance(self._keys, LinkKeys) else self._keys()

    def wants(self, event_type: str) -> bool:
        """Events about a member (their schema has member_id): only those fire or stop."""
        schema = SCHEMAS.get(event_type)
        return schema is not None and any(f.name == "member_id" for f in schema.fields)

    async def handle(self, event: DomainEvent, tx: Any) -> None:
        """EventConsumer: react inside the dispatcher's transaction `tx` (an AsyncSession)."""
        await self._consume(await raw_connection(tx), event)

    async def handle_many(self, events: Sequence[DomainEvent], tx: Any) -> None:
        """EventConsumer: a batch of events in `tx`, as `handle` on each in turn, with the
        triggers read once: an event no trigger fires on or stops costs no statement."""
        conn = await raw_connection(tx)
        types = sorted({event.type for event in events})
        rows = await conn.fetch("SELECT * FROM marketing_triggers WHERE (active AND "
                                "event_type = ANY($1)) OR stop_events && $1::varchar[] "
                                "ORDER BY code", types)
        stopping = {kind for t in rows for kind in t["stop_events"]}
        for event in events:
            member_id = _member_of(event)
            if member_id is None:
                continue
            if event.type in stopping:
                await self._stop(conn, member_id, event.type)
            for t in rows:
                if t["active"] and t["event_type"] == event.type:
                    await self._fire(conn, t, member_id, event)

    async def on_event(self, event: DomainEvent) -> int:
        """Handle one event in a transaction of its own; how many messages it queued."""
        async with self.db.transaction() as session:
            return await self._consume(await raw_connection(session), event)

    async def _consume(self, conn: asyncpg.Connection, event: DomainEvent) -> int:
        member_id = _member_of(event)
        if member_id is None:
            return 0
        queued = 0
        await self._stop(conn, member_id, event.type)
        for t in await conn.fetch("SELECT * FROM marketing_triggers WHERE active AND "
                                  "event_type = $1 ORDER BY code", event.type):
            queued += await self._fire(conn, t, member_id, event)
        return queued

    async def _stop(self, conn: asyncpg.Connection, member_id: uuid.UUID, event_type: str
                    ) -> None:
        """Stop unsent messages of triggers this event type stops, for this member."""
        await conn.execute("""
            UPDATE trigger_firings f SET stopped_at = now() FROM marketing_triggers t
            WHERE f.trigger_code = t.code AND $2 = ANY(t.stop_events)
              AND f.member_id = $1 AND f.stopped_at IS NULL
              AND EXISTS (SELECT 1 FROM mailings ml WHERE ml.id = f.mailing_id
                          AND ml.state = 'queued')""", member_id, event_type)

    async def _fire(self, conn: asyncpg.Connection, t: asyncpg.Record, member_id: uuid.UUID,
                    event: DomainEvent) -> int:
        member = await conn.fetchrow("""
            SELECT m.id, m.phone, m.email, m.first_name, m.last_name, m.middle_name,
                   mp.language, mp.time_zone,
                   (SELECT c.number FROM cards c WHERE c.member_id = m.id
                    ORDER BY (c.state = 'active') DESC, c.number LIMIT 1) AS card_number,
                   coalesce((SELECT a.balance FROM ledger_accounts a WHERE a.member_id = m.id
                             AND a.kind = 'points'), 0) AS points_balance
            FROM members m LEFT JOIN member_preferences mp ON mp.member_id = m.id
            WHERE m.id = $1""", member_id)
        recipient = None if member is None else member[ADDRESS[t["channel"]]]
        if member is None or recipient is None:
            return 0
        if t["condition"]:
            where, params = compile_segment(parse_segment(t["condition"]), self.language, 2)
            if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM members m WHERE "
                                       f"m.id = $1 AND {where})", member_id, *params):
                return 0
        key = occurrence_key(t["occurrence"], event, member["time_zone"] or self.time_zone)
        if key is None:
            return 0
        firing = await conn.fetchval("""
            INSERT INTO trigger_firings (trigger_code, member_id, occurrence, seq, event_id)
            SELECT $1, $2, $3, n.seq, $5 FROM (
              SELECT coalesce(max(seq), 0) + 1 AS seq FROM trigger_firings
              WHERE trigger_code = $1 AND member_id = $2 AND occurrence = $3) n
            WHERE n.seq <= $4
            ON CONFLICT DO NOTHING RETURNING id""", t["code"], member_id, key,
                                      t["max_per_occurrence"], event.event_id)
        if firing is None:
            return 0  # a redelivery, another consumer, or the occurrence's maximum reached
        tpl = await template(conn, t["template_code"])
        if tpl is None:
            return 0
        subject, body = tpl.texts[pick_language(tpl.texts, member["language"] or self.language,
                                                tpl.default_language)]
        values = {**dict(member), "unsubscribe_url": f"{self.keys.base_url}/u/"
                  f"{unsubscribe_token(self.keys, member_id, t['channel'])}"}
        offer = offer_of(t["coupon"])
        if offer is not None:
            coupon = await issue_for_firing(conn, offer, member_id, t["code"], firing,
                                            dt.datetime.now(dt.UTC))
            values["coupon"] = coupon.code
        text = render(body, values)
        mailing_id = uuid.uuid4()
        await conn.execute("""
            WITH ml AS (INSERT INTO mailings (id, channel, recipient, subject, body, reference,
                                              state, attempts)
                        VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0)),
                 ob AS (INSERT INTO outbox (kind, mailing_id, next_attempt_at)
                        VALUES ('message', $1, $7))
            INSERT INTO marketing_messages (mailing_id, member_id, channel, purpose,
                                            firing_id, parts, part_price_minor)
            VALUES ($1, $8, $2, 'marketing', $9, $10, 0)""",
                           mailing_id, t["channel"], recipient,
                           render(subject, values) if subject else None, text,
                           f"trigger:{t['code']}", send_at(event, t["delay_seconds"]),
                           member_id, firing, sms_parts(text) if t["channel"] == "sms" else 1)
        await conn.execute("UPDATE trigger_firings SET mailing_id = $2 WHERE id = $1",
                           firing, mailing_id)
        return 1
