"""Fixtures for plugin tests: a real SMSC on loopback and a cuttable TCP relay.

The SMSC is the ``smpp34`` package's Rust server: it records every submit_sm, answers
with scripted statuses (e.g. ESME_RTHROTTLED first) and pushes deliver_sm to bound
sessions. ``LoopbackProxy`` sits between client and SMSC so a test can cut the TCP
connection the way a network failure would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.smsc import Smsc

SmscPeer = Smsc  # the SMSC fixture class shared with the server's e2e tests


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
async def proxy(smsc: SmscPeer) -> AsyncIterator[LoopbackProxy]:
    relay = LoopbackProxy(smsc.port)
    await relay.start()
    yield relay
    await relay.stop()
