"""Operator user use cases: one path for the gRPC servicer, the CLI and the coming console.

Every function takes the repository (inside the caller's transaction), the policy and `now`
(the server's clock, injected so tests move time). A refused login still has to commit its
failure count, so `login` returns the refusal instead of raising it: the caller commits,
then raises.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Collection

from server.access import passwords, totp
from server.access.model import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    AccessPolicy,
    Session,
    User,
    after_failure,
    hash_token,
    is_locked,
    new_session_token,
    normal_email,
    session_alive,
    touch_due,
)
from server.access.repository import UserRepository
from server.errors import DomainError, ErrorKind, Violations, invalid


def check_roles(errors: Violations, roles: list[str], known: Collection[str],
                field: str = "roles") -> None:
    if not roles:
        errors.add(field, "at least one role")
    for i, role in enumerate(roles):
        if role not in known:
            errors.add(f"{field}[{i}]", f"unknown role {role!r}; known: {', '.join(sorted(known))}")


def check_email(errors: Violations, email: str, field: str = "email") -> None:
    local, at, domain = email.rpartition("@")
    if not email:
        errors.add(field, "required")
    elif len(email) > MAX_EMAIL_LENGTH:
        errors.add(field, f"at most {MAX_EMAIL_LENGTH} characters")
    elif not at or not local or "." not in domain or any(c.isspace() for c in email):
        errors.add(field, "not an e-mail address")


def user_not_found(user_id: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, "USER_NOT_FOUND", f"no user {user_id!r}",
                       metadata={"user_id": user_id})


async def _user(repo: UserRepository, user_id: uuid.UUID) -> User:
    user = await repo.user(user_id, for_update=True)
    if user is None:
        raise user_not_found(str(user_id))
    return user


async def create_user(
    repo: UserRepository, policy: AccessPolicy, known_roles: Collection[str], *, name: str,
    email: str, roles: list[str], password: str, now: dt.datetime,
) -> User:
    errors = Violations()
    if not name.strip():
        errors.add("name", "required")
    elif len(name) > MAX_NAME_LENGTH:
        errors.add("name", f"at most {MAX_NAME_LENGTH} characters")
    email = normal_email(email)
    check_email(errors, email)
    check_roles(errors, roles, known_roles)
    errors.raise_if_any()
    passwords.check_password_rules(password, policy.password_min_length)
    user = User(id=uuid.uuid4(), name=name.strip(), email=email,
                roles=tuple(dict.fromkeys(roles)),
                password_hash=await asyncio.to_thread(passwords.hash_password, password),
                created_at=now)
    if not await repo.add_user(user):
        raise DomainError(ErrorKind.ALREADY_EXISTS, "USER_EMAIL_TAKEN",
                          "another user has this e-mail",
                          [], metadata={"field": "email"})
    return user


async def set_roles(repo: UserRepository, known_roles: Collection[str], user_id: uuid.UUID,
                    roles: list[str]) -> User:
    errors = Violations()
    check_roles(errors, roles, known_roles)
    errors.raise_if_any()
    await _user(repo, user_id)
    return await repo.update_user(user_id, roles=tuple(dict.fromkeys(roles)))


async def set_password(repo: UserRepository, policy: AccessPolicy, user_id: uuid.UUID,
                       password: str, now: dt.datetime) -> User:
    """A new password ends every session of the user and any lockout."""
    passwords.check_password_rules(password, policy.password_min_length)
    await _user(repo, user_id)
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    await repo.revoke_sessions_of(user_id, now)
    return await repo.update_user(user_id, password_hash=hashed, failed_logins=0,
                                  locked_until=None)


async def disable_user(repo: UserRepository, user_id: uuid.UUID, now: dt.datetime) -> User:
    """The user can no longer sign in; their sessions end now. Rows stay for the audit."""
    user = await _user(repo, user_id)
    await repo.revoke_sessions_of(user_id, now)
    if user.disabled_at is not None:
        return user
    return await repo.update_user(user_id, disabled_at=now)


@dataclasses.dataclass(frozen=True)
class TotpEnrolment:
    """Step one gives the secret and URI (for a QR code); step two, with a code, enables."""

    user: User
    secret_base32: str = ""
    provisioning_uri: str = ""


async def enrol_totp(repo: UserRepository, policy: AccessPolicy, user_id: uuid.UUID,
                     code: str, now: dt.datetime) -> TotpEnrolment:
    """No code: start (or restart) enrolment with a new secret; the factor is not required
    yet, so a user who never scans it is not locked out. A code: confirm the pending secret
    with a code from the app, which makes the factor required from then on."""
    user = await _user(repo, user_id)
    if not code:
        secret = totp.new_secret()
        user = await repo.update_user(user_id, totp_pending_secret=secret)
        return TotpEnrolment(user, totp.secret_base32(secret),
                             totp.provisioning_uri(secret, user.email, policy.totp_issuer))
    if user.totp_pending_secret is None:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "TOTP_NOT_PENDING",
                          "start the enrolment first (EnrolTotp without a code)")
    step = totp.matching_step(user.totp_pending_secret, code, now)
    if step is None:
        raise invalid("code", "does not match the pending secret at this time",
                      "TOTP_CODE_INVALID")
    user = await repo.update_user(user_id, totp_secret=user.totp_pending_secret,
                                  totp_pending_secret=None, totp_last_step=step)
    return TotpEnrolment(user)


@dataclasses.dataclass(frozen=True)
class LoginResult:
    """Either a session (token shown once) or the refusal to raise after committing."""

    user: User | None = None
    token: str = ""
    session: Session | None = None
    refusal: DomainError | None = None


def _login_failed() -> LoginResult:
    return LoginResult(refusal=DomainError(
        ErrorKind.UNAUTHENTICATED, "LOGIN_FAILED", "wrong e-mail, password or code"))


def _locked(until: dt.datetime, now: dt.datetime) -> LoginResult:
    wait = max(1, math.ceil((until - now).total_seconds()))
    return LoginResult(refusal=DomainError(
        ErrorKind.RESOURCE_EXHAUSTED, "LOGIN_LOCKED_OUT",
        f"too many failed logins; try again in {wait} s",
        metadata={"retry_after_seconds": str(wait)}))


async def login(repo: UserRepository, policy: AccessPolicy, *, email: str, password: str,
                totp_code: str, now: dt.datetime) -> LoginResult:
    """Password, then the second factor when enrolled. Unknown e-mail, disabled user, wrong
    password and wrong code all answer LOGIN_FAILED alike; wrong passwords and codes count
    towards the lockout, which refuses even the right password until it ends."""
    user = await repo.user_by_email(normal_email(email), for_update=True)
    if user is None or user.disabled_at is not None:
        await asyncio.to_thread(passwords.spend_like_a_check, password)
        return _login_failed()
    if is_locked(user, now):
        assert user.locked_until is not None
        return _locked(user.locked_until, now)
    if not await asyncio.to_thread(passwords.password_matches, user.password_hash, password):
        return await _failure(repo, policy, user, now)
    changes: dict[str, object] = {}
    if user.totp_secret is not None:
        if not totp_code.strip():
            return LoginResult(refusal=DomainError(
                ErrorKind.UNAUTHENTICATED, "TOTP_REQUIRED",
                "this user has a second factor: send the code from the authenticator app"))
        step = totp.matching_step(user.totp_secret, totp_code, now, user.totp_last_step)
        if step is None:
            return await _failure(repo, policy, user, now)
        changes["totp_last_step"] = step
    if passwords.needs_rehash(user.password_hash):
        changes["password_hash"] = await asyncio.to_thread(passwords.hash_password, password)
    user = await repo.update_user(user.id, failed_logins=0, locked_until=None,
                                  last_login_at=now, **changes)
    token = new_session_token()
    session = Session(hash_token(token), user.id, now,
                      now + dt.timedelta(seconds=policy.session_ttl_seconds), now)
    await repo.add_session(session)
    return LoginResult(user=user, token=token, session=session)


async def _failure(repo: UserRepository, policy: AccessPolicy, user: User,
                   now: dt.datetime) -> LoginResult:
    failures, locked_until = after_failure(user, now, policy)
    await repo.update_user(user.id, failed_logins=failures, locked_until=locked_until)
    return _locked(locked_until, now) if locked_until is not None else _login_failed()


def session_invalid() -> DomainError:
    return DomainError(ErrorKind.UNAUTHENTICATED, "SESSION_INVALID",
                       "the session is unknown, expired, idle too long or signed out")


async def check_session(repo: UserRepository, policy: AccessPolicy, token: str,
                        now: dt.datetime) -> tuple[Session, User]:
    """The live session behind `token` and its user; using it resets the idle timeout
    (written at most once a minute: `touch_due`)."""
    session = await repo.session(hash_token(token)) if token else None
    if session is None or not session_alive(session, now, policy):
        raise session_invalid()
    user = await repo.user(session.user_id)
    if user is None or user.disabled_at is not None:
        raise session_invalid()
    if not touch_due(session, now, policy):
        return session, user
    await repo.touch_session(session.token_hash, now)
    return dataclasses.replace(session, last_seen_at=now), user


async def logout(repo: UserRepository, token: str, now: dt.datetime) -> None:
    """Revoke the session; signing out twice (or with an unknown token) is not an error."""
    if token:
        await repo.revoke_session(hash_token(token), now)
