"""`kopilka import` against a plain PostgreSQL COPY of the same rows, in the same run.

Generates N members with cards, N opening balances (points lots) and M 1C receipt lines,
imports them with the very service `kopilka import` runs (parse, stage by COPY, checks,
set-based apply, reconciliation), then COPYs the same CSV files into bare tables. Prints
rows/s of each, the ratio (target >= 0.5x) and the peak RSS after each size, so memory can
be seen to stay flat as the files grow (run with --sizes 0.25,1).

    .venv/bin/python benchmarks/bench_import.py --members 20000 --lines 200000

--phases prints each kind's time by phase (every statement of the run timed by a label),
--explain MS the plans (EXPLAIN ANALYZE, by auto_explain) of statements slower than MS ms.
--floor COPYs the rows a run left behind into copies of their tables (same columns, indexes,
checks): what writing them alone costs, the ratio no importer keeping those tables can pass.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from server.db.embedded import start_embedded_postgres
from server.db.imports.store import Batches, ImportStore
from server.db.migrate import migrate
from server.db.urls import with_database
from server.imports.kinds import KINDS
from server.imports.model import Policy
from server.imports.service import run_import
from server.members.cards import card_number

PHASES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])


def phase_of(sql: str) -> str:
    """Which phase of a run a statement belongs to (for --phases)."""
    s = " ".join(sql.split())
    if s.startswith("INSERT INTO import_stage"):
        return "parse INSERT...SELECT"
    if s.startswith(("CREATE INDEX ON import_stage", "ANALYZE import_stage")):
        return "stage indexes + ANALYZE"
    if s.startswith("UPDATE import_stage s SET status"):
        return "checks: import_records keys"
    if s.startswith("UPDATE import_stage s SET grp"):
        return "checks: receipts grouped"
    if s.startswith(("UPDATE import_stage", "SELECT min(grp)")) and "pending" not in s:
        return "checks: refusals"
    if "FROM import_stage WHERE pending_" in s or "unnest($1::bigint[], $2::text[])" in s:
        return "pending phones/e-mails"
    if "import_held" in s:
        return "reconciliation read-back"
    if s.endswith(("FOR KEY SHARE OF t", "FOR KEY SHARE OF m")):
        return "apply: lock references"
    if s.startswith("INSERT INTO import_records"):
        return "apply: import_records"
    if s.startswith(("INSERT INTO", "WITH", "UPDATE members", "UPDATE card_types",
                     "CREATE TEMP TABLE import_receipts", "DELETE FROM")):
        return "apply: " + (s.split()[2] if s.startswith("INSERT") else s.split()[0].lower())
    if s.startswith("SELECT count(*) FROM import_stage s WHERE s.reject_reason IS NULL AND "
                    "s.status <> 'same' AND s.grp BETWEEN") or "checkpoint_row = $2" in s:
        return "apply: checkpoint + count"
    if "max(grp)" in s:
        return "apply: chunk bounds"
    if "import_batches b" in s or "JOIN import_records r" in s:
        return "reconciliation read-back"
    if s.startswith("SELECT s.") or "GROUP BY 1 ORDER BY 1 LIMIT" in s:
        return "reconciliation per member"
    if s.startswith("SELECT count") or s.startswith("SELECT rn, file"):
        return "reconciliation totals + rejects"
    return "other SQL"


class TimedConnection(asyncpg.Connection):  # type: ignore[misc]
    """Times every statement of a run by phase (--phases)."""

    async def _timed(self, label: str, call: Any) -> Any:
        start = time.perf_counter()
        try:
            return await call
        finally:
            PHASES[label][0] += time.perf_counter() - start
            PHASES[label][1] += 1

    async def execute(self, sql: str, *args: Any, **kw: Any) -> Any:
        return await self._timed(phase_of(sql), super().execute(sql, *args, **kw))

    async def fetch(self, sql: str, *args: Any, **kw: Any) -> Any:
        return await self._timed(phase_of(sql), super().fetch(sql, *args, **kw))

    async def fetchval(self, sql: str, *args: Any, **kw: Any) -> Any:
        return await self._timed(phase_of(sql), super().fetchval(sql, *args, **kw))

    async def fetchrow(self, sql: str, *args: Any, **kw: Any) -> Any:
        return await self._timed(phase_of(sql), super().fetchrow(sql, *args, **kw))

    async def copy_to_table(self, table: str, **kw: Any) -> Any:
        return await self._timed(f"COPY into {table}", super().copy_to_table(table, **kw))

    async def copy_records_to_table(self, table: str, **kw: Any) -> Any:
        return await self._timed(f"COPY into {table}",
                                 super().copy_records_to_table(table, **kw))


def print_phases(kind: str, took: float) -> None:
    """The run's time by phase; what no statement took is Python (and the wire)."""
    spent = sum(t for t, _ in PHASES.values())
    for label, (t, n) in sorted(PHASES.items(), key=lambda x: -x[1][0]):
        print(f"      {label:<34} {t:8.2f} s {100 * t / took:5.1f}%  ({n} statements)")
    print(f"      {'Python and the wire (the rest)':<34} {took - spent:8.2f} s "
          f"{100 * (took - spent) / took:5.1f}%")
    PHASES.clear()


def generate(folder: Path, members: int, lines: int, tag: str) -> dict[str, Path]:
    rng = random.Random(7)
    paths = {k: folder / f"{k}-{tag}.csv" for k in ("members", "points", "sales")}
    expiry = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    with paths["members"].open("w", encoding="utf-8") as m, \
            paths["points"].open("w", encoding="utf-8") as p:
        m.write("id,card_number,card_type,phone,first_name,last_name\n")
        p.write("id,card_number,points,expiry_at\n")
        for i in range(1, members + 1):
            card = card_number("2100", i)
            m.write(f"{tag}m{i},{card},std,+38067{i:07d},Ім'я{i},Прізвище{i}\n")
            p.write(f"{tag}p{i},{card},{rng.randint(1, 5000)},{expiry}\n")
    with paths["sales"].open("w", encoding="utf-8") as s:
        s.write("receipt_id,store_code,receipt_number,card_number,sold_at,line_no,sku,"
                "quantity_milli,amount_minor\n")
        line, receipt = 0, 0
        while line < lines:
            receipt += 1
            card = card_number("2100", rng.randint(1, members))
            day = dt.date(2025, 1, 1) + dt.timedelta(days=receipt % 300)
            for n in range(1, min(rng.randint(1, 8), lines - line) + 1):
                s.write(f"{tag}r{receipt},shop,{tag}{receipt},{card},{day} 12:00,{n},"
                        f"SKU{rng.randint(1, 999)},1000,{rng.randint(100, 99999)}\n")
                line += 1
    return paths


async def timed_import(url: str, kind: str, path: Path, phases: bool = False,
                       explain_ms: int = 0) -> tuple[int, float]:
    conn = await asyncpg.connect(url, connection_class=TimedConnection if phases
                                 else asyncpg.Connection)
    if explain_ms:  # auto_explain's plans of the slow statements, sent to this client
        await conn.execute(f"LOAD 'auto_explain'; SET auto_explain.log_min_duration = "
                           f"{explain_ms}; SET auto_explain.log_analyze = on; "
                           "SET auto_explain.log_timing = on; SET client_min_messages = log")
        conn.add_log_listener(lambda _, message: print("\n".join(
            "      " + line[:160] for line in str(message.message).splitlines())))
    try:
        start = time.perf_counter()
        result = await run_import(ImportStore(conn, KINDS[kind], "bench"), Batches(conn),
                                  kind_name=kind, files=[path], source="bench",
                                  policy=Policy.STOP, dry_run=False, principal="bench",
                                  now=dt.datetime.now(dt.UTC))
        elapsed = time.perf_counter() - start
    finally:
        await conn.close()
    assert result.report.rejected.rows == 0, result.rejects[:3]
    assert result.report.imported is not None
    return sum(1 for _ in path.open(encoding="utf-8")) - 1, elapsed


async def timed_copy(url: str, kind: str, path: Path) -> tuple[int, float]:
    """A plain COPY of the same file into a bare table of text columns."""
    header = path.open(encoding="utf-8").readline().strip().split(",")
    conn = await asyncpg.connect(url)
    try:
        table = f"plain_{kind}"
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute(f"CREATE TABLE {table} ({', '.join(f'{c} text' for c in header)})")
        start = time.perf_counter()
        status = await conn.copy_to_table(table, source=path, format="csv", header=True)
        elapsed = time.perf_counter() - start
    finally:
        await conn.close()
    return int(status.split()[-1]), elapsed


async def table_rows(url: str) -> dict[str, int]:
    """Rows in each table of the schema (exact counts)."""
    conn = await asyncpg.connect(url)
    try:
        names = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT LIKE 'plain_%' AND tablename NOT LIKE 'floor_%' "
            "AND tablename <> 'alembic_version'")]
        return {name: await conn.fetchval(f'SELECT count(*) FROM "{name}"') for name in names}
    finally:
        await conn.close()


async def timed_floor(url: str, before: dict[str, int]) -> tuple[float, dict[str, int]]:
    """The floor of any import into these tables: every table the run filled, COPYed (binary)
    into a copy with the same columns, indexes, checks and defaults (LIKE ... INCLUDING
    ALL; no foreign keys), timed per table. No parsing, no checks, no lookups: only the
    writes the import cannot avoid. (seconds, rows per table)"""
    after = await table_rows(url)
    grown = {t: n for t, n in after.items() if n > before.get(t, 0)}
    conn = await asyncpg.connect(url)
    took = 0.0
    try:
        for table in grown:
            data = io.BytesIO()
            await conn.copy_from_table(table, output=data, format="binary")
            copy = f"floor_{table}"
            await conn.execute(f'DROP TABLE IF EXISTS "{copy}"')
            await conn.execute(f'CREATE TABLE "{copy}" (LIKE "{table}" INCLUDING ALL)')
            data.seek(0)
            start = time.perf_counter()
            await conn.copy_to_table(copy, source=data, format="binary")
            took += time.perf_counter() - start
    finally:
        await conn.close()
    return took, grown


async def bench(args: argparse.Namespace) -> None:
    # what a run imports lazily (the audit trail, ~1.5-5 s here once per process, which the
    # CLI pays at any size): loaded before the clock starts, so rows/s measures the rows
    import server.db.audit.repo

    folder = Path(tempfile.mkdtemp(prefix="kopilka-bench-import-"))
    server = start_embedded_postgres(folder / "pg")
    admin = await asyncpg.connect(server)
    for scale in (float(s) for s in args.sizes.split(",")):
        name = f"bench_import_{int(scale * 1000)}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(server, name)
        await migrate(url)
        conn = await asyncpg.connect(url)
        await conn.execute("INSERT INTO stores (code, name, time_zone) "
                           "VALUES ('shop', 'Shop', 'Europe/Kyiv')")
        await conn.execute("INSERT INTO card_types (code, name, accrual_bps, number_prefix, "
                           "requires_verification, next_sequence) VALUES "
                           "('std', 'Std', 0, '2100', false, 1)")
        await conn.close()
        n, m = int(args.members * scale), int(args.lines * scale)
        paths = generate(folder, n, m, name[-4:].strip("_"))
        print(f"N={n:,} members, M={m:,} receipt lines")
        total_import = total_copy = 0.0
        rows_all = 0
        before = await table_rows(url) if args.floor else {}
        for kind in ("members", "points", "sales"):
            rows, took = await timed_import(url, kind, paths[kind], args.phases,
                                              args.explain)
            copied, copy_took = await timed_copy(url, kind, paths[kind])
            assert copied == rows, (copied, rows)
            total_import += took
            total_copy += copy_took
            rows_all += rows
            print(f"  {kind:<8} {rows:>9,} rows: import {rows / took:>9,.0f} rows/s, "
                  f"COPY {rows / copy_took:>9,.0f} rows/s, ratio {copy_took / took:.2f}x")
            if args.phases:
                print_phases(kind, took)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  all      {rows_all:>9,} rows: import {rows_all / total_import:>9,.0f} rows/s, "
              f"COPY {rows_all / total_copy:>9,.0f} rows/s, ratio "
              f"{total_copy / total_import:.2f}x; peak RSS so far {peak:,.0f} MiB")
        if args.floor:
            floor, grown = await timed_floor(url, before)
            print(f"  floor: the {sum(grown.values()):,} rows the run left in "
                  f"{len(grown)} tables, COPYed into copies with their indexes: "
                  f"{floor:.2f} s, {rows_all / floor:,.0f} source rows/s; a plain COPY of "
                  f"the files {total_copy:.2f} s: no import writing these tables can pass "
                  f"{total_copy / floor:.2f}x")
            widest = sorted(grown.items(), key=lambda x: -x[1])[:8]
            print("         " + ", ".join(f"{t} {n:,}" for t, n in widest))
    await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--sizes", default="0.25,1",
                        help="scales of the sizes, run in order (peak RSS is cumulative)")
    parser.add_argument("--phases", action="store_true",
                        help="print each kind's time by phase (statements timed by label)")
    parser.add_argument("--floor", action="store_true",
                        help="also COPY the rows the run left into copies of their tables "
                        "(same indexes and checks): the ratio no import could pass")
    parser.add_argument("--explain", type=int, default=0, metavar="MS",
                        help="print EXPLAIN ANALYZE (auto_explain) of statements over MS ms")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
