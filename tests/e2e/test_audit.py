"""The audit trail through the generated client: a row for every wired change, masking on
read, append-only, and `kopilka audit verify` catching a row changed behind the server."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from kopilka.v1 import admin_pb2, audit_pb2, bonus_pb2, members_pb2
from kopilka.v1 import certificates_pb2 as C
from kopilka.v1 import roles_pb2 as RP

from tests.cli import kopilka
from tests.e2e.certificates_helpers import issue, money_type, rid, upsert_type
from tests.e2e.ledger_support import STORE, give_points, new_member, setup_world
from tests.helpers import rpc_error

A = audit_pb2
M = members_pb2


async def entries(client, **filters) -> list[A.AuditEntry]:  # type: ignore[no-untyped-def]
    """Every entry matching the filters, walking the pages (newest first)."""
    found: list[A.AuditEntry] = []
    token = ""
    while True:
        page = await client.audit.ListAudit(A.ListAuditRequest(
            page={"page_size": 3, "page_token": token}, **filters))
        found += page.entries
        token = page.page.next_page_token
        if not token:
            return found


def kinds(rows: list[A.AuditEntry]) -> set[tuple[str, str]]:
    return {(e.object_type, e.action) for e in rows}


async def test_every_wired_change_leaves_an_audit_row(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    other = await new_member(admin, 2)
    update = M.UpdateMemberProfileRequest(
        request_id=rid(), member_id=member.member_id, source="call center",
        profile=M.MemberProfile(last_name="Koval"), update_fields=["last_name"])
    await admin.members.UpdateMemberProfile(update)
    issued = await admin.members.IssueCard(M.IssueCardRequest(
        request_id=rid(), member_id=member.member_id, card_type="silver"))
    await admin.members.ChangeCardState(M.ChangeCardStateRequest(
        request_id=rid(), card_number=issued.card.number, state=M.CARD_STATE_ACTIVE))
    await admin.members.ReplaceCard(M.ReplaceCardRequest(
        request_id=rid(), card_number=issued.card.number, reason="lost"))
    await give_points(admin, member, 50)
    await admin.bonus.AccruePointsForList(bonus_pb2.AccruePointsForListRequest(
        request_id=rid(), card_numbers=[member.card, other.card], points=5, reason="list"))
    await admin.bonus.TopUpCashAccount(bonus_pb2.TopUpCashAccountRequest(
        request_id=rid(), card_number=member.card, amount_minor=300, reason="desk",
        reason_code=bonus_pb2.ADJUSTMENT_REASON_DEPOSIT))
    await admin.bonus.PoolCashAccounts(bonus_pb2.PoolCashAccountsRequest(
        request_id=rid(), card_numbers=[member.card, other.card]))
    await upsert_type(admin, money_type())
    [printed] = await issue(admin, print_only=True, store=STORE)
    await admin.certificates.ActivateCertificate(C.ActivateCertificateRequest(
        request_id=rid(), number=printed.number, store_code=STORE))
    await admin.certificates.BlockCertificate(C.BlockCertificateRequest(
        request_id=rid(), number=printed.number, reason="stolen"))
    await admin.certificates.ReissueCertificate(C.ReissueCertificateRequest(
        request_id=rid(), number=printed.number, reason="stolen"))
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(request_id=rid(),
        document="name: empty\nrules: []\n"))
    await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
        name="till 9", kind=admin_pb2.PRINCIPAL_KIND_OPERATOR, roles=["operator"]))

    rows = await entries(admin)
    assert kinds(rows) >= {
        ("store", "upsert"), ("card_type", "upsert"), ("member", "register"),
        ("member", "update_profile"), ("card", "issue"), ("card", "state"),
        ("card", "replace"), ("manual_adjustment", "apply"), ("points_list_accrual", "accrue"),
        ("cash_pool", "pool"), ("certificate_type", "upsert"), ("certificate", "issue"),
        ("certificate", "activate"), ("certificate", "block"), ("certificate", "reissue"),
        ("rule_set", "apply"), ("api_key", "create")}
    assert [e.id for e in rows] == sorted((e.id for e in rows), reverse=True)
    assert all(e.principal == "operator:test admin" and e.key_id for e in rows)
    [profile] = [e for e in await entries(admin, object_type="member",
                                          object_id=member.member_id,
                                          principal="operator:test admin")
                 if e.action == "update_profile"]
    assert profile.request_id == update.request_id
    assert json.loads(profile.before_json) == {"last_name": ""}
    assert json.loads(profile.after_json) == {"last_name": "Koval", "source": "call center"}
    [key] = await entries(admin, object_type="api_key")
    assert "secret" not in key.after_json and json.loads(key.after_json)["roles"] == ["operator"]


async def test_personal_fields_are_stored_and_masked_for_viewers_without_the_right(
        app, admin, make_key, client_for, monkeypatch):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await admin.members.UpdateMemberProfile(M.UpdateMemberProfileRequest(
        request_id=rid(), member_id=member.member_id, source="form",
        profile=M.MemberProfile(last_name="Koval", email="olena@example.com"),
        update_fields=["last_name", "email"]))
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=RP.Role(
        name="auditor", grants=[RP.Grant(object_type="audit", action="read")],
        member_fields=["first_name", "phone"], mask_phone=True)))
    auditor = client_for(await make_key("auditor"))

    full = await entries(admin, object_type="member", object_id=member.member_id)
    seen = await entries(auditor, object_type="member", object_id=member.member_id)
    registered = {e.action: json.loads(e.after_json) for e in full}
    masked = {e.action: json.loads(e.after_json) for e in seen}
    assert registered["register"]["profile"]["phone"] == "+380670000001"
    assert masked["register"]["profile"]["phone"] == "+38067***0001"
    assert masked["register"]["profile"]["first_name"] == "M"
    assert registered["update_profile"]["email"] == "olena@example.com"
    assert masked["update_profile"] == {"last_name": "***", "email": "***", "source": "form"}

    cashier = client_for(await make_key("cashier"))
    with rpc_error() as failure:
        await cashier.audit.ListAudit(A.ListAuditRequest())
    assert failure.reason == "PERMISSION_DENIED"


async def test_time_filters_and_bad_pages(app, admin):
    await setup_world(admin)
    rows = await entries(admin)
    newest = rows[0]
    until = await entries(admin, to_time=newest.create_time)
    assert newest.id not in {e.id for e in until} and len(until) == len(rows) - 1
    since = await entries(admin, from_time=newest.create_time)
    assert [e.id for e in since] == [newest.id]
    with rpc_error() as failure:
        await admin.audit.ListAudit(A.ListAuditRequest(page={"page_token": "nonsense!"}))
    assert failure.fields == ["page.page_token"]


async def test_audit_rows_cannot_be_updated_or_deleted(app, admin, database_url):
    await setup_world(admin)
    conn = await asyncpg.connect(database_url)
    try:
        for statement in ("UPDATE audit_log SET principal = 'nobody'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"):
            with pytest.raises(asyncpg.PostgresError, match="append-only") as refused:
                await conn.execute(statement)
            assert refused.value.sqlstate == "KL010"
        assert await conn.fetchval("SELECT count(*) FROM audit_log") > 0
    finally:
        await conn.close()


async def _behind_the_server(database_url: str, statement: str) -> None:
    """What a superuser could do: switch the guard off, change history, switch it on."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            await conn.execute(statement)
            await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    finally:
        await conn.close()


async def test_verify_finds_a_row_changed_or_removed_behind_the_server(app, admin,
                                                                       database_url):
    await setup_world(admin)
    member = await new_member(admin, 1)
    # concurrent writers: each chain still follows id order (its lock is held to the commit)
    await asyncio.gather(*(give_points(admin, member, n) for n in range(1, 9)))
    conn = await asyncpg.connect(database_url)
    try:
        # a chain of its own: the rows of a transaction that stayed open meanwhile
        async with conn.transaction():
            await conn.execute("SELECT kopilka_audit_append('test', NULL, NULL, 'probe', "
                               "'p', 'create', NULL, NULL) FROM generate_series(1, 3)")
            await give_points(admin, member, 9)
        rows = await conn.fetch("SELECT id, chain FROM audit_log ORDER BY id")
    finally:
        await conn.close()
    code, out, err = await kopilka(database_url, "audit", "verify")
    assert code == 0, err
    chains = {r["chain"] for r in rows}
    assert f"{len(rows)} audit rows verified in {len(chains)} chain(s)" in out
    assert len(chains) >= 2
    for chain in chains:  # each chain's head is printed
        head = max(r["id"] for r in rows if r["chain"] == chain)
        assert f"chain {chain}: head {head} " in out
    ids = [r["id"] for r in rows]
    assert len(ids) >= 12
    chain_of = {r["id"]: r["chain"] for r in rows}
    # a row in the middle of its chain (a chain's head removed leaves a valid shorter chain)
    target, after = next((i, min(later)) for i in ids[5:] if (later := [
        j for j in ids if j > i and chain_of[j] == chain_of[i]]))

    await _behind_the_server(database_url,
                             f"UPDATE audit_log SET after = '{{\"amount\": 1000000}}' "
                             f"WHERE id = {target}")
    code, out, _ = await kopilka(database_url, "audit", "verify")
    assert code == 1
    assert f"BROKEN audit row {target}" in out

    await _behind_the_server(database_url, f"DELETE FROM audit_log WHERE id = {target}")
    code, out, _ = await kopilka(database_url, "audit", "verify")
    assert code == 1
    assert f"BROKEN audit row {after}" in out  # the next row of the removed one's chain

    code, out, err = await kopilka(database_url, "audit")  # the balance check stays
    assert code == 0, err
    assert "accounts checked" in out


async def test_audited_changes_do_not_wait_for_each_others_commit(app, admin, database_url):
    """A transaction that wrote an audit row and is still open (a slow change) holds only its
    own chain: other audited changes go ahead on other chains, and its rows share one."""
    await setup_world(admin)
    member = await new_member(admin, 1)
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            ids = [await conn.fetchval("SELECT kopilka_audit_append('test', NULL, NULL, "
                                       "'probe', $1, 'create', NULL, NULL)", str(n))
                   for n in range(2)]
            # with one lock for the whole trail this would wait for the commit below
            await asyncio.wait_for(give_points(admin, member, 5), timeout=60)
            held = await conn.fetch("SELECT DISTINCT chain FROM audit_log "
                                    "WHERE id = ANY($1::bigint[])", ids)
            meanwhile = await conn.fetch("SELECT DISTINCT chain FROM audit_log WHERE id > $1",
                                         ids[-1])  # the points' rows, committed already
    finally:
        await conn.close()
    assert len(held) == 1 and meanwhile
    assert held[0]["chain"] not in {r["chain"] for r in meanwhile}
    code, _, err = await kopilka(database_url, "audit", "verify")
    assert code == 0, err


async def test_cli_and_jobs_record_themselves(app, admin, database_url, tmp_path):
    code, _, err = await kopilka(database_url, "apikey", "create", "--name", "ops",
                                 "--kind", "operator", "--role", "operator")
    assert code == 0, err
    [key] = await entries(admin, object_type="api_key")
    assert key.principal.startswith("cli:") and not key.key_id
    assert json.loads(key.after_json)["name"] == "ops"
    uuid.UUID(key.object_id)

    await setup_world(admin)
    await upsert_type(admin, money_type())
    code, _, err = await kopilka(database_url, "certificates", "issue", "--type", "gift",
                                 "--count", "2", "--store", STORE, "--denomination", "100000")
    assert code == 0, err
    issued = await entries(admin, object_type="certificate")
    assert len(issued) == 2 and all(e.principal.startswith("cli:") for e in issued)


async def test_a_job_step_that_changed_something_leaves_one_row(app, admin, database_url):
    import datetime as dt

    from google.protobuf.timestamp_pb2 import Timestamp

    await setup_world(admin)
    member = await new_member(admin, 1)
    now = dt.datetime.now(dt.UTC)
    later = Timestamp()
    later.FromDatetime(now + dt.timedelta(hours=1))
    await admin.bonus.AccruePointsForList(bonus_pb2.AccruePointsForListRequest(
        request_id=rid(), card_numbers=[member.card], points=5, reason="later",
        activation_time=later))
    run_at = (now + dt.timedelta(hours=2)).isoformat()
    code, _, err = await kopilka(database_url, "ledger", "run-jobs", "--now", run_at)
    assert code == 0, err
    [step] = await entries(admin, object_type="job_step")
    assert (step.object_id, step.action) == ("activated", "run")
    assert step.principal.startswith("cli:") and json.loads(step.after_json)["count"] == 1
    code, _, err = await kopilka(database_url, "ledger", "run-jobs", "--now", run_at)
    assert code == 0, err
    assert len(await entries(admin, object_type="job_step")) == 1  # nothing changed: no row


async def test_people_roles_keys_and_products_are_audited_without_secrets(app, admin):
    from kopilka.v1 import users_pb2 as U

    user = (await admin.users.CreateUser(U.CreateUserRequest(request_id=rid(),
        name="Olena", email="olena@example.com", roles=["operator"],
        password="correct horse battery staple"))).user
    await admin.users.SetUserRoles(U.SetUserRolesRequest(
        request_id=rid(), user_id=user.user_id, roles=["admin"]))
    await admin.users.DisableUser(U.DisableUserRequest(request_id=rid(), user_id=user.user_id))
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=RP.Role(
        name="auditor", grants=[RP.Grant(object_type="audit", action="read")],
        member_fields=["first_name"], mask_phone=True)))
    await admin.roles.DeleteRole(RP.DeleteRoleRequest(request_id=rid(), name="auditor"))
    created = await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
        name="till", kind=admin_pb2.PRINCIPAL_KIND_OPERATOR, roles=["operator"]))
    await admin.admin.RotateApiKey(admin_pb2.RotateApiKeyRequest(
        request_id=rid(), key_id=created.key_id))
    await admin.admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(
        request_id=rid(), key_id=created.key_id))
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku="milk-1", name="Milk", group_code="dairy")]))

    users = await entries(admin, object_type="user", object_id=user.user_id)
    assert [e.action for e in reversed(users)] == ["create", "set_roles", "disable"]
    assert json.loads(users[-1].after_json)["roles"] == ["operator"]
    assert json.loads(users[0].after_json)["disabled"] is True
    roles = await entries(admin, object_type="role", object_id="auditor")
    assert [e.action for e in reversed(roles)] == ["upsert", "delete"]
    assert json.loads(roles[-1].after_json)["grants"] == ["audit.read@all"]
    keys = await entries(admin, object_type="api_key", object_id=created.key_id)
    assert {e.action for e in keys} >= {"rotate", "revoke"}
    [product] = await entries(admin, object_type="product", object_id="milk-1")
    assert json.loads(product.after_json)["name"] == "Milk"
    every = " ".join(e.after_json + e.before_json for e in await entries(admin))
    assert "horse" not in every and "password_hash" not in every and created.secret not in every
