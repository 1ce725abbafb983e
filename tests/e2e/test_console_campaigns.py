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
        await http_login(http, url, "kasa@shop.ua")
        for path in ("/campaigns", f"/campaigns/{spring.campaign_id}"):
            async with http.get(url + path) as refused:
                assert refused.status == 403, path
        async with http.get(url + "/members") as page:
            assert 'href="/console/campaigns"' not in await page.text()
