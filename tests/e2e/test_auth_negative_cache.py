"""Wrong API keys are cheap for the server: an unknown key is remembered as unknown for a
short while, so a flood of one wrong key costs a handful of database lookups, and a key
created after a miss works once that while has passed (issue 11). Real server, real
database, the generated client; the lookup is counted by a spy, time moved by a fake clock."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from kopilka import KopilkaClient
from kopilka.v1 import admin_pb2

import server.app as app_module
from server.auth.principal import PrincipalKind, hash_secret, new_secret
from server.db.api_keys_repo import add_api_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every key-hash lookup the server makes against the database."""
    seen: list[bytes] = []
    real = app_module.principal_by_secret_hash

    async def spy(session, digest, *args):  # type: ignore[no-untyped-def]
        seen.append(digest)
        return await real(session, digest, *args)

    monkeypatch.setattr(app_module, "principal_by_secret_hash", spy)
    return seen


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings, database_url, clock, lookups):  # type: ignore[no-untyped-def]
    # no per-address failure limit here: the cache alone must keep the database out of it
    settings = settings.model_copy(update={
        "auth_failures_per_minute": 0, "api_key_negative_cache_seconds": 5.0})
    application = app_module.build_app(settings, database_url, clock=clock)
    await application.start()
    try:
        yield application
    finally:
        await application.stop(grace=0.5)


async def _echo(client: KopilkaClient) -> grpc.StatusCode:
    try:
        await client.admin.Echo(admin_pb2.EchoRequest(payload=b"hi"))
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_a_thousand_calls_with_one_wrong_key_make_a_handful_of_lookups(
        app, client_for, lookups, clock) -> None:  # type: ignore[no-untyped-def]
    secret = new_secret()
    wrong = client_for(secret)
    codes = []
    for _ in range(10):  # 10 waves of 100 concurrent calls
        codes += await asyncio.gather(*(_echo(wrong) for _ in range(100)))
    assert set(codes) == {grpc.StatusCode.UNAUTHENTICATED}
    assert len(codes) == 1000
    assert 1 <= len(lookups) <= 3, f"{len(lookups)} database lookups for one wrong key"

    # the key is created now: the remembered miss still answers for a few seconds ...
    async with app.db.transaction() as session:
        await add_api_key(session, name="late admin", kind=PrincipalKind.OPERATOR,
                          roles=["admin"], secret_hash=hash_secret(secret))
    assert await _echo(wrong) == grpc.StatusCode.UNAUTHENTICATED
    # ... and once the negative entry's TTL has passed the key works
    clock.now += 5.1
    assert await _echo(wrong) == grpc.StatusCode.OK
    assert await _echo(wrong) == grpc.StatusCode.OK


async def test_wrong_keys_do_not_evict_or_block_a_valid_one(
        app, make_key, client_for, lookups) -> None:  # type: ignore[no-untyped-def]
    good = client_for(await make_key("admin"))
    assert await _echo(good) == grpc.StatusCode.OK
    wrong = [client_for(new_secret()) for _ in range(20)]
    codes = await asyncio.gather(*(_echo(c) for c in wrong for _ in range(5)))
    assert set(codes) == {grpc.StatusCode.UNAUTHENTICATED}
    assert await _echo(good) == grpc.StatusCode.OK
    # one lookup per distinct wrong key, none per repeat (the valid key: cache off in tests)
    assert len(lookups) <= 2 + 20 + 2
