"""Server side of 1C's HTTP exchange protocol ("Обмен с сайтом"), as an aiohttp app.

1C drives the conversation with GET/POST requests to one URL:

- ``type=catalog&mode=checkauth`` with HTTP Basic auth -> ``success\\n<cookie>\\n<value>``;
  1C sends that cookie with every later request.
- ``mode=init`` -> ``zip=no\\nfile_limit=<bytes>``; starts a fresh upload directory.
- ``mode=file&filename=F`` (POST) -> the body is appended to F (1C splits big files into
  ``file_limit`` chunks).
- ``mode=import&filename=F`` -> F is parsed and the items handed to ``on_catalog``. Long
  imports answer ``progress``; 1C repeats the request until ``success`` or
  ``failure\\n<reason>``.
- ``type=sale&mode=query`` -> orders as CommerceML; ``type=sale&mode=success`` confirms
  that 1C stored them, so they can be marked exported.

Protocol answers are plain text (UTF-8); 1C shows a failure's reason to its operator.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import secrets
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from aiohttp import web

from plugins.onec.exchange import OneCExchange
from plugins.onec.xmlio import CommerceMLError
from server.plugin_api import CatalogCallback, OrderExport

log = logging.getLogger(__name__)

COOKIE_NAME = "kopilka_1c"
MAX_SESSIONS = 16

OrdersQuery = Callable[[], Awaitable[Sequence[OrderExport]]]
OrdersExported = Callable[[list[str]], Awaitable[None]]


@dataclass
class _Session:
    directory: Path
    imports: dict[str, asyncio.Task[int]] = field(default_factory=dict)
    queried_orders: list[str] = field(default_factory=list)


class OneCHttpExchange:
    """The exchange endpoint; mount :meth:`app` (or :meth:`add_routes`) in a web server."""

    def __init__(self, exchange: OneCExchange, on_catalog: CatalogCallback, *,
                 orders_query: OrdersQuery | None = None,
                 orders_exported: OrdersExported | None = None, path: str = "/1c_exchange"
                 ) -> None:
        self.exchange = exchange
        self.settings = exchange.settings
        self.path = path
        self._on_catalog = on_catalog
        self._orders_query = orders_query
        self._orders_exported = orders_exported
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._cleanup: set[asyncio.Task[None]] = set()
        self._root = Path(self.settings.upload_dir or tempfile.mkdtemp(prefix="kopilka-1c-"))

    def app(self) -> web.Application:
        application = web.Application()
        self.add_routes(application)
        application.on_cleanup.append(lambda _app: self.close())
        return application

    def add_routes(self, application: web.Application) -> None:
        application.router.add_route("GET", self.path, self.handle)
        application.router.add_route("POST", self.path, self.handle)

    async def close(self) -> None:
        """Cancel running imports and remove every upload directory."""
        for token in list(self._sessions):
            await self._drop(token)

    async def handle(self, request: web.Request) -> web.Response:
        kind, mode = request.query.get("type", ""), request.query.get("mode", "")
        if kind not in ("catalog", "sale"):
            return _answer("failure", f"unknown type {kind!r}: expected catalog or sale",
                           status=400)
        if mode == "checkauth":
            return self._checkauth(request)
        token = request.cookies.get(COOKIE_NAME, "")
        session = self._sessions.get(token)
        if session is None:
            return _answer("failure", "not authorised: start with mode=checkauth", status=401)
        try:
            if mode == "init":
                return await self._init(session)
            if mode == "file":
                return await self._file(session, request)
            if kind == "catalog" and mode == "import":
                return await self._import(session, request.query.get("filename", ""))
            if kind == "sale" and mode == "query":
                return await self._query(session)
            if kind == "sale" and mode == "success":
                return await self._success(session)
        except _Failure as exc:
            return _answer("failure", str(exc))
        return _answer("failure", f"unknown mode {mode!r} for type={kind}", status=400)

    def _checkauth(self, request: web.Request) -> web.Response:
        if not (self.settings.username and self.settings.password):
            return _answer("failure", "1C exchange credentials are not configured", status=403)
        if not self._authorised(request.headers.get("Authorization", "")):
            return web.Response(status=401, text="failure\nwrong login or password",
                                headers={"WWW-Authenticate": 'Basic realm="kopilka-1c"'})
        token = secrets.token_hex(16)
        self._sessions[token] = _Session(self._root / token)
        while len(self._sessions) > MAX_SESSIONS:  # 1C never logs out: forget the oldest
            _token, stale = self._sessions.popitem(last=False)
            self._cleanup.add(task := asyncio.get_running_loop().create_task(_discard(stale)))
            task.add_done_callback(self._cleanup.discard)
        return _answer("success", COOKIE_NAME, token)

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            return False
        try:  # 1C sends UTF-8; some HTTP clients still send latin-1
            user, _, password = raw.decode("utf-8").partition(":")
        except UnicodeDecodeError:
            user, _, password = raw.decode("latin-1").partition(":")
        return (hmac.compare_digest(user.encode(), self.settings.username.encode())
                & hmac.compare_digest(password.encode(), self.settings.password.encode()))

    async def _init(self, session: _Session) -> web.Response:
        await _cancel(session)
        shutil.rmtree(session.directory, ignore_errors=True)
        session.directory.mkdir(parents=True)
        return _answer("zip=no", f"file_limit={self.settings.file_limit}")

    async def _file(self, session: _Session, request: web.Request) -> web.Response:
        target = _target(session, request.query.get("filename", ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with target.open("ab") as out:
            async for chunk in request.content.iter_chunked(64 * 1024):
                written += len(chunk)
                if written > self.settings.file_limit:
                    raise _Failure(f"request larger than file_limit={self.settings.file_limit}")
                out.write(chunk)
        return _answer("success")

    async def _import(self, session: _Session, filename: str) -> web.Response:
        target = _target(session, filename)
        task = session.imports.get(filename)
        if task is None:
            if not target.is_file():
                raise _Failure(f"{filename} was not uploaded: send it with mode=file first")
            task = asyncio.get_running_loop().create_task(self._run_import(target))
            session.imports[filename] = task
        done, _ = await asyncio.wait({task}, timeout=self.settings.import_step_seconds)
        if not done:
            return _answer("progress", f"importing {filename}")
        del session.imports[filename]
        try:
            count = task.result()
        except CommerceMLError as exc:
            raise _Failure(str(exc)) from exc
        except Exception as exc:  # the callback failed: tell 1C, keep the details in logs
            log.exception("1C import of %s failed", filename)
            raise _Failure(f"{filename}: {type(exc).__name__}: {exc}") from exc
        return _answer("success", f"imported {count} items from {filename}")

    async def _run_import(self, target: Path) -> int:
        data = await asyncio.to_thread(target.read_bytes)
        parsed = await asyncio.to_thread(self.exchange.parse, {target.name: data})
        if parsed.unmatched_offers:
            log.warning("1C offers without a known product (send import.xml first): %s",
                        ", ".join(parsed.unmatched_offers[:10]))
        await self._on_catalog(parsed.items)
        return len(parsed.items)

    async def _query(self, session: _Session) -> web.Response:
        orders = list(await self._orders_query()) if self._orders_query else []
        try:
            body = await self.exchange.render_orders(orders)
        except ValueError as exc:
            raise _Failure(str(exc)) from exc
        session.queried_orders = [order.order_id for order in orders]
        return web.Response(body=body, content_type="application/xml", charset="utf-8")

    async def _success(self, session: _Session) -> web.Response:
        if self._orders_exported and session.queried_orders:
            await self._orders_exported(session.queried_orders)
        session.queried_orders = []
        return _answer("success")

    async def _drop(self, token: str) -> None:
        session = self._sessions.pop(token, None)
        if session is not None:
            await _discard(session)


class _Failure(Exception):
    """A protocol-level failure: answered as ``failure\\n<reason>`` with HTTP 200."""


def _answer(*lines: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text="\n".join(lines), charset="utf-8")


def _target(session: _Session, filename: str) -> Path:
    """The upload path of ``filename``; refuses absolute paths and ``..`` escapes."""
    relative = PurePosixPath(filename.replace("\\", "/"))
    if not filename or relative.is_absolute() or ".." in relative.parts:
        raise _Failure(f"bad filename {filename!r}")
    if not session.directory.is_dir():
        raise _Failure("no upload directory: call mode=init first")
    return session.directory.joinpath(*relative.parts)


async def _discard(session: _Session) -> None:
    await _cancel(session)
    shutil.rmtree(session.directory, ignore_errors=True)


async def _cancel(session: _Session) -> None:
    for task in session.imports.values():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    session.imports.clear()
