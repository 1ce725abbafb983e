"""`kopilka users ...` and `kopilka apikey list|revoke|rotate` against the database of a
running server, checked through the generated client (issue 12, people and keys)."""

from __future__ import annotations

import asyncpg
import grpc
from kopilka.v1 import admin_pb2 as A
from kopilka.v1 import audit_pb2 as AU
from kopilka.v1 import users_pb2 as U

from tests.cli import kopilka
from tests.helpers import rid, rpc_error

PASSWORD = "correct horse battery"


async def test_users_commands(database_url, make_key, client_for):  # type: ignore[no-untyped-def]
    console = client_for(await make_key("console"))
    code, out, err = await kopilka(database_url, "users", "create", "--name", "Olena",
                                   "--email", "olena@example.com", "--role", "operator",
                                   stdin=PASSWORD + "\n")
    assert code == 0, err
    assert PASSWORD not in out + err
    login = await console.users.Login(U.LoginRequest(email="olena@example.com",
                                                     password=PASSWORD))
    assert login.user.user_id == out.strip()
    code, _, err = await kopilka(database_url, "users", "create", "--name", "Again",
                                 "--email", "OLENA@example.com", "--role", "operator",
                                 stdin=PASSWORD + "\n")
    assert code == 2 and "USER_EMAIL_TAKEN" in err
    code, _, err = await kopilka(database_url, "users", "create", "--name", "Short",
                                 "--email", "s@example.com", "--role", "operator",
                                 stdin="short\n")
    assert code == 2 and "PASSWORD_TOO_WEAK" in err
    code, out, _ = await kopilka(database_url, "users", "list")
    assert code == 0 and "olena@example.com" in out and "s@example.com" not in out
    code, _, err = await kopilka(database_url, "users", "set-password", "olena@example.com",
                                 stdin="another long passphrase\n")
    assert code == 0, err
    with rpc_error() as failure:  # the new password ended the session
        await console.users.GetSession(U.GetSessionRequest(session_token=login.session_token))
    assert failure.reason == "SESSION_INVALID"
    await console.users.Login(U.LoginRequest(email="olena@example.com",
                                             password="another long passphrase"))
    code, _, err = await kopilka(database_url, "users", "disable", "olena@example.com")
    assert code == 0, err
    with rpc_error() as failure:
        await console.users.Login(U.LoginRequest(email="olena@example.com",
                                                 password="another long passphrase"))
    assert failure.reason == "LOGIN_FAILED"
    code, _, err = await kopilka(database_url, "users", "disable", "nobody@example.com")
    assert code == 2 and "USER_NOT_FOUND" in err
    connection = await asyncpg.connect(database_url)  # the RPCs' path: audited, run once
    try:
        rows = await connection.fetch(
            "SELECT action, principal, request_id FROM audit_log WHERE object_type = 'user' "
            "ORDER BY id")
    finally:
        await connection.close()
    assert [r["action"] for r in rows] == ["create", "set_password", "disable"]
    assert all(r["principal"].startswith("cli:") and r["request_id"] for r in rows)
    assert len({r["request_id"] for r in rows}) == 3  # a request id per invocation


async def test_apikey_commands(database_url, admin, client_for):  # type: ignore[no-untyped-def]
    made = await admin.admin.CreateApiKey(A.CreateApiKeyRequest(request_id=rid(),
        name="1C exchange", kind=A.PRINCIPAL_KIND_INTEGRATOR, roles=["integrator"]))
    code, out, _ = await kopilka(database_url, "apikey", "list")
    assert code == 0 and made.key_id in out and "1C exchange" in out
    assert made.secret not in out
    code, new_secret, err = await kopilka(database_url, "apikey", "rotate", made.key_id,
                                          "--grace-seconds", "0")
    assert code == 0, err
    await client_for(new_secret.strip()).admin.Echo(A.EchoRequest())
    with rpc_error() as failure:
        await client_for(made.secret).admin.Echo(A.EchoRequest())
    assert failure.code == grpc.StatusCode.UNAUTHENTICATED
    code, _, err = await kopilka(database_url, "apikey", "revoke", made.key_id)
    assert code == 0, err
    with rpc_error() as failure:
        await client_for(new_secret.strip()).admin.Echo(A.EchoRequest())
    assert failure.reason == "API_KEY_INVALID"
    code, out, _ = await kopilka(database_url, "apikey", "list")
    assert made.key_id not in out
    code, out, _ = await kopilka(database_url, "apikey", "list", "--all")
    assert made.key_id in out and "revoked" in out
    code, _, err = await kopilka(database_url, "apikey", "revoke",
                                 "00000000-0000-4000-8000-000000000000")
    assert code == 2 and "API_KEY_NOT_FOUND" in err
    # the commands took the RPCs' path: an audit row each for the CLI user, run once on a
    # request id of their own, the new secret stored only sealed
    trail = await admin.audit.ListAudit(AU.ListAuditRequest(object_type="api_key",
                                                            object_id=made.key_id))
    cli = [(e.action, e.request_id) for e in trail.entries if e.principal.startswith("cli:")]
    assert [action for action, _ in cli] == ["revoke", "rotate"] and all(r for _, r in cli)
    connection = await asyncpg.connect(database_url)
    try:
        stored = await connection.fetchval(
            "SELECT response FROM idempotency_records WHERE request_id = $1::uuid",
            dict(cli)["rotate"])
    finally:
        await connection.close()
    assert stored and new_secret.strip().encode() not in stored
