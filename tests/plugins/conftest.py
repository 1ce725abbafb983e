"""Fixtures for plugin tests: a real SMSC on loopback and a cuttable TCP relay.

The SMSC is the ``smpp34`` package's Rust server: it records every submit_sm, answers
with scripted statuses (e.g. ESME_RTHROTTLED first) and pushes deliver_sm to bound
sessions. ``LoopbackProxy`` sits between client and SMSC so a test can cut the TCP
connection the way a network failure would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import smpp34

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # a no-op once pytest has `pythonpath = ["."]`
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Submitted:
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


class SmscPeer:
    def __init__(self) -> None:
        self.port = 0
        self.server: smpp34.Server | None = None
        self.sessions: dict[str, smpp34.Esme] = {}
        self.submitted: list[Submitted] = []
        self.script: deque[int] = deque()  # statuses for the next submits; then accept
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for _ in range(5):  # the free port may be taken between probe and bind
            self.port = free_port()
            self.server = smpp34.Server("127.0.0.1", self.port, system_id="TESTSMSC")
            try:
                await self.server.start()
                break
            except Exception:  # retry on another port
                continue
        self._task = asyncio.create_task(self._serve())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for esme in self.sessions.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(esme.unbind(), 1)
        if self.server is not None:
            await self.server.stop()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def push_deliver_sm(self, short_message: bytes, **fields: object) -> int:
        await self.wait_for(lambda: bool(self.sessions))  # bind_resp may beat the event
        esme = next(iter(self.sessions.values()))
        resp = await esme.deliver_sm("Kopilka", short_message, source_addr="380501234567",
                                     **fields)
        return resp.command_status

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


class LoopbackProxy:
    """TCP relay on 127.0.0.1: ``cut()`` aborts the relayed connections (a reset),
    ``freeze()`` silently drops their traffic (a half-dead link only keepalive notices).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self._transports: list[asyncio.WriteTransport] = []
        self._frozen: set[asyncio.WriteTransport] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    def freeze(self) -> None:
        self._frozen.update(self._transports)

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(task := asyncio.current_task())  # type: ignore[arg-type]
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._transports += [writer.transport, up_writer.transport]
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._tasks.discard(task)  # type: ignore[arg-type]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if writer.transport not in self._frozen:
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.transport.abort()


@pytest.fixture
async def smsc() -> AsyncIterator[SmscPeer]:
    peer = SmscPeer()
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
async def proxy(smsc: SmscPeer) -> AsyncIterator[LoopbackProxy]:
    relay = LoopbackProxy(smsc.port)
    await relay.start()
    yield relay
    await relay.stop()
