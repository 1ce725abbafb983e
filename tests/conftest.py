"""Shared fixtures: real PostgreSQL servers, a database per test, a real gRPC server.

Every test that asks for `database_url` runs once per PostgreSQL server: the embedded
PostgreSQL 18 always, plus the server at KOPILKA_DATABASE_URL when it is set. Each test
gets a fresh database cloned from a migrated template, so tests never see each other.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import asyncpg
import hypothesis
import pytest

from server.db.embedded import start_embedded_postgres
from server.db.migrate import migrate
from server.db.urls import with_database
from tests.smsc import Smsc

EXTERNAL_URL = os.environ.get("KOPILKA_DATABASE_URL")

# No per-example deadline: three xdist workers and two PostgreSQL servers share CI's two
# cores, and an example that waits for a core is not a slow one (a property test failed on
# hypothesis' 200 ms default under load, then passed alone). What each property checks is
# unchanged; tests that set their own settings keep them.
hypothesis.settings.register_profile("kopilka", deadline=None)
hypothesis.settings.load_profile("kopilka")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_server" in metafunc.fixturenames:
        ids = ["pg-embedded"] + (["pg-external"] if EXTERNAL_URL else [])
        metafunc.parametrize("pg_server", ids, indirect=True, scope="session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "one_server: run each case on one PostgreSQL server, not on every one "
        "(cases are spread over the servers by a stable hash of their id)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep one server per case of the `one_server` tests.

    Costly tests that check the server's own behaviour rather than PostgreSQL's (the
    bad-input property over every RPC, the browser) would double the suite for little: each
    case runs on one server, chosen by a stable hash of its id, so both servers still see
    about half of the cases and a case always runs on the same one.
    """
    servers = ["pg-embedded"] + (["pg-external"] if EXTERNAL_URL else [])
    if len(servers) < 2:
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        server = callspec.params.get("pg_server") if callspec is not None else None
        if server is None or item.get_closest_marker("one_server") is None:
            keep.append(item)
            continue
        case = item.nodeid.replace(f"{server}-", "").replace(f"-{server}", "").replace(
            f"[{server}]", "")
        chosen = servers[zlib.crc32(case.encode()) % len(servers)]
        (keep if server == chosen else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class DatabasePool:
    """Fresh databases cloned from a template, made ahead of the tests that take them.

    CREATE DATABASE costs a clone little CPU (about 0.2 s) but waits up to seconds on the
    disk, and so does DROP: a background thread keeps AHEAD clones ready and drops the used
    ones, so a test waits for neither. Each clone is still made for one test and dropped
    after it.
    """

    AHEAD = 2

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url, self.template = server_url, template
        self._threads = ThreadPoolExecutor(self.AHEAD + 1, thread_name_prefix="kopilka-db")
        self._ready: deque[Future[str]] = deque(
            self._threads.submit(self._create) for _ in range(self.AHEAD))

    def _create(self) -> str:
        name = f"kopilka_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(self.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def _drop(self, name: str) -> None:
        asyncio.run(_admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def take(self) -> str:
        """A database of the test's own (the oldest ready one; another is started)."""
        ready = self._ready.popleft()
        self._ready.append(self._threads.submit(self._create))
        return await asyncio.wrap_future(ready)

    def give_back(self, name: str) -> None:
        self._threads.submit(self._drop, name)

    def close(self) -> None:
        """Drop the clones nobody took; wait for every drop."""
        for ready in self._ready:
            self._threads.submit(self._drop, ready.result())
        self._threads.shutdown(wait=True)


POOLS: dict[str, DatabasePool] = {}


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> str:
    """(server URL) of one PostgreSQL server with a migrated template database."""
    if request.param == "pg-external":
        server_url = with_database(EXTERNAL_URL or "", "postgres")
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="kopilka-test-pg-"))
        server_url = start_embedded_postgres(data_dir)
    template = f"kopilka_tmpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{template}"'))
    asyncio.run(migrate(with_database(server_url, template)))
    request.addfinalizer(lambda: asyncio.run(
        _admin(server_url, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    ))
    key = f"{server_url}#{template}"
    POOLS[key] = DatabasePool(server_url, template)
    request.addfinalizer(lambda: POOLS.pop(key).close())  # before the template's drop
    return key


@pytest.fixture
async def database_url(pg_server: str) -> AsyncIterator[str]:
    """A fresh, migrated database of its own for this test."""
    pool = POOLS[pg_server]
    name = await pool.take()
    try:
        yield with_database(pool.server_url, name)
    finally:
        pool.give_back(name)


@pytest.fixture
def settings(tmp_path):
    from server.settings import Settings

    return Settings(
        grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
        log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
    )


@pytest.fixture
async def app(settings, database_url):
    """A real gRPC server on a loopback port over this test's database."""
    from server.app import build_app

    application = build_app(settings, database_url)
    await application.start()
    try:
        yield application
    finally:
        await application.stop(grace=0.5)


@pytest.fixture
async def make_key(app) -> Callable[..., Awaitable[str]]:
    """Create an API key with roles straight in the database; returns the secret."""
    from server.auth.principal import PrincipalKind, hash_secret, new_secret
    from server.db.api_keys_repo import add_api_key

    async def make(*roles: str, kind: PrincipalKind = PrincipalKind.OPERATOR,
                   store_code: str | None = None, terminal_id: str | None = None,
                   network_code: str | None = None) -> str:
        secret = new_secret()
        async with app.db.transaction() as session:
            await add_api_key(session, name=f"test {'+'.join(roles)}", kind=kind,
                              roles=list(roles), secret_hash=hash_secret(secret),
                              store_code=store_code, terminal_id=terminal_id,
                              network_code=network_code)
        return secret

    return make


@pytest.fixture
async def client_for(app):
    """Open generated-client connections to the test server: `client_for(secret)`."""
    from kopilka import KopilkaClient

    opened: list[KopilkaClient] = []

    def connect(secret: str | None) -> KopilkaClient:
        client = KopilkaClient(f"127.0.0.1:{app.grpc_port}", secret)
        opened.append(client)
        return client

    yield connect
    for client in opened:
        await client.close()


@pytest.fixture
async def admin(make_key, client_for):
    """A client holding an admin key."""
    return client_for(await make_key("admin"))


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    """A running SMSC on loopback (tests/smsc.py), for the SMPP plugin and SMS e2e tests."""
    peer = Smsc()
    await peer.start()
    yield peer
    await peer.stop()
