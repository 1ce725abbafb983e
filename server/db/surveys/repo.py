"""Surveys in SQL: definitions and versions, invitations, responses, results.

The reward goes through the same primitives as a manual points adjustment (a ledger
transaction and kopilka_accrue_points, server/db/ledger/manual.py) or through
issue_coupons; the response, the invitation's use, the reward, the audit and the
survey.completed event commit together in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.audit.repo import Change, record_on
from server.db.engagement.coupons import issue_coupons
from server.db.ledger.bonus import manual_lot
from server.db.ledger.repo import accrue, expire_due_lots, new_tx, raw_connection
from server.events.schema import new_event
from server.surveys.model import Answer, Branding, Kind, Option, Question, Survey
from server.surveys.service import Completed, Invitation

_EMIT = "SELECT kopilka_emit_event($1, $2, $3::jsonb)"
MEMBER_SURVEYS = 100


def to_json(s: Survey) -> dict[str, Any]:
    """The stored form of a definition."""
    return {
        "title": s.title, "active": s.active, "reward_points": s.reward_points,
        "reward_promotion_id": s.reward_promotion_id,
        "branding": {"logo_url": s.branding.logo_url, "primary_color": s.branding.primary_color,
                     "background_color": s.branding.background_color},
        "questions": [{"id": q.id, "kind": q.kind.value, "text": q.text,
                       "required": q.required, "scale_min": q.scale_min,
                       "scale_max": q.scale_max,
                       "options": [[o.value, o.label] for o in q.options],
                       "branches": [list(b) for b in q.branches]} for q in s.questions]}


def from_json(code: str, version: int, d: dict[str, Any], updated_at: dt.datetime | None
              ) -> Survey:
    b = d["branding"]
    return Survey(
        code, d["title"], tuple(Question(
            q["id"], Kind(q["kind"]), q["text"], q["required"],
            tuple(Option(v, lbl) for v, lbl in q["options"]), q["scale_min"], q["scale_max"],
            tuple((a, g) for a, g in q["branches"])) for q in d["questions"]),
        Branding(b["logo_url"], b["primary_color"], b["background_color"]),
        d["reward_points"], d["reward_promotion_id"], d["active"], version, updated_at)


def _load(value: Any) -> Any:
    """A jsonb value: decoded by the session's codec (SQLAlchemy's), or text without one."""
    return json.loads(value) if isinstance(value, str) else value


def _invitation(r: asyncpg.Record) -> Invitation:
    return Invitation(r["id"], r["survey_code"], r["member_id"], r["expires_at"], r["used_at"])


class SqlSurveyStore:
    """SurveyStore on the driver connection of the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection, actor: str) -> None:
        self.conn = conn
        self.actor = actor

    @classmethod
    async def of(cls, session: AsyncSession, actor: str) -> SqlSurveyStore:
        return cls(await raw_connection(session), actor)

    async def get(self, code: str, *, version: int | None = None) -> Survey | None:
        if version is None:
            r = await self.conn.fetchrow(
                "SELECT version, definition, updated_at FROM surveys WHERE code = $1", code)
        else:
            r = await self.conn.fetchrow(
                "SELECT version, definition, created_at AS updated_at FROM survey_versions "
                "WHERE survey_code = $1 AND version = $2", code, version)
        if r is None:
            return None
        return from_json(code, r["version"], _load(r["definition"]), r["updated_at"])

    async def save(self, survey: Survey, by: str) -> Survey:
        before = await self.get(survey.code)
        body = json.dumps(to_json(survey))
        r = await self.conn.fetchrow(
            """INSERT INTO surveys (code, title, version, active, definition, updated_by)
               VALUES ($1, $2, 1, $3, $4::jsonb, $5)
               ON CONFLICT (code) DO UPDATE SET title = EXCLUDED.title,
                 version = surveys.version + 1, active = EXCLUDED.active,
                 definition = EXCLUDED.definition, updated_by = EXCLUDED.updated_by,
                 updated_at = now()
               RETURNING version, updated_at""",
            survey.code, survey.title, survey.active, body, by)
        assert r is not None  # INSERT ... RETURNING always returns the row
        await self.conn.execute(
            "INSERT INTO survey_versions (survey_code, version, definition) "
            "VALUES ($1, $2, $3::jsonb)", survey.code, r["version"], body)
        await record_on(self.conn, Change(
            "survey", survey.code, "create" if before is None else "update",
            None if before is None else {"version": before.version},
            {"version": r["version"], "title": survey.title, "active": survey.active}))
        return from_json(survey.code, r["version"], to_json(survey), r["updated_at"])

    async def add_invitation(self, inv: Invitation, by: str) -> None:
        await self.conn.execute(
            "INSERT INTO survey_invitations (id, survey_code, member_id, expires_at, created_by)"
            " VALUES ($1, $2, $3, $4, $5)", inv.id, inv.survey_code, inv.member_id,
            inv.expires_at, by)
        await record_on(self.conn, Change(
            "survey_invitation", str(inv.id), "create", None,
            {"survey_code": inv.survey_code, "member_id": inv.member_id,
             "expires_at": inv.expires_at}))

    async def invitation(self, invitation_id: uuid.UUID, *, for_update: bool
                         ) -> Invitation | None:
        r = await self.conn.fetchrow(
            "SELECT id, survey_code, member_id, expires_at, used_at FROM survey_invitations "
            "WHERE id = $1" + (" FOR UPDATE" if for_update else ""), invitation_id)
        return None if r is None else _invitation(r)

    async def has_completed(self, code: str, member_id: uuid.UUID) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM survey_responses WHERE survey_code = $1 "
            "AND member_id = $2)", code, member_id))

    async def add_response(self, survey: Survey, member_id: uuid.UUID | None,
                           invitation_id: uuid.UUID | None, answers: dict[str, Answer],
                           now: dt.datetime) -> Completed | None:
        """The new response, or None when this member's response already exists (the
        partial unique index decides between two submits at once)."""
        response_id = uuid.uuid4()
        r = await self.conn.fetchrow(
            """INSERT INTO survey_responses (id, survey_code, version, member_id,
                 invitation_id, answers, reward, completed_at)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, '{}'::jsonb, $7)
               ON CONFLICT DO NOTHING RETURNING id""",
            response_id, survey.code, survey.version, member_id, invitation_id,
            json.dumps(answers), now)
        if r is None:
            return None
        return Completed(response_id, survey.code, survey.title, survey.version, member_id,
                         dict(answers), {}, now)

    async def mark_used(self, invitation_id: uuid.UUID, now: dt.datetime) -> None:
        await self.conn.execute(
            "UPDATE survey_invitations SET used_at = $2 WHERE id = $1", invitation_id, now)

    async def reward(self, survey: Survey, done: Completed, now: dt.datetime
                     ) -> dict[str, Any]:
        """Points (the manual-adjustment primitives) or a coupon, the audit, the event."""
        reward: dict[str, Any] = {}
        coupon_id: uuid.UUID | None = None
        member_id = done.member_id
        if member_id is not None and survey.reward_points > 0:
            tx_id = await new_tx(self.conn, "adjust", reason=f"survey: {survey.code}",
                                 principal=self.actor)
            await expire_due_lots(self.conn, member_id, now)
            await accrue(self.conn, member_id, tx_id, [manual_lot(survey.reward_points, now,
                                                                 rule_id="survey")], now)
            reward = {"points": survey.reward_points, "tx_id": str(tx_id)}
        elif member_id is not None and survey.reward_promotion_id:
            coupon = (await issue_coupons(
                self.conn, count=1, promotion_id=survey.reward_promotion_id, max_uses=1,
                valid_from=now, valid_to=None, member_id=member_id, batch_id=None,
                source="survey", issued_by=self.actor))[0]
            coupon_id = coupon.id
            reward = {"coupon": coupon.code, "coupon_id": str(coupon.id)}
        await self.conn.execute("UPDATE survey_responses SET reward = $2::jsonb WHERE id = $1",
                                done.response_id, json.dumps(reward))
        await record_on(self.conn, Change(
            "survey_response", str(done.response_id), "create", None,
            {"survey_code": survey.code, "version": survey.version, "member_id": member_id,
             "reward": {k: v for k, v in reward.items() if k != "coupon"}}))
        event = new_event("survey.completed", response_id=done.response_id,
                          survey_code=survey.code, version=survey.version, member_id=member_id,
                          reward_points=int(reward.get("points", 0)), coupon_id=coupon_id,
                          completed_at=now)
        await self.conn.execute(_EMIT, event.type, event.version,
                                json.dumps(dict(event.payload)))
        return reward

    async def counts(self, code: str) -> tuple[int, dict[str, dict[str, int]]]:
        """(responses, question id -> answer value -> count), over every version."""
        total = await self.conn.fetchval(
            "SELECT count(*) FROM survey_responses WHERE survey_code = $1", code)
        rows = await self.conn.fetch(
            """SELECT a.key AS q, v.value AS value, count(*) AS n
               FROM survey_responses r, jsonb_each(r.answers) a,
                    LATERAL (SELECT x AS value FROM jsonb_array_elements_text(
                        CASE jsonb_typeof(a.value) WHEN 'array' THEN a.value
                             ELSE jsonb_build_array(a.value) END) x) v
               WHERE r.survey_code = $1 GROUP BY 1, 2""", code)
        out: dict[str, dict[str, int]] = {}
        for r in rows:
            out.setdefault(r["q"], {})[r["value"]] = r["n"]
        answered = await self.conn.fetch(
            "SELECT a.key AS q, count(*) AS n FROM survey_responses r, jsonb_each(r.answers) a "
            "WHERE r.survey_code = $1 GROUP BY 1", code)
        for r in answered:
            out.setdefault(r["q"], {})["\0answered"] = r["n"]
        return int(total), out

    async def member_surveys(self, member_id: uuid.UUID) -> list[Completed]:
        rows = await self.conn.fetch(
            """SELECT r.id, r.survey_code, s.title, r.version, r.member_id, r.answers,
                      r.reward, r.completed_at
               FROM survey_responses r JOIN surveys s ON s.code = r.survey_code
               WHERE r.member_id = $1 ORDER BY r.completed_at DESC, r.id LIMIT $2""",
            member_id, MEMBER_SURVEYS)
        return [Completed(r["id"], r["survey_code"], r["title"], r["version"], r["member_id"],
                          _load(r["answers"]), _load(r["reward"]), r["completed_at"])
                for r in rows]
