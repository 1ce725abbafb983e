"""Consent, preferences, templates and lists in PostgreSQL (asyncpg, in the caller's
transaction: every function takes the connection of the change's session)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from server.db.audit.repo import Change, record_on
from server.db.marketing.segments import compile_segment
from server.errors import invalid
from server.marketing.consent import ConsentAnswer
from server.marketing.segments import parse_segment
from server.members.contacts import normalize_phone

_CONSENT_COLUMNS = "channel, purpose, granted, source, wording_version, recorded_at, principal"


@dataclass(frozen=True, slots=True)
class ConsentRow:
    channel: str
    purpose: str
    granted: bool
    source: str
    wording_version: str
    recorded_at: dt.datetime
    principal: str


async def member_exists(conn: asyncpg.Connection, member_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM members WHERE id = $1)",
                                    member_id))


async def member_by_phone(conn: asyncpg.Connection, phone: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval("SELECT id FROM members WHERE phone = $1",
                                                  phone)
    return found


async def record_consent(conn: asyncpg.Connection, member_id: uuid.UUID, channel: str,
                         purpose: str, granted: bool, source: str, wording_version: str,
                         principal: str) -> ConsentRow:
    """The current answer (upserted) and a history row, with one timestamp."""
    row = await conn.fetchrow(f"""
        WITH h AS (
          INSERT INTO consent_history (member_id, {_CONSENT_COLUMNS})
          VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), $7) RETURNING recorded_at)
        INSERT INTO member_consents (member_id, {_CONSENT_COLUMNS})
        SELECT $1, $2, $3, $4, $5, $6, h.recorded_at, $7 FROM h
        ON CONFLICT (member_id, channel, purpose) DO UPDATE SET granted = EXCLUDED.granted,
          source = EXCLUDED.source, wording_version = EXCLUDED.wording_version,
          recorded_at = EXCLUDED.recorded_at, principal = EXCLUDED.principal
        RETURNING {_CONSENT_COLUMNS}""", member_id, channel, purpose, granted, source,
                               wording_version, principal)
    assert row is not None  # the upsert always returns its row
    return ConsentRow(**dict(row))


async def consents(conn: asyncpg.Connection, member_id: uuid.UUID
                   ) -> tuple[list[ConsentRow], list[ConsentRow]]:
    current = await conn.fetch(f"SELECT {_CONSENT_COLUMNS} FROM member_consents WHERE "
                               "member_id = $1 ORDER BY channel, purpose", member_id)
    history = await conn.fetch(f"SELECT {_CONSENT_COLUMNS} FROM consent_history WHERE "
                               "member_id = $1 ORDER BY id", member_id)
    return ([ConsentRow(**dict(r)) for r in current], [ConsentRow(**dict(r)) for r in history])


async def set_preferences(conn: asyncpg.Connection, member_id: uuid.UUID,
                          language: str | None, time_zone: str | None) -> None:
    await conn.execute("""
        INSERT INTO member_preferences (member_id, language, time_zone) VALUES ($1, $2, $3)
        ON CONFLICT (member_id) DO UPDATE SET language = EXCLUDED.language,
          time_zone = EXCLUDED.time_zone""", member_id, language, time_zone)


# --- templates ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TemplateRow:
    code: str
    channel: str
    default_language: str
    texts: dict[str, tuple[str | None, str]]  # language -> (subject, body)


async def upsert_template(conn: asyncpg.Connection, template: TemplateRow) -> None:
    await conn.execute("""
        INSERT INTO marketing_templates (code, channel, default_language) VALUES ($1, $2, $3)
        ON CONFLICT (code) DO UPDATE SET channel = EXCLUDED.channel,
          default_language = EXCLUDED.default_language, updated_at = now()""",
                       template.code, template.channel, template.default_language)
    await conn.execute("DELETE FROM marketing_template_texts WHERE template_code = $1",
                       template.code)
    await conn.executemany(
        "INSERT INTO marketing_template_texts (template_code, language, subject, body) "
        "VALUES ($1, $2, $3, $4)",
        [(template.code, lang, subject, body) for lang, (subject, body)
         in template.texts.items()])


async def template(conn: asyncpg.Connection, code: str) -> TemplateRow | None:
    head = await conn.fetchrow("SELECT code, channel, default_language FROM "
                               "marketing_templates WHERE code = $1", code)
    if head is None:
        return None
    rows = await conn.fetch("SELECT language, subject, body FROM marketing_template_texts "
                            "WHERE template_code = $1", code)
    return TemplateRow(head["code"], head["channel"], head["default_language"],
                       {r["language"]: (r["subject"], r["body"]) for r in rows})


# --- lists -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ListRow:
    id: uuid.UUID
    name: str
    kind: str
    segment: str | None


async def create_static_list(conn: asyncpg.Connection, list_id: uuid.UUID, name: str,
                             cards: Sequence[str], phones: Sequence[str]) -> tuple[int, int]:
    """A static list of the members holding `cards` or `phones`: (members, unmatched)."""
    await conn.execute("INSERT INTO marketing_lists (id, name, kind) VALUES ($1, $2, "
                       "'static')", list_id, name)
    added = await conn.fetchval("""
        WITH wanted AS (
          SELECT c.member_id FROM unnest($2::text[]) AS n JOIN cards c ON c.number = n
          WHERE c.member_id IS NOT NULL
          UNION SELECT m.id FROM unnest($3::text[]) AS p JOIN members m ON m.phone = p),
        ins AS (INSERT INTO marketing_list_members (list_id, member_id)
                SELECT $1, member_id FROM wanted ON CONFLICT DO NOTHING RETURNING 1)
        SELECT count(*) FROM ins""", list_id, list(cards), list(phones))
    matched = await conn.fetchval("""
        SELECT (SELECT count(*) FROM unnest($1::text[]) n
                WHERE EXISTS (SELECT 1 FROM cards c WHERE c.number = n
                              AND c.member_id IS NOT NULL))
             + (SELECT count(*) FROM unnest($2::text[]) p
                WHERE EXISTS (SELECT 1 FROM members m WHERE m.phone = p))""",
                                  list(cards), list(phones))
    return int(added), len(cards) + len(phones) - int(matched)


async def create_segment_list(conn: asyncpg.Connection, list_id: uuid.UUID, name: str,
                              segment: str) -> None:
    await conn.execute("INSERT INTO marketing_lists (id, name, kind, segment) VALUES "
                       "($1, $2, 'dynamic', $3)", list_id, name, segment)


async def marketing_list(conn: asyncpg.Connection, list_id: uuid.UUID) -> ListRow | None:
    row = await conn.fetchrow("SELECT id, name, kind, segment FROM marketing_lists "
                              "WHERE id = $1", list_id)
    return None if row is None else ListRow(**dict(row))


def members_of(found: ListRow, default_language: str, first: int
               ) -> tuple[str, list[object]]:
    """(SQL selecting `members m` rows of the list, its parameters from $first)."""
    if found.kind == "static":
        return (f"members m JOIN marketing_list_members lm ON lm.member_id = m.id "
                f"AND lm.list_id = ${first}", [found.id])
    where, params = compile_segment(parse_segment(found.segment or ""), default_language,
                                    first)
    return f"members m WHERE {where}", params


def _where(source: str) -> str:
    return " AND " if " WHERE " in source else " WHERE "


async def preview(conn: asyncpg.Connection, found: ListRow, default_language: str,
                  sample: int) -> tuple[int, list[uuid.UUID]]:
    source, params = members_of(found, default_language, 1)
    count = await conn.fetchval(f"SELECT count(*) FROM {source}", *params)
    ids = await conn.fetch(f"SELECT m.id FROM {source} ORDER BY m.id LIMIT {int(sample)}",
                           *params)
    return int(count), [r["id"] for r in ids]


def parse_csv(text: str, field: str) -> tuple[list[str], list[str]]:
    """(card numbers, phones) from a CSV with a card_number and/or phone column."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if not columns & {"card_number", "phone"}:
        raise invalid(field, "needs a header row with a card_number or phone column")
    cards: list[str] = []
    phones: list[str] = []
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if clean.get("card_number"):
            cards.append(clean["card_number"])
        elif clean.get("phone"):
            try:
                phones.append(normalize_phone(clean["phone"]))
            except ValueError:
                phones.append(clean["phone"])  # counted as unmatched
    return cards, phones


class SqlConsentStore:
    """server.marketing.consent.ConsentStore on one transaction's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def member_exists(self, member_id: uuid.UUID) -> bool:
        return await member_exists(self.conn, member_id)

    async def record(self, answer: ConsentAnswer, principal: str) -> ConsentRow:
        """The answer, its history row and an audit row, whichever door it came through."""
        row = await record_consent(self.conn, answer.member_id, answer.channel,
                                   answer.purpose, answer.granted, answer.source,
                                   answer.wording_version, principal)
        await record_on(self.conn, Change("consent", str(answer.member_id), "set", None, {
            "channel": answer.channel, "purpose": answer.purpose, "granted": answer.granted,
            "source": answer.source, "wording_version": answer.wording_version}))
        return row
