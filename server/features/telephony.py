"""The telephony hook on the HTTP site: POST /hooks/telephony/call registers an appeal for
an incoming call; the caller's number finds the member (normalize_phone, as every door).

The PBX signs each request: `X-Kopilka-Timestamp: <unix seconds>` and
`X-Kopilka-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with
KOPILKA_TELEPHONY_SECRET>`; a missing or wrong signature, or a timestamp more than five
minutes off, is refused 403 and nothing is recorded. A retry with the same `call_id`
answers the appeal registered first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.appeals import service
from server.appeals.model import AppealChannel
from server.audit.actor import Actor, acting
from server.db.appeals.repo import SqlAppealStore
from server.errors import DomainError
from server.features.http import HttpMount
from server.members.contacts import normalize_phone

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.plugin_host import PluginHost
    from server.settings import Settings

PATH = "/hooks/telephony/call"
SKEW_SECONDS = 300
ACTOR = Actor("telephony-hook")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What the PBX sends in X-Kopilka-Signature for this timestamp and raw body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def genuine(secret: str, headers: Any, body: bytes, now: float) -> bool:
    stamp = headers.get("X-Kopilka-Timestamp", "")
    given = headers.get("X-Kopilka-Signature", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > SKEW_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, stamp, body).encode(), given.encode())


def _field(payload: dict[str, Any], name: str, chars: int, *, required: bool) -> str:
    value = payload.get(name, "")
    if not isinstance(value, str) or len(value) > chars or (required and not value.strip()):
        raise ValueError(f"{name}: {'required, ' if required else ''}a string of at most "
                         f"{chars} characters")
    return value.strip()


def telephony_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps
                    ) -> HttpMount | None:
    if not settings.telephony_secret:
        return None
    secret = settings.telephony_secret

    async def call(request: web.Request) -> web.Response:
        body = await request.read()
        if not genuine(secret, request.headers, body, time.time()):
            return web.json_response({"error": "signature"}, status=403)
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            call_id = _field(payload, "call_id", 128, required=True)
            caller = _field(payload, "caller", 32, required=False)
            note = _field(payload, "note", 4000, required=False)
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        try:
            phone: str | None = normalize_phone(caller, settings.default_region)
        except ValueError:
            phone = None  # a withheld or foreign-format number: registered without member
        with acting(ACTOR):
            try:
                async with deps.db.transaction() as session:
                    store = await SqlAppealStore.of(session)
                    member_id = await store.member_by_phone(phone) if phone else None
                    appeal, created = await service.create(
                        store, actor=ACTOR.label, now=deps.clock(), member_id=member_id,
                        channel=AppealChannel.CALL, topic_code=settings.telephony_topic,
                        subject="Incoming call", description=note, caller_phone=phone,
                        call_id=call_id)
            except DomainError as error:
                return web.json_response({"error": error.reason}, status=400)
        return web.json_response({
            "appeal_id": str(appeal.id), "number": appeal.number,
            "member_id": str(appeal.member_id) if appeal.member_id else None,
            "created": created})

    def add_routes(app: web.Application) -> None:
        app.router.add_post(PATH, call)

    return HttpMount("telephony hook", PATH, add_routes)
