"""The "sms" MessageChannel: keeps one SMPP session alive and sends through it.

A supervisor task reconnects with backoff whenever the session closes. ``send`` splits
the text into parts, waits for a live session, and retries a part after ESME_RTHROTTLED
or ESME_RMSGQFUL (doubling the pause) and after a dropped connection. A part whose
response was lost may reach the SMSC twice: delivery is at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from plugins.smpp.encoding import Part, decode_text, split_message
from plugins.smpp.pdu import Address, ShortMessage, Status
from plugins.smpp.receipts import is_receipt, parse_receipt
from plugins.smpp.session import SmppSession
from plugins.smpp.settings import SmppSettings
from server.plugin_api import (
    DeliveryCallback,
    IncomingCallback,
    IncomingMessage,
    OutgoingMessage,
    SendResult,
    SendStatus,
)

log = logging.getLogger(__name__)

_BUSY = {Status.THROTTLED, Status.MESSAGE_QUEUE_FULL}


class SmppChannel:
    name = "sms"

    def __init__(self, settings: SmppSettings) -> None:
        self.settings = settings
        self._on_report: DeliveryCallback | None = None
        self._on_incoming: IncomingCallback | None = None
        self._session: SmppSession | None = None
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._reference = random.randrange(256)  # concatenation reference, 8 bits
        self.connections = 0  # sessions bound so far, for monitoring and tests

    def on_incoming(self, callback: IncomingCallback) -> None:
        """Mobile-originated messages (deliver_sm that is not a receipt) go to `callback`."""
        self._on_incoming = callback

    async def start(self, on_delivery_report: DeliveryCallback | None = None) -> None:
        self._on_report = on_delivery_report
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._maintain(), name="smpp-supervisor")

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._ready.clear()

    async def send(self, message: OutgoingMessage) -> SendResult:
        await self._ensure_started()
        self._reference = (self._reference + 1) % 256
        try:
            parts = split_message(message.body, self._reference)
        except ValueError as exc:
            return SendResult(SendStatus.REJECTED, error=str(exc))
        deadline = asyncio.get_running_loop().time() + self.settings.send_timeout
        ids: list[str] = []
        for part in parts:
            outcome = await self._submit(self._short_message(message, part), deadline)
            if isinstance(outcome, SendResult):
                return SendResult(outcome.status, tuple(ids), outcome.error)
            ids.append(outcome)
        return SendResult(SendStatus.ACCEPTED, tuple(ids))

    async def wait_connected(self, timeout: float) -> SmppSession:
        """The live session, waiting up to ``timeout`` seconds for a (re)connect."""
        await self._ensure_started()
        return await self._live_session(asyncio.get_running_loop().time() + timeout)

    async def _ensure_started(self) -> None:
        """Sending before ``start`` works too; receipts are then dropped."""
        if self._supervisor is None:
            await self.start(self._on_report)

    async def _submit(self, sm: ShortMessage, deadline: float) -> str | SendResult:
        """Submit one part; the provider message id, or a SendResult on failure."""
        loop = asyncio.get_running_loop()
        backoff = self.settings.throttle_backoff
        busy_answers = 0
        while True:
            try:
                status, message_id = await (await self._live_session(deadline)).submit(sm)
            except (ConnectionError, TimeoutError) as exc:
                if loop.time() >= deadline:
                    return SendResult(SendStatus.RETRY_LATER, error=f"SMSC unreachable: {exc}")
                continue  # the supervisor reconnects; _live_session waits for it
            if status == Status.OK:
                return message_id
            if status not in _BUSY:
                return SendResult(SendStatus.REJECTED, error=f"submit_sm status 0x{status:08X}")
            busy_answers += 1
            if busy_answers > self.settings.throttle_retries or loop.time() + backoff > deadline:
                return SendResult(SendStatus.RETRY_LATER, error=f"SMSC busy (0x{status:08X})")
            log.info("SMSC busy (0x%08X), retrying in %.2fs", status, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.settings.throttle_backoff_max)

    async def _live_session(self, deadline: float) -> SmppSession:
        loop = asyncio.get_running_loop()
        while True:
            session = self._session
            if session is not None and not session.closed.is_set():
                return session
            self._ready.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("no SMSC session")
            await asyncio.wait_for(self._ready.wait(), remaining)

    async def _maintain(self) -> None:
        """Keep a session open; reconnect with exponential backoff after every drop."""
        delay = self.settings.reconnect_delay
        while True:
            try:
                session = await SmppSession.open(self.settings, self._on_deliver)
            except (OSError, TimeoutError) as exc:  # BindError is a ConnectionError
                log.warning("SMPP connect to %s:%s failed: %r; retrying in %.1fs",
                            self.settings.host, self.settings.port, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_delay_max)
                continue
            delay = self.settings.reconnect_delay
            self.connections += 1
            self._session = session
            self._ready.set()
            await session.closed.wait()
            self._ready.clear()
            self._session = None

    async def _on_deliver(self, sm: ShortMessage) -> int:
        if not is_receipt(sm):
            if self._on_incoming is None:
                log.info("ignoring a mobile-originated message (no handler)")
                return Status.OK
            sender = sm.source.addr
            await self._on_incoming(IncomingMessage(  # an exception here NAKs for redelivery
                self.name, f"+{sender}" if sender.isdigit() else sender,
                decode_text(sm.short_message, sm.data_coding)))
            return Status.OK
        report = parse_receipt(sm, self.name)
        if report is None:
            log.warning("delivery receipt without message id: %r", sm.short_message)
        elif self._on_report is not None:
            await self._on_report(report)  # an exception here NAKs for redelivery
        return Status.OK

    def _short_message(self, message: OutgoingMessage, part: Part) -> ShortMessage:
        s = self.settings
        source = message.sender or s.source_addr
        alphanumeric = not source.lstrip("+").isdigit()
        source_ton = s.source_addr_ton if s.source_addr_ton is not None else (
            5 if alphanumeric else 1)
        source_npi = s.source_addr_npi if s.source_addr_npi is not None else (
            0 if alphanumeric else 1)
        return ShortMessage(
            source=Address(source.lstrip("+"), source_ton, source_npi),
            destination=Address(message.recipient.lstrip("+"), s.dest_addr_ton,
                                s.dest_addr_npi),
            short_message=part.short_message,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            registered_delivery=1 if s.request_receipts else 0,
        )
