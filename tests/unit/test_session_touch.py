"""A session's use is written at most once a minute (a twentieth of a short idle timeout):
a console page needs no write of its own, and the idle timeout still holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from server.access.model import AccessPolicy, Session, session_alive, touch_due

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def session(last_seen: dt.datetime) -> Session:
    return Session(b"h", uuid.uuid4(), T0, T0 + dt.timedelta(hours=8), last_seen)


def test_a_use_is_written_once_a_minute() -> None:
    policy = AccessPolicy(session_idle_seconds=1800)
    s = session(T0)
    assert not touch_due(s, T0, policy)
    assert not touch_due(s, T0 + dt.timedelta(seconds=59), policy)
    assert touch_due(s, T0 + dt.timedelta(seconds=60), policy)


def test_a_short_idle_timeout_is_touched_more_often() -> None:
    policy = AccessPolicy(session_idle_seconds=200)  # every 10 s
    s = session(T0)
    assert not touch_due(s, T0 + dt.timedelta(seconds=9), policy)
    assert touch_due(s, T0 + dt.timedelta(seconds=10), policy)


def test_used_just_under_the_idle_timeout_apart_the_session_lives() -> None:
    """Uses 14 minutes apart with a 15-minute idle timeout: each is written (14 min > the
    45 s step), so the session never goes idle; 16 minutes of silence end it."""
    policy = AccessPolicy(session_idle_seconds=900)
    s = session(T0)
    now = T0
    for _ in range(4):
        now += dt.timedelta(minutes=14)
        assert session_alive(s, now, policy) and touch_due(s, now, policy)
        s = dataclasses.replace(s, last_seen_at=now)
    assert not session_alive(s, now + dt.timedelta(minutes=16), policy)
