"""Operator users and their sessions as the access rules see them."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

SESSION_PREFIX = "kps_"
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit; the column is as wide


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in to the console. Secrets stay in here, never in answers."""

    id: uuid.UUID
    name: str
    email: str
    roles: tuple[str, ...]
    password_hash: str
    totp_secret: bytes | None = None  # active second factor
    totp_pending_secret: bytes | None = None  # enrolment started, not confirmed yet
    totp_last_step: int | None = None
    failed_logins: int = 0
    locked_until: dt.datetime | None = None
    disabled_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None
    created_at: dt.datetime | None = None

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in console session; only a hash of its token is stored."""

    token_hash: bytes
    user_id: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime
    last_seen_at: dt.datetime
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The settings the rules follow (KOPILKA_USERS_* in server/settings.py)."""

    password_min_length: int = 12
    max_failed_logins: int = 5
    lockout_seconds: int = 900
    session_ttl_seconds: int = 8 * 3600
    session_idle_seconds: int = 1800
    totp_issuer: str = "Kopilka"


def normal_email(email: str) -> str:
    """E-mail addresses compare case-insensitively in practice: store them lower-cased."""
    return email.strip().lower()


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    """SHA-256: the token is 256 random bits, so a fast hash is safe (as for API keys)."""
    return hashlib.sha256(token.encode()).digest()


def is_locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def after_failure(user: User, now: dt.datetime, policy: AccessPolicy
                  ) -> tuple[int, dt.datetime | None]:
    """(failed_logins, locked_until) after one more failed login: the Nth failure locks the
    user for `lockout_seconds` and starts the count again, so a lockout ends by itself."""
    failures = user.failed_logins + 1
    if failures >= policy.max_failed_logins:
        return 0, now + dt.timedelta(seconds=policy.lockout_seconds)
    return failures, None


def touch_due(session: Session, now: dt.datetime, policy: AccessPolicy) -> bool:
    """Whether a use of the session is written down: only once its last recorded use is a
    minute old (a twentieth of the idle timeout when that is shorter), so a page or RPC
    needs no write of its own; the idle timeout is then exact to that much."""
    every = dt.timedelta(seconds=min(60.0, policy.session_idle_seconds / 20))
    return now - session.last_seen_at >= every


def session_alive(session: Session, now: dt.datetime, policy: AccessPolicy) -> bool:
    """Not revoked, not past its lifetime, and used within the idle timeout."""
    idle = dt.timedelta(seconds=policy.session_idle_seconds)
    return (session.revoked_at is None and now < session.expires_at
            and now < session.last_seen_at + idle)
