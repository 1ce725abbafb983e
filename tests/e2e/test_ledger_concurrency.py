"""Exactly once and never overdrawn, under real concurrency through the gRPC server."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import asyncpg
import grpc
from kopilka.v1 import bonus_pb2, receipts_pb2

from tests.e2e.ledger_support import (
    assert_books_balance,
    balance,
    calculation,
    confirm,
    give_points,
    line,
    new_member,
    setup_world,
)


async def test_1000_concurrent_redemptions_of_100_points_exactly_100_succeed(
        app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await give_points(admin, member, 100)
    secret = await make_key("cashier")
    clients = [client_for(secret) for _ in range(8)]

    async def one(i: int) -> str:
        try:
            await clients[i % 8].bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
                request_id=str(uuid.uuid4()), card_number=member.card, points=1))
            return "ok"
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
            return "short"

    results = await asyncio.gather(*(one(i) for i in range(1000)))
    assert results.count("ok") == 100 and results.count("short") == 900
    got = await balance(admin, member)
    assert got.points_available == 0 and list(got.lots) == []
    await assert_books_balance(app)


async def test_2000_confirms_with_30_percent_retries_write_each_receipt_once(
        app, admin, make_key, client_for, database_url):
    await setup_world(admin)
    members = [await new_member(admin, i) for i in range(20)]
    for member in members:
        await give_points(admin, member, 1000)
    secret = await make_key("cashier")
    clients = [client_for(secret) for _ in range(8)]
    rng = random.Random(7)
    requests = []
    expected = {m.card: 1000 for m in members}
    for i in range(2000):
        member = members[i % len(members)]
        spend = 1 if i % 3 == 0 else 0
        calc_id = calculation(app, member, [line(1, 995, points_discount=spend, accrual=10)])
        requests.append(confirm(calc_id, f"R-{i}", total=995))
        expected[member.card] += 10 - spend
    calls = requests + rng.sample(requests, 600)  # 30% sent twice
    rng.shuffle(calls)
    gate = asyncio.Semaphore(64)
    answers: dict[str, list[receipts_pb2.ConfirmReceiptResponse]] = {}

    async def send(i: int, request: receipts_pb2.ConfirmReceiptRequest) -> None:
        async with gate:
            answer = await clients[i % 8].receipts.ConfirmReceipt(request)
        answers.setdefault(request.request_id, []).append(answer)

    started = time.perf_counter()
    await asyncio.gather(*(send(i, r) for i, r in enumerate(calls)))
    elapsed = time.perf_counter() - started
    print(f"\n2600 ConfirmReceipt calls (2000 unique) in {elapsed:.1f} s "
          f"({2600 / elapsed:.0f}/s)")
    assert len(answers) == 2000
    assert all(len({a.receipt_id for a in got}) == 1 for got in answers.values())
    for member in members:
        assert (await balance(admin, member)).points_available == expected[member.card]
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM receipts") == 2000
        assert await conn.fetchval("SELECT count(*) FROM ledger_transactions "
                                   "WHERE kind = 'receipt'") == 2000
        assert await conn.fetchval("SELECT count(*) FROM point_lots WHERE receipt_id "
                                   "IS NOT NULL") == 2000
    finally:
        await conn.close()
    await assert_books_balance(app)
