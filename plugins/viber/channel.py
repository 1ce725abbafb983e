"""The "viber" message channel: sends through the partner's API, receives its callbacks.

``OutgoingMessage.metadata`` may carry ``viber_type`` ("transactional", the default, or
"promotional"), ``image``, ``button_caption`` and ``button_action`` (promotional only) and
``ttl_seconds`` (the message's lifetime; the outbox sets it). A message the contract does
not allow (text over 1000 characters, a button on a transactional message, a lifetime out
of range) is REJECTED without a call, so its SMS fallback (if any) goes out at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from plugins.viber import wire
from plugins.viber.settings import ViberSettings
from server.plugin_api import (
    DeliveryCallback,
    DeliveryReport,
    OutgoingMessage,
    SendResult,
    SendStatus,
)

log = logging.getLogger(__name__)


def request_body(settings: ViberSettings, message: OutgoingMessage) -> dict[str, Any] | str:
    """The send request for `message`, or why the contract does not allow it."""
    meta = message.metadata
    kind = meta.get("viber_type", "transactional")
    if kind not in ("transactional", "promotional"):
        return f"unknown viber_type {kind!r}"
    if len(message.body) > wire.TEXT_MAX:
        return f"text longer than {wire.TEXT_MAX} characters"
    ttl = int(meta.get("ttl_seconds") or settings.default_ttl_seconds)
    low, high = wire.TTL_RANGE
    if not low <= ttl <= high:
        return f"lifetime {ttl} s outside {low}..{high}"
    body: dict[str, Any] = {
        "source_addr": settings.sender,
        "destination_addr": "".join(ch for ch in message.recipient if ch.isdigit()),
        "message_type": wire.TRANSACTIONAL, "text": message.body, "validity_period": ttl,
    }
    extras = {k: meta[k] for k in ("image", "button_caption", "button_action") if meta.get(k)}
    if kind == "transactional" and extras:
        return "a transactional message is text only (send images and buttons as promotional)"
    if kind == "promotional":
        if len(extras.get("button_caption", "")) > wire.BUTTON_CAPTION_MAX:
            return f"button_caption longer than {wire.BUTTON_CAPTION_MAX} characters"
        if ("button_caption" in extras) != ("button_action" in extras):
            return "button_caption and button_action go together"
        body.update(message_type=wire.PROMOTIONAL, **extras)
    if settings.callback_url:
        body["callback_url"] = settings.callback_url
    return body


class ViberChannel:
    """MessageChannel "viber" and, through `http_endpoint`, its status callbacks."""

    name = "viber"

    def __init__(self, settings: ViberSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._on_report: DeliveryCallback | None = None

    async def start(self, on_delivery_report: DeliveryCallback | None = None) -> None:
        self._on_report = on_delivery_report
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: OutgoingMessage) -> SendResult:
        body = request_body(self.settings, message)
        if isinstance(body, str):
            return SendResult(SendStatus.REJECTED, error=body)
        if self._session is None:
            return SendResult(SendStatus.RETRY_LATER, error="viber channel not started")
        try:
            async with self._session.post(
                    self.settings.send_url, json=body,
                    headers={wire.TOKEN_HEADER: self.settings.auth_token}) as reply:
                if reply.status == 429 or reply.status >= 500:
                    return SendResult(SendStatus.RETRY_LATER, error=f"HTTP {reply.status}")
                if reply.status != 200:  # a bad token or URL: keep the message, say why
                    return SendResult(SendStatus.RETRY_LATER, error=f"HTTP {reply.status}")
                answer = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return SendResult(SendStatus.RETRY_LATER, error=f"viber: {type(exc).__name__}")
        status = answer.get("status") if isinstance(answer, dict) else None
        if status == 0 and answer.get("message_token") is not None:
            return SendResult(SendStatus.ACCEPTED, (str(answer["message_token"]),))
        outcome, error = wire.send_outcome(status)
        return SendResult(outcome, error=error)

    def http_endpoint(self) -> ViberCallbacks:
        return ViberCallbacks(self)

    async def report(self, report: DeliveryReport) -> None:
        if self._on_report is None:
            raise RuntimeError("viber channel not started")
        await self._on_report(report)


class ViberCallbacks:
    """``POST <path>``: a status callback, refused (403) unless its signature verifies."""

    def __init__(self, channel: ViberChannel) -> None:
        self.channel = channel
        self.path = channel.settings.path

    def app(self) -> web.Application:
        application = web.Application()
        self.add_routes(application)
        return application

    def add_routes(self, application: web.Application) -> None:
        application.router.add_post(self.path, self._callback)

    async def close(self) -> None:
        return None

    async def _callback(self, request: web.Request) -> web.Response:
        raw = await request.read()
        given = request.headers.get(wire.SIGNATURE_HEADER, "")
        if not given or not wire.signature_ok(self.channel.settings.auth_token, raw, given):
            log.warning("viber callback with a bad signature refused")
            return web.json_response({"status": 2, "status_message": "bad signature"},
                                     status=403)
        try:
            data = json.loads(raw)
            event, token = data["event"], data.get("message_token")
        except (ValueError, KeyError, TypeError):
            return web.json_response({"status": 3, "status_message": "badData"}, status=400)
        state = wire.EVENT_STATES.get(event)
        if state is None or token is None:
            return web.json_response({"status": 0, "status_message": "ok"})  # not ours
        desc = data.get("desc")
        report = DeliveryReport(channel=self.channel.name, provider_message_id=str(token),
                                state=state, error_code=str(desc)[:32] if desc else None,
                                raw=raw.decode("utf-8", "replace")[:2000])
        try:
            await self.channel.report(report)
        except (Exception, asyncio.CancelledError):  # the database is down: ask to retry
            log.exception("viber callback could not be recorded")
            return web.json_response({"status": 1, "status_message": "retry"}, status=503)
        return web.json_response({"status": 0, "status_message": "ok"})
