"""Console benchmark (a script, not a test): the member search page's p50/p95 over real HTTP.

Seeds N members with a card each by COPY (issue 15's target: p95 < 200 ms at 1,000,000),
starts the server in this process with the HTTP site on, signs an operator in and times
`GET /console/members?q=...` one request at a time: last-name prefixes (keyset pages, the
second page too), phones in another notation and card numbers, each a full page render;
then a member's page (the timeline) for members found by card.

    python benchmarks/bench_console.py [--members 1000000] [--requests 600]

Uses KOPILKA_DATABASE_URL when set, else an embedded PostgreSQL 18 in a temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402

from server.access import service as access  # noqa: E402
from server.api.servicers.users import access_policy  # noqa: E402
from server.db.access.repo import SqlUserRepository  # noqa: E402
from server.db.migrate import migrate  # noqa: E402
from server.db.urls import with_database  # noqa: E402
from server.members.cards import card_number  # noqa: E402

SURNAMES = ["Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник",
            "Шевчук", "Поліщук", "Бойко", "Мельник", "Савченко", "Лисенко", "Руденко",
            "Марченко", "Мороз", "Кузьменко", "Гончаренко", "Петренко", "Левченко", "Онищенко"]
FIRST = ["Олена", "Тарас", "Ірина", "Андрій", "Марія", "Богдан", "Оксана", "Дмитро"]
PASSWORD = "bench password 123"


async def database() -> str:
    server_url = os.environ.get("KOPILKA_DATABASE_URL")
    if not server_url:
        from server.db.embedded import start_embedded_postgres

        server_url = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="kopilka-bench-pg-")))
    name = f"kopilka_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return with_database(server_url, name)


async def seed(url: str, n: int, rng: random.Random) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO card_types (code, name, accrual_bps, number_prefix, "
                           "requires_verification, next_sequence) "
                           "VALUES ('bench', 'Bench', 500, '2990', false, $1)", n + 1)
        now = dt.datetime.now(dt.UTC)
        members = []
        cards = []
        for i in range(n):
            mid = uuid.uuid4()
            suffix = "" if i % 7 else str(i % 1000)
            members.append((mid, rng.choice(FIRST), rng.choice(SURNAMES) + suffix, "", "", "",
                            "", f"+38067{i:07d}", None, "{}", "operator", False, now, now))
            cards.append((card_number("2990", i + 1), "bench", mid, "active", now, now))
        await conn.copy_records_to_table("members", records=members, columns=[
            "id", "first_name", "last_name", "middle_name", "gender", "marital_status",
            "address", "phone", "email", "social_ids", "registration_channel", "vip",
            "created_at", "updated_at"])
        await conn.copy_records_to_table("cards", records=cards, columns=[
            "number", "card_type", "member_id", "state", "created_at", "updated_at"])
        await conn.execute("ANALYZE members; ANALYZE cards")
        plan = "\n".join(r[0] for r in await conn.fetch(
            'EXPLAIN SELECT id FROM members WHERE lower(last_name) COLLATE "C" LIKE $1 '
            'AND (lower(last_name) COLLATE "C", id) > ($2 COLLATE "C", $3) '
            'ORDER BY lower(last_name) COLLATE "C", id LIMIT 21', "шев%", "",
            uuid.UUID(int=0)))
        print("name search uses ix_members_last_name_lower:",
              "ix_members_last_name_lower" in plan)
    finally:
        await conn.close()


async def run(n: int, requests: int) -> None:
    from server.app import build_app
    from server.settings import Settings

    rng = random.Random(15)
    url = await database()
    await migrate(url)
    began = time.perf_counter()
    await seed(url, n, rng)
    print(f"seeded {n} members with cards in {time.perf_counter() - began:.1f} s")
    settings = Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0",
                        http_listen="127.0.0.1:0", data_dir=Path(tempfile.mkdtemp()),
                        log_format="text", log_level="WARNING")
    app = build_app(settings, url)
    await app.start()
    try:
        async with app.db.transaction() as session:
            await access.create_user(SqlUserRepository(session), access_policy(settings),
                                     {"operator"}, name="Bench", email="bench@shop.ua",
                                     roles=["operator"], password=PASSWORD,
                                     now=app.deps.clock())
        assert app.http is not None
        base = f"http://127.0.0.1:{app.http.port}/console"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(base + "/login") as page:
                nonce = re.search(r'name="csrf" value="([^"]+)"', await page.text())
            assert nonce
            async with http.post(base + "/login", data={
                    "csrf": nonce.group(1), "email": "bench@shop.ua",
                    "password": PASSWORD}) as answer:
                assert answer.status == 200
            timings: dict[str, list[float]] = {"name": [], "name page 2": [], "phone": [],
                                               "card": []}
            for i in range(requests):
                kind = ("name", "name page 2", "phone", "card")[i % 4]
                k = rng.randrange(n)
                if kind.startswith("name"):
                    q = rng.choice(SURNAMES)[:rng.randint(3, 6)].lower()
                elif kind == "phone":
                    q = f"067 {k // 10000 % 1000:03d} {k // 100 % 100:02d} {k % 100:02d}"
                else:
                    q = card_number("2990", k + 1)
                target = base + "/members"
                params = {"q": q}
                if kind == "name page 2":  # the next page's link from the first page
                    async with http.get(target, params=params) as first:
                        found = re.search(r'after=([^"&]+)"', await first.text())
                    if found:
                        params["after"] = found.group(1).replace("%7C", "|")
                t0 = time.perf_counter()
                async with http.get(target, params=params) as page:
                    body = await page.text()
                    assert page.status == 200, body[:300]
                timings[kind].append((time.perf_counter() - t0) * 1000)
            every = [t for ts in timings.values() for t in ts]
            timings["member page"] = []  # not in "all": the timeline, not the search
            for _ in range(max(20, requests // 4)):
                q = card_number("2990", rng.randrange(n) + 1)
                async with http.get(base + "/members", params={"q": q}) as found:
                    link = re.search(r'/console/members/([0-9a-f-]{36})', await found.text())
                assert link
                t0 = time.perf_counter()
                async with http.get(f"{base}/members/{link.group(1)}") as page:
                    assert page.status == 200
                    await page.read()
                timings["member page"].append((time.perf_counter() - t0) * 1000)
            for kind, ts in [*timings.items(), ("all", every)]:
                q = statistics.quantiles(ts, n=100)
                print(f"{kind:12s} n={len(ts):4d}  p50 {q[49]:6.1f} ms  p95 {q[94]:6.1f} ms")
    finally:
        await app.stop(grace=0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    asyncio.run(run(args.members, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
