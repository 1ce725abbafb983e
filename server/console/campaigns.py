"""The console's campaigns, read-only: a list newest first (by channel, in keyset pages) and a
campaign's page with its recipients per delivery state and its estimated and delivered cost.

Both are MarketingService RPCs through `Door` (ListCampaigns, GetCampaign), so the
permission (`campaigns.read`) and the state shown are the RPCs'. Recipients' addresses are
not shown: the counts are what the page is for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from kopilka.v1 import common_pb2, marketing_pb2

from server.console.orders import word
from server.marketing.model import CHANNELS

if TYPE_CHECKING:
    from server.console.web import Console

MK = "/kopilka.v1.MarketingService/"
PAGE = 50
#: delivery states in the order a message goes through them
DELIVERY = ("queued", "sent", "delivered", "undeliverable", "failed")


def row(c: marketing_pb2.Campaign) -> dict[str, Any]:
    counts = dict(c.delivery_counts)
    return {"id": c.campaign_id, "name": c.name, "channel": c.channel,
            "state": word(marketing_pb2.CampaignState, c.state), "created": c.create_time,
            "scheduled": c.schedule_time, "recipients": c.recipients, "skipped": c.skipped,
            "counts": [(s, counts.pop(s, 0)) for s in DELIVERY] + sorted(counts.items()),
            "estimated_parts": c.estimated_parts, "estimated": c.estimated_cost_minor,
            "delivered": c.delivered_cost_minor, "template": c.template_code,
            "list_id": c.list_id}


class CampaignPages:
    """The handlers; `add_routes` puts them on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/campaigns", self.campaigns)
        router.add_get("/campaigns/{campaign_id}", self.campaign)

    async def campaigns(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        channel = request.query.get("channel", "")
        channel = channel if channel in CHANNELS else ""
        answer = await self.door.call(who, MK + "ListCampaigns", marketing_pb2.ListCampaignsRequest(
            channel=channel, page=common_pb2.PageRequest(
                page_size=PAGE, page_token=request.query.get("page_token", "")[:500])),
            marketing_pb2.ListCampaignsResponse)
        return self.console.render(
            request, "campaigns.html", rows=[row(c) for c in answer.campaigns],
            channels=CHANNELS, channel=channel, delivery=DELIVERY,
            keep={"channel": channel} if channel else {},
            next_token=answer.page.next_page_token)

    async def campaign(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        answer = await self.door.call(who, MK + "GetCampaign", marketing_pb2.GetCampaignRequest(
            campaign_id=request.match_info["campaign_id"]), marketing_pb2.GetCampaignResponse)
        return self.console.render(request, "campaign.html", c=row(answer.campaign))
