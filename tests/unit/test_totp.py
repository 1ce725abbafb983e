"""TOTP against RFC 6238 Appendix B's SHA-1 vectors (8 digits there, our 6 are a suffix)."""

from __future__ import annotations

import datetime as dt

from server.access import totp

RFC_SECRET = b"12345678901234567890"
VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
           (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]


def test_rfc6238_vectors() -> None:
    for seconds, code in VECTORS:
        step = seconds // totp.STEP_SECONDS
        assert totp.hotp(RFC_SECRET, step, digits=8) == code


def test_drift_and_replay() -> None:
    now = dt.datetime.fromtimestamp(1234567890, dt.UTC)
    earlier = totp.code_at(RFC_SECRET, now - dt.timedelta(seconds=30))
    step = totp.matching_step(RFC_SECRET, earlier, now)
    assert step == totp.time_step(now) - 1
    assert totp.matching_step(RFC_SECRET, earlier, now, last_used_step=step) is None
    too_old = totp.code_at(RFC_SECRET, now - dt.timedelta(seconds=90))
    assert totp.matching_step(RFC_SECRET, too_old, now) is None
    assert totp.matching_step(RFC_SECRET, "12a456", now) is None
