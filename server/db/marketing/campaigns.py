"""Campaigns in PostgreSQL: the recipients built and queued in one set-based statement.

`build` turns a list into mailings + outbox rows + marketing_messages in one
INSERT ... SELECT chain: consent filtered in SQL, texts rendered in SQL when the template is
plain substitution (else rendered by Jinja and sent in as arrays), SMS parts counted by
kopilka_sms_parts(), priced by the longest tariff prefix, and each row's send time spaced
by the channel's rate so the outbox never bursts past it. A campaign with a coupon has its
recipients' coupons issued first (server/db/marketing/coupons.py); `{{ coupon }}` is then
each member's code of the campaign's batch, and only members holding one are queued.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg

from server.db.marketing.repo import ListRow, TemplateRow, members_of
from server.marketing.coupons import CouponOffer, offer_of
from server.marketing.sms_parts import sms_parts
from server.marketing.templates import Field, Literal, Piece, check_template, render

ADDRESS = {"sms": "phone", "viber": "phone", "email": "email"}
#: SQL of each template field over `members m` (and, for the link, the token keys)
FIELD_SQL = {
    "first_name": "m.first_name", "last_name": "m.last_name", "middle_name": "m.middle_name",
    "card_number": "(SELECT c.number FROM cards c WHERE c.member_id = m.id "
                   "ORDER BY (c.state = 'active') DESC, c.number LIMIT 1)",
    "points_balance": "coalesce((SELECT a.balance FROM ledger_accounts a WHERE "
                      "a.member_id = m.id AND a.kind = 'points'), 0)",
}
CONSENT_SQL = ("EXISTS (SELECT 1 FROM member_consents mc WHERE mc.member_id = m.id AND "
               "mc.channel = {channel} AND mc.purpose = 'marketing' AND mc.granted)")
PRICE_SQL = ("coalesce((SELECT t.part_price_minor FROM sms_tariffs t WHERE "
             "ltrim(p.recipient, '+') LIKE t.prefix || '%' ORDER BY length(t.prefix) DESC "
             "LIMIT 1), 0)")


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """Unsubscribe links: base URL and the HMAC-SHA256 inner/outer pads of the link key
    (so the database computes the same MAC as Python's hmac module)."""

    base_url: str
    inner: bytes
    outer: bytes


@dataclass(frozen=True, slots=True)
class Coupons:
    """`{{ coupon }}` in a campaign's texts: each member's code of `batch_id` once issued
    (when queueing), else `sample` (a stand-in as long as a code, when estimating)."""

    batch_id: uuid.UUID | None
    sample: str = ""


@dataclass(frozen=True, slots=True)
class Totals:
    recipients: int
    parts: int
    cost_minor: int
    skipped: int = 0


@dataclass
class _Sql:
    params: list[object] = field(default_factory=list)

    def p(self, value: object) -> str:
        self.params.append(value)
        return f"${len(self.params)}"


def _link_sql(q: _Sql, channel: str, keys: LinkKeys) -> str:
    message = f"(replace(m.id::text, '-', '') || {q.p(channel[0])}::text)"
    mac = (f"sha256({q.p(keys.outer)}::bytea || sha256({q.p(keys.inner)}::bytea || "
           f"convert_to({message}, 'UTF8')))")
    token = (f"{message} || '.' || rtrim(translate(encode(substring({mac} FROM 1 FOR 12), "
             "'base64'), '+/', '-_'), '=')")
    return f"({q.p(keys.base_url)}::text || '/u/' || {token})"


def _expr(q: _Sql, pieces: Sequence[Piece], lazy: Mapping[str, Callable[[], str]]) -> str:
    parts = []
    for piece in pieces:
        if isinstance(piece, Literal):
            parts.append(f"{q.p(piece.text)}::text")
        elif isinstance(piece, Field):
            sql = lazy[piece.name]() if piece.name in lazy else FIELD_SQL[piece.name]
            parts.append(f"coalesce(({sql})::text, '')")
    return "(" + " || ".join(parts or ["''"]) + ")"


def _coupon_sql(q: _Sql, coupons: Coupons | None) -> Callable[[], str]:
    """The SQL of `{{ coupon }}` over `members m` (its parameter only once used)."""
    made: list[str] = []

    def sql() -> str:
        if not made:
            if coupons is None:
                made.append("NULL::text")
            elif coupons.batch_id is None:
                made.append(f"{q.p(coupons.sample)}::text")
            else:
                made.append(f"(SELECT cp.code FROM coupons cp WHERE cp.batch_id = "
                            f"{q.p(coupons.batch_id)}::uuid AND cp.member_id = m.id)")
        return made[0]
    return sql


def _texts_sql(q: _Sql, tpl: TemplateRow, channel: str, keys: LinkKeys,
               coupon: Callable[[], str]) -> tuple[str, str] | None:
    """(body SQL, subject SQL) choosing the member's language with fallback, or None when a
    text (a body or a subject, in any language) needs Jinja itself; then no parameter has
    been taken, since the Python path's statement would not use it."""
    plain: dict[str, tuple[tuple[Piece, ...] | None, tuple[Piece, ...]]] = {}
    for lang, (subject, body) in tpl.texts.items():
        body_pieces = check_template(body, "body")
        subject_pieces = None if subject is None else check_template(subject, "subject")
        if body_pieces is None or (subject is not None and subject_pieces is None):
            return None
        plain[lang] = (subject_pieces, body_pieces)
    made: list[str] = []

    def link() -> str:  # its parameters only when a text uses it (else they are untyped)
        if not made:
            made.append(_link_sql(q, channel, keys))
        return made[0]
    lazy = {"unsubscribe_url": link, "coupon": coupon}
    bodies, subjects = [], []
    for lang, (subject_pieces, body_pieces) in plain.items():
        bodies.append((lang, _expr(q, body_pieces, lazy)))
        subjects.append((lang, "NULL::text" if subject_pieces is None
                         else _expr(q, subject_pieces, lazy)))
    default = tpl.default_language

    def case(options: list[tuple[str, str]]) -> str:
        fallback = dict(options)[default]
        whens = " ".join(f"WHEN {q.p(lang)}::text THEN {sql}" for lang, sql in options
                         if lang != default)
        return f"(CASE s.lang {whens} ELSE {fallback} END)" if whens else fallback

    return case(bodies), case(subjects)


def _language_sql(q: _Sql, tpl: TemplateRow, default_language: str) -> str:
    """LATERAL joins giving `s.lang`, the template language each member gets: theirs, theirs
    without region, the template's default (the preference is looked up once per row)."""
    langs = q.p(list(tpl.texts))
    return (f" CROSS JOIN LATERAL (SELECT coalesce((SELECT mp.language FROM "
            f"member_preferences mp WHERE mp.member_id = m.id), "
            f"{q.p(default_language)}::text) AS pref) pr"
            f" CROSS JOIN LATERAL (SELECT CASE WHEN pr.pref = ANY({langs}::text[]) THEN pr.pref"
            f" WHEN split_part(pr.pref, '-', 1) = ANY({langs}::text[])"
            f" THEN split_part(pr.pref, '-', 1)"
            f" ELSE {q.p(tpl.default_language)}::text END AS lang) s")


def _source(q: _Sql, found: ListRow, channel: str, default_language: str,
            coupons: Coupons | None = None) -> tuple[str, str, str]:
    """(FROM over members m of the list, WHERE of those with an address, the SQL of who may
    get it: consent, and with issued coupons a coupon of the batch)."""
    source, params = members_of(found, default_language, len(q.params) + 1)
    q.params.extend(params)
    source, _, where = source.partition(" WHERE ")
    address = f"m.{ADDRESS[channel]} IS NOT NULL"
    consent = CONSENT_SQL.format(channel=q.p(channel) + "::text")
    if coupons is not None and coupons.batch_id is not None:
        consent += (f" AND EXISTS (SELECT 1 FROM coupons cp WHERE cp.batch_id = "
                    f"{q.p(coupons.batch_id)}::uuid AND cp.member_id = m.id)")
    return (source, f"({where}) AND {address}" if where else address, consent)


async def eligible(conn: asyncpg.Connection, found: ListRow, channel: str,
                   default_language: str) -> list[uuid.UUID]:
    """The members a start would queue (an address, consent), by id."""
    q = _Sql()
    source, where, consent = _source(q, found, channel, default_language)
    rows = await conn.fetch(f"SELECT m.id FROM {source} WHERE {where} AND {consent} "
                            "ORDER BY m.id", *q.params)
    return [r["id"] for r in rows]


async def estimate(conn: asyncpg.Connection, found: ListRow, tpl: TemplateRow, channel: str,
                   default_language: str, keys: LinkKeys, coupons: Coupons | None = None
                   ) -> Totals:
    return await _run(conn, found, tpl, channel, default_language, keys, None, coupons)


async def build(conn: asyncpg.Connection, campaign_id: uuid.UUID, found: ListRow,
                tpl: TemplateRow, channel: str, default_language: str, keys: LinkKeys,
                start: dt.datetime, rate_per_second: float, coupons: Coupons | None = None
                ) -> Totals:
    """Queue every eligible recipient; Totals of what was queued."""
    return await _run(conn, found, tpl, channel, default_language, keys,
                      (campaign_id, start, 1.0 / rate_per_second), coupons)


async def _run(conn: asyncpg.Connection, found: ListRow, tpl: TemplateRow, channel: str,
               default_language: str, keys: LinkKeys,
               queue: tuple[uuid.UUID, dt.datetime, float] | None,
               coupons: Coupons | None = None) -> Totals:
    q = _Sql()
    source, where, consent = _source(q, found, channel, default_language, coupons)
    lang = _language_sql(q, tpl, default_language)
    coupon = _coupon_sql(q, coupons)
    texts = _texts_sql(q, tpl, channel, keys, coupon)
    if texts is None:
        return await _run_in_python(conn, q, source, where, consent, lang, tpl, channel, keys,
                                    queue, coupon)
    body, subject = texts
    cte = f"""
      listed AS MATERIALIZED (SELECT count(*) AS n FROM {source} WHERE {where}),
      priced AS MATERIALIZED (
        SELECT p.*, {PRICE_SQL if channel == "sms" else "0::bigint"} AS price
        FROM (SELECT t.*, gen_random_uuid() AS mailing_id,
                     row_number() OVER (ORDER BY t.member_id) - 1 AS n,
                     {"kopilka_sms_parts(t.body)" if channel == "sms" else "1"} AS parts
              FROM (SELECT m.id AS member_id, m.{ADDRESS[channel]} AS recipient,
                           {body} AS body, {subject} AS subject
                    FROM {source}{lang}
                    WHERE {where} AND {consent}) t) p)"""
    return await _finish(conn, q, cte, channel, queue)


async def _finish(conn: asyncpg.Connection, q: _Sql, cte: str, channel: str,
                  queue: tuple[uuid.UUID, dt.datetime, float] | None) -> Totals:
    if queue is None:
        row = await conn.fetchrow(f"""WITH {cte}
            SELECT (SELECT count(*) FROM priced) AS recipients,
                   (SELECT coalesce(sum(parts), 0) FROM priced) AS parts,
                   (SELECT coalesce(sum(parts * price), 0) FROM priced) AS cost,
                   (SELECT n FROM listed) AS listed""", *q.params)
    else:
        campaign_id, start, gap = queue
        cid, ch, ref = q.p(campaign_id), q.p(channel), q.p(f"campaign:{campaign_id}")
        at, step = q.p(start), q.p(gap)
        row = await conn.fetchrow(f"""WITH {cte},
            mail AS (INSERT INTO mailings (id, channel, recipient, subject, body, reference,
                                           state, attempts)
                     SELECT mailing_id, {ch}, recipient, subject, body, {ref}, 'queued', 0
                     FROM priced),
            ob AS (INSERT INTO outbox (kind, mailing_id, next_attempt_at)
                   SELECT 'message', mailing_id,
                          {at}::timestamptz + make_interval(secs => n * {step}::float8)
                   FROM priced),
            mm AS (INSERT INTO marketing_messages (mailing_id, member_id, channel, purpose,
                                                   campaign_id, parts, part_price_minor)
                   SELECT mailing_id, member_id, {ch}, 'marketing', {cid}, parts, price
                   FROM priced RETURNING parts, part_price_minor)
            SELECT (SELECT count(*) FROM mm) AS recipients,
                   (SELECT coalesce(sum(parts), 0) FROM mm) AS parts,
                   (SELECT coalesce(sum(parts * part_price_minor), 0) FROM mm) AS cost,
                   (SELECT n FROM listed) AS listed""", *q.params)
    assert row is not None
    return Totals(int(row["recipients"]), int(row["parts"]), int(row["cost"]),
                  int(row["listed"]) - int(row["recipients"]))


async def _run_in_python(conn: asyncpg.Connection, q: _Sql, source: str, where: str,
                         consent: str, lang: str, tpl: TemplateRow, channel: str,
                         keys: LinkKeys, queue: tuple[uuid.UUID, dt.datetime, float] | None,
                         coupon: Callable[[], str]) -> Totals:
    """Templates with logic: values fetched in SQL, rendered by the sandbox, queued as arrays
    through the same statement."""
    fields = ", ".join([*(f"{sql} AS {name}" for name, sql in FIELD_SQL.items()),
                        f"{coupon()} AS coupon"])
    rows = await conn.fetch(f"""SELECT m.id AS member_id, m.{ADDRESS[channel]} AS recipient,
        {consent} AS eligible, s.lang, {fields} FROM {source}{lang} WHERE {where}
        ORDER BY m.id""", *q.params)
    ids, recipients, bodies, subjects, parts = [], [], [], [], []
    for r in rows:
        if not r["eligible"]:
            continue
        subject, body = tpl.texts[r["lang"]]
        link = f"{keys.base_url}/u/{unsubscribe_token(keys, r['member_id'], channel)}"
        values: Mapping[str, object] = {**dict(r), "unsubscribe_url": link}
        text = render(body, values)
        ids.append(r["member_id"])
        recipients.append(r["recipient"])
        bodies.append(text)
        subjects.append(None if subject is None else render(subject, values))
        parts.append(sms_parts(text) if channel == "sms" else 1)
    q2 = _Sql()
    a = [q2.p(ids), q2.p(recipients), q2.p(bodies), q2.p(subjects), q2.p(parts),
         q2.p(len(rows))]
    cte = f"""
      listed AS MATERIALIZED (SELECT {a[5]}::bigint AS n),
      priced AS MATERIALIZED (
        SELECT p.*, {PRICE_SQL if channel == "sms" else "0::bigint"} AS price
        FROM (SELECT u.*, gen_random_uuid() AS mailing_id,
                     row_number() OVER (ORDER BY u.member_id) - 1 AS n
              FROM unnest({a[0]}::uuid[], {a[1]}::text[], {a[2]}::text[], {a[3]}::text[],
                          {a[4]}::int[]) AS u(member_id, recipient, body, subject, parts)) p)"""
    return await _finish(conn, q2, cte, channel, queue)


def unsubscribe_token(keys: LinkKeys, member_id: uuid.UUID, channel: str) -> str:
    """The token the SQL above computes: member id hex + channel letter, '.', 12-byte MAC."""
    import base64
    import hashlib

    message = (member_id.hex + channel[0]).encode()
    mac = hashlib.sha256(keys.outer + hashlib.sha256(keys.inner + message).digest()).digest()
    return f"{message.decode()}.{base64.urlsafe_b64encode(mac[:12]).decode().rstrip('=')}"


def link_keys(base_url: str, key: bytes) -> LinkKeys:
    """HMAC-SHA256 pads of `key` (RFC 2104), for SQL that has sha256() but no hmac()."""
    import hashlib

    block = (key if len(key) <= 64 else hashlib.sha256(key).digest()).ljust(64, b"\0")
    return LinkKeys(base_url.rstrip("/"), bytes(b ^ 0x36 for b in block),
                    bytes(b ^ 0x5C for b in block))


# --- lifecycle ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CampaignRow:
    id: uuid.UUID
    name: str
    list_id: uuid.UUID
    template_code: str
    channel: str
    state: str
    scheduled_at: dt.datetime | None
    recipients: int
    skipped: int
    estimated_parts: int
    estimated_cost_minor: int
    delivered_cost_minor: int
    delivery_counts: dict[str, int]
    coupon: CouponOffer | None = None
    coupon_batch_id: uuid.UUID | None = None
    created_at: dt.datetime | None = None


async def create(conn: asyncpg.Connection, campaign_id: uuid.UUID, name: str,
                 list_id: uuid.UUID, template_code: str, channel: str,
                 coupon: CouponOffer | None = None) -> None:
    await conn.execute("""INSERT INTO campaigns (id, name, list_id, template_code, channel,
        state, recipients, skipped, estimated_parts, estimated_cost_minor, coupon)
        VALUES ($1, $2, $3, $4, $5, 'draft', 0, 0, 0, 0, $6::jsonb)""", campaign_id, name,
                       list_id, template_code, channel,
                       json.dumps(coupon.as_json()) if coupon else None)


async def mark_started(conn: asyncpg.Connection, campaign_id: uuid.UUID, state: str,
                       scheduled_at: dt.datetime | None, totals: Totals) -> None:
    await conn.execute("""UPDATE campaigns SET state = $2, scheduled_at = $3,
        started_at = now(), recipients = $4, skipped = $5, estimated_parts = $6,
        estimated_cost_minor = $7 WHERE id = $1""", campaign_id, state, scheduled_at,
                       totals.recipients, totals.skipped, totals.parts, totals.cost_minor)


async def set_state(conn: asyncpg.Connection, campaign_id: uuid.UUID, state: str,
                    gap: float = 0.05) -> None:
    """Move a campaign to `state`; `gap` spaces resumed sends (1 / the channel's rate)."""
    await conn.execute("UPDATE campaigns SET state = $2::text, finished_at = CASE WHEN $2::text IN "
                       "('completed', 'cancelled') THEN now() END WHERE id = $1",
                       campaign_id, state)
    if state == "paused":  # out of the dispatcher's way until resumed (the gate guards too)
        await conn.execute("""
            UPDATE outbox o SET next_attempt_at = 'infinity'
            FROM marketing_messages mm
            WHERE mm.campaign_id = $1 AND o.mailing_id = mm.mailing_id
              AND o.state = 'pending'""", campaign_id)
    if state == "running":  # resumed: due again from now (or the schedule), spaced again
        await conn.execute("""
            WITH due AS (
              SELECT o.id, row_number() OVER (ORDER BY mm.member_id) - 1 AS n
              FROM outbox o JOIN marketing_messages mm ON o.mailing_id = mm.mailing_id
              WHERE mm.campaign_id = $1 AND o.state = 'pending'
                AND o.next_attempt_at = 'infinity')
            UPDATE outbox o SET next_attempt_at = greatest(now(), coalesce(
                (SELECT scheduled_at FROM campaigns WHERE id = $1), now()))
              + make_interval(secs => due.n * $2::float8)
            FROM due WHERE o.id = due.id""", campaign_id, gap)
    if state == "cancelled":  # drop what was not sent yet, set-based
        await conn.execute("""
            WITH dropped AS (
              UPDATE outbox o SET state = 'failed', finished_at = now(),
                     last_error = 'campaign cancelled'
              FROM marketing_messages mm
              WHERE mm.campaign_id = $1 AND o.mailing_id = mm.mailing_id
                AND o.state = 'pending' RETURNING o.mailing_id)
            UPDATE mailings SET state = 'failed', last_error = 'campaign cancelled',
                   final_at = now(), updated_at = now()
            FROM dropped WHERE mailings.id = dropped.mailing_id
              AND mailings.state = 'queued'""", campaign_id)


async def lock(conn: asyncpg.Connection, campaign_id: uuid.UUID) -> str | None:
    state: str | None = await conn.fetchval(
        "SELECT state FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id)
    return state


_COUNTS = """
    SELECT mm.campaign_id, ml.state, count(*) AS n FROM marketing_messages mm
    JOIN mailings ml ON ml.id = mm.mailing_id WHERE mm.campaign_id = ANY($1)
    GROUP BY mm.campaign_id, ml.state"""
_DELIVERED = """
    SELECT mm.campaign_id, coalesce(sum(mm.part_price_minor), 0) AS cost
    FROM marketing_messages mm
    JOIN mailing_parts mp ON mp.mailing_id = mm.mailing_id AND mp.state = 'delivered'
    WHERE mm.campaign_id = ANY($1) GROUP BY mm.campaign_id"""


def shown_state(state: str, scheduled_at: dt.datetime | None, counts: dict[str, int],
                now: dt.datetime) -> str:
    """A scheduled campaign whose time came reads as running, a running one with nothing
    left queued as completed."""
    if state == "scheduled" and scheduled_at is not None and scheduled_at <= now:
        state = "running"
    if state == "running" and not counts.get("queued"):
        state = "completed"
    return state


async def _rows(conn: asyncpg.Connection, rows: list[asyncpg.Record],
                now: dt.datetime) -> list[CampaignRow]:
    """The campaigns with their counts and delivered cost: two grouped reads for them all
    (the (campaign_id, member_id) unique index leads with the campaign)."""
    ids = [r["id"] for r in rows]
    counts: dict[uuid.UUID, dict[str, int]] = {i: {} for i in ids}
    for r in await conn.fetch(_COUNTS, ids):
        counts[r["campaign_id"]][r["state"]] = int(r["n"])
    cost = {r["campaign_id"]: int(r["cost"]) for r in await conn.fetch(_DELIVERED, ids)}
    return [CampaignRow(r["id"], r["name"], r["list_id"], r["template_code"], r["channel"],
                        shown_state(r["state"], r["scheduled_at"], counts[r["id"]], now),
                        r["scheduled_at"], r["recipients"], r["skipped"], r["estimated_parts"],
                        r["estimated_cost_minor"], cost.get(r["id"], 0), counts[r["id"]],
                        coupon=offer_of(r["coupon"]), coupon_batch_id=r["coupon_batch_id"],
                        created_at=r["created_at"]) for r in rows]


async def view(conn: asyncpg.Connection, campaign_id: uuid.UUID,
               now: dt.datetime) -> CampaignRow | None:
    """The campaign, its counts and delivered cost, its state settled (`shown_state` is
    written back)."""
    row = await conn.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign_id)
    if row is None:
        return None
    [found] = await _rows(conn, [row], now)
    if row["state"] == "scheduled" and found.state != "scheduled":
        await set_state(conn, campaign_id, "running")
    if found.state == "completed" and row["state"] != "completed":
        await set_state(conn, campaign_id, "completed")
    return found


async def page(conn: asyncpg.Connection, channel: str | None,
               before: tuple[dt.datetime, uuid.UUID] | None, limit: int,
               now: dt.datetime) -> list[CampaignRow]:
    """Campaigns newest first in keyset pages on (created_at, id), their states as `view`
    shows them (a list writes nothing)."""
    rows = await conn.fetch(
        "SELECT * FROM campaigns WHERE ($1::text IS NULL OR channel = $1) "
        "AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3)) "
        "ORDER BY created_at DESC, id DESC LIMIT $4", channel,
        before[0] if before else None, before[1] if before else None, limit)
    return await _rows(conn, list(rows), now) if rows else []


async def recipients(conn: asyncpg.Connection, campaign_id: uuid.UUID,
                     after: uuid.UUID | None, limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch("""
        SELECT mm.member_id, mm.mailing_id, ml.recipient, ml.state, mm.parts,
               cp.code AS coupon_code
        FROM marketing_messages mm JOIN mailings ml ON ml.id = mm.mailing_id
        JOIN campaigns c ON c.id = mm.campaign_id
        LEFT JOIN coupons cp ON cp.batch_id = c.coupon_batch_id
                            AND cp.member_id = mm.member_id
        WHERE mm.campaign_id = $1 AND ($2::uuid IS NULL OR mm.member_id > $2)
        ORDER BY mm.member_id LIMIT $3""", campaign_id, after, limit))


async def set_tariff(conn: asyncpg.Connection, prefix: str, price_minor: int,
                     currency: str) -> None:
    await conn.execute("""INSERT INTO sms_tariffs (prefix, part_price_minor, currency)
        VALUES ($1, $2, $3) ON CONFLICT (prefix) DO UPDATE SET
        part_price_minor = EXCLUDED.part_price_minor, currency = EXCLUDED.currency""",
                       prefix, price_minor, currency)
