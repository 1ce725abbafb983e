"""Events found by time, not by a change: points and certificates about to expire, birthdays.

Each is one set-based statement: find what is due, claim its once-only mark in
`event_marks` (first writer wins, so running twice, or in two workers at once, emits once),
and write the outbox rows for the marks it won, all in the caller's transaction. The
payloads are those of server/events/schema.py (version 1); a test checks them against it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

#: How long before it expires a member hears that points expire, and a certificate holder
#: that the certificate does.
POINTS_NOTICE = dt.timedelta(days=7)
CERTIFICATE_NOTICE = dt.timedelta(days=14)

_EMIT = """
INSERT INTO outbox (kind, event_id, event_type, event_version, payload)
SELECT 'event', gen_random_uuid(), m.kind, 1, d.payload
FROM due d JOIN marked m ON m.subject = d.subject AND m.occasion = d.occasion"""

_MARK = """
marked AS (
  INSERT INTO event_marks (kind, subject, occasion)
  SELECT :kind, subject, occasion FROM due ON CONFLICT DO NOTHING
  RETURNING kind, subject, occasion)"""

POINTS_EXPIRING = text(f"""
WITH due AS (
  SELECT member_id::text AS subject, (expiry_at AT TIME ZONE :zone)::date::text AS occasion,
         jsonb_build_object('member_id', member_id, 'points', sum(points_left),
                            'expiry_date', (expiry_at AT TIME ZONE :zone)::date,
                            'expiry_time', min(expiry_at)) AS payload
  FROM point_lots
  WHERE state = 'active' AND points_left > 0 AND expiry_at IS NOT NULL
    AND expiry_at > :now AND expiry_at <= :until
  GROUP BY member_id, (expiry_at AT TIME ZONE :zone)::date),
{_MARK}
{_EMIT}""")

# 29 Feb is celebrated on 28 Feb in common years, as the birthday points are.
BIRTHDAYS = text(f"""
WITH due AS (
  SELECT id::text AS subject, extract(year FROM CAST(:day AS date))::int::text AS occasion,
         jsonb_build_object('member_id', id, 'birth_date', birth_date,
                            'date', CAST(:day AS date)) AS payload
  FROM members
  WHERE birth_date IS NOT NULL
    AND (to_char(birth_date, 'MM-DD') = to_char(CAST(:day AS date), 'MM-DD')
         OR (to_char(birth_date, 'MM-DD') = '02-29'
             AND to_char(CAST(:day AS date), 'MM-DD') = '02-28'
             AND extract(day FROM (date_trunc('year', CAST(:day AS date))
                                   + interval '1 month 28 days')) <> 29))),
{_MARK}
{_EMIT}""")

CERTIFICATES_EXPIRING = text(f"""
WITH due AS (
  SELECT number AS subject, to_char(expires_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')
           AS occasion,
         jsonb_build_object('certificate_number', number, 'certificate_type', type_code,
                            'balance_minor', balance_minor, 'currency', currency,
                            'expires_at', expires_at) AS payload
  FROM certificates
  WHERE state = 'active' AND balance_minor > 0 AND expires_at IS NOT NULL
    AND expires_at > :now AND expires_at <= :until),
{_MARK}
{_EMIT}""")


async def _run(session: AsyncSession, statement: object, params: dict[str, object]) -> int:
    result = await session.execute(statement, params)  # type: ignore[call-overload]
    return int(result.rowcount or 0)


async def points_expiring(session: AsyncSession, now: dt.datetime, zone: str) -> int:
    """points.expiring for each member and local expiry date within the notice; emitted."""
    return await _run(session, POINTS_EXPIRING, {
        "kind": "points.expiring", "now": now, "until": now + POINTS_NOTICE, "zone": zone})


async def birthdays(session: AsyncSession, day: dt.date) -> int:
    """member.birthday for members born on `day` (a local date), once a year; emitted."""
    return await _run(session, BIRTHDAYS, {"kind": "member.birthday", "day": day})


async def certificates_expiring(session: AsyncSession, now: dt.datetime) -> int:
    """certificate.expiring for active certificates with a balance expiring within the
    notice, once per certificate and expiry; emitted."""
    return await _run(session, CERTIFICATES_EXPIRING, {
        "kind": "certificate.expiring", "now": now, "until": now + CERTIFICATE_NOTICE})
