"""A fake Viber Business Messages partner on loopback, following contracts/viber.md.

No real Viber peer can run here. This one checks what the contract fixes: the
``X-Viber-Auth-Token`` header (A1), ``source_addr`` at most 28 characters (A2),
``message_type`` 106 (text only) or 108 (text, image, button: [S17]), ``text`` at most 1000
characters, ``button_caption`` at most 30, ``validity_period`` 30..1,209,600 s (else
status 20, tyntec [S18]), and answers ``{"status": 0, "message_token": N}`` (A2) or a
partner status: 9 for a phone that is not a Viber user, 3 for bad data. `callback` posts a
status event (delivered / seen / expired / failed, A6 and [S15]) to the message's
``callback_url``, signed in ``X-Viber-Content-Signature`` (hex HMAC-SHA256 of the raw body
keyed with the auth token).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Sent:
    token: int
    body: dict[str, Any]


@dataclass
class ViberPeer:
    auth_token: str = "viber-test-token"
    viber_users: set[str] = field(default_factory=set)  # phone digits
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._next = 5_000_000_000_000_000_000

    @property
    def send_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    async def start(self) -> None:
        application = web.Application()
        application.router.add_post("/send", self._send)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _refuse(self, status: int, body: dict[str, Any]) -> web.Response:
        self.refused.append((status, body))
        return web.json_response({"status": status, "status_message": "refused"})

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Viber-Auth-Token") != self.auth_token:
            return web.json_response({"status": 2, "status_message": "invalidAuthToken"})
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"status": 3, "status_message": "badData"})
        text = body.get("text")
        kind = body.get("message_type")
        if (not isinstance(text, str) or not text or len(text) > 1000
                or len(str(body.get("source_addr", ""))) > 28 or not body.get("source_addr")):
            return self._refuse(3, body)
        if kind not in (106, 108):
            return self._refuse(5, body)
        if kind == 106 and any(k in body for k in ("image", "button_caption", "button_action")):
            return self._refuse(5, body)
        if len(str(body.get("button_caption", ""))) > 30:
            return self._refuse(3, body)
        ttl = body.get("validity_period")
        if not isinstance(ttl, int) or not 30 <= ttl <= 1_209_600:
            return self._refuse(20, body)
        if body.get("destination_addr") not in self.viber_users:
            return self._refuse(9, body)
        self._next += 1
        self.sent.append(Sent(self._next, body))
        return web.json_response({"status": 0, "status_message": "ok",
                                  "message_token": self._next})

    async def callback(self, sent: Sent, event: str, *, desc: str | None = None,
                       key: str | None = None) -> int:
        """Post a status event for `sent` to its callback URL; the HTTP status we got."""
        data: dict[str, Any] = {"event": event, "timestamp": int(time.time() * 1000),
                                "message_token": sent.token}
        if desc:
            data["desc"] = desc
        raw = json.dumps(data).encode()
        signature = hmac.new((key or self.auth_token).encode(), raw,
                             hashlib.sha256).hexdigest()
        async with aiohttp.ClientSession() as session, session.post(
                sent.body["callback_url"], data=raw,
                headers={"X-Viber-Content-Signature": signature,
                         "Content-Type": "application/json"}) as reply:
            return reply.status
