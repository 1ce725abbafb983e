"""Server plumbing: auth, permissions, health, reflection, metrics."""

from __future__ import annotations

import asyncio
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from kopilka.v1 import admin_pb2, members_pb2

from server.auth.principal import PrincipalKind
from tests.ci import tool_missing
from tests.helpers import rid, rpc_error


async def test_calls_without_a_valid_key_are_unauthenticated(client_for):
    for secret in (None, "kpk_not_a_real_key"):
        with rpc_error() as failure:
            await client_for(secret).admin.ListStores(admin_pb2.ListStoresRequest())
        assert failure.code == grpc.StatusCode.UNAUTHENTICATED
        assert failure.reason in ("API_KEY_MISSING", "API_KEY_INVALID")


async def test_cashier_cannot_call_operator_rpcs(make_key, client_for, admin):
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code="kyiv-01", name="Kyiv 1", network_codes=["kyiv"])))
    cashier = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                        store_code="kyiv-01", terminal_id="till-1"))
    with rpc_error() as failure:
        await cashier.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
            card_type=admin_pb2.CardType(code="x", name="X", number_prefix="2990")))
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    with rpc_error() as failure:
        await cashier.members.ChangeCardState(members_pb2.ChangeCardStateRequest())
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    with rpc_error() as failure:  # allowed RPC, so the request itself is judged
        await cashier.members.FindMember(members_pb2.FindMemberRequest(phone="0671234567"))
    assert failure.code == grpc.StatusCode.NOT_FOUND


async def test_api_keys_created_over_the_api_work(admin, client_for):
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code="web", name="Online")))
    with rpc_error() as failure:
        await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
            name="till", kind=admin_pb2.PRINCIPAL_KIND_TERMINAL, roles=["cashier", "root"]))
    assert failure.fields == ["roles[1]", "store_code", "terminal_id"]
    created = await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
        name="web shop", kind=admin_pb2.PRINCIPAL_KIND_STORE_BACKEND, store_code="web",
        roles=["store_backend"]))
    assert created.secret.startswith("kpk_")
    web = client_for(created.secret)
    with rpc_error() as failure:
        await web.members.GetMember(members_pb2.GetMemberRequest(member_id="x"))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == ["member_id"]


async def test_health_and_reflection_answer_without_a_key(app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "kopilka.v1.MemberService"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo()
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        reply = await call.read()
        await call.done_writing()
        names = {s.name for s in reply.list_services_response.service}
        assert {"kopilka.v1.MemberService", "kopilka.v1.AdminService",
                "grpc.health.v1.Health"} <= names


LIST_STORES = {"grpc_type": "unary", "grpc_service": "kopilka.v1.AdminService",
               "grpc_method": "ListStores"}


def metric_value(port: int, name: str, **labels: str) -> float:
    """One sample of the live /metrics page; 0 when the series does not exist yet."""
    from prometheus_client.parser import text_string_to_metric_families

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(sample.value for family in text_string_to_metric_families(body)
               for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


def rpc_counts(port: int) -> tuple[float, float, float]:
    """ListStores answered OK, refused UNAUTHENTICATED, and timed, so far in this process."""
    return (metric_value(port, "grpc_server_handled_total", grpc_code="OK", **LIST_STORES),
            metric_value(port, "grpc_server_handled_total", grpc_code="UNAUTHENTICATED",
                         **LIST_STORES),
            metric_value(port, "grpc_server_handling_seconds_count", **LIST_STORES))


async def test_metrics_count_rpcs_by_method_and_code(admin, client_for, settings):
    """The counters move by exactly these calls (the series may exist from other tests)."""
    from server.runtime import start_metrics_server

    port = start_metrics_server(settings)
    ok, refused, timed = rpc_counts(port)
    await admin.admin.ListStores(admin_pb2.ListStoresRequest())
    with rpc_error():
        await client_for(None).admin.ListStores(admin_pb2.ListStoresRequest())
    assert await counts_reach(port, (ok + 1, refused + 1, timed + 2)) == (
        ok + 1, refused + 1, timed + 2)


async def counts_reach(port: int, expected: tuple[float, float, float]
                       ) -> tuple[float, float, float]:
    """rpc_counts once they equal `expected`, else after 2 s as they are. The server in this
    process counts a refused call after its status went out (the interceptor's `finally`),
    so the client can see the error one loop turn before the counter moves."""
    for _ in range(200):
        counts = rpc_counts(port)
        if counts == expected:
            return counts
        await asyncio.sleep(0.01)
    return rpc_counts(port)


async def test_a_call_the_metrics_missed_would_be_caught(admin, settings):
    """Planted: no call between the two scrapes. The series exists, so a check that only
    looked for its name would pass; the before/after comparison sees nothing moved."""
    from server.runtime import start_metrics_server

    await admin.admin.ListStores(admin_pb2.ListStoresRequest())  # the series now exists
    port = start_metrics_server(settings)
    before = rpc_counts(port)
    assert before[0] >= 1
    assert rpc_counts(port) == before  # a test expecting +1 here fails


async def test_metrics_pass_promtool_check(admin, settings):
    import shutil
    import subprocess

    from server.runtime import start_metrics_server

    promtool = shutil.which("promtool")
    if promtool is None:
        tool_missing("promtool", "./dev test installs Debian's prometheus as root; "
                     "else apt install prometheus")
    await admin.admin.ListStores(admin_pb2.ListStoresRequest())
    port = start_metrics_server(settings)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    assert b"grpc_server_handled_total" in body
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


async def test_unexpected_errors_are_internal_without_details(admin, monkeypatch):
    import uuid

    from server.members import service

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(service, "get_member", broken)
    with rpc_error() as failure:
        await admin.members.GetMember(members_pb2.GetMemberRequest(member_id=str(uuid.uuid4())))
    assert failure.code == grpc.StatusCode.INTERNAL
    assert "hunter2" not in failure.message and failure.reason == ""


async def test_an_unregistered_reason_never_reaches_the_client(admin, monkeypatch):
    """DomainError refuses a reason missing from server/reasons.py: the call is INTERNAL."""
    import uuid

    from server.errors import DomainError, ErrorKind
    from server.members import service

    async def sloppy(*args, **kwargs):
        raise DomainError(ErrorKind.NOT_FOUND, "MEMBER_GONE", "an undocumented reason")

    monkeypatch.setattr(service, "get_member", sloppy)
    with rpc_error() as failure:
        await admin.members.GetMember(members_pb2.GetMemberRequest(member_id=str(uuid.uuid4())))
    assert (failure.code, failure.reason) == (grpc.StatusCode.INTERNAL, "")
