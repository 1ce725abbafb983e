"""Appeals and articles in PostgreSQL (asyncpg, in the caller's transaction)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.appeals.model import (
    OPEN,
    Appeal,
    AppealChannel,
    AppealState,
    Article,
    HistoryEntry,
    Note,
    Topic,
    search_text,
)
from server.db.audit.repo import Change, record_on
from server.db.ledger.repo import raw_connection
from server.db.outbox.repo import emit
from server.events.schema import NewEvent

_COLUMNS = ("id, number, member_id, channel, topic_code, queue, subject, description, state, "
            "assignee_user_id, due_at, overdue_at, resolution, created_at, closed_at, version, "
            "caller_phone")


def _appeal(row: asyncpg.Record, notes: Sequence[Note] = (),
            history: Sequence[HistoryEntry] = ()) -> Appeal:
    return Appeal(row["id"], row["number"], row["member_id"], AppealChannel(row["channel"]),
                  row["topic_code"], row["queue"], row["subject"], row["description"],
                  AppealState(row["state"]), row["assignee_user_id"], row["due_at"],
                  row["overdue_at"], row["resolution"], row["created_at"], row["closed_at"],
                  row["version"], row["caller_phone"], tuple(notes), tuple(history))


def _json(value: Any) -> dict[str, Any]:
    """A JSONB value, whether the connection decodes JSON or hands back its text."""
    return dict(json.loads(value) if isinstance(value, str) else value)


def _state(value: str | None) -> AppealState | None:
    return AppealState(value) if value else None


class SqlAppealStore:
    """What the appeal service reads and writes, in the session's transaction (asyncpg
    statements on its connection; events and audit rows in the same transaction)."""

    def __init__(self, session: AsyncSession, conn: asyncpg.Connection) -> None:
        self.session = session
        self.conn = conn

    @classmethod
    async def of(cls, session: AsyncSession) -> SqlAppealStore:
        return cls(session, await raw_connection(session))

    async def emit(self, event: NewEvent) -> None:
        await emit(self.session, event)

    async def audit(self, object_type: str, object_id: str, action: str, before: object,
                    after: object) -> None:
        await record_on(self.conn, Change(object_type, object_id, action, before, after))

    # --- topics -------------------------------------------------------------------------

    async def upsert_topic(self, topic: Topic) -> None:
        await self.conn.execute(
            "INSERT INTO appeal_topics (code, name, queue, deadline_minutes, active) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO UPDATE SET name = $2, "
            "queue = $3, deadline_minutes = $4, active = $5, updated_at = now()",
            topic.code, topic.name, topic.queue, topic.deadline_minutes, topic.active)

    async def topic(self, code: str) -> Topic | None:
        row = await self.conn.fetchrow(
            "SELECT code, name, queue, deadline_minutes, active FROM appeal_topics "
            "WHERE code = $1", code)
        return None if row is None else Topic(*row.values())

    async def topics(self) -> list[Topic]:
        rows = await self.conn.fetch("SELECT code, name, queue, deadline_minutes, active "
                                     "FROM appeal_topics ORDER BY code")
        return [Topic(*r.values()) for r in rows]

    # --- appeals ------------------------------------------------------------------------

    async def user_exists(self, user_id: uuid.UUID) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM operator_users WHERE id = $1)", user_id))

    async def member_by_phone(self, phone: str) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.conn.fetchval(
            "SELECT id FROM members WHERE phone = $1", phone)
        return found

    async def newest_active_card(self, member_id: uuid.UUID) -> str | None:
        found: str | None = await self.conn.fetchval(
            "SELECT number FROM cards WHERE member_id = $1 AND state = 'active' "
            "ORDER BY created_at DESC, number DESC LIMIT 1", member_id)
        return found

    async def by_call(self, call_id: str) -> Appeal | None:
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM appeals WHERE call_id = $1",
                                       call_id)
        return None if row is None else _appeal(row)

    async def add(self, appeal: Appeal, created_by: str, call_id: str | None) -> Appeal:
        row = await self.conn.fetchrow(
            "INSERT INTO appeals (id, member_id, channel, topic_code, queue, subject, "
            "description, state, due_at, resolution, call_id, caller_phone, created_by, "
            "created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $11, "
            f"$12, $13, 1) ON CONFLICT (call_id) DO NOTHING RETURNING {_COLUMNS}",
            appeal.id, appeal.member_id, appeal.channel.value, appeal.topic_code, appeal.queue,
            appeal.subject, appeal.description, appeal.state.value, appeal.due_at, call_id,
            appeal.caller_phone, created_by, appeal.created_at)
        if row is None:  # the same call, registered meanwhile by a concurrent hook
            assert call_id is not None
            found = await self.by_call(call_id)
            assert found is not None
            return found
        return _appeal(row)

    async def get(self, appeal_id: uuid.UUID, *, for_update: bool = False,
                  full: bool = True) -> Appeal | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM appeals WHERE id = $1{lock}",
                                       appeal_id)
        if row is None:
            return None
        if not full:
            return _appeal(row)
        return _appeal(row, await self._notes([appeal_id]), await self._history(appeal_id))

    async def save(self, a: Appeal) -> Appeal:
        """Write the changed fields and bump the version."""
        row = await self.conn.fetchrow(
            "UPDATE appeals SET topic_code = $2, queue = $3, state = $4, assignee_user_id = $5, "
            "due_at = $6, overdue_at = $7, resolution = $8, closed_at = $9, "
            f"version = version + 1 WHERE id = $1 RETURNING {_COLUMNS}",
            a.id, a.topic_code, a.queue, a.state.value, a.assignee_user_id, a.due_at,
            a.overdue_at, a.resolution, a.closed_at)
        assert row is not None
        return _appeal(row)

    async def add_history(self, appeal_id: uuid.UUID, action: str, before: AppealState | None,
                          after: AppealState | None, actor: str, at: dt.datetime,
                          detail: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO appeal_history (appeal_id, action, from_state, to_state, actor, at, "
            "detail) VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)",
            appeal_id, action, before.value if before else None,
            after.value if after else None, actor, at, json.dumps(detail))

    async def add_note(self, appeal_id: uuid.UUID, note: Note) -> None:
        await self.conn.execute(
            "INSERT INTO appeal_notes (appeal_id, text, internal, author, created_at) "
            "VALUES ($1, $2, $3, $4, $5)", appeal_id, note.text, note.internal, note.author,
            note.created_at)

    async def _notes(self, ids: list[uuid.UUID]) -> list[Note]:
        rows = await self.conn.fetch(
            "SELECT appeal_id, text, internal, author, created_at FROM appeal_notes "
            "WHERE appeal_id = ANY($1) ORDER BY id", ids)
        return [Note(r["text"], r["internal"], r["author"], r["created_at"]) for r in rows]

    async def _history(self, appeal_id: uuid.UUID) -> list[HistoryEntry]:
        rows = await self.conn.fetch(
            "SELECT action, from_state, to_state, actor, at, detail FROM appeal_history "
            "WHERE appeal_id = $1 ORDER BY id", appeal_id)
        return [HistoryEntry(r["action"], _state(r["from_state"]), _state(r["to_state"]),
                             r["actor"], r["at"], _json(r["detail"])) for r in rows]

    async def of_member(self, member_id: uuid.UUID, limit: int) -> list[Appeal]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM appeals WHERE member_id = $1 "
            "ORDER BY created_at DESC, number DESC LIMIT $2", member_id, limit)
        out = []
        for row in rows:
            out.append(_appeal(row, await self._notes([row["id"]])))
        return out

    async def listing(self, queue: str, state: AppealState | None,
                      assignee: uuid.UUID | None, overdue_only: bool,
                      after_number: int | None, limit: int) -> list[Appeal]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM appeals WHERE ($1 = '' OR queue = $1) "
            "AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR assignee_user_id = $3) "
            "AND (NOT $4 OR overdue_at IS NOT NULL) AND ($5::bigint IS NULL OR number < $5) "
            "ORDER BY number DESC LIMIT $6",
            queue, state.value if state else None, assignee, overdue_only, after_number, limit)
        return [_appeal(r) for r in rows]

    async def mark_overdue(self, now: dt.datetime, actor: str, batch: int) -> int:
        """Open appeals past their due time, once each: overdue_at set, a history row."""
        rows = await self.conn.fetch(
            "WITH due AS (SELECT id FROM appeals WHERE due_at <= $1 AND overdue_at IS NULL "
            "AND state = ANY($2) ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED) "
            "UPDATE appeals a SET overdue_at = $1, version = version + 1 FROM due "
            "WHERE a.id = due.id RETURNING a.id, a.state, a.due_at",
            now, [s.value for s in OPEN], batch)
        for r in rows:
            await self.add_history(r["id"], "overdue", None, None, actor, now,
                                   {"due_at": r["due_at"].isoformat()})
        return len(rows)

    # --- knowledge base -----------------------------------------------------------------

    async def upsert_article(self, article: Article, by: str) -> Article:
        row = await self.conn.fetchrow(
            "INSERT INTO kb_articles (id, title, body, tags, published, search, updated_at, "
            "updated_by) VALUES ($1, $2, $3, $4, $5, setweight(to_tsvector('simple', $6), 'A') "
            "|| setweight(to_tsvector('simple', $7), 'B') || "
            "setweight(to_tsvector('simple', $8), 'B'), $9, $10) "
            "ON CONFLICT (id) DO UPDATE SET title = $2, body = $3, tags = $4, published = $5, "
            "search = EXCLUDED.search, updated_at = $9, updated_by = $10 "
            "RETURNING id, title, body, tags, published, updated_at",
            article.id, article.title, article.body, list(article.tags), article.published,
            search_text(article.title), search_text(article.body),
            search_text(*article.tags), article.updated_at, by)
        assert row is not None
        return Article(row["id"], row["title"], row["body"], tuple(row["tags"]),
                       row["published"], row["updated_at"])

    async def search(self, words: str, limit: int) -> list[tuple[Article, float, str]]:
        """Published articles matching `words` (web-search syntax), best rank first."""
        rows = await self.conn.fetch(
            "SELECT id, title, body, tags, published, updated_at, ts_rank_cd(search, q) AS rank, "
            "ts_headline('simple', body, q, 'StartSel=[, StopSel=], MaxFragments=1, "
            "MaxWords=20, MinWords=5') AS snippet "
            "FROM kb_articles, websearch_to_tsquery('simple', $1) q "
            "WHERE published AND search @@ q ORDER BY rank DESC, updated_at DESC LIMIT $2",
            search_text(words), limit)
        return [(Article(r["id"], r["title"], r["body"], tuple(r["tags"]), r["published"],
                         r["updated_at"]), float(r["rank"]), r["snippet"]) for r in rows]

    async def member_of_card(self, number: str) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.conn.fetchval(
            "SELECT member_id FROM cards WHERE number = $1", number)
        return found
