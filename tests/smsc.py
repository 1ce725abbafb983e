"""A real SMSC on loopback (the `smpp34` package's Rust server) for every SMS test.

Records every submit_sm, answers with scripted statuses and pushes deliver_sm receipts.
`start(port)` can bind a port chosen earlier, so a test can configure a server against
an SMSC that is down and bring it up later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import smpp34

from tests.ports import idle_port


@dataclass(frozen=True)
class Submitted:
    """One submit_sm as the SMSC received it, and how it answered."""

    session_id: str
    source_addr: str
    source_addr_ton: int
    destination_addr: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    status: int
    message_id: str | None

    @property
    def text(self) -> str:
        """The payload as text (UCS2 or plain ASCII/GSM without specials)."""
        if self.data_coding == 0x08:
            return self.short_message.decode("utf-16-be")
        return self.short_message.decode("latin-1")


class Smsc:
    def __init__(self) -> None:
        self.port = 0
        self.server: smpp34.Server | None = None
        self.sessions: dict[str, smpp34.Esme] = {}
        self.submitted: list[Submitted] = []
        self.script: deque[int] = deque()  # statuses for the next submits; then accept
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self, port: int | None = None) -> None:
        # smpp34.Server binds inside start() and tells no one the port it got, so port 0
        # would leave the clients nowhere to connect: the port is picked before it starts,
        # below the ephemeral range (idle_port), and another is tried if it was taken since.
        for attempt in range(5):
            self.port = port or idle_port()
            self.server = smpp34.Server("127.0.0.1", self.port, system_id="TESTSMSC")
            try:
                await self.server.start()
                break
            except Exception:
                if port or attempt == 4:
                    raise
        self._task = asyncio.create_task(self._serve())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for esme in self.sessions.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(esme.unbind(), 0.2)
        if self.server is not None:
            await self.server.stop()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def push_deliver_sm(self, short_message: bytes, **fields: object) -> int:
        """Push a deliver_sm to the first bound session; its resp status."""
        await self.wait_for(lambda: bool(self.sessions))  # bind_resp may beat the event
        esme = next(iter(self.sessions.values()))
        resp = await esme.deliver_sm("Kopilka", short_message, source_addr="380501234567",
                                     **fields)
        return resp.command_status

    async def push_receipt(self, message_id: str, stat: str = "DELIVRD",
                           err: str = "000") -> int:
        """Send an SMPP 3.4 Appendix B delivery receipt for `message_id`; its resp status."""
        text = (f"id:{message_id} sub:001 dlvrd:001 submit date:2611241200 "
                f"done date:2611241201 stat:{stat} err:{err} text:")
        return await self.push_deliver_sm(text.encode(), esm_class=0x04)

    async def _serve(self) -> None:
        assert self.server is not None
        while True:
            event = await self.server.next()
            if isinstance(event, smpp34.Esme):
                self.sessions[event.session_id] = event
            elif isinstance(event, smpp34.Unbound):
                self.sessions.pop(event.session_id, None)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._answer(event)
            async with self._changed:
                self._changed.notify_all()

    def _answer(self, event: smpp34.SubmitSmEvent) -> None:
        status = self.script.popleft() if self.script else smpp34.ESME_ROK
        message_id = f"msg-{len(self.submitted) + 1}" if status == smpp34.ESME_ROK else None
        if message_id is None:
            event.reject(status)
        else:
            event.accept(message_id)
        self.submitted.append(Submitted(
            event.session_id, event.source_addr, event.source_addr_ton,
            event.destination_addr, event.esm_class, event.data_coding,
            event.registered_delivery, bytes(event.short_message), status, message_id))
