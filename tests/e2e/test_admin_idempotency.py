"""The admin, role, user and VIP changes run once per request id, over the real gRPC server:
a retry gets the first answer and changes nothing more (no second key, rotation or audit
row), the same id with another request is refused, a missing id names `request_id`; and an
answer holding a secret is stored sealed, yet replayed with the same secret."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import grpc
from google.protobuf.message import Message
from kopilka.v1 import admin_pb2 as A
from kopilka.v1 import members_pb2 as M
from kopilka.v1 import roles_pb2 as RP
from kopilka.v1 import users_pb2 as U
from sqlalchemy import text

from tests.e2e.ledger_support import new_member, setup_world
from tests.helpers import rid, rpc_error

PASSWORD = "a long enough password"
DEMO = (Path(__file__).parents[2] / "server" / "demo_promotions.yaml").read_text()


async def scalar(app, sql: str, **params):  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def audit_rows(app, object_type: str, action: str) -> int:  # type: ignore[no-untyped-def]
    return int(await scalar(app, "SELECT count(*) FROM audit_log WHERE object_type = :t "
                            "AND action = :a", t=object_type, a=action))


async def stored_answer(app, request_id: str) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(await scalar(app, "SELECT response FROM idempotency_records "
                              "WHERE request_id = CAST(:r AS uuid)", r=request_id))


async def refused_as_reused_and_missing(call, request: Message,  # type: ignore[no-untyped-def]
                                        other: Message) -> None:
    """`other` is `request` changed, under the same id: refused; no id at all: named."""
    with rpc_error() as failure:
        await call(other)
    assert (failure.code, failure.reason, failure.fields) == (
        grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED", ["request_id"])
    missing = type(request)()
    missing.CopyFrom(request)
    missing.ClearField("request_id")
    with rpc_error() as failure:
        await call(missing)
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["request_id"])
    missing.request_id = "not-a-uuid"
    with rpc_error() as failure:
        await call(missing)
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["request_id"])


async def test_create_api_key_once_and_its_secret_sealed(app, admin, client_for):
    keys_before = await scalar(app, "SELECT count(*) FROM api_keys")
    request = A.CreateApiKeyRequest(request_id=rid(), name="till 9",
                                    kind=A.PRINCIPAL_KIND_OPERATOR, roles=["operator"])
    first = await admin.admin.CreateApiKey(request)
    again = await admin.admin.CreateApiKey(request)
    assert again == first  # the same key, the same secret, the same create_time
    assert await scalar(app, "SELECT count(*) FROM api_keys") == keys_before + 1
    assert await audit_rows(app, "api_key", "create") == 1
    echo = await client_for(again.secret).admin.Echo(A.EchoRequest())
    assert echo.principal == "operator:till 9"

    stored = await stored_answer(app, request.request_id)
    assert first.secret.encode() not in stored and first.key_id.encode() not in stored
    assert base64.b64encode(first.secret.encode())[:16] not in stored
    assert first.SerializeToString(deterministic=True) != stored

    other = A.CreateApiKeyRequest()
    other.CopyFrom(request)
    other.name = "till 10"
    await refused_as_reused_and_missing(admin.admin.CreateApiKey, request, other)
    assert await scalar(app, "SELECT count(*) FROM api_keys") == keys_before + 1


async def test_rotate_api_key_once(app, admin, client_for):
    made = await admin.admin.CreateApiKey(A.CreateApiKeyRequest(
        request_id=rid(), name="1C", kind=A.PRINCIPAL_KIND_INTEGRATOR, roles=["integrator"]))
    request = A.RotateApiKeyRequest(request_id=rid(), key_id=made.key_id)
    first = await admin.admin.RotateApiKey(request)
    again = await admin.admin.RotateApiKey(request)  # the answer was lost: retried
    assert again == first and first.secret != made.secret
    assert await audit_rows(app, "api_key", "rotate") == 1
    # rotated once: the secret the caller holds works, and so does the first one (grace)
    assert (await client_for(again.secret).admin.Echo(A.EchoRequest())).principal
    assert (await client_for(made.secret).admin.Echo(A.EchoRequest())).principal
    stored = await stored_answer(app, request.request_id)
    assert first.secret.encode() not in stored

    other = A.RotateApiKeyRequest()
    other.CopyFrom(request)
    other.grace_period.seconds = 0
    await refused_as_reused_and_missing(admin.admin.RotateApiKey, request, other)
    assert await audit_rows(app, "api_key", "rotate") == 1
    assert (await client_for(made.secret).admin.Echo(A.EchoRequest())).principal

    revoke = A.RevokeApiKeyRequest(request_id=rid(), key_id=made.key_id)
    assert await admin.admin.RevokeApiKey(revoke) == await admin.admin.RevokeApiKey(revoke)
    assert await audit_rows(app, "api_key", "revoke") == 1


def auditor(description: str = "reads the audit") -> RP.Role:
    return RP.Role(name="auditor", description=description,
                   grants=[RP.Grant(object_type="audit", action="read")])


async def test_upsert_and_delete_role_once(app, admin):
    request = RP.UpsertRoleRequest(request_id=rid(), role=auditor())
    first = await admin.roles.UpsertRole(request)
    assert await admin.roles.UpsertRole(request) == first
    assert await audit_rows(app, "role", "upsert") == 1
    await refused_as_reused_and_missing(
        admin.roles.UpsertRole, request,
        RP.UpsertRoleRequest(request_id=request.request_id, role=auditor("other")))
    listed = await admin.roles.ListRoles(RP.ListRolesRequest())
    assert [r.description for r in listed.roles if r.name == "auditor"] == ["reads the audit"]

    delete = RP.DeleteRoleRequest(request_id=rid(), name="auditor")
    await admin.roles.DeleteRole(delete)
    await admin.roles.DeleteRole(delete)  # a retry: the first answer, not ROLE_NOT_FOUND
    assert await audit_rows(app, "role", "delete") == 1
    await refused_as_reused_and_missing(
        admin.roles.DeleteRole, delete,
        RP.DeleteRoleRequest(request_id=delete.request_id, name="cashier"))
    names = {r.name for r in (await admin.roles.ListRoles(RP.ListRolesRequest())).roles}
    assert "auditor" not in names and "cashier" in names


async def test_create_user_once_and_no_password_digest_in_clear(app, admin):
    request = U.CreateUserRequest(request_id=rid(), name="Olena", email="olena@shop.ua",
                                  roles=["operator"], password=PASSWORD)
    first = await admin.users.CreateUser(request)
    assert await admin.users.CreateUser(request) == first
    assert await scalar(app, "SELECT count(*) FROM operator_users") == 1
    assert await audit_rows(app, "user", "create") == 1
    other = U.CreateUserRequest()
    other.CopyFrom(request)
    other.email = "olha@shop.ua"
    await refused_as_reused_and_missing(admin.users.CreateUser, request, other)
    assert await scalar(app, "SELECT count(*) FROM operator_users") == 1
    # the stored digest is keyed: not the plain SHA-256 anyone could compute from a guess
    digest = bytes(await scalar(app, "SELECT request_hash FROM idempotency_records "
                                "WHERE request_id = CAST(:r AS uuid)", r=request.request_id))
    assert digest != hashlib.sha256(request.SerializeToString(deterministic=True)).digest()

    roles = U.SetUserRolesRequest(request_id=rid(), user_id=first.user.user_id,
                                  roles=["admin"])
    assert await admin.users.SetUserRoles(roles) == await admin.users.SetUserRoles(roles)
    assert await audit_rows(app, "user", "set_roles") == 1
    disable = U.DisableUserRequest(request_id=rid(), user_id=first.user.user_id)
    assert await admin.users.DisableUser(disable) == await admin.users.DisableUser(disable)
    assert await audit_rows(app, "user", "disable") == 1


async def test_enrol_totp_replays_the_same_secret_sealed(app, admin):
    user = (await admin.users.CreateUser(U.CreateUserRequest(
        request_id=rid(), name="Olena", email="olena@shop.ua", roles=["operator"],
        password=PASSWORD))).user
    request = U.EnrolTotpRequest(request_id=rid(), user_id=user.user_id)
    first = await admin.users.EnrolTotp(request)
    again = await admin.users.EnrolTotp(request)
    assert first.secret and again == first  # not a second, different secret
    assert await audit_rows(app, "user", "enrol_totp") == 1
    stored = await stored_answer(app, request.request_id)
    assert first.secret.encode() not in stored
    assert first.provisioning_uri.encode() not in stored


async def test_set_member_vip_once(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    request = M.SetMemberVipRequest(request_id=rid(), member_id=member.member_id, vip=True)
    first = await admin.members.SetMemberVip(request)
    assert first.member.vip and await admin.members.SetMemberVip(request) == first
    assert await audit_rows(app, "member", "set_vip") == 1
    await refused_as_reused_and_missing(
        admin.members.SetMemberVip, request,
        M.SetMemberVipRequest(request_id=request.request_id, member_id=member.member_id))
    assert await scalar(app, "SELECT vip FROM members WHERE id = CAST(:m AS uuid)",
                        m=member.member_id) is True


async def test_upsert_store_once(app, admin):
    request = A.UpsertStoreRequest(request_id=rid(), store=A.Store(
        code="kyiv-09", name="Kyiv 9", network_codes=["kyiv"], time_zone="Europe/Kyiv"))
    first = await admin.admin.UpsertStore(request)
    assert await admin.admin.UpsertStore(request) == first
    assert await audit_rows(app, "store", "upsert") == 1
    other = A.UpsertStoreRequest()
    other.CopyFrom(request)
    other.store.name = "Kyiv 9 (renamed)"
    await refused_as_reused_and_missing(admin.admin.UpsertStore, request, other)
    assert await scalar(app, "SELECT name FROM stores WHERE code = 'kyiv-09'") == "Kyiv 9"


async def test_apply_rule_set_retry_does_not_reactivate_an_older_set(app, admin):
    older = DEMO
    newer = DEMO.replace('percent: "10%"', 'percent: "11%"')
    assert newer != older
    request = A.ApplyRuleSetRequest(request_id=rid(), document=older)
    first = await admin.admin.ApplyRuleSet(request)
    second = await admin.admin.ApplyRuleSet(A.ApplyRuleSetRequest(request_id=rid(),
                                                                  document=newer))
    assert await admin.admin.ApplyRuleSet(request) == first  # the late retry of the first
    assert app.deps.pricing.snapshot.rules.version == second.version
    assert await audit_rows(app, "rule_set", "apply") == 2
