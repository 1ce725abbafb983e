"""The console's campaigns: a list newest first (by channel, in keyset pages) and a
campaign's page with its recipients per delivery state, its estimated and delivered cost, and
the actions its state allows: start a draft now or at a time (StartCampaign's schedule_time:
its messages fall due then and the outbox dispatcher sends them), pause, resume, cancel.

Each is a MarketingService RPC through `Door` (ListCampaigns, GetCampaign, StartCampaign,
ChangeCampaignState), so the permission (`campaigns.read`, `campaigns.approve` to act), the
state rules (server/marketing/model.py `TRANSITIONS`), idempotency (a fresh `request_id` per
form) and the audit are the RPCs'. Recipients' addresses are not shown: the counts are what
the page is for.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from kopilka.v1 import common_pb2, marketing_pb2

from server.auth.principal import Principal
from server.console.orders import word
from server.errors import DomainError, ErrorKind, invalid
from server.marketing.model import CHANNELS, TRANSITIONS, CampaignState

if TYPE_CHECKING:
    from server.console.web import Console

MK = "/kopilka.v1.MarketingService/"
PAGE = 50
#: delivery states in the order a message goes through them
DELIVERY = ("queued", "sent", "delivered", "undeliverable", "failed")
#: the campaign actions: URL word -> (the state it leads to, ChangeCampaignState's action;
#: none: StartCampaign)
ACTIONS: dict[str, tuple[CampaignState, marketing_pb2.CampaignAction.ValueType | None]] = {
    "start": (CampaignState.RUNNING, None),
    "pause": (CampaignState.PAUSED, marketing_pb2.CAMPAIGN_ACTION_PAUSE),
    "resume": (CampaignState.RUNNING, marketing_pb2.CAMPAIGN_ACTION_RESUME),
    "cancel": (CampaignState.CANCELLED, marketing_pb2.CAMPAIGN_ACTION_CANCEL),
}
#: actions offered only in some of the states that allow where they lead
ONLY_FROM = {"start": {CampaignState.DRAFT}, "resume": {CampaignState.PAUSED}}


def row(c: marketing_pb2.Campaign) -> dict[str, Any]:
    counts = dict(c.delivery_counts)
    return {"id": c.campaign_id, "name": c.name, "channel": c.channel,
            "state": word(marketing_pb2.CampaignState, c.state), "created": c.create_time,
            "scheduled": c.schedule_time, "recipients": c.recipients, "skipped": c.skipped,
            "counts": [(s, counts.pop(s, 0)) for s in DELIVERY] + sorted(counts.items()),
            "estimated_parts": c.estimated_parts, "estimated": c.estimated_cost_minor,
            "delivered": c.delivered_cost_minor, "template": c.template_code,
            "list_id": c.list_id}


def schedule_time(text: str, now: dt.datetime) -> dt.datetime | None:
    """The start form's time (a datetime-local field, "2026-12-24T09:00", read as UTC as the
    console shows times); blank: now (None). Not a time, or not after `now`: INVALID_ARGUMENT
    naming schedule_time (a past time would start the campaign at once, surely not meant)."""
    text = text.strip()
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise invalid("schedule_time", "a date and time, e.g. 2026-12-24T09:00") from None
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    if when <= now:
        raise invalid("schedule_time", "must be later than now (blank: start now)")
    return when


class CampaignPages:
    """The handlers; `add_routes` puts them on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/campaigns", self.campaigns)
        router.add_get("/campaigns/{campaign_id}", self.campaign)
        router.add_post("/campaigns/{campaign_id}/{action}", self.act)

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

    async def campaign(self, request: web.Request, notice: str = "", violations: Any = None,
                       status: int = 200) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        answer = await self.door.call(who, MK + "GetCampaign", marketing_pb2.GetCampaignRequest(
            campaign_id=request.match_info["campaign_id"]), marketing_pb2.GetCampaignResponse)
        c = row(answer.campaign)
        t = self.console.t(request)
        return self.console.render(
            request, "campaign.html", status=status, c=c,
            actions=[a for a in ACTIONS if self._offered(who, a, c["state"])],
            request_id=str(uuid.uuid4()), failed=status >= 400,
            violations=violations or [],
            notice=notice or t.get(request.query.get("notice", ""), ""))

    def _offered(self, who: Principal, action: str, state: str) -> bool:
        """Whether the page shows the action: the state allows where it leads (start only
        a draft, resume only a paused one) and the user has the RPC's right."""
        wanted, change = ACTIONS[action]
        current = CampaignState(state)
        if current not in ONLY_FROM.get(action, {current}):
            return False
        method = "StartCampaign" if change is None else "ChangeCampaignState"
        return wanted in TRANSITIONS[current] and self.door.allowed_rpc(who, MK + method)

    async def act(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        found = ACTIONS.get(request.match_info["action"])
        if found is None:
            raise web.HTTPNotFound()
        _, change = found
        form = await self.console.form(request)
        campaign_id = request.match_info["campaign_id"]
        request_id = form.get("request_id", "")
        try:
            if change is None:
                start = marketing_pb2.StartCampaignRequest(request_id=request_id,
                                                           campaign_id=campaign_id)
                later = schedule_time(form.get("schedule_time", ""), self.console.deps.clock())
                if later is not None:
                    start.schedule_time.FromDatetime(later)
                await self.door.call(who, MK + "StartCampaign", start,
                                     marketing_pb2.StartCampaignResponse)
            else:
                await self.door.call(
                    who, MK + "ChangeCampaignState", marketing_pb2.ChangeCampaignStateRequest(
                        request_id=request_id, campaign_id=campaign_id, action=change),
                    marketing_pb2.ChangeCampaignStateResponse)
        except DomainError as error:
            if error.kind in (ErrorKind.INVALID_ARGUMENT, ErrorKind.FAILED_PRECONDITION):
                return await self.campaign(
                    request, notice=error.message, violations=error.violations,
                    status=400 if error.kind is ErrorKind.INVALID_ARGUMENT else 409)
            raise
        raise web.HTTPSeeOther(f"{self.console.prefix}/campaigns/{campaign_id}?notice=done")
