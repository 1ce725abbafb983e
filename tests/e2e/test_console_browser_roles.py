"""The console's roles page in a real browser (Debian's Chromium, as test_console_browser):
a role created with two rights, edited, a refusal at its field, deleted."""

from __future__ import annotations

import pytest
from kopilka.v1 import roles_pb2 as R

from tests.e2e.console_support import base_url, make_user, settings, shots_dir
from tests.e2e.test_console_browser import accessible, browser, page, sign_in

__all__ = ["browser", "page", "settings"]
pytestmark = pytest.mark.one_server


async def grants(admin, name: str) -> set[str] | None:  # type: ignore[no-untyped-def]
    roles = (await admin.roles.ListRoles(R.ListRolesRequest())).roles
    found = [r for r in roles if r.name == name]
    return {f"{g.object_type}.{g.action}" for g in found[0].grants} if found else None


async def test_a_role_is_created_edited_refused_and_deleted(app, admin, page, tmp_path):
    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app, "boss@shop.ua")
    await page.goto(base_url(app) + "/lists/roles")
    await page.fill("#role-name", "auditor")
    await page.fill("#role-description", "Читає журнал змін")
    await page.check("#grant-audit-read")
    await page.check("#grant-members-read")
    await page.check("#field-first_name")
    await page.click("#role-save")
    await page.wait_for_url("**/lists/roles?edit=auditor")
    assert await grants(admin, "auditor") == {"audit.read", "members.read"}
    assert await page.is_checked("#grant-audit-read")
    assert await page.is_checked("#grant-members-read")
    assert not await page.is_checked("#grant-audit-export")
    assert "audit: read; members: read" in await page.locator("#rows").inner_text()
    # edited: one right off, another on, the scope narrowed
    await page.uncheck("#grant-members-read")
    await page.check("#grant-audit-export")
    await page.select_option("#scope-audit", "network")
    await page.click("#role-save")
    await page.wait_for_url("**/lists/roles?edit=auditor")
    assert await grants(admin, "auditor") == {"audit.read", "audit.export"}
    assert await page.locator("#scope-audit").input_value() == "network"
    # an empty code is refused at the code field; the role is as it was
    await page.fill("#role-name", "")
    await page.uncheck("#grant-audit-export")
    await page.click("#role-save")
    assert "role.name" in await page.locator("#name-error").inner_text()
    assert await page.is_checked("#grant-audit-read")  # what was posted, shown again
    assert not await page.is_checked("#grant-audit-export")
    assert await grants(admin, "auditor") == {"audit.read", "audit.export"}
    await accessible(page)
    await page.screenshot(path=str(shots_dir(tmp_path) / "refused.png"), full_page=True)
    await page.click("#delete-auditor button")
    await page.wait_for_url("**/lists/roles")
    assert await grants(admin, "auditor") is None
    assert await page.locator("#delete-auditor").count() == 0
    assert await page.locator("#delete-cashier").count() == 1
    assert page.errors == []
