"""The server's 1C HTTP exchange: the test plays 1C against a running `kopilka` app, and the
products land in the database exactly as `kopilka catalog import-1c` stores them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import grpc
import pytest
from kopilka.v1 import admin_pb2, receipts_pb2

from server.settings import Settings
from tests.helpers import rid
from tests.onec_peer import FIXTURES, WATER, basic, call, login, stored_products, upload

ONEC = {"username": "exchange", "password": "пароль-1c", "price_type": "Роздрібна",
        "file_limit": 4096, "import_step_seconds": 5.0}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, http_listen="127.0.0.1:0",
                    pricing_refresh_seconds=0.1,
                    plugin_settings={"onec": {**ONEC, "upload_dir": str(tmp_path / "1c")}})


@pytest.fixture
async def exchange(app) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    url = f"http://127.0.0.1:{app.http.port}/1c_exchange"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield url, http


async def send(http: aiohttp.ClientSession, url: str, name: str, fixture: str) -> str:
    """Upload one file the way 1C does and import it; the answer's first line."""
    await upload(http, url, name, (FIXTURES / fixture).read_bytes())
    status, text = await call(http, url, type="catalog", mode="import", filename=name)
    assert status == 200
    return text


async def test_catalog_files_sent_one_by_one_keep_every_barcode(
        app, admin, exchange, database_url):
    url, http = exchange
    await login(http, url)
    assert (await send(http, url, "import.xml", "import.xml")).startswith("success")
    after_import = await stored_products(database_url)
    assert sorted(after_import) == sorted(
        ["SOK-001", "SOK-KIDS-02", WATER, "CHEESE-KG", "TSHIRT-01"])
    assert after_import["TSHIRT-01"][4] == []  # its barcodes come with the variants

    assert (await send(http, url, "offers.xml", "offers.xml")).startswith("success")
    stored = await stored_products(database_url)
    # offers.xml names only some items of a product: the others' barcodes must stay
    assert stored["SOK-001"] == after_import["SOK-001"]
    assert stored["SOK-001"][4] == ["4820016250017"]
    assert stored["TSHIRT-01"] == ("Футболка бавовняна", "0a1b2c3d-0003-11ee-8c99-0242ac120002",
                                   "", "Kopilka Wear", ["4820999001019", "4820999001026"])
    assert stored[WATER][3:] == ("Моршинська", ["4820077700018"])

    # the pricing engine's catalog picks them up: a variant's barcode finds its product
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(
        request_id=rid(), store=admin_pb2.Store(
        code="kyiv-01", name="Kyiv 1", time_zone="Europe/Kyiv")))
    request = receipts_pb2.CalculateReceiptRequest(store_code="kyiv-01", lines=[
        receipts_pb2.ReceiptLine(line_no=1, barcode="4820999001026", quantity_milli=1000,
                                 unit_price_minor=39_900)])
    async with asyncio.timeout(10):
        while True:
            try:
                priced = await admin.receipts.CalculateReceipt(request)
                break
            except grpc.aio.AioRpcError as error:  # until the catalog poll sees the barcode
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                await asyncio.sleep(0.1)
    assert priced.lines[0].sku == "TSHIRT-01" and priced.total.amount_minor == 39_900


async def test_a_bad_catalog_is_refused_to_1c_and_writes_nothing(
        app, exchange, database_url, tmp_path):
    url, http = exchange
    text = (FIXTURES / "import.xml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.xml"
    bad.write_text(text.replace("<Артикул>SOK-001</Артикул>", "<Артикул>СІК 1/л</Артикул>"),
                   encoding="utf-8")
    await login(http, url)
    await upload(http, url, "import.xml", bad.read_bytes())
    status, answer = await call(http, url, type="catalog", mode="import", filename="import.xml")
    assert status == 200 and answer.startswith("failure\n")
    assert "СІК 1/л" in answer  # 1C shows its operator which product to fix
    assert await stored_products(database_url) == {}


async def test_wrong_password_gets_no_session(app, exchange):
    url, http = exchange
    async with http.get(url, params={"type": "catalog", "mode": "checkauth"},
                        headers=basic("exchange", "wrong")) as response:
        assert response.status == 401
        assert await response.text() == "failure\nwrong login or password"


async def test_orders_query_answers_an_empty_document(app, exchange):
    url, http = exchange  # Kopilka has no online-store orders yet: 1C gets none, not an error
    await login(http, url, "sale")
    status, text = await call(http, url, type="sale", mode="query")
    assert status == 200 and "КоммерческаяИнформация" in text and "<Документ>" not in text
    assert await call(http, url, type="sale", mode="success") == (200, "success")
