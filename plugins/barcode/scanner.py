"""The serial ScannerSource: reads lines from a pyserial port and yields Scans.

pyserial is blocking, so each read runs in a worker thread with a short timeout (which
also bounds how long ``close()`` waits). When the device disappears (USB unplugged: the
read fails) the port is reopened every ``reconnect_delay`` seconds until it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import serial

from plugins.barcode.decode import Decoder
from plugins.barcode.settings import BarcodeSettings
from server.plugin_api import Scan

log = logging.getLogger(__name__)


class SerialPort(Protocol):
    """What the scanner (and a test writing to ``loop://``) uses of an open pyserial port.
    Every port class has ``in_waiting``; the stubs leave it off their base, SerialBase."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, b: bytes, /) -> int | None: ...

    def close(self) -> None: ...


class LineFramer:
    """Bytes -> lines split on any terminator byte; overlong junk is discarded."""

    def __init__(self, terminators: str, encoding: str, max_length: int) -> None:
        self._terminators = set(terminators.encode(encoding))
        self._encoding = encoding
        self._max = max_length
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        for byte in data:
            if byte in self._terminators:
                if self._buffer:
                    lines.append(self._buffer.decode(self._encoding, errors="replace"))
                self._buffer.clear()
            elif len(self._buffer) < self._max:
                self._buffer.append(byte)
            else:  # no terminator for too long: drop rather than grow without bound
                self._buffer.clear()
        return lines

    def reset(self) -> None:
        self._buffer.clear()


class SerialScanner:
    """A barcode scanner on a serial port (or any pyserial URL such as ``loop://``)."""

    def __init__(self, settings: BarcodeSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.decoder = Decoder(settings)
        self.connections = 0  # successful opens, for monitoring and tests
        self._port: SerialPort | None = None
        self._closed = asyncio.Event()

    @property
    def port(self) -> SerialPort | None:
        """The open port (tests write to ``loop://`` through it)."""
        return self._port

    async def open(self) -> SerialPort:
        """Open the port now, retrying until it exists; scans() also does this lazily."""
        while self._port is None:
            try:
                self._port = await asyncio.to_thread(
                    serial.serial_for_url, self.settings.port, baudrate=self.settings.baudrate,
                    timeout=self.settings.read_timeout)
                self.connections += 1
                log.info("scanner %s: opened %s", self.name, self.settings.port)
            except (serial.SerialException, OSError, ValueError) as exc:
                if self._closed.is_set():
                    raise ConnectionError("scanner closed") from exc
                log.warning("scanner %s: cannot open %s (%s); retrying in %.1fs", self.name,
                            self.settings.port, exc, self.settings.reconnect_delay)
                await self._pause()
        return self._port

    async def scans(self) -> AsyncIterator[Scan]:
        framer = LineFramer(self.settings.unescaped(self.settings.terminators),
                            self.settings.encoding, self.settings.max_length)
        while not self._closed.is_set():
            try:
                port = await self.open()
            except ConnectionError:
                return
            try:
                data = await asyncio.to_thread(_read, port)
            except (serial.SerialException, OSError, TypeError) as exc:
                if self._closed.is_set():
                    return
                log.warning("scanner %s: %s lost (%s); reconnecting", self.name,
                            self.settings.port, exc)
                self._drop_port()
                framer.reset()
                await self._pause()
                continue
            for line in framer.feed(data):
                scan = self.decoder.decode(line)
                if scan is not None:
                    yield scan

    async def close(self) -> None:
        self._closed.set()
        self._drop_port()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), self.settings.reconnect_delay)

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()


def _read(port: SerialPort) -> bytes:
    """Whatever is waiting, or at least one byte within the port timeout (b"" if none)."""
    return port.read(max(1, port.in_waiting))
