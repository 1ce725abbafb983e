"""UserService: operator users of the console, their logins and sessions.

The rules are in server/access/service.py; this module only translates protobuf and opens
the transaction. Never log a password, TOTP secret or code, or a session token: requests
here are not logged at all, and refusals carry none of them.
"""

from __future__ import annotations

import datetime as dt
import uuid

from kopilka.v1 import users_pb2, users_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import service
from server.access.model import AccessPolicy, User
from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps
from server.api.idempotency import parse_uuid, run_once
from server.db.access.repo import SqlUserRepository
from server.db.audit.repo import Change, record
from server.db.database import Database
from server.db.roles.repo import load_roles
from server.security.sealing import Sealer
from server.settings import Settings

SERVICE = "/kopilka.v1.UserService/"


def access_policy(settings: Settings) -> AccessPolicy:
    return AccessPolicy(
        password_min_length=settings.users_password_min_length,
        max_failed_logins=settings.users_max_failed_logins,
        lockout_seconds=settings.users_lockout_seconds,
        session_ttl_seconds=settings.users_session_ttl_seconds,
        session_idle_seconds=settings.users_session_idle_seconds,
        totp_issuer=settings.users_totp_issuer,
    )


def user_pb(user: User) -> users_pb2.User:
    return users_pb2.User(
        user_id=str(user.id), name=user.name, email=user.email, roles=list(user.roles),
        totp_enabled=user.totp_enabled, disable_time=timestamp(user.disabled_at),
        lock_expire_time=timestamp(user.locked_until),
        last_login_time=timestamp(user.last_login_at), create_time=timestamp(user.created_at),
    )


def _audited(user: User, action: str) -> Change:
    """A user change as the audit keeps it: who the user is and their roles, never a
    password hash or a TOTP secret."""
    return Change("user", str(user.id), action, None, {
        "name": user.name, "email": user.email, "roles": list(user.roles),
        "totp": user.totp_secret is not None, "disabled": user.disabled_at is not None})


async def _role_names(session: AsyncSession) -> set[str]:
    """The roles a user may be given: those in the database (roles are data)."""
    return {role.name for role in await load_roles(session)}


async def create_user_once(
    db: Database, request: users_pb2.CreateUserRequest, policy: AccessPolicy, sealer: Sealer,
    now: dt.datetime, principal_id: uuid.UUID | None = None,
) -> users_pb2.CreateUserResponse:
    """The one user-creation path (the RPC, `kopilka users create`): idempotent on the
    request id, audited for the current actor, in one transaction. Sealed: the request
    holds a password, so its stored digest is keyed (server/api/idempotency.py)."""

    async def work(session: AsyncSession) -> users_pb2.CreateUserResponse:
        user = await service.create_user(
            SqlUserRepository(session), policy, await _role_names(session), name=request.name,
            email=request.email, roles=list(request.roles), password=request.password,
            now=now)
        await record(session, _audited(user, "create"))
        return users_pb2.CreateUserResponse(user=user_pb(user))

    return await run_once(db, SERVICE + "CreateUser", request, users_pb2.CreateUserResponse,
                          work, principal_id=principal_id, sealer=sealer)


async def set_password_once(
    db: Database, request: users_pb2.SetPasswordRequest, policy: AccessPolicy, sealer: Sealer,
    now: dt.datetime, principal_id: uuid.UUID | None = None,
) -> users_pb2.SetPasswordResponse:
    """The one password-change path (the RPC, `kopilka users set-password`); sealed as
    `create_user_once` is."""
    user_id = parse_uuid(request.user_id, "user_id")

    async def work(session: AsyncSession) -> users_pb2.SetPasswordResponse:
        user = await service.set_password(SqlUserRepository(session), policy, user_id,
                                          request.password, now)
        await record(session, _audited(user, "set_password"))
        return users_pb2.SetPasswordResponse(user=user_pb(user))

    return await run_once(db, SERVICE + "SetPassword", request, users_pb2.SetPasswordResponse,
                          work, principal_id=principal_id, sealer=sealer)


async def disable_user_once(
    db: Database, request: users_pb2.DisableUserRequest, now: dt.datetime,
    principal_id: uuid.UUID | None = None,
) -> users_pb2.DisableUserResponse:
    """The one disabling path (the RPC, `kopilka users disable`)."""
    user_id = parse_uuid(request.user_id, "user_id")

    async def work(session: AsyncSession) -> users_pb2.DisableUserResponse:
        user = await service.disable_user(SqlUserRepository(session), user_id, now)
        await record(session, _audited(user, "disable"))
        return users_pb2.DisableUserResponse(user=user_pb(user))

    return await run_once(db, SERVICE + "DisableUser", request, users_pb2.DisableUserResponse,
                          work, principal_id=principal_id)


class UserServicer(users_pb2_grpc.UserServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self.policy = access_policy(deps.settings)

    async def CreateUser(
        self, request: users_pb2.CreateUserRequest, context: Context
    ) -> users_pb2.CreateUserResponse:
        return await create_user_once(self.deps.db, request, self.policy,
                                      self.deps.answers_sealer(), self.deps.clock())

    async def ListUsers(
        self, request: users_pb2.ListUsersRequest, context: Context
    ) -> users_pb2.ListUsersResponse:
        async with self.deps.db.transaction() as session:
            users = await SqlUserRepository(session).list_users()
        return users_pb2.ListUsersResponse(users=[user_pb(u) for u in users])

    async def SetUserRoles(
        self, request: users_pb2.SetUserRolesRequest, context: Context
    ) -> users_pb2.SetUserRolesResponse:
        user_id = parse_uuid(request.user_id, "user_id")

        async def work(session: AsyncSession) -> users_pb2.SetUserRolesResponse:
            user = await service.set_roles(SqlUserRepository(session),
                                           await _role_names(session), user_id,
                                           list(request.roles))
            await record(session, _audited(user, "set_roles"))
            return users_pb2.SetUserRolesResponse(user=user_pb(user))

        return await run_once(self.deps.db, SERVICE + "SetUserRoles", request,
                              users_pb2.SetUserRolesResponse, work)

    async def SetPassword(
        self, request: users_pb2.SetPasswordRequest, context: Context
    ) -> users_pb2.SetPasswordResponse:
        return await set_password_once(self.deps.db, request, self.policy,
                                       self.deps.answers_sealer(), self.deps.clock())

    async def EnrolTotp(
        self, request: users_pb2.EnrolTotpRequest, context: Context
    ) -> users_pb2.EnrolTotpResponse:
        user_id = parse_uuid(request.user_id, "user_id")

        async def work(session: AsyncSession) -> users_pb2.EnrolTotpResponse:
            enrolment = await service.enrol_totp(SqlUserRepository(session), self.policy,
                                                 user_id, request.code, self.deps.clock())
            await record(session, _audited(enrolment.user, "enrol_totp"))
            return users_pb2.EnrolTotpResponse(user=user_pb(enrolment.user),
                                               secret=enrolment.secret_base32,
                                               provisioning_uri=enrolment.provisioning_uri)

        # sealed: a start's answer holds the TOTP secret (in clear and in the URI)
        return await run_once(self.deps.db, SERVICE + "EnrolTotp", request,
                              users_pb2.EnrolTotpResponse, work,
                              sealer=self.deps.answers_sealer())

    async def DisableUser(
        self, request: users_pb2.DisableUserRequest, context: Context
    ) -> users_pb2.DisableUserResponse:
        return await disable_user_once(self.deps.db, request, self.deps.clock())

    async def Login(
        self, request: users_pb2.LoginRequest, context: Context
    ) -> users_pb2.LoginResponse:
        async with self.deps.db.transaction() as session:
            result = await service.login(
                SqlUserRepository(session), self.policy, email=request.email,
                password=request.password, totp_code=request.totp_code, now=self.deps.clock())
        if result.refusal is not None:  # raised after the failure count was committed
            raise result.refusal
        assert result.user is not None and result.session is not None
        return users_pb2.LoginResponse(session_token=result.token,
                                       expire_time=timestamp(result.session.expires_at),
                                       user=user_pb(result.user))

    async def GetSession(
        self, request: users_pb2.GetSessionRequest, context: Context
    ) -> users_pb2.GetSessionResponse:
        async with self.deps.db.transaction() as session:
            live, user = await service.check_session(
                SqlUserRepository(session), self.policy, request.session_token,
                self.deps.clock())
        return users_pb2.GetSessionResponse(user=user_pb(user),
                                            expire_time=timestamp(live.expires_at))

    async def Logout(
        self, request: users_pb2.LogoutRequest, context: Context
    ) -> users_pb2.LogoutResponse:
        async with self.deps.db.transaction() as session:
            await service.logout(SqlUserRepository(session), request.session_token,
                                 self.deps.clock())
        return users_pb2.LogoutResponse()
