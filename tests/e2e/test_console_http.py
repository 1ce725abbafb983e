"""The console over plain HTTP: CSP and cookie flags, CSRF refusal, permission refusal."""

from __future__ import annotations

import re

import aiohttp
import aiohttp.web
from kopilka.v1 import bonus_pb2
from sqlalchemy import text

from tests.e2e.console_support import (
    PASSWORD,
    base_url,
    http_login,
    make_user,
    seeded,
    settings,
)
from tests.helpers import rid

__all__ = ["settings"]


async def test_headers_and_cookies(app):
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url + "/login") as page:
            csp = page.headers["Content-Security-Policy"]
            assert "unsafe-inline" not in csp and "script-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp
            cookie = page.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert "Secure" not in cookie  # plain HTTP, no TLS proxy configured
        async with http.get(url + "/members", allow_redirects=False) as anonymous:
            assert anonymous.status == 303 and anonymous.headers["Location"].endswith("/login")


async def test_cookies_are_secure_behind_a_tls_proxy(app):
    """KOPILKA_CONSOLE_SECURE_COOKIES marks them Secure on plain HTTP (TLS ends at a proxy);
    the test server above runs without it, and its cookies are not Secure."""
    from aiohttp.test_utils import TestClient, TestServer

    from server.console.door import Door
    from server.console.web import Console

    server = aiohttp.web.Application()
    Console(Door(app.deps, {}), secure_cookies=True).add_routes(server)
    async with TestClient(TestServer(server)) as client:
        page = await client.get("/console/login")
        assert "Secure" in page.headers["Set-Cookie"]


async def test_a_post_without_the_csrf_token_changes_nothing(app, admin):
    [member, *_] = await seeded(app, admin)
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, url, "anna@shop.ua")
        for token in ("", "0" * 64):
            async with http.post(f"{url}/members/{member.member_id}/points", data={
                    "csrf": token, "request_id": "8f0c7c52-3a57-4d0c-9a55-0f3f1a0b1b11",
                    "card_number": member.card, "points": "100", "reason_code": "goodwill",
                    "reason": "x"}) as refused:
                assert refused.status == 403
        balance = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(
            card_number=member.card))
        assert balance.points_available == 0
        async with http.post(f"{url}/members/{member.member_id}/points", data={
                "csrf": csrf, "request_id": "8f0c7c52-3a57-4d0c-9a55-0f3f1a0b1b12",
                "card_number": member.card, "points": "100", "reason_code": "goodwill",
                "reason": "x"}) as done:
            assert done.status == 200
        balance = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(
            card_number=member.card))
        assert balance.points_available == 100


async def test_an_operator_without_the_right_gets_403_and_nothing_changes(app, admin):
    [member, *_] = await seeded(app, admin)
    await make_user(app, "kasa@shop.ua", "cashier")  # sale view: no points.create, no rules
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, url, "kasa@shop.ua")
        async with http.post(f"{url}/members/{member.member_id}/points", data={
                "csrf": csrf, "request_id": "8f0c7c52-3a57-4d0c-9a55-0f3f1a0b1b13",
                "card_number": member.card, "points": "100", "reason_code": "goodwill",
                "reason": "x"}) as refused:
            assert refused.status == 403
        async with http.get(f"{url}/program/rules") as rules:
            assert rules.status == 403
        async with http.post(f"{url}/program/rules", data={
                "csrf": csrf, "document": "name: x\nrules: []\n", "apply": "1"}) as refused:
            assert refused.status == 403
    balance = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=member.card))
    assert balance.points_available == 0
    assert app.deps.pricing.snapshot.rules.rules == ()


async def test_users_and_keys_from_the_console(app, client_for):
    from kopilka.v1 import admin_pb2

    await make_user(app, "boss@shop.ua", "admin")
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, url, "boss@shop.ua")
        async with http.post(url + "/lists/users", data={
                "csrf": csrf, "request_id": rid(), "name": "Olha", "email": "olha@shop.ua",
                "roles": "nosuch", "password": "a long password 1"}) as refused:
            assert refused.status == 400 and "roles[0]" in await refused.text()
        async with http.post(url + "/lists/users", data={
                "csrf": csrf, "request_id": rid(), "name": "Olha", "email": "olha@shop.ua",
                "roles": "operator", "password": PASSWORD}) as made:
            assert made.status == 200 and "olha@shop.ua" in await made.text()
        new_key = {"csrf": csrf, "request_id": rid(), "name": "till 1", "kind": "operator",
                   "roles": "operator"}
        async with http.post(url + "/lists/api-keys", data=new_key) as key:
            secret = re.search(r'id="secret">([^<]+)<', await key.text())
        async with http.post(url + "/lists/api-keys", data=new_key) as again:  # posted twice
            shown_again = re.search(r'id="secret">([^<]+)<', await again.text())
    assert secret and shown_again and shown_again.group(1) == secret.group(1)
    async with app.db.transaction() as session:  # one key, not two
        assert (await session.execute(text(
            "SELECT count(*) FROM api_keys WHERE name = 'till 1'"))).scalar_one() == 1
    echo = await client_for(secret.group(1)).admin.Echo(admin_pb2.EchoRequest(payload=b"hi"))
    assert echo.principal == "operator:till 1"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        await http_login(other, url, "olha@shop.ua")  # the new user signs in


async def test_stores_and_card_types_from_the_console(app, admin):
    from kopilka.v1 import admin_pb2

    await make_user(app, "boss@shop.ua", "admin")
    url = base_url(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await http_login(http, url, "boss@shop.ua")
        async with http.post(url + "/lists/stores", data={
                "csrf": csrf, "request_id": rid(), "code": "lviv-02", "name": "Lviv 2",
                "time_zone": "Europe/Kyiv"}) as made:
            assert made.status == 200 and "lviv-02" in await made.text()
        async with http.post(url + "/lists/card-types", data={
                "csrf": csrf, "request_id": rid(), "code": "gold", "name": "Gold",
                "accrual_bps": "x", "number_prefix": "29"}) as refused:
            assert refused.status == 400 and "card_type.accrual_bps" in await refused.text()
        async with http.post(url + "/lists/card-types", data={
                "csrf": csrf, "request_id": rid(), "code": "gold", "name": "Gold",
                "accrual_bps": "700", "number_prefix": "29x"}) as refused:  # RPC validates
            assert refused.status == 400 and "number_prefix" in await refused.text()
        async with http.post(url + "/lists/card-types", data={
                "csrf": csrf, "request_id": rid(), "code": "gold", "name": "Gold",
                "accrual_bps": "700", "number_prefix": "2911",
                "requires_verification": "1"}) as made:
            assert made.status == 200
    types = await admin.admin.ListCardTypes(admin_pb2.ListCardTypesRequest())
    [gold] = [c for c in types.card_types if c.code == "gold"]
    assert gold.accrual_bps == 700 and gold.requires_verification
    stores = await admin.admin.ListStores(admin_pb2.ListStoresRequest())
    assert "lviv-02" in [s.code for s in stores.stores]


async def test_name_search_by_prefixes_in_keyset_pages(app, admin, monkeypatch):
    """Last-name prefix (any case), a first-name prefix after a space, pages that continue
    where the last one ended, and a page position before the prefix starting at the prefix
    (ix_members_name_lower, migration 0036)."""
    import uuid as uuid_
    from urllib.parse import unquote

    from kopilka.v1 import members_pb2 as M

    from server.console import members as member_pages
    from tests.e2e.ledger_support import setup_world

    await setup_world(admin)
    people = [("Шевченко", "Тарас"), ("Шевченко", "Олена"), ("Шевчук", "Олег"),
              ("ШЕВЧЕНКО", "Оксана"), ("Коваленко", "Олена"), ("шевченко", "Ірина")]
    ids: dict[tuple[str, str], str] = {}
    for n, (last, first) in enumerate(people, 1):
        reply = await admin.members.RegisterMember(M.RegisterMemberRequest(
            request_id=str(uuid_.uuid4()), profile=M.MemberProfile(
                last_name=last, first_name=first, phone=f"+38067555{n:04d}"),
            channel=M.REGISTRATION_CHANNEL_OPERATOR))
        ids[(last, first)] = reply.member.member_id
    monkeypatch.setattr(member_pages, "PAGE", 2)
    await make_user(app, "anna@shop.ua", "operator")
    url = base_url(app)

    def found(html: str) -> list[str]:
        return re.findall(r'href="/console/members/([0-9a-f-]{36})"', html)

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http_login(http, url, "anna@shop.ua")

        async def pages(params: dict[str, str]) -> list[list[str]]:
            got: list[list[str]] = []
            while len(got) < 10:
                async with http.get(url + "/members", params=params) as page:
                    html = await page.text()
                got.append(found(html))
                more = re.search(r'id="next" href="[^"]*after=([^"&]+)"', html)
                if not more:
                    return got
                params = {**params, "after": unquote(more.group(1))}
            raise AssertionError(f"pages without end: {got}")

        shev = await pages({"q": "шев"})
        assert [len(p) for p in shev] == [2, 2, 1]
        everyone = [i for p in shev for i in p]
        assert everyone[-1] == ids[("Шевчук", "Олег")]  # шевченко < шевчук
        assert set(everyone) == {v for (last, _), v in ids.items() if last != "Коваленко"}
        assert len(set(everyone)) == 5  # no member on two pages
        both = await pages({"q": "Шевченко о"})  # Олена, Оксана; not Тарас, Ірина
        assert sorted(i for p in both for i in p) == sorted(
            [ids[("Шевченко", "Олена")], ids[("ШЕВЧЕНКО", "Оксана")]])
        assert await pages({"q": "шевченко zz"}) == [[]]
        before = await pages({"q": "шев", "after": f"а|{uuid_.UUID(int=0)}"})
        assert before == shev  # a position before the prefix starts at the prefix
        after = await pages({"q": "шев", "after": f"шевчук|{uuid_.UUID(int=2**128 - 1)}"})
        assert after == [[]]
