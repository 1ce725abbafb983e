"""What the user rules need from storage (server/db/access/repo.py is SQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from server.access.model import Session, User


class UserRepository(Protocol):
    """Reads and writes inside the caller's transaction."""

    async def add_user(self, user: User) -> bool:
        """Insert; False (nothing written) when the e-mail belongs to another user."""
        ...

    async def user(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None: ...

    async def user_by_email(self, email: str, *, for_update: bool = False) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def update_user(self, user_id: uuid.UUID, **columns: object) -> User:
        """Set columns (named as User's fields) of an existing user; returns it after."""
        ...

    async def add_session(self, session: Session) -> None: ...

    async def session(self, token_hash: bytes) -> Session | None: ...

    async def touch_session(self, token_hash: bytes, now: dt.datetime) -> None: ...

    async def revoke_session(self, token_hash: bytes, now: dt.datetime) -> bool:
        """Revoke a live session; False when there is none with that hash."""
        ...

    async def revoke_sessions_of(self, user_id: uuid.UUID, now: dt.datetime) -> None: ...
