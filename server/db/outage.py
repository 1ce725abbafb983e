"""Database outages: which errors mean "unreachable", and a watcher that says when it is back.

A stopped or hung PostgreSQL is not a bug in the call that met it: the caller gets
UNAVAILABLE (reason DATABASE_UNAVAILABLE, with RetryInfo) so its retry policy applies, and
nothing is logged per call. The first such error starts a probe; only when the probe fails
too does the database count as down: one log line, health NOT_SERVING (load balancers route
away), and the probe repeats every `interval` seconds until it answers: one more log line,
SERVING again. A lone error on a healthy database (a connection that died while idle, one
slow statement) costs one probe and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import exc as sa_exc

from server.errors import DomainError, ErrorKind

log = logging.getLogger("kopilka.db")

Probe = Callable[[], Awaitable[None]]
Listener = Callable[[bool], Awaitable[None]]  # called with True when up again, False when down

# Errors of the connection itself, never of the statement: SQLSTATE classes 08 (connection),
# 57P0x (shut down, starting up) and 57014 (a statement timed out).
_ASYNCPG_UNREACHABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.QueryCanceledError,
)


def _from_driver(error: BaseException) -> bool:
    """Raised through asyncpg or SQLAlchemy: an OSError or TimeoutError of a plugin's HTTP
    call is not a database outage."""
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if "/asyncpg/" in name or "/sqlalchemy/" in name:
            return True
        tb = tb.tb_next
    return False


def _unreachable(error: BaseException) -> bool:
    if isinstance(error, _ASYNCPG_UNREACHABLE):
        return True
    if isinstance(error, (OSError, TimeoutError)):
        return _from_driver(error)
    if isinstance(error, asyncpg.InterfaceError):
        return "connection is closed" in str(error)
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def is_unreachable(error: BaseException) -> bool:
    """Whether `error`, or an error it wraps (SQLAlchemy wraps asyncpg's), says the database
    could not be reached or did not answer in time."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen or isinstance(current, DomainError):
            continue
        seen.add(id(current))
        if _unreachable(current):
            return True
        orig = getattr(current, "orig", None)
        todo += [current.__cause__, current.__context__,
                 orig if isinstance(orig, BaseException) else None]
    return False


def database_unavailable(retry_after_seconds: int = 1) -> DomainError:
    return DomainError(
        ErrorKind.UNAVAILABLE, "DATABASE_UNAVAILABLE",
        "the database is unreachable or did not answer in time; retry later",
        metadata={"retry_after_seconds": str(retry_after_seconds)})


class DatabaseWatch:
    """Turns unreachable-database errors into DATABASE_UNAVAILABLE and tracks the outage."""

    def __init__(self, probe: Probe, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probe = probe
        self._interval = interval
        self._clock = clock
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self.down = False

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def check(self, error: BaseException) -> DomainError | None:
        """DATABASE_UNAVAILABLE when `error` means the database is unreachable (and a probe
        starts, if none runs), else None: the error is the caller's to handle."""
        if isinstance(error, DomainError) or not is_unreachable(error):
            return None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())
        return database_unavailable(max(1, round(self._interval)))

    async def _notify(self, up: bool) -> None:
        for listener in self._listeners:
            try:
                await listener(up)
            except Exception:
                log.exception("database outage listener failed")

    async def _watch(self) -> None:
        since = self._clock()
        try:
            while True:
                try:
                    await self._probe()
                except Exception as error:
                    if not self.down:
                        self.down = True
                        log.error("database unreachable; answering UNAVAILABLE until it is back",
                                  extra={"error": type(error).__name__})
                        await self._notify(False)
                    await asyncio.sleep(self._interval)
                    continue
                if self.down:
                    self.down = False
                    log.warning("database reachable again", extra={
                        "outage_seconds": round(self._clock() - since, 1)})
                    await self._notify(True)
                return
        finally:
            self._task = None

    async def close(self) -> None:
        """Stop a running probe (server shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
