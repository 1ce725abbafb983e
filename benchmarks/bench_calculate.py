"""CalculateReceipt over gRPC vs an Echo RPC on the same server, in the same run.

    python benchmarks/bench_calculate.py [--seconds 5] [--clients 2] [--concurrency 32]

Starts `kopilka serve` (1 worker) on a fresh database (KOPILKA_DATABASE_URL's server, or an
embedded PostgreSQL), loads a synthetic catalog of 20,000 SKUs, then for 100, 1,000 and
10,000 active rules measures 20-line receipts per second, latency, and the server's CPU per
call, each against Echo (same auth, interceptors and metrics, no work). Echo is measured
before every rule size so both see the same machine. Not a test: numbers print, nothing
asserts. Targets (issue 3): CalculateReceipt >= 0.8x Echo at 1,000 rules; p50 at 10,000
rules <= 1.5x p50 at 100 rules.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import yaml

ROOT = Path(__file__).resolve().parents[1]
SKUS = 20_000
GROUPS = 200
BRANDS = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def catalog() -> list[dict]:
    rnd = random.Random(1)
    return [{"sku": f"sku-{i}", "group_code": f"g{i % GROUPS}",
             "brand": f"b{rnd.randrange(BRANDS)}", "supplier_code": f"s{i % 50}"}
            for i in range(SKUS)]


def rule_set(count: int) -> str:
    """A chain's promotions: mostly single-SKU and brand discounts, some multibuys and
    group discounts, a few receipt-level card rules. Rules spread over the whole catalog,
    so a receipt meets a handful of them whatever the total."""
    rnd = random.Random(count)
    rules = []
    for i in range(count):
        kind = rnd.random()
        if kind < 0.70:
            target, benefit = [{"skus": [f"sku-{rnd.randrange(SKUS)}"]}], {
                "type": "percent", "percent": rnd.choice([500, 1000, 1500, 2000])}
        elif kind < 0.85:
            target, benefit = [{"brands": [f"b{rnd.randrange(BRANDS)}"]}], {
                "type": "percent", "percent": 500}
        elif kind < 0.95:
            target, benefit = [{"groups": [f"g{rnd.randrange(GROUPS)}"]}], {
                "type": "m_for_n", "buy": 3, "pay": 2}
        else:
            target, benefit = [{"groups": [f"g{rnd.randrange(GROUPS)}"]}], {
                "type": "amount", "amount": 500, "scope": "receipt"}
        rules.append({"id": f"r{i}", "group": rnd.choice(["items", "extra"]),
                      "target": target, "benefit": benefit,
                      "conditions": {"stores": ["s1"]} if i % 7 == 0 else {}})
    return yaml.safe_dump({"schema_version": 1, "name": f"bench-{count}", "groups": [
        {"id": "items", "order": 1, "resolution": "max_discount"},
        {"id": "extra", "order": 2}], "rules": rules})


def receipt_lines(rnd: random.Random) -> list[dict]:
    return [{"line_no": n + 1, "sku": f"sku-{rnd.randrange(SKUS)}",
             "quantity_milli": rnd.choice([1000, 2000, 3000, 1250]),
             "unit_price_minor": rnd.randrange(500, 50_000)} for n in range(20)]


def _client(target: str, key: str, method: str, seconds: float, channels: int,
            concurrency: int, out: multiprocessing.Queue) -> None:
    import grpc
    from kopilka.v1 import admin_pb2, receipts_pb2

    async def run() -> list[float]:
        chans = [grpc.aio.insecure_channel(target) for _ in range(channels)]
        md = (("authorization", f"Bearer {key}"),)
        rnd = random.Random(os.getpid())
        requests = [receipts_pb2.CalculateReceiptRequest(store_code="s1", lines=receipt_lines(rnd))
                    for _ in range(200)]
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def worker(i: int) -> None:
            ch = chans[i % channels]
            if method == "echo":
                call = ch.unary_unary("/kopilka.v1.AdminService/Echo",
                                      request_serializer=admin_pb2.EchoRequest.SerializeToString,
                                      response_deserializer=admin_pb2.EchoResponse.FromString)
                req = admin_pb2.EchoRequest(payload=requests[0].SerializeToString())
            else:
                call = ch.unary_unary(
                    "/kopilka.v1.ReceiptService/CalculateReceipt",
                    request_serializer=receipts_pb2.CalculateReceiptRequest.SerializeToString,
                    response_deserializer=receipts_pb2.CalculateReceiptResponse.FromString)
            n = i
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                await call(req if method == "echo" else requests[n % len(requests)],
                           metadata=md)
                latencies.append(time.perf_counter() - began)
                n += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        for ch in chans:
            await ch.close()
        return latencies

    out.put(asyncio.run(run()))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(target: str, key: str, method: str, args: argparse.Namespace, pid: int) -> dict:
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_client, args=(target, key, method, args.seconds, 4,
                                                 args.concurrency, queue))
             for _ in range(args.clients)]
    cpu0 = cpu_seconds(pid)
    for p in procs:
        p.start()
    latencies = [x for _ in procs for x in queue.get()]
    for p in procs:
        p.join()
    cpu = cpu_seconds(pid) - cpu0
    latencies.sort()
    return {"rps": len(latencies) / args.seconds, "p50": statistics.median(latencies) * 1e3,
            "p99": latencies[int(len(latencies) * 0.99)] * 1e3,
            "cpu_us": cpu / len(latencies) * 1e6}


async def prepare_database() -> tuple[str, object]:
    server_url = os.environ.get("KOPILKA_DATABASE_URL")
    handle = None
    if not server_url:
        from server.db.embedded import start_embedded_postgres

        handle = tempfile.mkdtemp(prefix="kopilka-bench-pg-")
        server_url = start_embedded_postgres(Path(handle))
    from server.db.urls import with_database

    name = f"kopilka_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return with_database(server_url, name), handle


async def call(target: str, key: str, method: str, request) -> object:
    from kopilka import KopilkaClient

    async with KopilkaClient(target, key) as k:
        return await getattr(k.admin, method)(request)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight per client")
    parser.add_argument("--rules", default="100,1000,10000")
    args = parser.parse_args()

    from kopilka.v1 import admin_pb2

    url, _ = asyncio.run(prepare_database())
    port, metrics = free_port(), free_port()
    env = dict(os.environ, KOPILKA_DATABASE_URL=url, KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN=f"127.0.0.1:{metrics}", KOPILKA_LOG_LEVEL="WARNING")
    kopilka = str(Path(sys.executable).with_name("kopilka"))
    key = subprocess.run([kopilka, "apikey", "create", "--name", "bench", "--kind", "operator",
                          "--role", "admin"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    server = subprocess.Popen([kopilka, "serve"], env=env, stderr=subprocess.DEVNULL)
    target = f"127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                asyncio.run(call(target, key, "Echo", admin_pb2.EchoRequest()))
                break
            except Exception:
                time.sleep(0.2)
        asyncio.run(call(target, key, "UpsertStore", admin_pb2.UpsertStoreRequest(
            store=admin_pb2.Store(code="s1", name="Bench store"))))
        products = catalog()
        for first in range(0, len(products), 10_000):
            asyncio.run(call(target, key, "UpsertProducts", admin_pb2.UpsertProductsRequest(
                products=products[first:first + 10_000])))
        time.sleep(3)  # the server's pricing state polls the catalog every 2 s
        print(f"server pid {server.pid}; {args.clients} client processes x {args.concurrency} "
              f"in flight; {args.seconds:g} s per measurement; 20-line receipts")
        print(f"{'rules':>6} {'echo/s':>8} {'calc/s':>8} {'ratio':>6} {'echo p50':>9} "
              f"{'calc p50':>9} {'calc p99':>9} {'echo cpu':>9} {'calc cpu':>9}")
        results = {}
        for count in [int(x) for x in args.rules.split(",")]:
            asyncio.run(call(target, key, "ApplyRuleSet", admin_pb2.ApplyRuleSetRequest(
                document=rule_set(count))))
            echo = measure(target, key, "echo", args, server.pid)
            calc = measure(target, key, "calc", args, server.pid)
            results[count] = calc
            print(f"{count:>6} {echo['rps']:>8.0f} {calc['rps']:>8.0f} "
                  f"{calc['rps'] / echo['rps']:>5.2f}x {echo['p50']:>7.2f}ms {calc['p50']:>7.2f}ms "
                  f"{calc['p99']:>7.2f}ms {echo['cpu_us']:>7.0f}us {calc['cpu_us']:>7.0f}us")
        if 100 in results and 10_000 in results:
            print(f"p50 at 10,000 rules / p50 at 100 rules: "
                  f"{results[10_000]['p50'] / results[100]['p50']:.2f} (target <= 1.5)")
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
