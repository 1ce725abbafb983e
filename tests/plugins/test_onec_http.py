"""1C's HTTP exchange protocol, with the test playing 1C over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from defusedxml.ElementTree import fromstring

from plugins.onec import OneCExchange, OneCSettings
from plugins.onec.exchange_http import OneCHttpExchange
from server.plugin_api import CatalogItem, OrderExport
from tests.onec_peer import FIXTURES, basic, call, login, upload


class Shop:
    """The Kopilka side: receives catalog items, serves orders, records exports."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.items: list[CatalogItem] = []
        self.exported: list[list[tuple[str, int]]] = []
        self.delay, self.fail = delay, fail
        self.orders = [OrderExport(
            "K-7", dt.datetime(2024, 3, 14, 8, 0, tzinfo=dt.UTC), 13_770, "UAH",
            (("SOK-001", 3000, 13_770),))]

    async def on_catalog(self, items: list[CatalogItem]) -> None:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("database is read-only")
        self.items.extend(items)

    async def orders_query(self) -> list[OrderExport]:
        return self.orders

    async def orders_exported(self, ids: list[tuple[str, int]]) -> None:
        self.exported.append(ids)


async def serve(shop: Shop, tmp_path: Path, **settings: object) -> tuple[web.AppRunner, str]:
    exchange = OneCExchange(OneCSettings.from_mapping({
        "username": "exchange", "password": "пароль-1c", "price_type": "Роздрібна",
        "upload_dir": str(tmp_path / "uploads"), "file_limit": 4096, **settings}))
    endpoint = OneCHttpExchange(exchange, shop.on_catalog, orders_query=shop.orders_query,
                                orders_exported=shop.orders_exported)
    runner = web.AppRunner(endpoint.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/1c_exchange"


@pytest.fixture
async def onec(tmp_path: Path) -> AsyncIterator[tuple[Shop, str, aiohttp.ClientSession]]:
    shop = Shop()
    runner, url = await serve(shop, tmp_path)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield shop, url, http
    await runner.cleanup()


async def test_full_catalog_exchange_windows_1251_and_utf8(onec) -> None:
    shop, url, http = onec
    for suffix in ("_cp1251", ""):
        await login(http, url)
        for name in ("import", "offers"):
            data = (FIXTURES / f"{name}{suffix}.xml").read_bytes()
            await upload(http, url, f"{name}.xml", data)
            status, text = await call(http, url, type="catalog", mode="import",
                                      filename=f"{name}.xml")
            assert (status, text.split("\n")[0]) == (200, "success"), text
    # per round: import.xml -> 5 products (one is deleted), offers.xml -> 6 priced offers
    assert len(shop.items) == 2 * 11
    juice = [i for i in shop.items[-6:] if i.sku == "SOK-001"]
    assert [(i.price_minor, i.stock_milli) for i in juice] == [(4590, 120_000)]
    assert shop.items[-6].name == "Сік яблучний «Садочок» 1 л"
    assert shop.items[0].name == 'Сік яблучний "Садочок" 1 л'


async def test_orders_query_then_success_marks_them_exported(onec) -> None:
    shop, url, http = onec
    await login(http, url, "sale")
    status, body = await call(http, url, type="sale", mode="query")
    assert status == 200
    doc = fromstring(body.encode()).find("Документ")
    assert (doc.findtext("Номер"), doc.findtext("Сумма"), doc.findtext("Товары/Товар/Количество"),
            doc.findtext("Товары/Товар/ЦенаЗаЕдиницу")) == ("K-7", "137.70", "3", "45.90")
    assert shop.exported == []
    assert await call(http, url, type="sale", mode="success") == (200, "success")
    assert shop.exported == [[("K-7", 0)]]  # (order id, version) as handed out


async def test_refusals(onec) -> None:
    shop, url, http = onec
    assert await call(http, url, type="catalog", mode="init") == (
        401, "failure\nnot authorised: start with mode=checkauth")
    async with http.get(url, params={"type": "catalog", "mode": "checkauth"},
                        headers=basic("exchange", "wrong")) as r:
        assert (r.status, await r.text()) == (401, "failure\nwrong login or password")
    await login(http, url)
    status, text = await call(http, url, "POST", b"x", type="catalog", mode="file",
                              filename="../../etc/passwd")
    assert (status, text) == (200, "failure\nbad filename '../../etc/passwd'")
    status, text = await call(http, url, "POST", b"x" * 5000, type="catalog", mode="file",
                              filename="big.xml")
    assert text == "failure\nrequest larger than file_limit=4096"
    status, text = await call(http, url, type="catalog", mode="import", filename="none.xml")
    assert text == "failure\nnone.xml was not uploaded: send it with mode=file first"
    await upload(http, url, "import.xml", b"<?xml version='1.0'?><oops>")
    status, text = await call(http, url, type="catalog", mode="import", filename="import.xml")
    assert status == 200 and text.startswith("failure\nimport.xml: not well-formed XML")
    assert shop.items == []


async def test_long_import_answers_progress_until_done(tmp_path: Path) -> None:
    shop = Shop(delay=0.3)
    runner, url = await serve(shop, tmp_path, import_step_seconds=0.05)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await login(http, url)
            await upload(http, url, "import.xml", (FIXTURES / "import.xml").read_bytes())
            answers = []
            while not answers or answers[-1] == "progress":
                _, text = await call(http, url, type="catalog", mode="import",
                                     filename="import.xml")
                answers.append(text.split("\n")[0])
            assert answers[0] == "progress" and answers[-1] == "success"
            assert len(shop.items) == 5
            shop.fail = True
            await call(http, url, type="catalog", mode="init")
            await upload(http, url, "import.xml", (FIXTURES / "import.xml").read_bytes())
            text = "progress"
            while text.startswith("progress"):
                _, text = await call(http, url, type="catalog", mode="import",
                                     filename="import.xml")
            assert text == "failure\nimport.xml: RuntimeError: database is read-only"
    finally:
        await runner.cleanup()
