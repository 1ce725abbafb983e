"""Console benchmark (a script, not a test): the member search page's p50/p95 over real HTTP.

Seeds N members (name, middle name, phone, e-mail and a card each) by COPY (issue 15's
target: no page above 200 ms p95 at 1,000,000),
starts the server in this process with the HTTP site on, signs an operator in and times
`GET /console/members?q=...` one request at a time: last-name prefixes (keyset pages, the
second page too), a last name with a first-name prefix, phones in six notations, card
numbers and e-mails (capitalised), each a full page render;
then a member's page (the timeline) for members found by card. Before each timed request
the empty search page (the sign-in check and a render, no search) is timed too: the
baseline the figures are divided by, so a loaded machine shows in both.

    python benchmarks/bench_console.py [--members 1000000] [--requests 600] [--reuse URL]

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
from urllib.parse import unquote

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
MIDDLE = ["Іванівна", "Петрович", "Олегівна", "Миколайович", ""]
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


def phone_in(k: int, notation: int) -> str:
    """Member k's phone (+38067XXXXXXX) in one of the notations people type."""
    d = f"{k:07d}"
    return [f"067 {d[:3]} {d[3:5]} {d[5:]}", f"+38067{d}", f"(067) {d[:3]}-{d[3:5]}-{d[5:]}",
            f"380 67 {d[:3]} {d[3:]}", f"067{d}", f"+38 (067) {d[:3]} {d[3:]}"][notation % 6]


def email_of(k: int) -> str:
    return f"member{k}@mail.example"


async def seed(url: str, n: int, rng: random.Random, chunk: int = 100_000) -> None:
    """N members, each with a name, middle name, phone, e-mail and a card, by COPY in chunks
    (so the seeding's memory stays flat), then ANALYZE; prints the search queries' plans."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO card_types (code, name, accrual_bps, number_prefix, "
                           "requires_verification, next_sequence) "
                           "VALUES ('bench', 'Bench', 500, '2990', false, $1)", n + 1)
        now = dt.datetime.now(dt.UTC)
        for start in range(0, n, chunk):
            members = []
            cards = []
            for i in range(start, min(n, start + chunk)):
                mid = uuid.uuid4()
                suffix = "" if i % 7 else str(i % 1000)
                members.append((mid, rng.choice(FIRST), rng.choice(SURNAMES) + suffix,
                                rng.choice(MIDDLE), "", "", "", f"+38067{i:07d}",
                                email_of(i), "{}", "operator", False, now, now))
                cards.append((card_number("2990", i + 1), "bench", mid, "active", now, now))
            await conn.copy_records_to_table("members", records=members, columns=[
                "id", "first_name", "last_name", "middle_name", "gender", "marital_status",
                "address", "phone", "email", "social_ids", "registration_channel", "vip",
                "created_at", "updated_at"])
            await conn.copy_records_to_table("cards", records=cards, columns=[
                "number", "card_type", "member_id", "state", "created_at", "updated_at"])
        await conn.execute("ANALYZE members; ANALYZE cards")
    finally:
        await conn.close()


async def explain(url: str) -> None:
    """EXPLAIN ANALYZE of the name search's first page (last name; last and first name; a
    first name no one of that surname has), with the bounds `members_by_name` gives it."""
    from server.db.console import queries

    conn = await asyncpg.connect(url)
    try:
        sql = str(queries._BY_NAME)  # the very text the page runs
        names = re.findall(r":(\w+)", sql)
        for pattern in dict.fromkeys(names):
            sql = sql.replace(":" + pattern, f"${list(dict.fromkeys(names)).index(pattern) + 1}")
        for label, last, first in [("last name", "шев", ""), ("last + first", "шевченко", "ол"),
                                   ("last + absent first", "шевченко", "zz")]:
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *[
                {"prefix": last + "%", "first": first + "%", "vip": True, "after_key": last,
                 "after_id": uuid.UUID(int=0), "limit": 21}[k] for k in dict.fromkeys(names)])
            print(f"-- name search, {label}:")
            for row in plan:
                print("   ", row[0])
    finally:
        await conn.close()


def p50_p95(ts: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(ts, n=100)
    return q[49], q[94]


async def timed(http: aiohttp.ClientSession, url: str) -> float:
    """One GET, read to the end, in milliseconds."""
    t0 = time.perf_counter()
    async with http.get(url) as page:
        assert page.status == 200
        await page.read()
    return (time.perf_counter() - t0) * 1000


async def run(n: int, requests: int, reuse: str) -> None:
    from server.app import build_app
    from server.settings import Settings

    rng = random.Random(15)
    url = reuse or await database()
    await migrate(url)
    if reuse:  # a database an earlier run seeded (its URL printed below)
        conn = await asyncpg.connect(url)
        n = int(await conn.fetchval("SELECT count(*) FROM members"))
        await conn.close()
        print(f"reusing {n} members")
    else:
        began = time.perf_counter()
        await seed(url, n, rng)
        print(f"seeded {n} members with cards in {time.perf_counter() - began:.1f} s "
              f"(database {url})")
    await explain(url)
    settings = Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0",
                        http_listen="127.0.0.1:0", data_dir=Path(tempfile.mkdtemp()),
                        log_format="text", log_level="WARNING")
    app = build_app(settings, url)
    await app.start()
    email = f"bench-{uuid.uuid4().hex[:8]}@shop.ua"  # a new operator each run (--reuse)
    try:
        async with app.db.transaction() as session:
            await access.create_user(SqlUserRepository(session), access_policy(settings),
                                     {"operator"}, name="Bench", email=email,
                                     roles=["operator"], password=PASSWORD,
                                     now=app.deps.clock())
        assert app.http is not None
        base = f"http://127.0.0.1:{app.http.port}/console"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(base + "/login") as page:
                nonce = re.search(r'name="csrf" value="([^"]+)"', await page.text())
            assert nonce
            async with http.post(base + "/login", data={
                    "csrf": nonce.group(1), "email": email,
                    "password": PASSWORD}) as answer:
                assert answer.status == 200
            kinds = ("name", "name page 2", "last + first", "phone", "card", "e-mail")
            timings: dict[str, list[float]] = {k: [] for k in kinds}
            baseline: list[float] = []  # the empty search page just before each request
            for i in range(requests):
                kind = kinds[i % len(kinds)]
                k = rng.randrange(n)
                if kind.startswith("name"):
                    q = rng.choice(SURNAMES)[:rng.randint(3, 6)].lower()
                elif kind == "last + first":
                    q = f"{rng.choice(SURNAMES).lower()} {rng.choice(FIRST)[:2].lower()}"
                elif kind == "phone":
                    q = phone_in(k, i)
                elif kind == "e-mail":
                    q = email_of(k).capitalize()
                else:
                    q = card_number("2990", k + 1)
                target = base + "/members"
                params = {"q": q}
                if kind == "name page 2":  # the next page's link from the first page
                    async with http.get(target, params=params) as first:
                        found = re.search(r'after=([^"&]+)"', await first.text())
                    if found:
                        params["after"] = unquote(found.group(1))
                baseline.append(await timed(http, target))
                t0 = time.perf_counter()
                async with http.get(target, params=params) as page:
                    body = await page.text()
                    assert page.status == 200, body[:300]
                timings[kind].append((time.perf_counter() - t0) * 1000)
                if kind in ("phone", "card", "e-mail"):  # an exact search finds its member
                    assert body.count("/console/members/") >= 1, (kind, q)
            every = [t for ts in timings.values() for t in ts]
            timings["member page"] = []  # not in "all": the timeline, not the search
            for _ in range(max(20, requests // 4)):
                q = card_number("2990", rng.randrange(n) + 1)
                async with http.get(base + "/members", params={"q": q}) as found:
                    link = re.search(r'/console/members/([0-9a-f-]{36})', await found.text())
                assert link
                baseline.append(await timed(http, base + "/members"))
                timings["member page"].append(await timed(http, f"{base}/members/{link.group(1)}"))
            b50, b95 = p50_p95(baseline)
            print(f"{'baseline':12s} n={len(baseline):4d}  p50 {b50:6.1f} ms  p95 {b95:6.1f} ms"
                  "  (the search page with no query: sign-in check and render)")
            for kind, ts in [*timings.items(), ("all", every)]:
                q50, q95 = p50_p95(ts)
                print(f"{kind:12s} n={len(ts):4d}  p50 {q50:6.1f} ms  p95 {q95:6.1f} ms  "
                      f"= {q50 / b50:4.2f}x / {q95 / b95:4.2f}x baseline")
    finally:
        await app.stop(grace=0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--reuse", default="", metavar="URL",
                        help="time against a database an earlier run seeded (no seeding)")
    args = parser.parse_args()
    asyncio.run(run(args.members, args.requests, args.reuse))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
