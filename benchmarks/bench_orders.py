"""PlaceOrder over gRPC vs CalculateReceipt of the same 20 lines, in the same run.

    python benchmarks/bench_orders.py [--orders 2000] [--concurrency 16] [--rules 1000]
                                      [--stores 200] [--skus 0] [--rounds 1]

Starts `kopilka serve` (1 worker) on a fresh database (KOPILKA_DATABASE_URL's server, or an
embedded PostgreSQL), loads the pricing benchmark's synthetic chain (50,000 SKUs, 200 stores;
bench_pricing.py) with a rule set, gives every SKU the receipts use (3,835; `--skus`) stock in
all 200 stores (`--stores`): 25 SKUs through SetStock, the other 762,000 balances by COPY into
the tables SetStock writes (`load_stock`), registers members with cards, then sends
`--orders` 20-line receipts to CalculateReceipt and the same lines as orders to PlaceOrder
(each its own request id and member, so every order is a real placement: customer lookup,
pricing, insert, history, event, SMS), and, for the orders, GetAvailability across the 200
stores. Calls go from Python clients on several channels; both RPCs see the same client
overhead, so the ratio is the server's. Also prints how many PlaceOrder calls the one-call
placement left to the general path, by reason (the server's
kopilka_order_placement_fallbacks_total). Not a test: numbers print, nothing asserts.
Target (issue 13): >= 0.5x.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bench_calculate as calc_bench  # noqa: E402  (same server start-up and data)
import bench_pricing as data  # noqa: E402
from procstat import cpu_seconds  # noqa: E402


async def backends(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the benchmark's database
    (the server's pools; the bookkeeping processes of the database server are not counted)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        pids = [r[0] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return out


async def run(target: str, key: str, calls: list, concurrency: int, channels: int,
              pid: int, url: str) -> dict[str, float]:
    """Send `calls` ((service attr, method, request)) with `concurrency` in flight."""
    from kopilka import KopilkaClient

    clients = [KopilkaClient(target, key) for _ in range(channels)]
    queue: asyncio.Queue = asyncio.Queue()
    for i, c in enumerate(calls):
        queue.put_nowait((i, c))
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            i, (service, method, request) = queue.get_nowait()
            began = time.perf_counter()
            await getattr(getattr(clients[i % channels], service), method)(request)
            latencies.append(time.perf_counter() - began)

    db0 = await backends(url)
    cpu0, began = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - began, cpu_seconds(pid) - cpu0
    db = sum(seconds - db0.get(p, 0.0) for p, seconds in (await backends(url)).items())
    for c in clients:
        await c.close()
    latencies.sort()
    return {"rps": len(calls) / elapsed, "p50": latencies[len(latencies) // 2] * 1000,
            "cpu_us": cpu / len(calls) * 1e6, "db_us": db / len(calls) * 1e6}


SAMPLE_SKUS = 25  # SKUs whose stock in every store goes through SetStock (5,000 balances)
QUANTITY = 1_000_000  # 1,000 pieces of every stocked SKU in every stocked store


def stocked_skus(used: list[str], catalog: list[str], count: int) -> list[str]:
    """The SKUs given stock: the receipts' own (`count` 0: all of them, as issue 13 says),
    then other catalog SKUs up to `count`, or the first `count` of the receipts'."""
    if count <= 0:
        return used
    extra = sorted(set(catalog) - set(used))
    return (used + extra)[:count]


async def load_stock(target: str, key: str, url: str, stores: list[str],
                     skus: list[str]) -> int:
    """Every SKU's stock in every store: the first SAMPLE_SKUS SKUs through SetStock (the
    RPC path, in requests of 5,000 balances), the rest by COPY into the tables SetStock
    writes, with the rows it would write: stock_balances, and the wishlists' last reported
    levels (shopping_stock_levels, and shopping_stock_skus summed per SKU with no restock:
    a SKU seen for the first time sets its baseline). One audit row per SetStock request
    stays the RPC's; no wishlist exists here, so no restock event is due. Returns how many
    balances went through SetStock."""
    import asyncpg
    from kopilka import KopilkaClient
    from kopilka.v1 import orders_pb2

    sample, rest = skus[:SAMPLE_SKUS], skus[SAMPLE_SKUS:]
    balances = [orders_pb2.StockBalance(store_code=s, sku=sku, quantity_milli=QUANTITY)
                for sku in sample for s in stores]
    async with KopilkaClient(target, key) as k:
        for first in range(0, len(balances), 5_000):
            request = orders_pb2.SetStockRequest(
                request_id=str(uuid.uuid4()), balances=balances[first:first + 5_000])
            for attempt in range(3):  # a loaded machine may time a load out: the
                try:                  # same request id again is the same load
                    await k.orders.SetStock(request)
                    break
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == 2:
                        raise
    if rest:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                levels = [(s, sku, QUANTITY) for sku in rest for s in stores]
                await conn.copy_records_to_table(
                    "stock_balances", columns=["store_code", "sku", "quantity_milli"],
                    records=levels)
                await conn.copy_records_to_table(
                    "shopping_stock_levels", columns=["store_code", "sku", "available_milli"],
                    records=levels)
                await conn.copy_records_to_table(
                    "shopping_stock_skus", columns=["sku", "available_milli", "restocks"],
                    records=[(sku, QUANTITY * len(stores), 0) for sku in rest])
            # what autovacuum would do to the loaded tables (or to SetStock's upserts) during
            # the measurement otherwise, and the load's dirty pages written out before it
            await conn.execute("VACUUM (ANALYZE) stock_balances, shopping_stock_levels, "
                               "shopping_stock_skus")
            # (unless the benchmark's user may not checkpoint that database server)
            with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
    return len(balances)


async def explain_all(url: str) -> None:
    """auto_explain in every new session of the benchmark's database (ANALYZE timings)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        for setting, value in (("session_preload_libraries", "auto_explain"),
                               ("auto_explain.log_min_duration", "0"),
                               ("auto_explain.log_analyze", "on"),
                               ("auto_explain.log_nested_statements", "on")):
            await conn.execute(f'ALTER DATABASE "{name}" SET {setting} = \'{value}\'')
    finally:
        await conn.close()


def fallbacks(metrics: str) -> dict[str, float] | None:
    """kopilka_order_placement_fallbacks_total by reason, from the server's metrics page
    (None: a server that does not count them)."""
    import urllib.request

    with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10) as page:
        text = page.read().decode()
    if "# TYPE kopilka_order_placement_fallbacks" not in text:
        return None
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("kopilka_order_placement_fallbacks_total{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split('reason="', 1)[1].split('"', 1)[0]] = float(value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="calls of each RPC")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1,
                        help="after the first pair, this many more CalculateReceipt / "
                        "PlaceOrder pairs back to back, each pair's ratio and the median "
                        "printed (the machine's speed drifts between pairs, not within one)")
    parser.add_argument("--stores", type=int, default=200,
                        help="stores holding stock (of the chain's 200)")
    parser.add_argument("--skus", type=int, default=0,
                        help="SKUs with stock (0: every SKU the receipts use)")
    parser.add_argument("--explain", action="store_true",
                        help="log every statement's plan with its timing (auto_explain, "
                             "nested statements included) to the database server's log")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the server under cProfile, its stats written to FILE")
    args = parser.parse_args()

    from kopilka import KopilkaClient
    from kopilka.v1 import admin_pb2, orders_pb2, receipts_pb2

    made: list[object] = []  # the embedded PostgreSQL's directory, removed after it stops
    atexit.register(lambda: [shutil.rmtree(str(d), ignore_errors=True) for d in made if d])
    url, handle = asyncio.run(calc_bench.prepare_database())
    made.append(handle)  # (atexit runs the server's stop, registered later, first)
    if args.explain:
        asyncio.run(explain_all(url))
    port, metrics = calc_bench.free_port(), calc_bench.free_port()
    env = dict(os.environ, KOPILKA_DATABASE_URL=url, KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN=f"127.0.0.1:{metrics}", KOPILKA_LOG_LEVEL="WARNING",
               KOPILKA_OUTBOX_ENABLED="false")
    kopilka = str(Path(sys.executable).with_name("kopilka"))
    key = subprocess.run([kopilka, "apikey", "create", "--name", "bench", "--kind", "operator",
                          "--role", "admin"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    command = [kopilka, "serve"]
    if args.profile:  # written when the server exits (SIGTERM: a graceful stop)
        command = [sys.executable, "-m", "cProfile", "-o", args.profile, *command]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    target = f"127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                asyncio.run(calc_bench.call(target, key, "Echo", admin_pb2.EchoRequest()))
                break
            except Exception:
                time.sleep(0.2)
        stores = calc_bench.stores()
        for store in stores:
            asyncio.run(calc_bench.call(target, key, "UpsertStore",
                                        admin_pb2.UpsertStoreRequest(
                                            request_id=str(uuid.uuid4()), store=store)))
        rows = calc_bench.products()
        for first in range(0, len(rows), 10_000):
            asyncio.run(calc_bench.call(target, key, "UpsertProducts",
                                        admin_pb2.UpsertProductsRequest(
                                            request_id=str(uuid.uuid4()),
                                            products=rows[first:first + 10_000])))
        asyncio.run(calc_bench.call(target, key, "ApplyRuleSet", admin_pb2.ApplyRuleSetRequest(
            request_id=str(uuid.uuid4()),
            document=json.dumps(data.scenario_document("chain", args.rules)),
            format=admin_pb2.RULE_SET_FORMAT_JSON)))
        receipts = calc_bench.requests(20250303)  # 200 receipts of 20 lines
        skus = sorted({x.sku for r in receipts for x in r.lines})

        stocked = stores[:args.stores]
        skus = stocked_skus(skus, [r["sku"] for r in rows], args.skus)
        began = time.perf_counter()
        sampled = asyncio.run(load_stock(target, key, url, [s["code"] for s in stocked], skus))
        print(f"stock: {len(skus) * len(stocked):,} balances ({sampled:,} through SetStock, "
              f"the rest by COPY) in {time.perf_counter() - began:.1f} s", flush=True)
        cards = asyncio.run(calc_bench.register_cards(target, key, min(args.orders, 500)))
        time.sleep(3)  # the server's pricing state polls the catalog every 2 s
        rng = random.Random(7)

        def order(i: int, number: str) -> tuple[str, str, object]:
            r = receipts[i % len(receipts)]
            return ("orders", "PlaceOrder", orders_pb2.PlaceOrderRequest(
                request_id=str(uuid.uuid4()), store_code=r.store_code,
                external_number=number,
                customer=orders_pb2.Customer(card_number=cards[i % len(cards)]),
                lines=[orders_pb2.NewOrderLine(line_no=x.line_no, sku=x.sku,
                                               quantity_milli=x.quantity_milli,
                                               unit_price_minor=x.unit_price_minor)
                       for x in r.lines],
                delivery=orders_pb2.Delivery(
                    kind=orders_pb2.DELIVERY_KIND_PICKUP,
                    pickup_store_code=stores[rng.randrange(len(stores))]["code"])))

        calcs, orders = [], []
        for i in range(args.orders):
            r = receipts[i % len(receipts)]
            calcs.append(("receipts", "CalculateReceipt", receipts_pb2.CalculateReceiptRequest(
                store_code=r.store_code, card_number=cards[i % len(cards)], lines=r.lines)))
            orders.append(order(i, f"B-{i}"))
        # each RPC warmed up alike before it is measured: its first tenth of the calls
        # (PlaceOrder's as orders of their own: each call places a new order)
        warm = max(1, args.orders // 10)
        asyncio.run(run(target, key, calcs[:warm], args.concurrency, args.channels, server.pid,
                        url))
        calc = asyncio.run(run(target, key, calcs, args.concurrency, args.channels, server.pid,
                               url))
        asyncio.run(run(target, key, [order(i, f"W-{i}") for i in range(warm)],
                        args.concurrency, args.channels, server.pid, url))
        before = fallbacks(f"127.0.0.1:{metrics}")
        place = asyncio.run(run(target, key, orders, args.concurrency, args.channels,
                                server.pid, url))
        after = fallbacks(f"127.0.0.1:{metrics}")
        fell = None if before is None or after is None else {
            r: n - before.get(r, 0) for r, n in after.items() if n - before.get(r, 0)}

        pairs = [(calc, place)]
        for n in range(1, args.rounds):
            again = asyncio.run(run(target, key, calcs, args.concurrency, args.channels,
                                    server.pid, url))
            more = asyncio.run(run(target, key, [order(i, f"R{n}-{i}") for i in
                                                 range(args.orders)],
                                   args.concurrency, args.channels, server.pid, url))
            pairs.append((again, more))

        async def order_ids() -> list[str]:
            async with KopilkaClient(target, key) as k:
                ids: list[str] = []
                token = ""
                while len(ids) < args.orders:
                    page = await k.orders.ListOrders(orders_pb2.ListOrdersRequest(
                        page={"page_size": 500, "page_token": token}))
                    ids += [o.order_id for o in page.orders]
                    token = page.page.next_page_token
                    if not token:
                        break
                return ids

        avail = asyncio.run(run(target, key, [
            ("orders", "GetAvailability", orders_pb2.GetAvailabilityRequest(
                order_id=o, strategy=orders_pb2.ALLOCATION_STRATEGY_FEWEST_SHIPMENTS,
                virtual_shelf=True)) for o in asyncio.run(order_ids())],
            args.concurrency, args.channels, server.pid, url))
        print(f"{args.orders} calls each, 20 lines, {args.rules} rules, stock of {len(skus)} "
              f"SKUs in {len(stocked)} stores; {args.concurrency} in flight on "
              f"{args.channels} channels")
        print(f"{'rpc':<22} {'calls/s':>8} {'ratio':>6} {'p50':>9} {'cpu/call':>9} "
              f"{'db cpu/call':>11}")
        for name, r in (("CalculateReceipt", calc), ("PlaceOrder", place),
                        ("GetAvailability", avail)):
            print(f"{name:<22} {r['rps']:>8.0f} {r['rps'] / calc['rps']:>5.2f}x "
                  f"{r['p50']:>7.2f}ms {r['cpu_us']:>7.0f}us {r['db_us']:>9.0f}us")
        print("ratio = calls/s over CalculateReceipt's in this run (target for PlaceOrder: "
              ">= 0.5x); cpu = the server process's, db cpu = its database backends'")
        if len(pairs) > 1:
            print(f"{'pair':>4} {'calc/s':>8} {'order/s':>8} {'ratio':>6} {'calc cpu':>9} "
                  f"{'order cpu':>9} {'calc db':>8} {'order db':>8}")
            for n, (c, o) in enumerate(pairs, 1):
                print(f"{n:>4} {c['rps']:>8.0f} {o['rps']:>8.0f} {o['rps'] / c['rps']:>5.2f}x "
                      f"{c['cpu_us']:>7.0f}us {o['cpu_us']:>7.0f}us {c['db_us']:>6.0f}us "
                      f"{o['db_us']:>6.0f}us")
            ratios = sorted(o["rps"] / c["rps"] for c, o in pairs)
            print(f"PlaceOrder / CalculateReceipt over {len(pairs)} pairs: median "
                  f"{statistics.median(ratios):.2f}x, lowest {ratios[0]:.2f}x, highest "
                  f"{ratios[-1]:.2f}x")
        if fell is None:
            print("PlaceOrder on the general path: not counted by this server")
        else:
            print(f"PlaceOrder on the general path: {sum(fell.values()):.0f} of {args.orders}"
                  + (" (" + ", ".join(f"{r}: {n:.0f}" for r, n in sorted(fell.items())) + ")"
                     if fell else ""))
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
