"""Quiet hours and the frequency cap, decided at the moment of sending in the member's own
time zone: a message queued at noon in Kyiv for a member in New York waits for New York's
morning, and a cap counts what was actually sent, not what was queued."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class Pacing:
    """Quiet from `quiet_start` to `quiet_end` local time (may wrap midnight; equal: none);
    at most `daily_cap` marketing messages per member in any 24 hours (0: no cap)."""

    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(9, 0)
    daily_cap: int = 3
    default_time_zone: str = "Europe/Kyiv"


def zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _quiet(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(now: dt.datetime, time_zone: str | None, pacing: Pacing) -> dt.datetime | None:
    """When the member's quiet hours end if `now` falls in them, else None."""
    local = now.astimezone(zone(time_zone, pacing.default_time_zone))
    if not _quiet(local.time().replace(tzinfo=None), pacing.quiet_start, pacing.quiet_end):
        return None
    end = local.replace(hour=pacing.quiet_end.hour, minute=pacing.quiet_end.minute,
                        second=0, microsecond=0)
    if end <= local:
        end = (local + dt.timedelta(days=1)).replace(
            hour=pacing.quiet_end.hour, minute=pacing.quiet_end.minute, second=0,
            microsecond=0)
    # re-resolve the wall time (a DST change overnight)
    naive = end.replace(tzinfo=None)
    return naive.replace(tzinfo=local.tzinfo).astimezone(dt.UTC)


def cap_reached(sent_last_day: int, pacing: Pacing) -> bool:
    return pacing.daily_cap > 0 and sent_last_day >= pacing.daily_cap
