"""CalculateReceipt over gRPC vs an Echo RPC on the same server, in the same run.

    python benchmarks/bench_calculate.py [--seconds 5] [--concurrency 32] [--rules 1000]

Starts `kopilka serve` (1 worker) on a fresh database (KOPILKA_DATABASE_URL's server, or an
embedded PostgreSQL), loads the engine benchmark's synthetic chain (50,000 SKUs, 200 stores
in 20 networks; bench_pricing.py), then for 100, 1,000 and 10,000 active rules measures
20-line receipts per second, latency, and the server's CPU per call, each against Echo
(same auth, interceptors and metrics, no work; it carries the serialized receipt as its
payload). Echo is measured before every rule size so both see the same machine. The load
comes from benchmarks/loadgen (Go, pre-serialized requests), which leaves the server the
CPU a Python client would take. Not a test: numbers print, nothing asserts.
Targets (issue 21): CalculateReceipt >= 0.6x Echo at 1,000 rules; p50 at 10,000 rules
<= 1.2x p50 at 100 rules. `--explain` adds a row per size for requests with `explain` set
(the discounts' names and reason texts, as every response carried before issue 21).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bench_pricing as data  # noqa: E402  (same synthetic chain as the engine benchmark)
from loadgen import run_load  # noqa: E402
from procstat import cpu_seconds  # noqa: E402

from server.limits import DOCUMENT_CHARS  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def products() -> list[dict]:
    """The engine benchmark's 50,000-SKU catalog as UpsertProducts rows."""
    return [{"sku": p.sku, "group_code": p.group, "subgroup_code": p.subgroup,
             "brand": p.brand, "supplier_code": p.supplier, "price_category": p.price_category}
            for p in data.make_catalog(random.Random(20250303)).products.values()]


def stores() -> list[dict]:
    return [{"code": s.id, "name": s.id, "network_codes": sorted(s.network_ids)}
            for s in data.make_stores().values()]


def requests(seed: int, cards: Sequence[str] = (), explain: bool = False) -> list:
    """200 different 20-line receipts at random stores and times, as gRPC requests; with
    `cards`, each receipt presents one of them (round-robin); `explain`: each asks for the
    discounts' names and reason texts."""
    from google.protobuf.timestamp_pb2 import Timestamp
    from kopilka.v1 import receipts_pb2

    out = []
    for i, receipt in enumerate(data.make_receipts(200, random.Random(seed), data.FULL)):
        moment = Timestamp()
        moment.FromDatetime(receipt.time)
        out.append(receipts_pb2.CalculateReceiptRequest(
            store_code=receipt.store_id, receipt_time=moment,
            card_number=cards[i % len(cards)] if cards else "", explain=explain, lines=[
                {"line_no": x.line_no, "sku": x.sku, "quantity_milli": x.quantity_milli,
                 "unit_price_minor": x.unit_price} for x in receipt.lines]))
    return out


def measure(target: str, key: str, method: str, args: argparse.Namespace, pid: int,
            cards: list[str]) -> dict:
    """Calls/s, latency and the server's CPU per call, with the Go load generator sending
    the 200 receipts round-robin (CalculateReceipt has no side effects: repeats are fine);
    method "explain": CalculateReceipt with `explain` set."""
    bodies = [x.SerializeToString() for x in requests(20250303, cards, method == "explain")]
    if method == "echo":
        from kopilka.v1 import admin_pb2

        path = "/kopilka.v1.AdminService/Echo"
        bodies = [admin_pb2.EchoRequest(payload=x).SerializeToString() for x in bodies]
    else:
        path = "/kopilka.v1.ReceiptService/CalculateReceipt"
    count = int(args.max_rate * (args.warmup + args.seconds))
    cpu: dict[str, float] = {}
    result = run_load(target, path, key, [bodies[i % len(bodies)] for i in range(count)],
                      concurrency=args.concurrency, channels=args.channels,
                      warmup=args.warmup, seconds=args.seconds,
                      on_window=lambda mark: cpu.__setitem__(mark, cpu_seconds(pid)))
    return {"rps": result.rate, "p50": result.p50_ms, "p99": result.p99_ms,
            "cpu_us": (cpu["end"] - cpu["start"]) / result.done * 1e6}


def engine_rate(scenario: str, rules: int) -> float:
    """Receipts/s of pricing alone (price_receipt in this process, one core) on the same
    200 receipts the gRPC runs send, best of 3 passes."""
    rule_set = data.scenario_rules(scenario, rules)
    catalog, stores = data.make_catalog(random.Random(20250303)), data.make_stores()
    receipts = data.make_receipts(200, random.Random(20250303), data.FULL)
    return data.measure(rule_set, catalog, stores, receipts, repeat=3)[0]["rps"]


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


async def register_cards(target: str, key: str, count: int) -> list[str]:
    """`count` members with a card each (so receipts load a member context)."""
    from kopilka import KopilkaClient
    from kopilka.v1 import admin_pb2, members_pb2

    async with KopilkaClient(target, key) as k:
        await k.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(
            request_id=str(uuid.uuid4()), card_type=admin_pb2.CardType(
            code="bench", name="Bench", accrual_bps=500, number_prefix="2990")))
        cards = []
        for i in range(count):
            reply = await k.members.RegisterMember(members_pb2.RegisterMemberRequest(
                request_id=str(uuid.uuid4()),
                profile=members_pb2.MemberProfile(first_name="Bench", phone=f"+38067{i:07d}"),
                channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="bench"))
            cards.append(reply.member.cards[0].number)
        return cards


async def apply_directly(url: str, document: str) -> str:
    """ApplyRuleSet's own service (server/features/pricing.py) on the server's database, for
    a document over ApplyRuleSet's size limit; the server loads it when it next polls. The
    version applied."""
    from server.db.database import Database
    from server.features.pricing import apply_rule_set

    db = Database(url, pool_size=1)
    try:
        return (await apply_rule_set(db, document, "json", "bench"))[0]
    finally:
        await db.dispose()


async def priced_with(target: str, key: str, request: object) -> str:
    """The rule set version the server prices `request` with now."""
    from kopilka import KopilkaClient

    async with KopilkaClient(target, key) as k:
        return str((await k.receipts.CalculateReceipt(request)).rule_set_version)


def wait_for_rule_set(target: str, key: str, version: str, request: object) -> None:
    """Until the server prices with `version`: it loads a new rule set when it next polls
    (every 2 s), and compiling 10,000 rules on a loaded machine takes longer than that."""
    deadline = time.monotonic() + 300
    while asyncio.run(priced_with(target, key, request)) != version:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server did not load rule set {version} in 300 s")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--cards", type=int, default=0,
                        help="present a member's card on every receipt (N members, round-robin)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    parser.add_argument("--channels", type=int, default=4, help="gRPC channels (connections)")
    parser.add_argument("--max-rate", type=int, default=8000,
                        help="calls/s the prepared requests must last for")
    parser.add_argument("--rules", default="100,1000,10000")
    parser.add_argument("--scenario", default="chain", choices=["chain", "constant", "uniform"],
                        help="rule mix from bench_pricing.py (chain: a realistic chain)")
    parser.add_argument("--explain", action="store_true",
                        help="also measure CalculateReceipt with explain set (names and reason "
                        "texts), in the same run, on a row of its own")
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
        for store in stores():
            asyncio.run(call(target, key, "UpsertStore", admin_pb2.UpsertStoreRequest(
                request_id=str(uuid.uuid4()),
                store=store)))
        rows = products()
        for first in range(0, len(rows), 10_000):
            asyncio.run(call(target, key, "UpsertProducts", admin_pb2.UpsertProductsRequest(
                request_id=str(uuid.uuid4()),
                products=rows[first:first + 10_000])))
        cards = asyncio.run(register_cards(target, key, args.cards)) if args.cards else []
        time.sleep(3)  # the server's pricing state polls the catalog every 2 s
        print(f"server pid {server.pid}; Go load generator, {args.concurrency} calls in flight "
              f"on {args.channels} channels; {args.seconds:g} s per measurement; "
              f"20-line receipts{f', each with one of {len(cards)} cards' if cards else ''}")
        print("pricing = price_receipt alone (in process, one core); calc = CalculateReceipt "
              "over gRPC; each ratio is to Echo's calls/s; cpu = server CPU per call")
        print(f"{'rules':>6} {'price/s':>8} {'ratio':>6} {'echo/s':>8} {'calc/s':>8} "
              f"{'ratio':>6} {'echo p50':>9} {'calc p50':>9} {'calc p99':>9} {'echo cpu':>9} "
              f"{'calc cpu':>9}")
        results, echoes = {}, {}
        for count in [int(x) for x in args.rules.split(",")]:
            document = json.dumps(data.scenario_document(args.scenario, count),
                                  separators=(",", ":"))
            if len(document) <= DOCUMENT_CHARS:
                applied = asyncio.run(call(target, key, "ApplyRuleSet",
                                           admin_pb2.ApplyRuleSetRequest(
                                               request_id=str(uuid.uuid4()),
                                               document=document,
                                               format=admin_pb2.RULE_SET_FORMAT_JSON)))
                version = str(applied.version)  # type: ignore[attr-defined]
            else:  # over the RPC's document limit (10,000 rules): the same apply service
                version = asyncio.run(apply_directly(url, document))
            wait_for_rule_set(target, key, version, requests(1)[0])
            alone = engine_rate(args.scenario, count)
            echo = measure(target, key, "echo", args, server.pid, cards)
            calc = measure(target, key, "calc", args, server.pid, cards)
            results[count] = calc
            echoes[count] = echo
            rows = [(f"{count:>6}", calc)]
            if args.explain:
                rows.append((f"{'+expl':>6}",
                             measure(target, key, "explain", args, server.pid, cards)))
            for label, row in rows:
                print(f"{label} {alone:>8.0f} {alone / echo['rps']:>5.2f}x {echo['rps']:>8.0f} "
                      f"{row['rps']:>8.0f} {row['rps'] / echo['rps']:>5.2f}x "
                      f"{echo['p50']:>7.2f}ms {row['p50']:>7.2f}ms {row['p99']:>7.2f}ms "
                      f"{echo['cpu_us']:>7.0f}us {row['cpu_us']:>7.0f}us")
        if 100 in results and 10_000 in results:
            ratio = results[10_000]["p50"] / results[100]["p50"]
            machine = echoes[10_000]["p50"] / echoes[100]["p50"]
            print(f"p50 at 10,000 rules / p50 at 100 rules: {ratio:.2f} (target <= 1.2); "
                  f"Echo's own p50 moved {machine:.2f}x between those rows (the machine), so "
                  f"relative to Echo: {ratio / machine:.2f}")
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
