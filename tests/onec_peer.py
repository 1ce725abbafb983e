"""1C's side of the HTTP exchange ("Обмен с сайтом"), played by the tests over real HTTP,
and a look at the products a catalog import stored."""

from __future__ import annotations

import base64
from pathlib import Path

import aiohttp
import asyncpg

from plugins.onec.exchange_http import COOKIE_NAME

FIXTURES = Path(__file__).parent / "plugins" / "fixtures" / "onec"
WATER = "5e1a0b2c-1003-11ee-8c99-0242ac120002"  # its Артикул is empty: the SKU is its Ид


def basic(user: str, password: str) -> dict[str, str]:
    """Basic auth as 1C sends it: UTF-8 credentials (a Cyrillic password here)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTH = basic("exchange", "пароль-1c")


async def call(http: aiohttp.ClientSession, url: str, method: str = "GET",
               data: bytes | None = None, **query: str) -> tuple[int, str]:
    async with http.request(method, url, params=query, data=data) as response:
        return response.status, await response.text()


async def login(http: aiohttp.ClientSession, url: str, kind: str = "catalog") -> None:
    """checkauth + init the way 1C does, keeping the cookie it was given (the exchange must
    be configured with file_limit 4096)."""
    async with http.get(url, params={"type": kind, "mode": "checkauth"}, headers=AUTH) as r:
        status, (word, cookie, value) = r.status, (await r.text()).split("\n")
    assert (status, word, cookie) == (200, "success", COOKIE_NAME) and len(value) == 32
    http.cookie_jar.update_cookies({cookie: value})
    assert await call(http, url, type=kind, mode="init") == (200, "zip=no\nfile_limit=4096")


async def upload(http: aiohttp.ClientSession, url: str, name: str, data: bytes) -> None:
    for first in range(0, len(data), 4096):  # 1C splits files by file_limit
        assert await call(http, url, "POST", data[first:first + 4096], type="catalog",
                          mode="file", filename=name) == (200, "success")


async def stored_products(database_url: str) -> dict[str, tuple]:  # type: ignore[type-arg]
    """sku -> (name, group, subgroup, brand, sorted barcodes) as the database holds them."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT p.sku, p.name, p.group_code, p.subgroup_code, p.brand, "
            "coalesce(array_agg(b.barcode ORDER BY b.barcode) FILTER (WHERE b.barcode IS NOT "
            "NULL), '{}') AS barcodes FROM products p LEFT JOIN product_barcodes b "
            "ON b.sku = p.sku GROUP BY p.sku")
    finally:
        await conn.close()
    return {r["sku"]: (r["name"], r["group_code"], r["subgroup_code"], r["brand"],
                       list(r["barcodes"])) for r in rows}
