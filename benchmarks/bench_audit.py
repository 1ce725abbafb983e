"""Audit trail benchmark (a script, not a test): audited transactions per second with the
trail as one hash chain (migration 0016) and as sixteen (0039), same database, same run.

Every audited change (an order placed, points adjusted, a key created) appends its row with
kopilka_audit_append() and holds that chain's advisory lock until its transaction commits.
With one chain, concurrent writers queue behind each other's commit (its WAL flush
included); with sixteen, each takes a chain nobody else holds. pgbench runs the same
transaction against both functions: the append, then `--work-ms` of other work in the same
transaction (the rest of a change: the audit row is written last, as PlaceOrder does, but
the commit still comes after it), at `--clients` concurrency.

    python benchmarks/bench_audit.py [--clients 8] [--seconds 5] [--work-ms 0]

Uses KOPILKA_DATABASE_URL when set, else an embedded PostgreSQL 18 in a temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import asyncpg  # noqa: E402
from bench_ledger import run_pgbench  # noqa: E402

from server.db.migrate import migrate  # noqa: E402
from server.db.urls import with_database  # noqa: E402

CHAINS = importlib.import_module("server.db.migrations.versions.0039_audit_chains")


def script(function: str, work_ms: float) -> str:
    """One audited transaction: the append, the rest of the change, the commit."""
    work = f"SELECT pg_sleep({work_ms / 1000});\n" if work_ms else ""
    return ("BEGIN;\n"
            f"SELECT {function}('bench', NULL, NULL, 'probe', :client_id || '-' || random(), "
            "'create', NULL, '{\"amount\": 100}'::jsonb);\n"
            f"{work}COMMIT;\n")


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def main(args: argparse.Namespace) -> None:
    server_url = os.environ.get("KOPILKA_DATABASE_URL")
    if not server_url:
        from server.db.embedded import start_embedded_postgres

        server_url = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="bench-audit-")))
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = with_database(server_url, "postgres")
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}"'))
    url = with_database(server_url, name)
    try:
        asyncio.run(migrate(url))
        # 0016's one-chain append, beside 0039's, under its own name
        one_chain = CHAINS.ONE_CHAIN.replace("kopilka_audit_append(",
                                             "bench_audit_append_one_chain(", 1)
        asyncio.run(_execute(url, one_chain))
        rates: dict[str, float] = {}
        for label, function in (("one chain (0016)", "bench_audit_append_one_chain"),
                                ("16 chains (0039)", "kopilka_audit_append")):
            run_pgbench(url, script(function, args.work_ms), args.clients, 1)  # warm-up
            rates[label] = run_pgbench(url, script(function, args.work_ms), args.clients,
                                       args.seconds)
    finally:
        asyncio.run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    base = rates["one chain (0016)"]
    print(f"audited transactions/s, {args.clients} clients, {args.work_ms} ms of other work "
          "after the append")
    for label, rate in rates.items():
        print(f"  {label:18} {rate:10.0f} tps  {rate / base:5.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--work-ms", type=float, default=0.0)
    main(parser.parse_args())
