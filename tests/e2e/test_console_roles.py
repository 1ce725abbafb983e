"""The console's roles over plain HTTP: create, edit, delete through RoleService (CSRF, the
permission, the audit), and refusals that change nothing."""

from __future__ import annotations

import re

import aiohttp
from kopilka.v1 import admin_pb2, audit_pb2
from kopilka.v1 import roles_pb2 as R

from server.access import service as access
from server.api.servicers.users import access_policy
from server.db.access.repo import SqlUserRepository
from tests.e2e.console_support import PASSWORD, base_url, http_login, make_user, settings
from tests.helpers import rid

__all__ = ["settings"]


async def stored(admin, name: str) -> R.Role | None:  # type: ignore[no-untyped-def]
    roles = (await admin.roles.ListRoles(R.ListRolesRequest())).roles
    return next((r for r in roles if r.name == name), None)


def rights(role: R.Role | None) -> set[str]:
    assert role is not None
    return {f"{g.object_type}.{g.action}@{g.scope}" for g in role.grants}


async def test_roles_are_created_edited_and_deleted_with_refusals_changing_nothing(
        app, admin):
    await make_user(app, "boss@shop.ua", "admin")
    url = base_url(app) + "/lists/roles"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, base_url(app), "boss@shop.ua")
        async with http.get(url) as page:
            html = await page.text()
        assert 'id="role-form"' in html and 'id="delete-cashier"' in html
        # the checkboxes name each right's permissions; the admin role's are ticked
        assert re.search(r'value="points.create" id="grant-points-create">\s*create '
                         r'<small>\(bonus.adjust\)</small>', html)
        async with http.get(url + "?edit=admin") as page:
            assert 'value="roles.delete" id="grant-roles-delete" checked' in await page.text()
        form = {"name": "auditor", "description": "Reads the log",
                "grant": ["audit.read", "members.read"], "scope_audit": "network",
                "member_fields": "first_name", "mask_phone": "1"}
        async with http.post(url, data=form) as no:
            assert no.status == 403  # no CSRF token
        assert await stored(admin, "auditor") is None
        posted = {**form, "csrf": csrf, "request_id": rid()}
        for _ in range(2):  # the second post of the same form (same request id) is a retry
            async with http.post(url, data=posted, allow_redirects=False) as done:
                assert done.status == 303
                assert done.headers["Location"].endswith("?edit=auditor")
        role = await stored(admin, "auditor")
        assert rights(role) == {"audit.read@network", "members.read@all"}
        assert role is not None and role.member_fields == ["first_name"] and role.mask_phone
        async with http.get(url + "?edit=auditor") as page:
            html = await page.text()
        assert 'value="audit.read" id="grant-audit-read" checked' in html
        assert 'id="grant-audit-export">' in html  # not ticked
        assert '<option value="network" selected>' in html
        # an unknown right is named at the rights, an empty code at the code: nothing changes
        for bad, at in (({"grant": ["audit.read", "audit.fly"]}, "grants-error"),
                        ({"name": ""}, "name-error"), ({"scope_audit": "galaxy"},
                                                       "grants-error")):
            async with http.post(url, data={**form, "csrf": csrf, "request_id": rid(),
                                            **bad}) as refused:
                text = await refused.text()
                assert refused.status == 400, text
                assert f'id="{at}"' in text, (bad, text)
            assert rights(await stored(admin, "auditor")) == {"audit.read@network",
                                                              "members.read@all"}
        async with http.post(url, data={**form, "csrf": csrf, "request_id": rid(),
                                        "grant": ["audit.read"], "member_fields": []},
                             allow_redirects=False) as done:
            assert done.status == 303
        role = await stored(admin, "auditor")
        assert rights(role) == {"audit.read@network"} and role is not None
        assert list(role.member_fields) == []
        # taking the last administrator's rights away is refused above the form
        before = rights(await stored(admin, "admin"))
        async with http.post(url, data={"csrf": csrf, "request_id": rid(), "name": "admin",
                                        "grant": ["audit.read"]}) as refused:
            text = await refused.text()
            assert refused.status == 409 and 'id="role-error"' in text, text
            assert "nobody could change them" in text  # LAST_ADMIN_LOCKOUT
        assert rights(await stored(admin, "admin")) == before
        # a role a live key holds is not deleted: the refusal shows at its row
        key = await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
            name="log reader", kind=admin_pb2.PRINCIPAL_KIND_INTEGRATOR, roles=["auditor"]))
        async with http.post(url + "/auditor/delete",
                             data={"csrf": csrf, "request_id": rid()}) as refused:
            text = await refused.text()
            assert refused.status == 409 and 'id="delete-error"' in text, text
            assert "live key" in text
        assert await stored(admin, "auditor") is not None
        await admin.admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(
            request_id=rid(), key_id=key.key_id))
        async with http.post(url + "/auditor/delete", data={"csrf": "wrong"}) as no:
            assert no.status == 403
        async with http.post(url + "/auditor/delete", data={"csrf": csrf, "request_id": rid()},
                             allow_redirects=False) as done:
            assert done.status == 303
        assert await stored(admin, "auditor") is None
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="role", object_id="auditor"))
    assert [(e.principal, e.action) for e in trail.entries] == [
        ("operator:boss@shop.ua", "delete"), ("operator:boss@shop.ua", "upsert"),
        ("operator:boss@shop.ua", "upsert")]


async def test_without_the_right_no_forms_and_posts_are_refused(app, admin):
    await make_user(app, "anna@shop.ua", "operator")  # operator: no roles.read
    await admin.roles.UpsertRole(R.UpsertRoleRequest(request_id=rid(), role=R.Role(
        name="reader", grants=[R.Grant(object_type=o, action="read")
                               for o in ("roles", "members")])))  # the sign-in lands on members
    async with app.db.transaction() as session:
        await access.create_user(SqlUserRepository(session), access_policy(app.settings),
                                 {"reader"}, name="lena", email="lena@shop.ua",
                                 roles=["reader"], password=PASSWORD, now=app.deps.clock())
    url = base_url(app) + "/lists/roles"
    for email in ("anna@shop.ua", "lena@shop.ua"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await http_login(http, base_url(app), email)
            async with http.get(url) as page:
                html = await page.text()
                if email == "lena@shop.ua":  # may read the list, not change it
                    assert page.status == 200 and "cashier" in html
                else:
                    assert page.status == 403
                assert 'id="role-form"' not in html and "/delete" not in html
            async with http.post(url, data={"csrf": csrf, "name": "cashier",
                                            "grant": "audit.read"}) as refused:
                assert refused.status == 403, email
            async with http.post(url + "/cashier/delete", data={"csrf": csrf}) as refused:
                assert refused.status == 403, email
    cashier = await stored(admin, "cashier")
    assert "orders.create@all" in rights(cashier) and "audit.read@all" not in rights(cashier)
