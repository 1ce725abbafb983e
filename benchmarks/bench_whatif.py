"""What-if over past receipt lines vs pricing the same receipts live, in the same run.

    python benchmarks/bench_whatif.py [--lines 1000000] [--rules 1000] [--seconds 5]

Starts `kopilka serve` (1 worker) on a fresh database (KOPILKA_DATABASE_URL's server, or an
embedded PostgreSQL) with the engine benchmark's synthetic chain (50,000 SKUs, 200 stores;
bench_pricing.py) and its `chain` rule set, books `--lines` / 20 past 20-line receipts
straight into receipts/receipt_details (their discounts priced by the same rules), then:

- what-if: `server.features.whatif.run_what_if` in this process over the whole period
  (keyset pages from PostgreSQL + pricing in memory), receipts/s from the first query to
  the last total, after a warm-up run over the first 50 receipts (imports, connections);
- live: CalculateReceipt over gRPC on the same server for the same kind of receipts
  (benchmarks/loadgen, Go, 32 calls in flight), receipts/s.

Prints both and the ratio what-if / live (issue 18 target: >= 1x). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bench_calculate as calc  # noqa: E402  (database, server and load helpers)
import bench_pricing as data  # noqa: E402

SEED = 20250303


async def book_past_receipts(url: str, count: int, document: dict) -> tuple[dt.datetime,
                                                                             dt.datetime]:
    """`count` confirmed 20-line receipts, priced by `document`, as ConfirmReceipt stores
    them; returns the period that holds them."""
    from server.pricing import compile_rule_set, parse_rule_set, price_receipt

    rules = compile_rule_set(parse_rule_set(document))
    catalog, stores = data.make_catalog(random.Random(SEED)), data.make_stores()
    principal = uuid.uuid4()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    try:
        batch = 2_000
        for first in range(0, count, batch):
            receipts = data.make_receipts(min(batch, count - first),
                                          random.Random(SEED + first), data.FULL)
            heads, details = [], []
            for i, receipt in enumerate(receipts):
                result = price_receipt(rules, catalog, stores, receipt)
                rid = uuid.uuid4()
                moment = start + dt.timedelta(seconds=first + i)
                heads.append((rid, receipt.store_id, "bench", f"B-{first + i}", "confirmed",
                              "UAH", result.subtotal, result.discount_total, result.total,
                              moment))
                lines = [{"line_no": x.line_no, "sku": x.sku, "quantity_milli": x.quantity_milli,
                          "unit_price_minor": x.unit_price, "final_amount_minor": x.final_amount,
                          "accrual_points": 0, "points_discount_minor": 0}
                         for x in result.lines]
                details.append((rid, uuid.uuid4(), uuid.uuid4(), json.dumps(lines), "[]", 0, 0,
                                principal))
            await conn.executemany(
                "INSERT INTO receipts (id, store_code, terminal_id, receipt_number, state, "
                "currency, subtotal_minor, discount_total_minor, total_minor, confirmed_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", heads)
            await conn.executemany(
                "INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, "
                "points_accrued, points_redeemed, principal_id) "
                "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)", details)
    finally:
        await conn.close()
    return start, start + dt.timedelta(seconds=count + 1)


async def what_if_rate(url: str, text: str, start: dt.datetime, end: dt.datetime
                       ) -> tuple[float, int, int]:
    """(receipts/s, receipts, lines) of one what-if run over the period."""
    from server.db.database import Database
    from server.features.pricing import PricingState
    from server.features.whatif import run_what_if

    db = Database(url, pool_size=2)
    try:
        state = PricingState(db)
        await state.refresh(force=True)
        began = time.perf_counter()
        last = None
        async for step in run_what_if(db, state.snapshot, text, "json", start, end):
            last = step
        elapsed = time.perf_counter() - began
    finally:
        await db.dispose()
    assert last is not None
    return last.totals.receipts / elapsed, last.totals.receipts, last.totals.lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="past receipt lines")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0, help="live measurement")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--max-rate", type=int, default=4000)
    args = parser.parse_args()

    from kopilka.v1 import admin_pb2

    url, _ = asyncio.run(calc.prepare_database())
    port, metrics = calc.free_port(), calc.free_port()
    env = dict(os.environ, KOPILKA_DATABASE_URL=url, KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN=f"127.0.0.1:{metrics}", KOPILKA_LOG_LEVEL="WARNING")
    kopilka = str(Path(sys.executable).with_name("kopilka"))
    key = subprocess.run([kopilka, "apikey", "create", "--name", "bench", "--kind", "operator",
                          "--role", "admin"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    server = subprocess.Popen([kopilka, "serve"], env=env, stderr=subprocess.DEVNULL)
    target = f"127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                asyncio.run(calc.call(target, key, "Echo", admin_pb2.EchoRequest()))
                break
            except Exception:
                time.sleep(0.2)
        for store in calc.stores():
            asyncio.run(calc.call(target, key, "UpsertStore", admin_pb2.UpsertStoreRequest(
                request_id=str(uuid.uuid4()),
                store=store)))
        rows = calc.products()
        for first in range(0, len(rows), 10_000):
            asyncio.run(calc.call(target, key, "UpsertProducts", admin_pb2.UpsertProductsRequest(
                request_id=str(uuid.uuid4()),
                products=rows[first:first + 10_000])))
        document = data.scenario_document("chain", args.rules)
        text = json.dumps(document)
        asyncio.run(calc.call(target, key, "ApplyRuleSet", admin_pb2.ApplyRuleSetRequest(
            request_id=str(uuid.uuid4()),
            document=text, format=admin_pb2.RULE_SET_FORMAT_JSON)))
        receipts = max(1, args.lines // 20)
        booked = time.perf_counter()
        start, end = asyncio.run(book_past_receipts(url, receipts, document))
        print(f"booked {receipts} past receipts ({receipts * 20} lines) in "
              f"{time.perf_counter() - booked:.1f} s; {args.rules} rules (chain)")
        time.sleep(3)  # the server's pricing state polls the catalog every 2 s
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.enable()
            asyncio.run(what_if_rate(url, text, start, end))
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        # warm-up: first imports and connections (not the candidate's memo: each run
        # compiles the candidate afresh, as a real what-if does)
        asyncio.run(what_if_rate(url, text, start, start + dt.timedelta(seconds=50)))
        rate, priced, lines = asyncio.run(what_if_rate(url, text, start, end))
        live = calc.measure(target, key, "calc", args, server.pid, [])
        print(f"what-if: {priced} receipts / {lines} lines, {rate:.0f} receipts/s "
              f"({rate * 20:.0f} lines/s)")
        print(f"live CalculateReceipt over gRPC: {live['rps']:.0f} receipts/s "
              f"(p50 {live['p50']:.2f} ms)")
        print(f"what-if / live = {rate / live['rps']:.2f}x (target >= 1x)")
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
