"""Ready means ready: once health says SERVING the pricing snapshot is loaded, and loading
it froze the collector once, not on every refresh."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kopilka.v1 import admin_pb2, receipts_pb2, receipts_pb2_grpc

from server.db.urls import plain_url
from server.demo import load_demo_data
from tests.e2e.test_cli_serve import KOPILKA
from tests.helpers import rid
from tests.ports import idle_port

DEMO = (Path(__file__).parents[2] / "server" / "demo_promotions.yaml").read_text()


def wait_listening(port: int, process: subprocess.Popen, seconds: float = 90) -> None:
    """Until the port takes TCP connections. A gRPC channel opened before that would back
    off for seconds between attempts and first reach the server long after it started."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited early: {process.communicate()[1]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.01)
    raise AssertionError("the server did not listen in time")


def first_serving(channel: grpc.Channel, seconds: float = 30) -> int:
    """Poll health without pause until it says SERVING; how many answers said otherwise."""
    stub = health_pb2_grpc.HealthStub(channel)
    deadline, not_serving = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        try:  # a loaded machine may keep the loading server from answering for seconds
            reply = stub.Check(health_pb2.HealthCheckRequest(), wait_for_ready=True,
                               timeout=max(1.0, deadline - time.monotonic()))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
            continue
        if reply.status == health_pb2.HealthCheckResponse.SERVING:
            return not_serving
        not_serving += 1
    raise AssertionError("the server did not become healthy in time")


# Enough products that loading the snapshot takes a while: a server that said SERVING
# before loading it would answer the first call with STORE_NOT_FOUND.
PRODUCTS = 100_000


async def test_the_first_call_after_serving_is_priced(database_url: str) -> None:
    """`kopilka serve` as a user starts it: the call right after SERVING finds the store."""
    await load_demo_data(database_url)
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        await conn.execute(
            "INSERT INTO products (sku, name, group_code, subgroup_code, brand, supplier_code,"
            " price_category, updated_at) SELECT 'bulk-' || n, 'Bulk ' || n, 'bulk', '', '',"
            " '', '', now() FROM generate_series(1, $1) AS n", PRODUCTS)
    finally:
        await conn.close()
    reply = await asyncio.to_thread(serve_and_price, database_url)
    assert reply.total.amount_minor == 3000  # a store the snapshot knows, priced


def serve_and_price(database_url: str) -> receipts_pb2.CalculateReceiptResponse:
    data_dir = tempfile.mkdtemp(prefix="kopilka-ready-test-")
    port, metrics_port = idle_port(), idle_port()
    env = dict(os.environ, KOPILKA_DATABASE_URL=database_url, KOPILKA_DATA_DIR=data_dir,
               KOPILKA_GRPC_LISTEN=f"127.0.0.1:{port}",
               KOPILKA_METRICS_LISTEN=f"127.0.0.1:{metrics_port}", KOPILKA_LOG_FORMAT="json",
               KOPILKA_JOBS_INTERVAL_SECONDS="0")
    process = subprocess.Popen([KOPILKA, "serve", "--workers", "1"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, process)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            first_serving(channel)
            reply = receipts_pb2_grpc.ReceiptServiceStub(channel).CalculateReceipt(
                receipts_pb2.CalculateReceiptRequest(
                    store_code="kyiv-01", terminal_id="till-1", lines=[receipts_pb2.ReceiptLine(
                        line_no=1, sku="bakery-01", quantity_milli=1000,
                        unit_price_minor=3000)]),
                timeout=10, metadata=(("authorization", "Bearer kpk_demo_cashier"),))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        return reply
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.communicate()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts gc.freeze() calls (still freezing); requested before `app` so start counts."""
    calls: list[int] = []
    real: Callable[[], None] = gc.freeze

    def counting() -> None:
        calls.append(1)
        real()

    monkeypatch.setattr(gc, "freeze", counting)
    yield calls


async def test_the_collector_is_frozen_once_after_the_first_load(freezes, app, admin) -> None:
    assert len(freezes) == 1  # App.start() loaded the snapshot and froze what it holds
    reply = await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=DEMO))
    assert app.deps.pricing.snapshot.rules.version == reply.version  # a new snapshot...
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code="lviv-01", name="Lviv", network_codes=["west"])))
    assert await app.deps.pricing.refresh() is True  # ...and another, on the serving loop
    assert len(freezes) == 1
