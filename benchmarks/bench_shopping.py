"""Shopping paths against their baselines, in one run on a fresh embedded PostgreSQL.

    python benchmarks/bench_shopping.py [--events 100000] [--baskets 2000] [--receipts 20000]

- RecordSiteEvents in batches of 1,000 over gRPC vs asyncpg COPY of the same rows straight
  into the table (the limit for a bulk load);
- ReportBasket (5 lines, 16 at a time) vs Echo over the same client and server;
- the job that counts products bought together, over `--receipts` synthetic receipts
  (3-8 lines from 500 SKUs), in seconds.

Runs the server in this process (python client), so ratios compare like with like rather
than give the server's ceiling. Not a test: numbers print, nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from kopilka import KopilkaClient  # noqa: E402
from kopilka.v1 import admin_pb2, members_pb2  # noqa: E402
from kopilka.v1 import shopping_pb2 as S  # noqa: E402

from server.app import build_app  # noqa: E402
from server.auth.principal import PrincipalKind, hash_secret, new_secret  # noqa: E402
from server.db.api_keys_repo import add_api_key  # noqa: E402
from server.db.embedded import start_embedded_postgres  # noqa: E402
from server.db.migrate import migrate  # noqa: E402
from server.db.shopping.repo import SqlShoppingRepository  # noqa: E402
from server.db.urls import with_database  # noqa: E402
from server.settings import Settings  # noqa: E402

SKUS = [f"sku-{n:04d}" for n in range(500)]


async def key(app, roles: list[str], store: str | None = None) -> str:  # type: ignore[no-untyped-def]
    secret = new_secret()
    async with app.db.transaction() as session:
        await add_api_key(session, name="bench", kind=PrincipalKind.STORE_BACKEND, roles=roles,
                          secret_hash=hash_secret(secret), store_code=store)
    return secret


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="kopilka-bench-shopping-"))
    server_url = start_embedded_postgres(data)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = with_database(server_url, name)
    await migrate(url)
    app = build_app(Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0",
                             data_dir=data, log_format="text", jobs_interval_seconds=0,
                             api_key_cache_seconds=60), url)
    await app.start()
    try:
        target = f"127.0.0.1:{app.grpc_port}"
        admin = KopilkaClient(target, await key(app, ["admin"]))
        await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=str(uuid.uuid4()),
            store=admin_pb2.Store(code="web", name="web", time_zone="Europe/Kyiv")))
        web = KopilkaClient(target, await key(app, ["store_backend"], "web"))
        await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(
            request_id=str(uuid.uuid4()),
            products=[admin_pb2.Product(sku=s, name=s) for s in SKUS]))
        member = (await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
            request_id=str(uuid.uuid4()), channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR,
            profile=members_pb2.MemberProfile(first_name="B", phone="+380670000001")))
        ).member.member_id

        # site events: gRPC batches vs COPY
        batch = [S.SiteEvent(member_id=member, kind=S.SITE_EVENT_KIND_VIEW, sku=SKUS[n % 500])
                 for n in range(1000)]
        rounds = max(args.events // 1000, 1)
        start = time.perf_counter()
        for _ in range(rounds):
            await web.shopping.RecordSiteEvents(S.RecordSiteEventsRequest(
                request_id=str(uuid.uuid4()), events=batch))
        grpc_rate = rounds * 1000 / (time.perf_counter() - start)
        raw = await asyncpg.connect(url)
        now = dt.datetime.now(dt.UTC)
        rows = [(uuid.UUID(member), "web", "view", SKUS[n % 500], None, None, None, now)
                for n in range(1000)]
        start = time.perf_counter()
        for _ in range(rounds):
            async with raw.transaction():
                await raw.copy_records_to_table(
                    "shopping_site_events", records=rows,
                    columns=["member_id", "store_code", "kind", "sku", "search_query",
                             "basket_id", "quantity_milli", "occurred_at"])
        copy_rate = rounds * 1000 / (time.perf_counter() - start)
        print(f"RecordSiteEvents {grpc_rate:,.0f} events/s, COPY {copy_rate:,.0f} events/s: "
              f"{grpc_rate / copy_rate:.2f}x of COPY ({rounds * 1000:,} events)")

        # baskets vs Echo, 16 at a time
        async def reports(n: int) -> None:
            for i in range(n):
                await web.shopping.ReportBasket(S.ReportBasketRequest(
                    request_id=str(uuid.uuid4()), basket_id=f"b-{uuid.uuid4().hex}",
                    currency="UAH", lines=[S.BasketLine(sku=SKUS[(i + k) % 500],
                                                        quantity_milli=1000,
                                                        unit_price_minor=1000)
                                           for k in range(5)]))

        async def echoes(n: int) -> None:
            for _ in range(n):
                await web.admin.Echo(admin_pb2.EchoRequest(payload=b"x" * 200))

        per = max(args.baskets // 16, 1)
        rates = {}
        for label, work in (("Echo", echoes), ("ReportBasket", reports)):
            start = time.perf_counter()
            await asyncio.gather(*(work(per) for _ in range(16)))
            rates[label] = per * 16 / (time.perf_counter() - start)
        print(f"ReportBasket {rates['ReportBasket']:,.0f}/s, Echo {rates['Echo']:,.0f}/s: "
              f"{rates['ReportBasket'] / rates['Echo']:.2f}x of Echo ({per * 16:,} calls)")

        # pairs over synthetic confirmed receipts
        rng = random.Random(7)
        principal = uuid.uuid4()
        receipts, details = [], []
        for n in range(args.receipts):
            rid = uuid.uuid4()
            skus = rng.sample(SKUS[: 50 + rng.randrange(450)], rng.randrange(3, 9))
            receipts.append((rid, "web", "t", f"r{n}", "confirmed", "UAH", 0, 0, 0, now))
            details.append((rid, uuid.uuid4(), uuid.uuid4(), json.dumps(
                [{"line_no": i, "sku": s, "quantity_milli": 1000} for i, s in enumerate(skus)]),
                "[]", 0, 0, principal))
        await raw.copy_records_to_table("receipts", records=receipts, columns=[
            "id", "store_code", "terminal_id", "receipt_number", "state", "currency",
            "subtotal_minor", "discount_total_minor", "total_minor", "confirmed_at"])
        await raw.executemany(
            "INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, "
            "points_accrued, points_redeemed, principal_id) "
            "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)", details)
        await raw.close()
        start = time.perf_counter()
        async with app.db.transaction() as session:
            counted, pairs = await SqlShoppingRepository(session).recompute_pairs(
                now - dt.timedelta(days=1), now, 2, 50)
        print(f"pairs: {counted:,} receipts -> {pairs:,} pairs in "
              f"{time.perf_counter() - start:.2f} s")
        await admin.close()
        await web.close()
    finally:
        await app.stop(grace=0.5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--baskets", type=int, default=2000)
    parser.add_argument("--receipts", type=int, default=20_000)
    asyncio.run(main(parser.parse_args()))
