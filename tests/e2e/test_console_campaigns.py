"""The console's campaigns over plain HTTP: the list (by channel), a campaign's counts, and
the refusal without campaigns.read."""

from __future__ import annotations

import re
import uuid

import aiohttp
from kopilka.v1 import marketing_pb2 as MK

from tests.e2e.console_support import base_url, http_login, make_user, settings
from tests.e2e.verification_support import register

__all__ = ["settings"]


def rid() -> str:
    return str(uuid.uuid4())


async def campaigns(admin) -> tuple[MK.Campaign, MK.Campaign]:  # type: ignore[no-untyped-def]
    """A started SMS campaign to one consenting member (queued: no SMSC here) and a newer
    e-mail draft."""
    member = await register(admin)
    await admin.marketing.SetConsent(MK.SetConsentRequest(
        request_id=rid(), member_id=member.member_id, consent=MK.Consent(
            channel="sms", purpose="marketing", granted=True, source="questionnaire",
            wording_version="v1")))
    await admin.marketing.UpsertTemplate(MK.UpsertTemplateRequest(
        request_id=rid(), template=MK.Template(code="sale", channel="sms",
                                               default_language="uk", texts=[
                                                   MK.TemplateText(language="uk",
                                                                   body="Знижка 20%")])))
    listed = await admin.marketing.CreateList(MK.CreateListRequest(
        request_id=rid(), name="gold", segment="card_type = 'gold'"))
    made = []
    for name, channel in (("Весна", "sms"), ("Літо", "email")):
        made.append((await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
            request_id=rid(), name=name, list_id=listed.list_id, template_code="sale",
            channel=channel))).campaign)
    await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=made[0].campaign_id))
    return made[0], made[1]


def names(html: str) -> list[str]:
    return re.findall(r'href="/console/campaigns/[0-9a-f-]+">([^<]+)<', html)


async def test_the_campaigns_list_and_a_campaigns_counts(app, admin, world):
    spring, summer = await campaigns(admin)
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http_login(http, url, "anna@shop.ua")
        async with http.get(url + "/campaigns") as page:
            assert page.status == 200
            html = await page.text()
        assert names(html) == ["Літо", "Весна"] and 'href="/console/campaigns"' in html
        async with http.get(url + "/campaigns?channel=sms") as page:
            assert names(await page.text()) == ["Весна"]
        async with http.get(f"{url}/campaigns/{spring.campaign_id}") as page:
            html = await page.text()
        assert re.search(r'id="recipients">1<', html)
        delivery = html[html.index('id="delivery"'):]
        assert re.search(r"<td>(у черзі|queued)</td><td>1</td>", delivery), delivery
        async with http.get(f"{url}/campaigns/{summer.campaign_id}") as page:
            assert re.search(r'id="campaign-state">(чернетка|draft)<', await page.text())
        async with http.get(f"{url}/campaigns/{uuid.uuid4()}") as missing:
            assert missing.status == 404


async def test_without_campaigns_read_the_pages_are_refused(app, admin, world):
    spring, _ = await campaigns(admin)
    await make_user(app, "kasa@shop.ua", "cashier")
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, url, "kasa@shop.ua")
        for path in ("/campaigns", f"/campaigns/{spring.campaign_id}"):
            async with http.get(url + path) as refused:
                assert refused.status == 403, path
        for action in ("start", "pause", "cancel"):
            async with http.post(f"{url}/campaigns/{spring.campaign_id}/{action}", data={
                    "csrf": csrf, "request_id": rid()}) as refused:
                assert refused.status == 403, action
        async with http.get(url + "/members") as page:
            assert 'href="/console/campaigns"' not in await page.text()


async def test_a_draft_is_started_paused_resumed_and_cancelled_through_the_rpcs(
        app, admin, world):
    from kopilka.v1 import audit_pb2

    spring, summer = await campaigns(admin)
    autumn = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="Осінь", list_id=spring.list_id, template_code="sale",
        channel="sms"))).campaign
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    page_url = f"{url}/campaigns/{autumn.campaign_id}"

    def offered(html: str) -> list[str]:
        return re.findall(r'id="campaign-(start|pause|resume|cancel)"', html)

    async def state(campaign_id: str) -> int:
        return (await admin.marketing.GetCampaign(MK.GetCampaignRequest(
            campaign_id=campaign_id))).campaign.state

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        async with http.get(page_url) as page:
            assert offered(await page.text()) == ["start", "cancel"]  # a draft
        async with http.post(page_url + "/start", data={"request_id": rid()}) as no:
            assert no.status == 403  # no CSRF token
        assert await state(autumn.campaign_id) == MK.CAMPAIGN_STATE_DRAFT
        start = {"csrf": csrf, "request_id": rid()}
        for _ in range(2):  # one request id posted twice: started once
            async with http.post(page_url + "/start", data=start,
                                 allow_redirects=False) as done:
                assert done.status == 303, await done.text()
        async with http.get(page_url) as page:
            html = await page.text()
        assert re.search(r'id="recipients">1<', html)
        assert offered(html) == ["pause", "cancel"]
        assert await state(autumn.campaign_id) == MK.CAMPAIGN_STATE_RUNNING
        async with http.post(page_url + "/pause", data={"csrf": csrf, "request_id": rid()}) \
                as done:
            assert offered(await done.text()) == ["resume", "cancel"]
        async with http.post(page_url + "/resume", data={"csrf": csrf, "request_id": rid()}) \
                as done:
            assert offered(await done.text()) == ["pause", "cancel"]
        summer_url = f"{url}/campaigns/{summer.campaign_id}"
        async with http.post(summer_url + "/start", data={
                "csrf": csrf, "request_id": rid()}) as refused:  # nobody consents to e-mail
            assert refused.status == 409 and "consent" in await refused.text()
        assert await state(summer.campaign_id) == MK.CAMPAIGN_STATE_DRAFT
        async with http.post(summer_url + "/cancel", data={
                "csrf": csrf, "request_id": rid()}) as done:
            html = await done.text()
        assert re.search(r'id="campaign-state">(скасована|cancelled)<', html)
        assert offered(html) == []  # final
        async with http.post(summer_url + "/resume", data={  # a stale page's button
                "csrf": csrf, "request_id": rid()}) as refused:
            assert refused.status == 409
        async with http.post(summer_url + "/explode", data={
                "csrf": csrf, "request_id": rid()}) as missing:
            assert missing.status == 404
    assert await state(summer.campaign_id) == MK.CAMPAIGN_STATE_CANCELLED
    trail = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="campaign", object_id=autumn.campaign_id))
    assert sorted(e.action for e in trail.entries
                  if e.principal == "operator:anna@shop.ua") == ["paused", "running", "start"]


async def test_a_start_time_that_is_not_one_is_named_and_nothing_starts(app, admin, world):
    spring, _ = await campaigns(admin)
    autumn = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="Осінь", list_id=spring.list_id, template_code="sale",
        channel="sms"))).campaign
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    page_url = f"{url}/campaigns/{autumn.campaign_id}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        async with http.get(page_url) as page:
            assert 'name="schedule_time"' in await page.text()
        for bad in ("tomorrow", "2026-13-01T09:00", "2001-01-01T09:00"):
            async with http.post(page_url + "/start", data={
                    "csrf": csrf, "request_id": rid(), "schedule_time": bad}) as refused:
                assert refused.status == 400, bad
                assert 'id="schedule-error"><code>schedule_time</code>' in await refused.text()
    got = await admin.marketing.GetCampaign(MK.GetCampaignRequest(
        campaign_id=autumn.campaign_id))
    assert got.campaign.state == MK.CAMPAIGN_STATE_DRAFT and got.campaign.recipients == 0
