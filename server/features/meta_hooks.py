"""Meta's webhooks on the HTTP site: /hooks/meta for Facebook Pages (`feed`: reactions and
comments) and Instagram (`comments`, `mentions`).

GET is Meta's verification: `hub.mode=subscribe` with our verify token answers the
`hub.challenge` as the body, anything else 403. POST carries `X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>` (compared in constant
time); a missing or wrong signature is refused 403 and nothing is recorded. A signed
notification answers 200 even when it holds nothing we use (Meta resends otherwise);
redeliveries are the same actions (one row per provider event), so nothing is granted twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.audit.actor import Actor, acting
from server.db.ledger.repo import raw_connection
from server.db.social.repo import record_actions
from server.features.http import HttpMount
from server.social.model import parse

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.plugin_host import PluginHost
    from server.settings import Settings

PATH = "/hooks/meta"
ACTOR = Actor("meta-webhook")
MAX_BODY = 1 << 20


def signature(secret: str, body: bytes) -> str:
    """What Meta sends in X-Hub-Signature-256 for this raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def genuine(secret: str, given: str, body: bytes) -> bool:
    return hmac.compare_digest(signature(secret, body).encode(), given.encode())


def meta_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps) -> HttpMount | None:
    if not (settings.meta_app_secret and settings.meta_verify_token):
        return None
    secret, token = settings.meta_app_secret, settings.meta_verify_token

    async def verify(request: web.Request) -> web.Response:
        q = request.query
        if q.get("hub.mode") == "subscribe" and hmac.compare_digest(
                q.get("hub.verify_token", "").encode(), token.encode()):
            return web.Response(text=q.get("hub.challenge", ""))
        return web.Response(status=403, text="verify token mismatch")

    async def notify(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"error": "too large"}, status=413)
        body = await request.read()
        if not genuine(secret, request.headers.get("X-Hub-Signature-256", ""), body):
            return web.json_response({"error": "signature"}, status=403)
        try:
            payload: Any = json.loads(body)
        except ValueError:
            return web.json_response({"error": "the body must be JSON"}, status=400)
        now = deps.clock()
        actions = parse(payload, now)
        with acting(ACTOR):
            async with deps.db.transaction() as session:
                conn = await raw_connection(session)
                fresh, rewards = await record_actions(conn, actions, now)
        return web.json_response({"actions": len(actions), "new": fresh,
                                  "rewards": len(rewards)})

    def add_routes(app: web.Application) -> None:
        app.router.add_get(PATH, verify)
        app.router.add_post(PATH, notify)

    return HttpMount("meta webhooks", PATH, add_routes)
