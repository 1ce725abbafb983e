"""A movable wall clock and a server built on it, for the people-and-keys tests."""

from __future__ import annotations

import datetime as dt

import pytest


class WallClock:
    """The server's wall clock (logins, sessions, key lifetimes): tests move it."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(name="wall")
def wall_fixture() -> WallClock:
    return WallClock()


@pytest.fixture(name="app")
async def app_on_wall_clock(settings, database_url, wall):  # type: ignore[no-untyped-def]
    from server.app import build_app

    application = build_app(settings, database_url, wall_clock=wall)
    await application.start()
    try:
        yield application
    finally:
        await application.stop(grace=0.5)
