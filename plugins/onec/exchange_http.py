"""Server side of 1C's HTTP exchange protocol ("Обмен с сайтом"), as an aiohttp app.

1C drives the conversation with GET/POST requests to one URL:

- ``type=catalog&mode=checkauth`` with HTTP Basic auth -> ``success\\n<cookie>\\n<value>``;
  1C sends that cookie with every later request.
- ``mode=init`` -> ``zip=no\\nfile_limit=<bytes>``; starts a fresh set of uploads.
- ``type=catalog&mode=file&filename=F`` (POST) -> the body is appended to F (1C splits big
  files into ``file_limit`` chunks).
- ``type=catalog&mode=import&filename=F`` -> F is parsed, the items handed to
  ``on_catalog`` and the balances per warehouse to ``on_stock``. Long imports answer
  ``progress``; 1C repeats the request until ``success`` or ``failure\\n<reason>``.
- ``type=sale&mode=query`` -> orders changed since the last ``success`` as CommerceML;
  ``type=sale&mode=success`` confirms that 1C stored them, so exactly the versions handed
  out are marked exported.
- ``type=sale&mode=file&filename=F`` (POST) -> 1C's order documents: what became of each
  order goes to ``on_statuses``; the answer lists what was done.

Everything a conversation needs between two requests (the session, the uploads, a running
import, the orders a query handed out, 1C's product keys) lives in an `ExchangeState`:
the server keeps it in the database, so any worker answers and a restart between two
files loses nothing; `MemoryState` serves a standalone endpoint.

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
import time
from collections import OrderedDict
from collections.abc import Sequence

from aiohttp import web

from plugins.onec.exchange import OneCExchange
from plugins.onec.statuses import parse_statuses
from plugins.onec.xmlio import CommerceMLError
from server.plugin_api import (
    CatalogCallback,
    ExchangeState,
    OrderExport,
    StockRow,
)
from server.plugin_contracts import OrdersExported, OrdersQuery, StatusCallback, StockCallback

log = logging.getLogger(__name__)

COOKIE_NAME = "kopilka_1c"
MAX_SESSIONS = 16
POLL_SECONDS = 0.1

__all__ = ["COOKIE_NAME", "MemoryState", "OneCHttpExchange", "OrderExport"]


class MemoryState:
    """`ExchangeState` in this process's memory (a standalone endpoint, the plugin tests)."""

    def __init__(self) -> None:
        self.sessions: OrderedDict[str, dict[str, bytearray]] = OrderedDict()
        self.imports: dict[tuple[str, str], list[object]] = {}  # [state, message, beat]
        self.queries: dict[str, list[tuple[str, int]]] = {}
        self.products: dict[str, tuple[str, str]] = {}

    async def open_session(self, token: str, keep: int) -> None:
        self.sessions[token] = {}
        while len(self.sessions) > keep:  # 1C never logs out: forget the oldest
            old, _ = self.sessions.popitem(last=False)
            self.queries.pop(old, None)

    async def has_session(self, token: str) -> bool:
        return token in self.sessions

    async def reset_files(self, token: str) -> None:
        self.sessions[token] = {}
        for key in [k for k in self.imports if k[0] == token]:
            del self.imports[key]

    async def append_file(self, token: str, filename: str, chunk: bytes) -> None:
        self.sessions[token].setdefault(filename, bytearray()).extend(chunk)

    async def read_file(self, token: str, filename: str) -> bytes | None:
        data = self.sessions.get(token, {}).get(filename)
        return bytes(data) if data is not None else None

    async def begin_import(self, token: str, filename: str, stale_seconds: float
                           ) -> tuple[str, str]:
        current = self.imports.get((token, filename))
        if current is None or (current[0] == "running"
                               and time.monotonic() - float(str(current[2])) > stale_seconds):
            self.imports[(token, filename)] = ["running", "", time.monotonic()]
            return "start", ""
        return str(current[0]), str(current[1])

    async def beat_import(self, token: str, filename: str) -> None:
        if (current := self.imports.get((token, filename))) is not None:
            current[2] = time.monotonic()

    async def import_state(self, token: str, filename: str) -> tuple[str, str]:
        current = self.imports.get((token, filename))
        return (str(current[0]), str(current[1])) if current else ("", "")

    async def end_import(self, token: str, filename: str, state: str, message: str) -> None:
        if state:
            self.imports[(token, filename)] = [state, message, time.monotonic()]
        else:
            self.imports.pop((token, filename), None)

    async def remember_query(self, token: str, orders: list[tuple[str, int]]) -> None:
        self.queries[token] = orders

    async def take_query(self, token: str) -> list[tuple[str, int]]:
        return self.queries.pop(token, [])

    async def known_products(self) -> dict[str, tuple[str, str]]:
        return dict(self.products)

    async def remember_products(self, products: list[tuple[str, str, str]]) -> None:
        self.products.update({pid: (sku, name) for pid, sku, name in products})


class OneCHttpExchange:
    """The exchange endpoint; mount :meth:`app` (or :meth:`add_routes`) in a web server."""

    def __init__(self, exchange: OneCExchange, on_catalog: CatalogCallback, *,
                 orders_query: OrdersQuery | None = None,
                 orders_exported: OrdersExported | None = None,
                 state: ExchangeState | None = None, on_stock: StockCallback | None = None,
                 on_statuses: StatusCallback | None = None, path: str = "/1c_exchange"
                 ) -> None:
        self.exchange = exchange
        self.settings = exchange.settings
        self.path = path
        self.state: ExchangeState = state or MemoryState()
        self._on_catalog = on_catalog
        self._orders_query = orders_query
        self._orders_exported = orders_exported
        self._on_stock = on_stock
        self._on_statuses = on_statuses
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}  # imports run here
        step = self.settings.import_step_seconds
        self._stale = max(3 * step, 1.0)  # an import not beating this long has died

    def app(self) -> web.Application:
        application = web.Application()
        self.add_routes(application)
        application.on_cleanup.append(lambda _app: self.close())
        return application

    def add_routes(self, application: web.Application) -> None:
        application.router.add_route("GET", self.path, self.handle)
        application.router.add_route("POST", self.path, self.handle)

    async def close(self) -> None:
        """Cancel the imports running in this process (another worker, or this one after a
        restart, runs them again when 1C asks: their beat stops)."""
        for task in list(self._tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def handle(self, request: web.Request) -> web.Response:
        kind, mode = request.query.get("type", ""), request.query.get("mode", "")
        if kind not in ("catalog", "sale"):
            return _answer("failure", f"unknown type {kind!r}: expected catalog or sale",
                           status=400)
        if mode == "checkauth":
            return await self._checkauth(request)
        token = request.cookies.get(COOKIE_NAME, "")
        if not token or not await self.state.has_session(token):
            return _answer("failure", "not authorised: start with mode=checkauth", status=401)
        try:
            if mode == "init":
                return await self._init(token)
            if mode == "file":
                body = await self._body(request)
                filename = _filename(request.query.get("filename", ""))
                if kind == "sale":
                    return await self._sale_file(filename, body)
                await self.state.append_file(token, filename, body)
                return _answer("success")
            if mode == "import":
                if kind == "sale":  # some versions ask after mode=file: done already
                    return _answer("success")
                return await self._import(token, _filename(request.query.get("filename", "")))
            if kind == "sale" and mode == "query":
                return await self._query(token)
            if kind == "sale" and mode == "success":
                return await self._success(token)
        except _Failure as exc:
            return _answer("failure", str(exc))
        return _answer("failure", f"unknown mode {mode!r} for type={kind}", status=400)

    async def _checkauth(self, request: web.Request) -> web.Response:
        if not (self.settings.username and self.settings.password):
            return _answer("failure", "1C exchange credentials are not configured", status=403)
        if not self._authorised(request.headers.get("Authorization", "")):
            return web.Response(status=401, text="failure\nwrong login or password",
                                headers={"WWW-Authenticate": 'Basic realm="kopilka-1c"'})
        token = secrets.token_hex(16)
        await self.state.open_session(token, MAX_SESSIONS)
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

    async def _init(self, token: str) -> web.Response:
        for key in [k for k in self._tasks if k[0] == token]:
            self._tasks.pop(key).cancel()
        await self.state.reset_files(token)
        return _answer("zip=no", f"file_limit={self.settings.file_limit}")

    async def _body(self, request: web.Request) -> bytes:
        chunks, written = [], 0
        async for chunk in request.content.iter_chunked(64 * 1024):
            written += len(chunk)
            if written > self.settings.file_limit:
                raise _Failure(f"request larger than file_limit={self.settings.file_limit}")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _import(self, token: str, filename: str) -> web.Response:
        state, _ = await self.state.begin_import(token, filename, self._stale)
        if state == "start":
            data = await self.state.read_file(token, filename)
            if data is None:
                await self.state.end_import(token, filename, "", "")
                raise _Failure(f"{filename} was not uploaded: send it with mode=file first")
            task = asyncio.get_running_loop().create_task(self._run_import(token, filename, data))
            self._tasks[(token, filename)] = task
            task.add_done_callback(lambda _: self._tasks.pop((token, filename), None))
        state, message = await self._wait_import(token, filename)
        if state == "running":
            return _answer("progress", f"importing {filename}")
        await self.state.end_import(token, filename, "", "")  # told once
        if state == "failed":
            raise _Failure(message)
        return _answer("success", *message.split("\n"))

    async def _wait_import(self, token: str, filename: str) -> tuple[str, str]:
        """The import's outcome within one import step: this process's task is awaited,
        another worker's is watched through the state."""
        deadline = time.monotonic() + self.settings.import_step_seconds
        while True:
            task = self._tasks.get((token, filename))
            left = deadline - time.monotonic()
            if task is not None and left > 0:
                await asyncio.wait({task}, timeout=left)
            state, message = await self.state.import_state(token, filename)
            if not state:
                return "failed", f"{filename}: the import was lost; send the file again"
            if state != "running" or time.monotonic() >= deadline:
                return state, message
            await asyncio.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))

    async def _run_import(self, token: str, filename: str, data: bytes) -> None:
        beat = asyncio.get_running_loop().create_task(self._beat(token, filename))
        try:
            message = await self._parse_and_store(filename, data)
            await self.state.end_import(token, filename, "done", message)
        except CommerceMLError as exc:
            await self.state.end_import(token, filename, "failed", str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the callback failed: tell 1C, keep the details in logs
            log.exception("1C import of %s failed", filename)
            await self.state.end_import(token, filename, "failed",
                                        f"{filename}: {type(exc).__name__}: {exc}")
        finally:
            beat.cancel()

    async def _beat(self, token: str, filename: str) -> None:
        while True:
            await asyncio.sleep(self._stale / 3)
            await self.state.beat_import(token, filename)

    async def _parse_and_store(self, filename: str, data: bytes) -> str:
        self.exchange.learn(await self.state.known_products())
        parsed = await asyncio.to_thread(self.exchange.parse, {filename: data})
        if parsed.unmatched_offers:
            log.warning("1C offers without a known product (send import.xml first): %s",
                        ", ".join(parsed.unmatched_offers[:10]))
        await self._on_catalog(parsed.items)
        await self.state.remember_products(
            [(p.id, p.sku, p.name) for p in parsed.products.values()])
        lines = [f"imported {len(parsed.items)} items from {filename}"]
        if parsed.stock and self._on_stock is not None:
            rows, unmapped = self._stock_rows(parsed.stock, parsed.warehouses)
            if unmapped:
                lines.append("warehouses not mapped to a store (onec.warehouses), left out: "
                             + ", ".join(sorted(unmapped)[:10]))
            if rows:
                lines.extend(await self._on_stock(rows))
        return "\n".join(lines)

    def _stock_rows(self, stock: dict[tuple[str, str], int], names: dict[str, str]
                    ) -> tuple[list[StockRow], set[str]]:
        """Balances per warehouse -> per store, by the warehouse's Ид or name; a store two
        warehouses map to holds their sum."""
        stores = self.settings.warehouse_stores
        rows: dict[tuple[str, str], int] = {}
        unmapped: set[str] = set()
        for (wid, sku), milli in stock.items():
            store = stores.get(wid) or stores.get(names.get(wid, ""))
            if store is None:
                unmapped.add(names.get(wid) or wid)
                continue
            rows[(store, sku)] = rows.get((store, sku), 0) + milli
        return [StockRow(store, sku, milli) for (store, sku), milli in sorted(rows.items())
                ], unmapped

    async def _query(self, token: str) -> web.Response:
        orders: Sequence[OrderExport] = (
            list(await self._orders_query()) if self._orders_query else [])
        self.exchange.learn(await self.state.known_products())
        try:
            body = await self.exchange.render_orders(orders)
        except ValueError as exc:
            raise _Failure(str(exc)) from exc
        await self.state.remember_query(token, [(o.order_id, o.version) for o in orders])
        return web.Response(body=body, content_type="application/xml", charset="utf-8")

    async def _success(self, token: str) -> web.Response:
        exported = await self.state.take_query(token)
        if self._orders_exported and exported:
            await self._orders_exported(exported)
        return _answer("success")

    async def _sale_file(self, filename: str, body: bytes) -> web.Response:
        try:
            statuses = parse_statuses(filename, body)
        except CommerceMLError as exc:
            raise _Failure(str(exc)) from exc
        notes = await self._on_statuses(statuses) if self._on_statuses and statuses else []
        return _answer("success", *notes)


class _Failure(Exception):
    """A protocol-level failure: answered as ``failure\\n<reason>`` with HTTP 200."""


def _answer(*lines: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text="\n".join(lines), charset="utf-8")


def _filename(filename: str) -> str:
    """The upload's name; refuses absolute paths and ``..`` escapes (1C sends plain names,
    sometimes with a folder: ``import_files/ab/photo.jpg``)."""
    relative = filename.replace("\\", "/")
    parts = relative.split("/")
    if not filename or relative.startswith("/") or ".." in parts or len(filename) > 255:
        raise _Failure(f"bad filename {filename!r}")
    return relative
