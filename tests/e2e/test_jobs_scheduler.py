"""The server's own scheduler with every trigger configured: a second server on the same
database runs the jobs every few milliseconds; the test waits for their effects through
the generated client (points granted, the certificate written off).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from kopilka.v1 import certificates_pb2 as C
from prometheus_client import REGISTRY
from sqlalchemy import text

from server.app import App, build_app
from tests.e2e.jobs_support import (
    BIRTHDAY_POINTS,
    KYIV,
    REGISTRATION_POINTS,
    World,
    apply_every_trigger,
    build_world,
    plant_registration_failure,
    points,
)

FAILURES = "kopilka_job_step_failures_total"


@contextlib.asynccontextmanager
async def scheduling_server(settings, database_url: str) -> AsyncIterator[App]:  # type: ignore[no-untyped-def]
    other = build_app(settings.model_copy(update={"jobs_interval_seconds": 0.05}),
                      database_url)
    await other.start()
    try:
        yield other
    finally:
        await other.stop(grace=0.5)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 60) -> None:
    """Wait for a scheduled pass to have had an effect (not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the scheduler did not run"
        await asyncio.sleep(0.05)


async def world_due_now(app, admin, database_url, tmp_path) -> World:  # type: ignore[no-untyped-def]
    world = await build_world(admin, dt.datetime.now(KYIV).date())
    async with app.db.transaction() as session:  # its validity ended a minute ago
        await session.execute(text(
            "UPDATE certificates SET expires_at = now() - interval '1 minute' "
            "WHERE number = :n"), {"n": world.certificate})
    await apply_every_trigger(database_url, tmp_path)
    return world


async def certificate_balance(admin, number: str) -> int:  # type: ignore[no-untyped-def]
    reply = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=number))
    return reply.certificate.balance.amount_minor


async def test_the_scheduler_runs_every_step_with_every_trigger_type(
        app, admin, settings, database_url, tmp_path):
    world = await world_due_now(app, admin, database_url, tmp_path)

    async def all_done() -> bool:
        return (await points(admin, world.birthday)
                == (REGISTRATION_POINTS + BIRTHDAY_POINTS, 0)
                and await points(admin, world.plain) == (REGISTRATION_POINTS, 0)
                and await certificate_balance(admin, world.certificate) == 0)

    async with scheduling_server(settings, database_url):
        await eventually(all_done)


async def test_the_scheduler_goes_on_past_a_failing_step(app, admin, settings, database_url,
                                                         tmp_path, caplog):
    world = await world_due_now(app, admin, database_url, tmp_path)
    await plant_registration_failure(app)
    before = REGISTRY.get_sample_value(FAILURES, {"step": "registration"}) or 0
    caplog.set_level(logging.INFO, logger="kopilka.jobs")

    async def others_done() -> bool:
        return (await points(admin, world.birthday) == (BIRTHDAY_POINTS, 0)
                and await certificate_balance(admin, world.certificate) == 0
                and (REGISTRY.get_sample_value(FAILURES, {"step": "registration"}) or 0)
                > before)

    async with scheduling_server(settings, database_url):
        await eventually(others_done)

    assert await points(admin, world.plain) == (0, 0)  # its only points were registration's
    failures = [r for r in caplog.records if r.getMessage() == "job step failed"]
    assert failures and {r.step for r in failures} == {"registration"}  # type: ignore[attr-defined]
    assert failures[0].error == "RaiseError" and failures[0].sqlstate == "P0001"  # type: ignore[attr-defined]
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Olena" not in logged and "Secretname" not in logged and "38067" not in logged
