"""SqlUserRepository: server/access/repository.py's protocol over one AsyncSession."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.access.model import Session, User
from server.db.access.models import OperatorUser, UserSession

_USER_COLUMNS = frozenset(f.name for f in dataclasses.fields(User)) - {"id"}


def _user(row: OperatorUser) -> User:
    return User(id=row.id, name=row.name, email=row.email, roles=tuple(row.roles),
                password_hash=row.password_hash, totp_secret=row.totp_secret,
                totp_pending_secret=row.totp_pending_secret, totp_last_step=row.totp_last_step,
                failed_logins=row.failed_logins, locked_until=row.locked_until,
                disabled_at=row.disabled_at, last_login_at=row.last_login_at,
                created_at=row.created_at)


def _session(row: UserSession) -> Session:
    return Session(row.token_hash, row.user_id, row.created_at, row.expires_at,
                   row.last_seen_at, row.revoked_at)


class SqlUserRepository:
    """Users and sessions inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add_user(self, user: User) -> bool:
        inserted = await self._s.scalar(
            insert(OperatorUser).values(
                id=user.id, name=user.name, email=user.email, roles=list(user.roles),
                password_hash=user.password_hash, failed_logins=0, created_at=user.created_at,
            ).on_conflict_do_nothing(index_elements=["email"]).returning(OperatorUser.id))
        return inserted is not None

    async def user(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        query = select(OperatorUser).where(OperatorUser.id == user_id)
        row = await self._s.scalar(query.with_for_update() if for_update else query)
        return None if row is None else _user(row)

    async def user_by_email(self, email: str, *, for_update: bool = False) -> User | None:
        query = select(OperatorUser).where(OperatorUser.email == email)
        row = await self._s.scalar(query.with_for_update() if for_update else query)
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        rows = await self._s.scalars(select(OperatorUser).order_by(OperatorUser.email))
        return [_user(row) for row in rows]

    async def update_user(self, user_id: uuid.UUID, **columns: object) -> User:
        unknown = set(columns) - _USER_COLUMNS
        if unknown:
            raise TypeError(f"not user columns: {sorted(unknown)}")
        values: dict[str, Any] = dict(columns)
        if isinstance(values.get("roles"), tuple):
            values["roles"] = list(values["roles"])
        row = await self._s.scalar(
            update(OperatorUser).where(OperatorUser.id == user_id).values(**values)
            .returning(OperatorUser).execution_options(populate_existing=True))
        if row is None:
            raise LookupError(f"user {user_id} vanished inside its transaction")
        return _user(row)

    async def add_session(self, session: Session) -> None:
        await self._s.execute(insert(UserSession).values(
            token_hash=session.token_hash, user_id=session.user_id,
            created_at=session.created_at, expires_at=session.expires_at,
            last_seen_at=session.last_seen_at))

    async def session(self, token_hash: bytes) -> Session | None:
        row = await self._s.scalar(select(UserSession).where(UserSession.token_hash == token_hash))
        return None if row is None else _session(row)

    async def touch_session(self, token_hash: bytes, now: dt.datetime) -> None:
        await self._s.execute(update(UserSession).where(UserSession.token_hash == token_hash)
                              .values(last_seen_at=now))

    async def revoke_session(self, token_hash: bytes, now: dt.datetime) -> bool:
        revoked = await self._s.scalar(
            update(UserSession).where(UserSession.token_hash == token_hash,
                                      UserSession.revoked_at.is_(None))
            .values(revoked_at=now).returning(UserSession.token_hash))
        return revoked is not None

    async def revoke_sessions_of(self, user_id: uuid.UUID, now: dt.datetime) -> None:
        await self._s.execute(update(UserSession).where(UserSession.user_id == user_id,
                                                        UserSession.revoked_at.is_(None))
                              .values(revoked_at=now))
