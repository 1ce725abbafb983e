"""SQL implementation of server.verification.repository.VerificationRepository."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ColumnElement, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.outbox.repo import enqueue_message
from server.db.verification.models import MessageTemplate, Verification
from server.verification.model import (
    Operation,
    RecentSends,
    Template,
    VerificationRecord,
    VerificationState,
)

SMS_CHANNEL = "sms"


def _record(row: Verification) -> VerificationRecord:
    return VerificationRecord(
        id=row.id, card_number=row.card_number, member_id=row.member_id, phone=row.phone,
        requester=row.requester, code_hash=bytes(row.code_hash), salt=bytes(row.salt),
        state=VerificationState(row.state), attempts=row.attempts,
        max_attempts=row.max_attempts, mailing_id=row.mailing_id, created_at=row.created_at,
        expires_at=row.expires_at, verified_at=row.verified_at,
        operation=Operation(row.operation), max_amount=row.max_amount)


class SqlVerificationRepository:
    """Verifications over one AsyncSession (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_send_keys(self, keys: list[str]) -> None:
        """Transaction-scoped advisory locks, taken in the given (sorted) order."""
        for key in keys:
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"kopilka.verification:{key}"})

    async def recent_by_phone(self, phone: str, since: dt.datetime) -> RecentSends:
        return await self._recent(Verification.phone == phone, since)

    async def recent_by_requester(self, requester: str, since: dt.datetime) -> RecentSends:
        return await self._recent(Verification.requester == requester, since)

    async def _recent(self, condition: ColumnElement[bool], since: dt.datetime) -> RecentSends:
        count, oldest = (await self.session.execute(
            select(func.count(), func.min(Verification.created_at))
            .where(condition, Verification.created_at > since))).one()
        return RecentSends(int(count), oldest)

    async def template(self, name: str) -> Template | None:
        row = await self.session.get(MessageTemplate, name, populate_existing=True)
        return None if row is None else Template(row.body, row.updated_at, row.updated_by)

    async def save_template(self, name: str, body: str, updated_by: str) -> Template:
        stmt = pg_insert(MessageTemplate).values(name=name, body=body, updated_by=updated_by)
        row = (await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={"body": body, "updated_by": updated_by, "updated_at": func.now()})
            .returning(MessageTemplate.body, MessageTemplate.updated_at,
                       MessageTemplate.updated_by))).one()
        return Template(row.body, row.updated_at, row.updated_by)

    async def enqueue_sms(self, phone: str, text: str, redacted_text: str,
                          reference: str) -> uuid.UUID:
        return await enqueue_message(self.session, channel=SMS_CHANNEL, recipient=phone,
                                     text=text, reference=reference, redacted_text=redacted_text)

    async def add(self, record: VerificationRecord) -> None:
        await self.session.execute(insert(Verification).values(
            id=record.id, card_number=record.card_number, member_id=record.member_id,
            phone=record.phone, requester=record.requester, code_hash=record.code_hash,
            salt=record.salt, state=record.state.value, attempts=record.attempts,
            max_attempts=record.max_attempts, mailing_id=record.mailing_id,
            created_at=record.created_at, expires_at=record.expires_at,
            operation=record.operation.value, max_amount=record.max_amount))

    async def get_for_update(self, verification_id: uuid.UUID) -> VerificationRecord | None:
        row = await self.session.scalar(
            select(Verification).where(Verification.id == verification_id)
            .with_for_update().execution_options(populate_existing=True))
        return None if row is None else _record(row)

    async def record_wrong_code(self, verification_id: uuid.UUID, attempts: int,
                                locked: bool) -> None:
        state = VerificationState.LOCKED if locked else VerificationState.PENDING
        await self.session.execute(update(Verification).where(Verification.id == verification_id)
                                   .values(attempts=attempts, state=state.value))

    async def mark_verified(self, verification_id: uuid.UUID, at: dt.datetime) -> None:
        await self.session.execute(update(Verification).where(Verification.id == verification_id)
                                   .values(state=VerificationState.VERIFIED.value, verified_at=at))
