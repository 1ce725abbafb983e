"""Unsubscribe links on the HTTP site: /u/<token> (signed per member and channel).

GET shows a confirmation form (mail scanners follow links; a GET changes nothing), POST
withdraws the member's marketing consent for the channel through the same consent service
as the RPC, with source "unsubscribe_link".
"""

from __future__ import annotations

import hashlib
import hmac
import html
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from server.audit.actor import Actor, acting
from server.db.ledger.repo import raw_connection
from server.db.marketing.repo import SqlConsentStore
from server.features.http import HttpMount
from server.marketing import consent as consent_service
from server.marketing.model import CHANNELS

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.plugin_host import PluginHost
    from server.settings import Settings

WORDING = "unsubscribe-link-v1"
_CHANNEL_OF = {c[0]: c for c in CHANNELS}


def parse_token(key: bytes, token: str) -> tuple[uuid.UUID, str] | None:
    """(member id, channel) of a genuine token (see server/db/marketing/campaigns.py)."""
    import base64

    message, _, mac = token.partition(".")
    if len(message) != 33 or message[-1] not in _CHANNEL_OF:
        return None
    want = hmac.new(key, message.encode(), hashlib.sha256).digest()[:12]
    try:
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        member_id = uuid.UUID(hex=message[:32])
    except ValueError:
        return None
    if not hmac.compare_digest(want, given):
        return None
    return member_id, _CHANNEL_OF[message[-1]]


def unsubscribe_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps
                      ) -> HttpMount | None:
    def key() -> bytes:
        return deps.signer.derive_key("unsubscribe")

    async def show(request: web.Request) -> web.Response:
        if parse_token(key(), request.match_info["token"]) is None:
            return web.Response(status=404, text="This link is not valid.")
        return web.Response(content_type="text/html", text=(
            "<!doctype html><title>Unsubscribe</title><form method=post>"
            "<p>Stop marketing messages on this channel?</p>"
            "<button>Unsubscribe</button></form>"))

    async def confirm(request: web.Request) -> web.Response:
        found = parse_token(key(), request.match_info["token"])
        if found is None:
            return web.Response(status=404, text="This link is not valid.")
        member_id, channel = found
        given = consent_service.answer(member_id, channel, "marketing", False,
                                       "unsubscribe_link", WORDING)
        with acting(Actor("unsubscribe-link")):
            async with deps.db.transaction() as session:
                await consent_service.record(SqlConsentStore(await raw_connection(session)),
                                             given, "unsubscribe-link")
        return web.Response(content_type="text/html", text=(
            f"<!doctype html><p>Unsubscribed from {html.escape(channel)} marketing.</p>"))

    def add_routes(app: web.Application) -> None:
        app.router.add_get("/u/{token}", show)
        app.router.add_post("/u/{token}", confirm)

    return HttpMount("unsubscribe links", "/u/", add_routes)
