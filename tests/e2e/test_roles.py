"""Roles as data (issue 12): the seeded roles keep exactly the rights the five hard-coded
roles had, a role changed over RoleService or `kopilka roles` takes effect, and the guards
refuse bad roles, locking out the last admin and deleting a role keys still hold.
Through the generated client on a real server."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import message_factory
from kopilka.cli import SERVICES
from kopilka.v1 import admin_pb2
from kopilka.v1 import roles_pb2 as RP

from server.auth.permissions import NEEDS, RPC_PERMISSIONS, Permission
from server.auth.principal import PrincipalKind
from tests.cli import kopilka
from tests.helpers import rid, rpc_error

P = Permission

# The five roles as they were hard-coded before roles became data (server/auth/permissions.py
# before issue 12), with the permissions split off since: TopUpCashAccount/PoolCashAccounts
# (CASH_ACCOUNTS_MANAGE) were BONUS_ADJUST, ApplyRuleSet (PROMOTIONS_WRITE) was CONFIG_WRITE,
# and the new RoleService and SetMemberVip are the admin's, like keys.
_POS = {P.ECHO, P.RECEIPTS_CALCULATE, P.RECEIPTS_CONFIRM, P.RECEIPTS_REFUND, P.BONUS_READ,
        P.BONUS_REDEEM, P.VERIFICATION_USE, P.MEMBERS_READ, P.MEMBERS_REGISTER,
        P.CERTIFICATES_READ, P.CERTIFICATES_ISSUE}
BEFORE: dict[str, set[Permission]] = {
    "cashier": _POS | {P.WEB_ORDERS_READ, P.WEB_ORDERS_ANSWER},
    # the online store's backend also reports and reads shopping and places orders (issue 13)
    "store_backend": _POS | {P.SHOPPING_REPORT, P.SHOPPING_READ, P.WEB_ORDERS_READ,
                             P.WEB_ORDERS_PLACE, P.WEB_ORDERS_MANAGE},
    "operator": _POS | {P.WEB_ORDERS_READ, P.WEB_ORDERS_PLACE, P.WEB_ORDERS_MANAGE,
                        P.WEB_ORDERS_ANSWER} | {
                        P.BONUS_ADJUST, P.CASH_ACCOUNTS_MANAGE, P.MEMBERS_WRITE, P.CARDS_MANAGE,
                        P.CERTIFICATES_MANAGE, P.CONFIG_READ, P.MAILINGS_READ, P.SHOPPING_READ,
                        # migration 0020: campaigns for the marketing side of the operator
                        P.MARKETING_READ, P.MARKETING_WRITE, P.MARKETING_SEND,
                        # migration 0026: coupons
                        P.COUPONS_READ, P.COUPONS_ISSUE, P.COUPONS_MANAGE,
                        # migration 0027: the contact center
                        P.APPEALS_READ, P.APPEALS_CREATE, P.APPEALS_UPDATE,
                        # migration 0028: surveys
                        P.SURVEYS_READ, P.SURVEYS_INVITE, P.SURVEYS_WRITE},
    "integrator": {P.ECHO, P.CATALOG_WRITE, P.MEMBERS_REGISTER, P.MEMBERS_READ, P.CONFIG_READ,
                   P.IMPORTS_RUN},  # imports: migration 0023
    "admin": set(Permission),
    # the web console's backend (issue 12, people): signs people in, nothing else
    "console": {P.ECHO, P.USERS_LOGIN},
}
CLIENT_ATTRS = {"MemberService": "members", "ReceiptService": "receipts", "BonusService": "bonus",
                "VerificationService": "verification", "CertificateService": "certificates",
                "AdminService": "admin", "MailingService": "mailings", "RoleService": "roles",
                "UserService": "users", "AuditService": "audit", "ShoppingService": "shopping",
                "OrderService": "orders",
                "MarketingService": "marketing",
                "PromotionService": "promotions",
                "ImportService": "imports", "CouponService": "coupons",
                "AppealService": "appeals", "PaymentService": "payments",
                "SocialService": "social",
                "SurveyService": "surveys"}

# One RPC for each (object type, action) an RPC needs: the first in the permission table.
REPRESENTATIVE: dict[Permission, str] = {}
for _rpc, _permission in RPC_PERMISSIONS.items():
    REPRESENTATIVE.setdefault(_permission, _rpc)


async def call_empty(client, rpc: str):  # type: ignore[no-untyped-def]
    """Call `rpc` with an empty request: enough to see whether the key gets past the
    permission check (an allowed call then fails on the missing fields, or succeeds)."""
    _, service, method = rpc.split("/")
    name = service.rsplit(".", 1)[1]
    _, descriptor = SERVICES[name]
    request = message_factory.GetMessageClass(descriptor.methods_by_name[method].input_type)()
    stub = getattr(client, CLIENT_ATTRS[name])
    rpc_method = descriptor.methods_by_name[method]
    try:
        if rpc_method.server_streaming:  # read the stream's first answer (or its error)
            call = getattr(stub, method)(iter([request]) if rpc_method.client_streaming
                                         else request)
            await call.read()
        else:
            await getattr(stub, method)(request)
    except grpc.aio.AioRpcError as error:
        return error
    return None


def denied(error: grpc.aio.AioRpcError | None) -> bool:
    return error is not None and error.code() == grpc.StatusCode.PERMISSION_DENIED \
        and "lacks permission" in (error.details() or "")


@pytest.mark.parametrize("role", sorted(BEFORE))
async def test_each_seeded_role_may_call_exactly_what_it_could_before(
        role, make_key, client_for):
    client = client_for(await make_key(role))
    wrong = []
    for permission, rpc in sorted(REPRESENTATIVE.items()):
        error = await call_empty(client, rpc)
        should = permission in BEFORE[role]
        if denied(error) == should:
            wrong.append(f"{rpc} ({NEEDS[permission]}): {'denied' if should else 'allowed'}")
    assert wrong == []


async def test_the_seeded_roles_are_listed_with_their_rights_and_views(admin):
    roles = {r.name: r for r in (await admin.roles.ListRoles(RP.ListRolesRequest())).roles}
    assert set(roles) == set(BEFORE)
    for name, role in roles.items():
        rights = {(g.object_type, g.action) for g in role.grants}
        expected = {NEEDS[p] for p in BEFORE[name] if NEEDS[p] is not None}
        if name == "admin":
            assert len(rights) == 23 * 6  # every action on every object type
        else:
            assert rights == expected, name
        assert {g.scope for g in role.grants} == {"all"}
        assert role.updated_by == "migration 0014" and role.update_time.seconds > 0
    sale = (["first_name", "phone"], True)
    for name in ("cashier", "store_backend", "integrator"):
        assert (list(roles[name].member_fields), roles[name].mask_phone) == sale
    assert len(roles["operator"].member_fields) == 10 and not roles["operator"].mask_phone


def grant(spec: str) -> RP.Grant:
    right, _, scope = spec.partition("@")
    object_type, action = right.split(".")
    return RP.Grant(object_type=object_type, action=action, scope=scope)


def role(name: str, *grants: str, fields: tuple[str, ...] = (), mask: bool = True) -> RP.Role:
    return RP.Role(name=name, grants=[grant(g) for g in grants], member_fields=list(fields),
                   mask_phone=mask)


async def test_a_custom_role_applied_over_rpc_takes_effect_at_once(admin, make_key, client_for):
    key = await make_key("store_reader")
    reader = client_for(key)
    with rpc_error() as failure:  # a role nobody defined grants nothing
        await reader.admin.ListStores(admin_pb2.ListStoresRequest())
    assert failure.reason == "PERMISSION_DENIED"

    stored = (await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
        "store_reader", "stores.read")))).role
    assert stored.updated_by.endswith(":test admin") and stored.grants[0].scope == "all"
    await reader.admin.ListStores(admin_pb2.ListStoresRequest())  # no restart, no wait
    with rpc_error() as failure:
        await reader.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid()))
    assert failure.reason == "PERMISSION_DENIED"

    await admin.roles.UpsertRole(RP.UpsertRoleRequest(
        request_id=rid(), role=role("store_reader", "catalog.update")))
    with rpc_error() as failure:  # replaced whole: stores.read is gone
        await reader.admin.ListStores(admin_pb2.ListStoresRequest())
    assert failure.reason == "PERMISSION_DENIED"


async def test_a_store_scoped_grant_counts_only_for_keys_bound_to_a_store(
        admin, make_key, client_for):
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(
        request_id=rid(), store=admin_pb2.Store(
        code="kyiv-01", name="Kyiv")))
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
        "till_reader", "stores.read@own_store")))
    till = client_for(await make_key("till_reader", kind=PrincipalKind.TERMINAL,
                                     store_code="kyiv-01", terminal_id="t1"))
    everywhere = client_for(await make_key("till_reader"))
    await till.admin.ListStores(admin_pb2.ListStoresRequest())
    with rpc_error() as failure:
        await everywhere.admin.ListStores(admin_pb2.ListStoresRequest())
    assert failure.reason == "PERMISSION_DENIED"


async def test_a_new_key_may_hold_a_custom_role_but_not_an_unknown_one(admin):
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(
        request_id=rid(), role=role("auditor", "audit.read")))
    made = await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
        name="auditor", kind=admin_pb2.PRINCIPAL_KIND_OPERATOR, roles=["auditor"]))
    assert made.secret
    with rpc_error() as failure:
        await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
            name="x", kind=admin_pb2.PRINCIPAL_KIND_OPERATOR, roles=["auditor", "nobody"]))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["roles[1]"])


async def roles_now(admin) -> list[RP.Role]:  # type: ignore[no-untyped-def]
    return list((await admin.roles.ListRoles(RP.ListRolesRequest())).roles)


async def test_a_bad_role_is_refused_naming_each_field_and_nothing_is_written(admin):
    before = await roles_now(admin)
    with rpc_error() as failure:
        await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
            "helpdesk", "members.read", "memberz.read", "members.steal", "cards.read@galaxy",
            fields=("first_name", "shoe_size"))))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["role.grants[1].object_type", "role.grants[2].action",
                              "role.grants[3].scope", "role.member_fields[1]"]
    with rpc_error() as failure:
        await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid()))
    assert failure.fields == ["role"]
    assert await roles_now(admin) == before


async def test_the_last_admin_cannot_be_locked_out(admin, make_key, client_for):
    before = await roles_now(admin)
    # Taking keys.update from the only role that has it (the only admin key's) is refused.
    with rpc_error() as failure:
        await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
            "admin", "roles.update", "roles.read", "roles.delete")))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "LAST_ADMIN_LOCKOUT")
    # A role with both rights that no key holds does not help: nobody could use it.
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
        "keymaster", "roles.update", "keys.update")))
    with rpc_error() as failure:
        await admin.roles.UpsertRole(RP.UpsertRoleRequest(
            request_id=rid(), role=role("admin", "roles.read")))
    assert failure.reason == "LAST_ADMIN_LOCKOUT"
    assert [r for r in await roles_now(admin) if r.name == "admin"] == \
        [r for r in before if r.name == "admin"]
    # Once a live key holds it, the old admin role may shrink; the new one may not.
    keymaster = client_for(await make_key("keymaster"))
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(
        request_id=rid(), role=role("admin", "roles.read")))
    with rpc_error() as failure:
        await keymaster.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
            "keymaster", "roles.update")))
    assert failure.reason == "LAST_ADMIN_LOCKOUT"


async def test_a_role_keys_hold_is_not_deleted_and_an_unused_one_is(admin, make_key):
    await make_key("cashier")
    with rpc_error() as failure:
        await admin.roles.DeleteRole(RP.DeleteRoleRequest(request_id=rid(), name="cashier"))
    assert (failure.code, failure.reason, failure.metadata["keys"]) == (
        grpc.StatusCode.FAILED_PRECONDITION, "ROLE_IN_USE", "1")
    assert "cashier" in {r.name for r in await roles_now(admin)}
    await admin.roles.DeleteRole(RP.DeleteRoleRequest(request_id=rid(), name="store_backend"))
    assert "store_backend" not in {r.name for r in await roles_now(admin)}
    with rpc_error() as failure:
        await admin.roles.DeleteRole(RP.DeleteRoleRequest(request_id=rid(), name="store_backend"))
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "ROLE_NOT_FOUND")


async def test_roles_from_the_command_line(app, admin, make_key, client_for, database_url,
                                           tmp_path):
    code, out, _ = await kopilka(database_url, "roles", "list")
    assert code == 0
    listed = {r["name"]: r for r in json.loads(out)["roles"]}
    assert listed["cashier"]["member_fields"] == ["first_name", "phone"]

    good = tmp_path / "roles.yaml"
    good.write_text("roles:\n  - name: store_reader\n    grants: [stores.read]\n"
                    "  - name: mailer\n    grants:\n      - {object_type: mailings, "
                    "action: read, scope: network}\n    member_fields: [email]\n")
    code, out, _ = await kopilka(database_url, "roles", "apply", str(good))
    assert code == 0 and "applied 2 role(s)" in out
    async with app.db.transaction() as session:  # who changed which role's rights, as the RPC
        from sqlalchemy import text

        rows = (await session.execute(text(
            "SELECT object_id, principal, request_id IS NOT NULL, after->'grants' "
            "FROM audit_log WHERE object_type = 'role' AND action = 'upsert' "
            "ORDER BY object_id"))).all()
    assert [(r[0], r[1].startswith("cli:"), r[2], r[3]) for r in rows] == [
        ("mailer", True, True, ["mailings.read@network"]),
        ("store_reader", True, True, ["stores.read@all"])]
    from server.features.roles import refresh

    await refresh(app.db, app.deps.roles)  # what the poll does every roles_refresh_seconds
    reader = client_for(await make_key("store_reader"))
    await reader.admin.ListStores(admin_pb2.ListStoresRequest())

    bad = tmp_path / "bad.yaml"
    bad.write_text("roles:\n  - name: fine\n    grants: [stores.read]\n"
                   "  - name: broken\n    grants: [stores.fly]\n")
    code, _, err = await kopilka(database_url, "roles", "apply", str(bad))
    assert code == 2 and "roles[1].grants[0].action" in err
    lockout = tmp_path / "lockout.yaml"
    lockout.write_text("name: admin\ngrants: [roles.read]\n")
    code, _, err = await kopilka(database_url, "roles", "apply", str(lockout))
    assert code == 2 and "LAST_ADMIN_LOCKOUT" in err
    code, out, _ = await kopilka(database_url, "roles", "list")
    assert "fine" not in {r["name"] for r in json.loads(out)["roles"]}  # all or nothing

    code, _, err = await kopilka(database_url, "roles", "delete", "store_reader")
    assert code == 2 and "ROLE_IN_USE" in err
    code, out, _ = await kopilka(database_url, "roles", "delete", "mailer")
    assert code == 0


async def test_a_role_only_console_users_hold_is_not_deleted(app, admin):
    from sqlalchemy import text

    from tests.e2e.console_support import make_user

    # no live key holds store_backend; an enabled console user does
    await make_user(app, "shop-desk@example.com", "store_backend")
    with rpc_error() as failure:
        await admin.roles.DeleteRole(RP.DeleteRoleRequest(request_id=rid(), name="store_backend"))
    assert (failure.reason, failure.metadata["keys"], failure.metadata["users"]) == (
        "ROLE_IN_USE", "0", "1")
    assert "store_backend" in {r.name for r in await roles_now(admin)}
    async with app.db.transaction() as session:  # a disabled user holds nothing
        await session.execute(text("UPDATE operator_users SET disabled_at = now() "
                                   "WHERE email = 'shop-desk@example.com'"))
    await admin.roles.DeleteRole(RP.DeleteRoleRequest(request_id=rid(), name="store_backend"))
    assert "store_backend" not in {r.name for r in await roles_now(admin)}
