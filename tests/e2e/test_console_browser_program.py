"""The console's campaign scheduling and the dashboard's points by bonus rule in a real
browser (Debian's Chromium, as test_console_browser)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from kopilka.v1 import audit_pb2, bonus_pb2
from kopilka.v1 import marketing_pb2 as MK
from kopilka.v1 import promotions_pb2 as P

from tests.e2e.console_support import base_url, make_user, seeded, settings
from tests.e2e.test_console_browser import accessible, browser, page, sign_in

__all__ = ["browser", "page", "settings"]
pytestmark = pytest.mark.one_server


async def test_a_draft_campaign_is_scheduled_for_a_time(app, admin, world, page):
    from tests.e2e.test_console_campaigns import campaigns
    from tests.e2e.test_marketing import due_times

    spring, _ = await campaigns(admin)
    autumn = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=str(uuid.uuid4()), name="Осінь", list_id=spring.list_id,
        template_code="sale", channel="sms"))).campaign
    await make_user(app, "anna@shop.ua", "operator")
    await sign_in(page, app)
    await page.goto(f"{base_url(app)}/campaigns/{autumn.campaign_id}")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    await page.fill("#schedule-time", (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    await page.click("#campaign-start button")  # a time gone by: named, nothing started
    assert "schedule_time" in await page.locator("#schedule-error").inner_text()
    assert await page.locator("#campaign-state").inner_text() == "чернетка"
    later = now + dt.timedelta(hours=2)
    await page.fill("#schedule-time", later.strftime("%Y-%m-%dT%H:%M"))
    await page.click("#campaign-start button")
    await page.locator("#notice").wait_for()
    assert await page.locator("#campaign-state").inner_text() == "запланована"
    assert await page.locator("#scheduled").inner_text() == later.strftime("%Y-%m-%d %H:%M")
    assert await page.locator("#campaign-pause").count() == 1  # a scheduled one can pause
    await accessible(page)
    # the outbox's dispatcher (the job that sends campaigns) takes the message then
    assert await due_times(app, autumn.campaign_id) == [later]
    got = (await admin.marketing.GetCampaign(MK.GetCampaignRequest(
        campaign_id=autumn.campaign_id))).campaign
    assert got.state == MK.CAMPAIGN_STATE_SCHEDULED
    assert got.schedule_time.ToDatetime(dt.UTC) == later
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="campaign", object_id=autumn.campaign_id))
    assert [(e.principal, e.action) for e in trail.entries
            if e.principal.startswith("operator:anna")] == [("operator:anna@shop.ua", "start")]
    assert page.errors == []


#: applied first: "spring" is named only by the bonus rules' history when the dashboard shows
EARLIER = """
version: earlier
rules:
  - {id: spring, name: "Весняні бали", trigger: purchase, award: {percent_bp: 300}}
"""
BONUS = """
version: now
rules:
  - {id: base, name: "Базове нарахування", trigger: purchase, award: {percent_bp: 100}}
  - {id: nameless, trigger: purchase, award: {percent_bp: 100}}
"""


async def test_points_by_rule_show_the_bonus_rules_names(app, admin, page):
    from tests.e2e.ledger_support import calculation, confirm, line

    [member, *_] = await seeded(app, admin)
    for document in (EARLIER, BONUS):
        await admin.promotions.ApplyBonusRules(P.ApplyBonusRulesRequest(
            request_id=str(uuid.uuid4()), document=document))
    await admin.bonus.AdjustPoints(bonus_pb2.AdjustPointsRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, points=400,
        reason_code=bonus_pb2.ADJUSTMENT_REASON_GOODWILL, reason="welcome"))
    now = dt.datetime.now(dt.UTC).isoformat()
    lots = ((50, now, None, "base"), (30, now, None, "spring"), (20, now, None, "nameless"))
    accrued = calculation(app, member, [line(1, 10_000, accrual=100)], lots=lots)
    await admin.receipts.ConfirmReceipt(confirm(accrued, "R-1", total=10_000))
    await make_user(app, "boss@shop.ua", "admin")
    await sign_in(page, app, "boss@shop.ua")
    await page.goto(base_url(app) + "/dashboard")
    rows = [[await c.inner_text() for c in await r.locator("td").all()]
            for r in await page.locator("#by-rule tbody tr").all()]
    assert rows == [["Ручні коригування", "manual", "400"],  # the doors' lots by what made them
                    ["Базове нарахування", "base", "50"],  # the active bonus rules' name
                    ["Весняні бали", "spring", "30"],  # the name from the history
                    ["nameless", "nameless", "20"]]  # no name anywhere: the id
    chart = await page.locator("svg.chart[aria-label='Бали за бонусними правилами']").inner_html()
    assert "Базове нарахування" in chart and "Весняні бали" in chart
    await accessible(page)
    assert page.errors == []
