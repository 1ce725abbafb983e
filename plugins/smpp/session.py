"""One bound SMPP transceiver connection over asyncio streams.

A session never reconnects: when the link drops, the peer unbinds, a response times out
or an enquire_link goes unanswered, it closes for good, fails its pending requests with
``ConnectionError`` and sets ``closed``. The channel's supervisor opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable

from plugins.smpp.pdu import (
    HEADER,
    Cmd,
    Pdu,
    PduError,
    ShortMessage,
    Status,
    bind_transceiver,
    message_id,
    parse_header,
)
from plugins.smpp.settings import SmppSettings

log = logging.getLogger(__name__)

#: Handles an inbound deliver_sm; returns the command_status for its deliver_sm_resp.
DeliverHandler = Callable[[ShortMessage], Awaitable[int]]


class BindError(ConnectionError):
    """The SMSC refused bind_transceiver (wrong credentials, too many binds, ...)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"bind_transceiver refused with status 0x{status:08X}")
        self.status = status


class SmppSession:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 settings: SmppSettings, on_deliver: DeliverHandler) -> None:
        self._reader = reader
        self._writer = writer
        self._settings = settings
        self._on_deliver = on_deliver
        self._sequence = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._window = asyncio.Semaphore(settings.window_size)  # outstanding submit_sm
        self.closed = asyncio.Event()
        self.keepalive_acks = 0  # answered enquire_links, for monitoring and tests

    @classmethod
    async def open(cls, settings: SmppSettings, on_deliver: DeliverHandler) -> SmppSession:
        """Connect and bind as a transceiver; raises OSError, TimeoutError or BindError."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(settings.host, settings.port), settings.connect_timeout)
        session = cls(reader, writer, settings, on_deliver)
        session._spawn(session._read_loop())
        body = bind_transceiver(settings.system_id, settings.password, settings.system_type)
        try:
            resp = await session._request(Cmd.BIND_TRANSCEIVER, body)
        except BaseException:
            session._shutdown("bind failed")
            raise
        if resp.status != Status.OK:
            session._shutdown("bind refused")
            raise BindError(resp.status)
        session._spawn(session._keepalive_loop())
        return session

    async def submit(self, message: ShortMessage) -> tuple[int, str]:
        """Send submit_sm; return (command_status, message_id) of the response."""
        async with self._window:
            resp = await self._request(Cmd.SUBMIT_SM, message.encode())
        return resp.status, message_id(resp.body) if resp.status == Status.OK else ""

    async def close(self) -> None:
        """Unbind politely (bounded by the response timeout), then drop the link."""
        if not self.closed.is_set():
            with contextlib.suppress(ConnectionError, TimeoutError):
                await self._request(Cmd.UNBIND, b"")
        self._shutdown("closed by us")

    async def _request(self, command_id: int, body: bytes) -> Pdu:
        if self.closed.is_set():
            raise ConnectionError("SMPP session is closed")
        sequence = next(self._sequence)
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        self._send(Pdu(command_id, Status.OK, sequence, body))
        try:
            return await asyncio.wait_for(future, self._settings.response_timeout)
        except TimeoutError:
            self._shutdown(f"no response to command 0x{command_id:08X}")
            raise
        finally:
            self._pending.pop(sequence, None)

    def _send(self, pdu: Pdu) -> None:
        if not self.closed.is_set():
            self._writer.write(pdu.encode())

    async def _read_loop(self) -> None:
        reason = "connection lost"
        try:
            while True:
                length, command_id, status, sequence = parse_header(
                    await self._reader.readexactly(HEADER.size))
                body = await self._reader.readexactly(length - HEADER.size)
                self._dispatch(Pdu(command_id, status, sequence, body))
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc!r}"
        except PduError as exc:
            reason = f"corrupt stream: {exc}"
        finally:
            self._shutdown(reason)

    def _dispatch(self, pdu: Pdu) -> None:
        if pdu.is_response:  # includes generic_nack, which answers the same sequence
            future = self._pending.get(pdu.sequence)
            if future is not None and not future.done():
                future.set_result(pdu)
        elif pdu.command_id == Cmd.ENQUIRE_LINK:
            self._send(Pdu(Cmd.ENQUIRE_LINK_RESP, Status.OK, pdu.sequence))
        elif pdu.command_id == Cmd.DELIVER_SM:
            self._spawn(self._handle_deliver(pdu))
        elif pdu.command_id == Cmd.UNBIND:
            self._send(Pdu(Cmd.UNBIND_RESP, Status.OK, pdu.sequence))
            self._shutdown("unbound by the SMSC")
        else:
            self._send(Pdu(Cmd.GENERIC_NACK, Status.INVALID_COMMAND_ID, pdu.sequence))

    async def _handle_deliver(self, pdu: Pdu) -> None:
        """Acknowledge only after the handler ran, so a failed handler gets a redelivery."""
        try:
            status = await self._on_deliver(ShortMessage.decode(pdu.body))
        except PduError:
            log.warning("malformed deliver_sm %r", pdu.body)
            status = Status.OK  # redelivering unparseable bytes would not help
        except Exception:
            log.exception("deliver_sm handler failed")
            status = Status.TEMPORARY_APP_ERROR
        self._send(Pdu(Cmd.DELIVER_SM_RESP, status, pdu.sequence, b"\0"))

    async def _keepalive_loop(self) -> None:
        """enquire_link on a timer; an unanswered one closes the session via _request."""
        while not self.closed.is_set():
            await asyncio.sleep(self._settings.enquire_link_interval)
            with contextlib.suppress(ConnectionError, TimeoutError):
                resp = await self._request(Cmd.ENQUIRE_LINK, b"")
                if resp.command_id == Cmd.ENQUIRE_LINK_RESP:
                    self.keepalive_acks += 1

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _shutdown(self, reason: str) -> None:
        if self.closed.is_set():
            return
        log.info("SMPP session to %s:%s closed: %s", self._settings.host,
                 self._settings.port, reason)
        self.closed.set()
        self._writer.transport.abort()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"SMPP session closed: {reason}"))
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
