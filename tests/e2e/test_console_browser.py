"""The console in a real browser: Debian's Chromium driven by Playwright (never Playwright's
own browser download), with a screenshot per test and an axe-core accessibility check."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kopilka.v1 import audit_pb2, bonus_pb2, members_pb2

from tests.e2e.console_support import PASSWORD, base_url, make_user, seeded, settings, shots_dir

__all__ = ["settings"]

CHROMIUM = Path(os.environ.get("KOPILKA_CHROMIUM", "/usr/bin/chromium"))
# What a browser sees does not depend on the PostgreSQL version: one server per test.
pytestmark = pytest.mark.one_server
DEMO = (Path(__file__).parents[2] / "server" / "demo_promotions.yaml").read_text()

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} missing: CI must run the browser tests "
                           "(apt install chromium; ./dev test does)")
    pytest.skip(f"{CHROMIUM} missing (apt install chromium)", allow_module_level=True)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM),
                                            args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(app, browser, tmp_path) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    context = await browser.new_context(locale="uk-UA")
    tab = await context.new_page()
    errors: list[str] = []
    # script errors and CSP refusals (a 401 or a missing favicon is not one)
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error"
           and not m.text.startswith("Failed to load resource") else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.errors = errors
    yield tab
    await tab.screenshot(path=str(shots_dir(tmp_path) / f"{uuid.uuid4().hex[:8]}.png"),
                         full_page=True)
    await context.close()


async def sign_in(page, app, email: str = "anna@shop.ua") -> None:  # type: ignore[no-untyped-def]
    await page.goto(base_url(app) + "/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/console/members")


async def accessible(page) -> None:  # type: ignore[no-untyped-def]
    """No serious or critical axe-core violations on the page."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [v for v in results.response["violations"]
           if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in bad]


async def test_sign_in_search_and_sign_out(app, admin, page, tmp_path):
    members = await seeded(app, admin)
    await make_user(app, "anna@shop.ua", "operator")
    await page.goto(base_url(app) + "/login")
    await accessible(page)
    await page.fill("#email", "anna@shop.ua")
    await page.fill("#password", "wrong password!")
    await page.click("button[type=submit]")
    assert await page.locator(".errors").count() == 1
    await sign_in(page, app)
    assert await page.title() == "Консоль Копілки"  # Accept-Language: uk
    await page.fill("#q", "шевч")  # htmx searches as the operator types
    await page.locator("#hits a").first.wait_for()
    assert await page.locator("#hits tbody tr").count() == 1
    assert "Шевченко" in await page.locator("#hits").inner_text()
    await accessible(page)
    await page.fill("#q", "+38 (067) 000-00-02")  # phone in another notation
    await page.locator(f"a[href$='{members[1].member_id}']").wait_for()
    await page.fill("#q", members[2].card)
    await page.locator(f"a[href$='{members[2].member_id}']").wait_for()
    await page.click(f"a[href$='{members[2].member_id}']")
    await page.wait_for_url(f"**/members/{members[2].member_id}")
    await accessible(page)
    await page.click("header button")  # sign out
    await page.wait_for_url("**/console/login")
    await page.goto(base_url(app) + "/members")
    await page.wait_for_url("**/console/login")
    assert page.errors == []  # no CSP violation, no script error


async def test_points_adjustment_and_card_block(app, admin, page):
    [member, *_] = await seeded(app, admin)
    await make_user(app, "anna@shop.ua", "operator")
    await sign_in(page, app)
    await page.goto(f"{base_url(app)}/members/{member.member_id}")
    await page.fill("#adjust-points", "250")
    await page.fill("#adjust-reason", "complaint 17")
    await page.click("#adjust button")
    await page.locator("#notice").wait_for()
    assert await page.locator("#points-balance").inner_text() == "250"
    assert "complaint 17" in await page.locator("#ledger").inner_text()
    assert await page.locator("#audit").count() == 0  # operators do not read the audit
    balance = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=member.card))
    assert balance.points_available == 250
    await page.fill("#adjust-points", "9000")  # above the approval threshold: waits
    await page.fill("#adjust-reason", "big one")
    await page.click("#adjust button")
    await page.locator("#notice").wait_for()
    assert await page.locator("#points-balance").inner_text() == "250"
    await page.fill("#adjust-points", "0")  # bad input: the field is named, nothing changes
    await page.fill("#adjust-reason", "zero")
    await page.click("#adjust button")
    assert "points" in await page.locator("#violations").inner_text()
    await page.fill(f"#block-reason-{member.card}", "lost")
    await page.click(f"form[action$='{member.card}/block'] button")
    await page.locator("#notice").wait_for()
    assert await page.locator("#cards .card-state").first.inner_text() == "blocked"
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="card", object_id=member.card))
    [blocked] = [e for e in trail.entries if e.action == "state"]
    assert blocked.principal == "operator:anna@shop.ua" and "lost" in blocked.after_json
    found = await admin.members.GetMember(members_pb2.GetMemberRequest(
        member_id=member.member_id))
    assert found.member.cards[0].state == members_pb2.CARD_STATE_BLOCKED
    balance = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=member.card))
    assert balance.points_available == 250  # balances kept
    await accessible(page)
    assert page.errors == []


async def test_rule_set_upload_with_an_error_then_the_fix(app, admin, page):
    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app, "boss@shop.ua")
    await page.goto(base_url(app) + "/program/rules")
    bad = DEMO.replace('percent: "10%"', "percent: 20000")
    await page.fill("#document", bad)
    await page.click("button[name=apply]")
    errors = page.locator("#rule-errors")
    await errors.wait_for()
    assert "percent" in await errors.locator("code.field").first.inner_text()
    bad_line = next(i for i, text in enumerate(bad.splitlines(), 1) if "20000" in text)
    assert f"{bad_line}" in await errors.locator("a").first.inner_text()  # where it is
    assert "20000" in await page.locator(f"#line-{bad_line}.bad-line").inner_text()
    assert app.deps.pricing.snapshot.rules.rules == ()  # nothing applied
    await accessible(page)
    await page.fill("#document", DEMO)
    await page.click("button[name=preview]")
    assert "+" in await page.locator("#diff").inner_text()
    await page.click("button[name=apply]")
    await page.locator("#applied").wait_for()
    version = await page.locator("#active-version").inner_text()
    assert app.deps.pricing.snapshot.rules.version == version


async def test_dashboard(app, admin, page):
    from tests.e2e.ledger_support import calculation, confirm, line

    [member, *_] = await seeded(app, admin)
    await admin.bonus.AdjustPoints(bonus_pb2.AdjustPointsRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, points=400,
        reason_code=bonus_pb2.ADJUSTMENT_REASON_GOODWILL, reason="welcome"))
    now = dt.datetime.now(dt.UTC).isoformat()
    lots = ((50, now, None, "base"),)
    with_card = calculation(app, member, [line(1, 10_000, discount=1_500, accrual=50)], lots=lots)
    await admin.receipts.ConfirmReceipt(confirm(with_card, "R-1", total=10_000))
    without = calculation(app, None, [line(1, 2_500)])
    await admin.receipts.ConfirmReceipt(confirm(without, "R-2", total=2_500))
    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app, "boss@shop.ua")
    await page.goto(base_url(app) + "/dashboard")
    assert await page.locator("svg.chart").count() == 6
    assert await page.locator("#sum-card").inner_text() == "100.00"
    assert await page.locator("#sum-nocard").inner_text() == "25.00"
    assert await page.locator("#sum-accrued").inner_text() == "450"
    assert await page.locator("#points-outstanding").inner_text() == "450"
    assert "base" in await page.locator("#by-rule").inner_text()
    # the test's receipts are booked without the per-rule split: all of it is "not recorded"
    assert "15.00" in await page.locator("#discounts-by-rule").inner_text()
    await accessible(page)
    assert page.errors == []
    yesterday = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    await page.goto(f"{base_url(app)}/dashboard?from={yesterday}&to={yesterday}")
    assert await page.locator("#sum-card").inner_text() == "0.00"  # the period counts


async def test_four_eyes_and_the_operations_pages(app, admin, page, browser, tmp_path):
    [member, *_] = await seeded(app, admin)
    await make_user(app, "anna@shop.ua", "operator")
    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app)
    await page.goto(f"{base_url(app)}/members/{member.member_id}")
    await page.fill("#adjust-points", "7000")  # above the threshold: waits for a second pair
    await page.fill("#adjust-reason", "migration of an old card")
    await page.click("#adjust button")
    await page.locator("#notice").wait_for()
    assert await page.locator("#points-balance").inner_text() == "0"
    # the approver signs in in another browser context and approves from the pending list
    other = await browser.new_context(locale="en-GB")
    boss = await other.new_page()
    await sign_in(boss, app, "boss@shop.ua")
    await boss.goto(base_url(app) + "/lists/pending")
    assert "migration of an old card" in await boss.locator("#rows").inner_text()
    await accessible(boss)
    await boss.click("#rows button:has-text('Approve')")
    await boss.wait_for_url("**/lists/pending")
    assert await boss.locator("#rows").count() == 0
    balance = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=member.card))
    assert balance.points_available == 7000
    await boss.goto(base_url(app) + "/lists/audit?object_type=manual_adjustment")
    text = await boss.locator("#rows").inner_text()
    assert "operator:anna@shop.ua" in text and "operator:boss@shop.ua" in text
    await accessible(boss)
    for name in ("users", "roles", "api-keys", "mailings", "stores", "card-types"):
        await boss.goto(f"{base_url(app)}/lists/{name}")
        assert await boss.locator("h1").count() == 1
    await boss.goto(f"{base_url(app)}/lists/users")
    assert "anna@shop.ua" in await boss.locator("#rows").inner_text()
    await boss.screenshot(path=str(shots_dir(tmp_path) / "users.png"), full_page=True)
    await other.close()
    assert page.errors == []


async def test_certificates_find_block_reissue_and_usage_csv(app, admin, page):
    from tests.e2e.certificates_helpers import issue, money_type, setup_stores, upsert_type

    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [certificate] = await issue(admin)
    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app, "boss@shop.ua")
    await page.goto(base_url(app) + "/certificates")
    await page.fill("#number", certificate.number)
    await page.click("form[role=search] button")
    assert certificate.number in await page.locator("#certificate").inner_text()
    await accessible(page)
    await page.fill(f"form[action$='{certificate.number}/reissue'] input[name=reason]", "torn")
    await page.click(f"form[action$='{certificate.number}/reissue'] button")
    await page.wait_for_url(lambda url: "number=" in url and certificate.number not in url)
    fresh = page.url.rsplit("=", 1)[1]
    assert fresh != certificate.number
    await page.fill(f"form[action$='{fresh}/block'] input[name=reason]", "stolen")
    async with page.expect_navigation():
        await page.click(f"form[action$='{fresh}/block'] button")
    assert "blocked" in (await page.locator("#certificate").inner_text()).lower()
    await page.goto(base_url(app) + "/certificates")
    await page.fill("#batch input[name=certificate_type]", "gift")
    await page.fill("#batch input[name=count]", "3")
    await page.fill("#batch input[name=store_code]", "kyiv-01")
    await page.fill("#batch input[name=denomination_minor]", "50000")
    await page.click("#batch button")
    assert await page.locator("#rows tbody tr").count() == 3
    await page.goto(base_url(app) + "/certificates-usage")
    async with page.expect_download() as download:
        await page.click("text=CSV")
    saved = await (await download.value).path()
    assert Path(saved).read_text().startswith("store_code")


async def test_bonus_rules_upload_shows_the_bad_line_then_applies(app, admin, page):
    from tests.e2e.jobs_support import EVERY_TRIGGER_RULES

    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app, "boss@shop.ua")
    await page.goto(base_url(app) + "/program/bonus-rules")
    bad = EVERY_TRIGGER_RULES.replace("percent_bp: 200", "percent_bp: -5")
    await page.fill("#document", bad)
    await page.click("button[name=apply]")
    await page.locator("#rule-errors").wait_for()
    bad_line = next(i for i, text in enumerate(bad.splitlines(), 1) if "-5" in text)
    assert await page.locator(f"#line-{bad_line}.bad-line").count() == 1
    await page.fill("#document", EVERY_TRIGGER_RULES)
    await page.click("button[name=apply]")
    await page.locator("#applied").wait_for()
    assert await page.locator("#active-version").inner_text() == "every-trigger"
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(object_type="bonus_rules"))
    assert [e.principal for e in trail.entries] == ["operator:boss@shop.ua"]
    await accessible(page)


async def test_profile_edit_vip_and_language(app, admin, page):
    [member, *_] = await seeded(app, admin)
    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app, "boss@shop.ua")
    await page.click("a[lang=en]")  # the user's choice beats Accept-Language
    await page.wait_for_url("**/console/members")
    assert await page.title() == "Kopilka console"
    await page.goto(f"{base_url(app)}/members/{member.member_id}")
    await page.fill("input[name=first_name]", "Taras")
    await page.fill("input[name=source]", "paper questionnaire")
    await page.click("form[action$='/profile'] button")
    await page.locator("#notice").wait_for()
    await page.click("#vip")
    await page.locator("#notice").wait_for()
    assert await page.locator("h1 .vip").count() == 1
    found = await admin.members.GetMember(members_pb2.GetMemberRequest(
        member_id=member.member_id))
    assert found.member.profile.first_name == "Taras" and found.member.vip
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="member", object_id=member.member_id))
    [edit] = [e for e in trail.entries if e.principal == "operator:boss@shop.ua"
              and e.action == "update_profile"]
    assert "paper questionnaire" in edit.after_json  # the source is recorded
    assert "Taras" in await page.locator("#audit").inner_text()
    await accessible(page)


async def test_orders_list_detail_and_cancel(app, admin, make_key, client_for, page, tmp_path):
    from tests.e2e.orders_support import (
        WEB,
        O,
        balance,
        lines,
        member_with_points,
        place,
        setup_shop,
    )

    await setup_shop(app, admin)
    web = client_for(await make_key("store_backend", store_code=WEB))
    _, card = await member_with_points(admin, "+380671234599", 1000)
    for n in (1, 2):
        await web.orders.PlaceOrder(place(O.Customer(card_number=card), lines(
            ("sku-01", 1000, 5000), ("sku-03", 2000, 1250)), number=f"W-{n}", points=200))
    assert await balance(admin, card) == 600
    await make_user(app, "anna@shop.ua", "operator")
    await sign_in(page, app)
    await page.click("header nav a[href$='/orders']")
    await page.wait_for_url("**/console/orders")
    assert await page.locator("#orders tbody tr").count() == 2
    await page.select_option("#filters select[name=state]", "placed")
    await page.click("#filters button")
    await page.wait_for_url("**/orders?state=placed**")
    await accessible(page)
    await page.click("#orders a:has-text('W-1')")
    await page.wait_for_url("**/console/orders/*")
    assert await page.locator("#order-lines tbody tr").count() == 2
    assert "Product 1" in await page.locator("#order-lines").inner_text()
    await accessible(page)
    await page.click("#order-lines tbody tr:nth-child(2) details:has(#line-2-quantity) summary")
    await page.fill("#line-2-quantity input[name=quantity]", "3")
    await page.fill("#line-2-quantity input[name=reason]", "one more, by phone")
    await page.click("#line-2-quantity button")
    await page.locator("#notice").wait_for()
    assert await page.locator("#order-version").inner_text() == "2"
    assert "3.0" in await page.locator("#order-lines tbody tr:nth-child(2)").inner_text()
    assert "one more, by phone" in await page.locator("#history").inner_text()
    await accessible(page)
    await page.fill("#do-cancel input[name=reason]", "the customer changed her mind")
    await page.click("#do-cancel button")
    await page.locator("#notice").wait_for()
    assert await page.locator("#order-state").inner_text() == "скасоване"
    assert "the customer changed her mind" in await page.locator("#history").inner_text()
    assert await page.locator("#do-cancel").count() == 0  # final: nothing more to do
    await page.screenshot(path=str(shots_dir(tmp_path) / "order-cancelled.png"), full_page=True)
    await accessible(page)
    listed = await admin.orders.ListOrders(O.ListOrdersRequest(
        state=O.ORDER_STATE_CANCELLED))
    assert [o.external_number for o in listed.orders] == ["W-1"]
    assert await balance(admin, card) == 800  # its reserved points came back
    assert page.errors == []


async def test_campaigns_pages(app, admin, world, page):
    from tests.e2e.test_console_campaigns import campaigns

    spring, _ = await campaigns(admin)
    await make_user(app, "anna@shop.ua", "operator")
    await sign_in(page, app)
    await page.click("header nav a[href$='/campaigns']")
    await page.wait_for_url("**/console/campaigns")
    assert await page.locator("#campaigns tbody tr").count() == 2
    await accessible(page)
    await page.click(f"a[href$='{spring.campaign_id}']")
    await page.wait_for_url(f"**/campaigns/{spring.campaign_id}")
    assert await page.locator("#recipients").inner_text() == "1"
    await accessible(page)
    assert page.errors == []
