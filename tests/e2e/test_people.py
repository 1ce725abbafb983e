"""Operator users through the generated client on a real server: lifecycle, login with and
without TOTP, lockout and its end, session expiry and logout (issue 12, people and keys)."""

from __future__ import annotations

import base64

import grpc
import pytest
from kopilka.v1 import users_pb2 as U

from server.access import totp
from tests.e2e.people_support import WallClock, app_on_wall_clock, wall_fixture  # noqa: F401
from tests.helpers import rid, rpc_error

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={
        "users_max_failed_logins": 3, "users_lockout_seconds": 600,
        "users_session_ttl_seconds": 3600, "users_session_idle_seconds": 900})


@pytest.fixture
async def console(make_key, client_for):  # type: ignore[no-untyped-def]
    """The console backend's client: it may sign people in, nothing else."""
    return client_for(await make_key("console"))


async def create(admin, email: str = "olena@example.com", roles=("operator",)):  # type: ignore[no-untyped-def]
    made = await admin.users.CreateUser(U.CreateUserRequest(request_id=rid(),
        name="Olena", email=email, roles=list(roles), password=PASSWORD))
    return made.user


def _secret(b32: str) -> bytes:
    return base64.b32decode(b32 + "=" * (-len(b32) % 8))


async def test_user_lifecycle(admin, console):  # type: ignore[no-untyped-def]
    user = await create(admin, email="Olena@Example.com")
    assert (user.email, list(user.roles), user.totp_enabled) == (
        "olena@example.com", ["operator"], False)
    listed = await admin.users.ListUsers(U.ListUsersRequest())
    assert [u.user_id for u in listed.users] == [user.user_id]
    assert "password" not in str(listed).lower()
    roles = await admin.users.SetUserRoles(U.SetUserRolesRequest(request_id=rid(),
        user_id=user.user_id, roles=["operator", "admin"]))
    assert list(roles.user.roles) == ["operator", "admin"]
    session = await console.users.Login(U.LoginRequest(email="OLENA@example.com",
                                                       password=PASSWORD))
    await admin.users.SetPassword(U.SetPasswordRequest(request_id=rid(), user_id=user.user_id,
                                                      password="a brand new passphrase"))
    with rpc_error() as failure:  # a new password ends the sessions
        await console.users.GetSession(U.GetSessionRequest(session_token=session.session_token))
    assert failure.reason == "SESSION_INVALID"
    with rpc_error() as failure:
        await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD))
    assert failure.reason == "LOGIN_FAILED"
    session = await console.users.Login(U.LoginRequest(email=user.email,
                                                       password="a brand new passphrase"))
    disabled = await admin.users.DisableUser(U.DisableUserRequest(
        request_id=rid(), user_id=user.user_id))
    assert disabled.user.HasField("disable_time")
    with rpc_error() as failure:
        await console.users.GetSession(U.GetSessionRequest(session_token=session.session_token))
    assert failure.reason == "SESSION_INVALID"
    with rpc_error() as failure:
        await console.users.Login(U.LoginRequest(email=user.email,
                                                 password="a brand new passphrase"))
    assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED, "LOGIN_FAILED")


async def test_bad_input_writes_nothing(admin, console):  # type: ignore[no-untyped-def]
    user = await create(admin)
    cases = [
        (U.CreateUserRequest(request_id=rid(), name="X", email="x@example.com", roles=["operator"],
                             password="short"), "PASSWORD_TOO_WEAK", ["password"]),
        (U.CreateUserRequest(
            request_id=rid(), name="X", email="OLENA@example.com", roles=["operator"],
                             password=PASSWORD), "USER_EMAIL_TAKEN", []),
        (U.CreateUserRequest(request_id=rid(), name="X", email="x@example.com", roles=["wizard"],
                             password=PASSWORD), "INVALID_ARGUMENT", ["roles[0]"]),
        (U.CreateUserRequest(request_id=rid(), name="X", email="not-an-address", roles=["operator"],
                             password=PASSWORD), "INVALID_ARGUMENT", ["email"]),
    ]
    for request, reason, fields in cases:
        with rpc_error() as failure:
            await admin.users.CreateUser(request)
        assert (failure.reason, failure.fields) == (reason, fields), request
    with rpc_error() as failure:
        await admin.users.SetUserRoles(U.SetUserRolesRequest(request_id=rid(), user_id=user.user_id,
                                                            roles=["wizard"]))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["roles[0]"])
    with rpc_error() as failure:
        await admin.users.SetPassword(U.SetPasswordRequest(request_id=rid(),
            user_id="00000000-0000-4000-8000-000000000000", password=PASSWORD))
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")
    with rpc_error() as failure:
        await admin.users.EnrolTotp(U.EnrolTotpRequest(
            request_id=rid(), user_id=user.user_id, code="123456"))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "TOTP_NOT_PENDING")
    listed = await admin.users.ListUsers(U.ListUsersRequest())
    assert [(u.email, list(u.roles)) for u in listed.users] == [
        ("olena@example.com", ["operator"])]
    with rpc_error() as failure:  # the console key may sign in, not manage
        await console.users.ListUsers(U.ListUsersRequest())
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


async def test_login_with_totp(admin, console, wall: WallClock):  # type: ignore[no-untyped-def]
    user = await create(admin)
    started = await admin.users.EnrolTotp(U.EnrolTotpRequest(
        request_id=rid(), user_id=user.user_id))
    assert started.provisioning_uri.startswith("otpauth://totp/Kopilka:olena@example.com?")
    assert f"secret={started.secret}" in started.provisioning_uri
    assert not started.user.totp_enabled  # not required until confirmed
    secret = _secret(started.secret)
    await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD))
    wrong = str((int(totp.code_at(secret, wall.now)) + 1) % 1_000_000).zfill(6)
    with rpc_error() as failure:
        await admin.users.EnrolTotp(U.EnrolTotpRequest(
            request_id=rid(), user_id=user.user_id, code=wrong))
    assert (failure.reason, failure.fields) == ("TOTP_CODE_INVALID", ["code"])
    confirmed = await admin.users.EnrolTotp(U.EnrolTotpRequest(request_id=rid(),
        user_id=user.user_id, code=totp.code_at(secret, wall.now)))
    assert confirmed.user.totp_enabled and not confirmed.secret
    with rpc_error() as failure:
        await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD))
    assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOTP_REQUIRED")
    wall.move(seconds=30)
    code = totp.code_at(secret, wall.now)
    with rpc_error() as failure:
        await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD,
                                                 totp_code=wrong))
    assert failure.reason == "LOGIN_FAILED"
    session = await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD,
                                                       totp_code=code))
    assert session.session_token.startswith("kps_") and session.user.totp_enabled
    with rpc_error() as failure:  # a code is good once
        await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD,
                                                 totp_code=code))
    assert failure.reason == "LOGIN_FAILED"


async def test_lockout_and_its_end(admin, console, wall: WallClock):  # type: ignore[no-untyped-def]
    user = await create(admin)
    for _ in range(2):
        with rpc_error() as failure:
            await console.users.Login(U.LoginRequest(email=user.email, password="wrong!"))
        assert failure.reason == "LOGIN_FAILED"
    with rpc_error() as failure:  # the third failure locks
        await console.users.Login(U.LoginRequest(email=user.email, password="wrong!"))
    assert (failure.code, failure.reason, failure.retry_delay) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED, "LOGIN_LOCKED_OUT", 600)
    wall.move(seconds=599)
    with rpc_error() as failure:  # even the right password, until the lockout ends
        await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD))
    assert (failure.reason, failure.metadata["retry_after_seconds"]) == ("LOGIN_LOCKED_OUT", "1")
    listed = await admin.users.ListUsers(U.ListUsersRequest())
    assert listed.users[0].HasField("lock_expire_time")
    wall.move(seconds=1)
    session = await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD))
    assert session.user.user_id == user.user_id
    with rpc_error() as failure:  # an unknown e-mail is refused like a wrong password
        await console.users.Login(U.LoginRequest(email="nobody@example.com", password=PASSWORD))
    assert failure.reason == "LOGIN_FAILED"


async def test_session_expiry_idle_and_logout(admin, console, wall: WallClock):  # type: ignore[no-untyped-def]
    user = await create(admin)

    async def login() -> str:
        made = await console.users.Login(U.LoginRequest(email=user.email, password=PASSWORD))
        return made.session_token

    async def alive(token: str) -> bool:
        try:
            got = await console.users.GetSession(U.GetSessionRequest(session_token=token))
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            return False
        assert got.user.email == user.email
        return True

    token = await login()
    for _ in range(4):  # used every 14 minutes: the idle timeout (15) never strikes...
        wall.move(minutes=14)
        assert await alive(token)
    wall.move(minutes=4)  # ...but the lifetime (60) does
    assert not await alive(token)

    token = await login()
    wall.move(minutes=15)
    assert not await alive(token)  # idle too long

    token = await login()
    assert await alive(token)
    await console.users.Logout(U.LogoutRequest(session_token=token))
    assert not await alive(token)
    await console.users.Logout(U.LogoutRequest(session_token=token))  # twice: fine
