"""API keys through the generated client on a real server: list (never a secret), revoke,
expiry, rotation with two live secrets, last-used time (issue 12, people and keys).

The test server trusts a verified key for 0 s (KOPILKA_API_KEY_CACHE_SECONDS=0), so a
revoked key must fail on the very next call; in production it fails within the cache time.
"""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import admin_pb2 as A

from tests.e2e.people_support import WallClock, app_on_wall_clock, wall_fixture  # noqa: F401
from tests.helpers import rid, rpc_error

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def ts(value: dt.datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def new_key(admin, **fields) -> A.CreateApiKeyResponse:  # type: ignore[no-untyped-def]
    return await admin.admin.CreateApiKey(A.CreateApiKeyRequest(request_id=rid(),
        name="1C", kind=A.PRINCIPAL_KIND_INTEGRATOR, roles=["integrator"], **fields))


async def works(client_for, secret: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        await client_for(secret).admin.Echo(A.EchoRequest(payload=b"hi"))
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        return False
    return True


async def listed(admin, **flags) -> dict[str, A.ApiKey]:  # type: ignore[no-untyped-def]
    answer = await admin.admin.ListApiKeys(A.ListApiKeysRequest(**flags))
    return {k.key_id: k for k in answer.keys}


async def test_list_shows_keys_but_no_secret(admin, client_for):  # type: ignore[no-untyped-def]
    made = await new_key(admin, store_code="")
    keys = await listed(admin)
    assert len(keys) == 2  # the test's admin key and this one
    key = keys[made.key_id]
    assert (key.name, key.kind, list(key.roles)) == ("1C", A.PRINCIPAL_KIND_INTEGRATOR,
                                                     ["integrator"])
    assert not key.HasField("revoke_time") and not key.HasField("last_use_time")
    assert made.secret not in str(await admin.admin.ListApiKeys(A.ListApiKeysRequest()))


async def test_revoke(admin, client_for):  # type: ignore[no-untyped-def]
    made = await new_key(admin)
    assert await works(client_for, made.secret)
    revoked = await admin.admin.RevokeApiKey(A.RevokeApiKeyRequest(
        request_id=rid(), key_id=made.key_id))
    assert revoked.key.HasField("revoke_time")
    with rpc_error() as failure:
        await client_for(made.secret).admin.Echo(A.EchoRequest())
    assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")
    again = await admin.admin.RevokeApiKey(A.RevokeApiKeyRequest(
        request_id=rid(), key_id=made.key_id))
    assert again.key.revoke_time == revoked.key.revoke_time
    assert made.key_id not in await listed(admin)
    assert (await listed(admin, include_revoked=True))[made.key_id].HasField("revoke_time")
    with rpc_error() as failure:
        await admin.admin.RevokeApiKey(A.RevokeApiKeyRequest(request_id=rid(), key_id=UNKNOWN_ID))
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "API_KEY_NOT_FOUND")
    with rpc_error() as failure:
        await admin.admin.RevokeApiKey(A.RevokeApiKeyRequest(request_id=rid(), key_id="twelve"))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["key_id"])
    assert len(await listed(admin, include_revoked=True)) == 2  # nothing else written


async def test_expiry(admin, client_for, wall: WallClock):  # type: ignore[no-untyped-def]
    with rpc_error() as failure:
        await new_key(admin, expire_time=ts(wall.now))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["expire_time"])
    assert len(await listed(admin)) == 1
    made = await new_key(admin, expire_time=ts(wall.now + dt.timedelta(hours=1)))
    assert made.expire_time.ToDatetime(dt.UTC) == wall.now + dt.timedelta(hours=1)
    wall.move(minutes=59)
    assert await works(client_for, made.secret)
    wall.move(minutes=1)
    assert not await works(client_for, made.secret)
    with rpc_error() as failure:
        await admin.admin.RotateApiKey(A.RotateApiKeyRequest(request_id=rid(), key_id=made.key_id))
    assert (failure.code, failure.reason, failure.metadata["state"]) == (
        grpc.StatusCode.FAILED_PRECONDITION, "API_KEY_NOT_LIVE", "expired")


async def test_rotation_keeps_both_secrets_until_the_grace_ends(  # type: ignore[no-untyped-def]
        admin, client_for, wall: WallClock):
    made = await new_key(admin)
    rotated = await admin.admin.RotateApiKey(A.RotateApiKeyRequest(request_id=rid(),
        key_id=made.key_id, grace_period=Duration(seconds=3600)))
    assert rotated.key.key_id == made.key_id and rotated.secret != made.secret
    assert rotated.key.previous_secret_expire_time.ToDatetime(dt.UTC) == (
        wall.now + dt.timedelta(hours=1))
    old = await client_for(made.secret).admin.Echo(A.EchoRequest())
    new = await client_for(rotated.secret).admin.Echo(A.EchoRequest())
    assert old.principal == new.principal == "integrator:1C"  # the same principal
    wall.move(minutes=59)
    assert await works(client_for, made.secret)
    wall.move(minutes=1)
    assert not await works(client_for, made.secret)
    assert await works(client_for, rotated.secret)
    third = await admin.admin.RotateApiKey(A.RotateApiKeyRequest(request_id=rid(),
        key_id=made.key_id, grace_period=Duration(seconds=0)))  # zero: the old ends now
    assert not await works(client_for, rotated.secret)
    assert await works(client_for, third.secret)
    with rpc_error() as failure:
        await admin.admin.RotateApiKey(A.RotateApiKeyRequest(request_id=rid(),
            key_id=made.key_id, grace_period=Duration(seconds=31 * 86400)))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["grace_period"])
    assert await works(client_for, third.secret)  # the refused rotation changed nothing
    await admin.admin.RevokeApiKey(A.RevokeApiKeyRequest(request_id=rid(), key_id=made.key_id))
    assert not await works(client_for, third.secret)
    with rpc_error() as failure:
        await admin.admin.RotateApiKey(A.RotateApiKeyRequest(request_id=rid(), key_id=made.key_id))
    assert (failure.reason, failure.metadata["state"]) == ("API_KEY_NOT_LIVE", "revoked")
    with rpc_error() as failure:
        await admin.admin.RotateApiKey(A.RotateApiKeyRequest(request_id=rid(), key_id=UNKNOWN_ID))
    assert failure.reason == "API_KEY_NOT_FOUND"


async def test_last_used_is_written_at_most_once_a_minute(  # type: ignore[no-untyped-def]
        admin, client_for, wall: WallClock):
    made = await new_key(admin)

    async def last_used() -> dt.datetime | None:
        key = (await listed(admin))[made.key_id]
        return key.last_use_time.ToDatetime(dt.UTC) if key.HasField("last_use_time") else None

    assert await last_used() is None
    first = wall.now
    assert await works(client_for, made.secret)
    assert await last_used() == first
    wall.move(seconds=59)
    assert await works(client_for, made.secret)
    assert await last_used() == first  # not on every call
    wall.move(seconds=1)
    assert await works(client_for, made.secret)
    assert await last_used() == wall.now
