"""Ledger housekeeping: activate due lots, expire old ones, event accruals, and the audit.

Each batch is one transaction: first lock the affected members' points accounts (in lock
order), then change lots and balances in fresh statements that see the locked state.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual import CompiledRules, compute_event_accrual
from server.db.ledger.repo import accrue, new_tx, raw_connection

ACTIVATE = """
WITH x AS (
  UPDATE point_lots SET state = 'active'
  WHERE state = 'pending' AND activation_at <= $1 AND member_id = ANY($2::uuid[])
  RETURNING member_id, points_left),
s AS (SELECT member_id, sum(points_left)::bigint AS pts FROM x GROUP BY member_id
      HAVING sum(points_left) > 0),
p AS (UPDATE ledger_accounts la SET balance = la.balance - s.pts FROM s
      WHERE la.member_id = s.member_id AND la.kind = 'points_pending' RETURNING la.id, s.pts),
ep AS (INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $3, id, -pts FROM p),
a AS (UPDATE ledger_accounts la SET balance = la.balance + s.pts FROM s
      WHERE la.member_id = s.member_id AND la.kind = 'points' RETURNING la.id, s.pts),
ea AS (INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $3, id, pts FROM a)
SELECT count(*) FROM x"""

# Each member's due lots through the function every spend calls too (migration 0009).
EXPIRE = "SELECT coalesce(sum(kopilka_expire_lots(m, $1)), 0) FROM unnest($2::uuid[]) m"


async def _lock_members(conn: asyncpg.Connection, members: list[uuid.UUID]) -> None:
    await conn.execute(
        "INSERT INTO ledger_accounts (member_id, kind, balance) "
        "SELECT m, k, 0 FROM unnest($1::uuid[]) m, unnest(ARRAY['points', 'points_pending']) k "
        "ON CONFLICT (member_id, kind) DO NOTHING", members)
    await conn.execute(
        "SELECT id FROM ledger_accounts WHERE member_id = ANY($1::uuid[]) "
        "AND kind IN ('points', 'points_pending') ORDER BY member_id, kind FOR UPDATE", members)


async def activate_due(session: AsyncSession, now: dt.datetime, batch: int = 1000) -> int:
    """Make pending lots whose activation time came spendable; how many lots moved."""
    conn = await raw_connection(session)
    members = [r[0] for r in await conn.fetch(
        "SELECT DISTINCT member_id FROM point_lots WHERE state = 'pending' "
        "AND activation_at <= $1 LIMIT $2", now, batch)]
    if not members:
        return 0
    members.sort()
    await _lock_members(conn, members)
    tx_id = await new_tx(conn, "activate", reason="activation job")
    return int(await conn.fetchval(ACTIVATE, now, members, tx_id))


async def expire_due(session: AsyncSession, now: dt.datetime, batch: int = 1000) -> int:
    """Expire active lots past their expiry time, taking their points off; lots expired."""
    conn = await raw_connection(session)
    members = [r[0] for r in await conn.fetch(
        "SELECT DISTINCT member_id FROM point_lots WHERE state = 'active' "
        "AND expiry_at <= $1 LIMIT $2", now, batch)]
    if not members:
        return 0
    members.sort()  # lock order
    return int(await conn.fetchval(EXPIRE, now, members))


EVENT_CANDIDATES = {
    # members registered within the last 7 days without a registration accrual yet
    # ($1 is typed: `$1 - interval` alone makes PostgreSQL infer an interval parameter)
    "registration": """
        SELECT m.id, m.created_at AS at, (SELECT c.card_type FROM cards c WHERE c.member_id = m.id
                ORDER BY c.created_at DESC LIMIT 1) AS card_type
        FROM members m WHERE m.created_at > $1::timestamptz - interval '7 days'
          AND m.created_at <= $1::timestamptz
          AND NOT EXISTS (SELECT 1 FROM event_accruals e WHERE e.member_id = m.id
                          AND e.occasion = $2) LIMIT $3""",
    # members whose birthday is the local date $4 (29 Feb celebrated on 28 Feb in common years)
    "birthday": """
        SELECT m.id, $1::timestamptz AS at, (SELECT c.card_type FROM cards c
                WHERE c.member_id = m.id ORDER BY c.created_at DESC LIMIT 1) AS card_type
        FROM members m WHERE m.birth_date IS NOT NULL
          AND (to_char(m.birth_date, 'MM-DD') = to_char($4::date, 'MM-DD')
               OR (to_char(m.birth_date, 'MM-DD') = '02-29' AND to_char($4::date, 'MM-DD') = '02-28'
                   AND NOT (extract(year FROM $4::date)::int % 4 = 0)))
          AND NOT EXISTS (SELECT 1 FROM event_accruals e WHERE e.member_id = m.id
                          AND e.occasion = $2) LIMIT $3""",
}


async def grant_events(session: AsyncSession, rules: CompiledRules, trigger: str,
                       now: dt.datetime, batch: int = 1000) -> int:
    """Accrue registration or birthday points once per member (per year for birthdays)."""
    if not rules.by_trigger.get(trigger):
        return 0
    conn = await raw_connection(session)
    local = now.astimezone(rules.zone).date()
    occasion = "registration" if trigger == "registration" else f"birthday:{local.year}"
    params: list[object] = [now, occasion, batch]
    if trigger == "birthday":
        params.append(local)
    granted = 0
    for row in await conn.fetch(EVENT_CANDIDATES[trigger], *params):
        lots = compute_event_accrual(rules, trigger, row["card_type"], row["at"])
        tx_id = await new_tx(conn, "event", reason=occasion)
        claimed = await conn.fetchval(
            "INSERT INTO event_accruals (member_id, occasion, tx_id) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING member_id", row["id"], occasion, tx_id)
        if claimed is not None and lots:
            await accrue(conn, row["id"], tx_id, lots, now)
            granted += 1
    return granted


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Accounts checked and every disagreement found (empty = the books balance)."""

    accounts: int
    problems: list[str]


AUDIT_BALANCES = """
SELECT a.id, a.kind, a.member_id, a.balance, coalesce(sum(e.amount), 0)::bigint AS ledger
FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0)"""

AUDIT_LOTS = """
WITH l AS (SELECT member_id,
                  sum(points_left) FILTER (WHERE state = 'active')::bigint AS active,
                  sum(points_left) FILTER (WHERE state = 'pending')::bigint AS pending
           FROM point_lots GROUP BY member_id)
SELECT coalesce(a.member_id, l.member_id) AS member_id, a.kind,
       coalesce(a.balance, 0) AS balance,
       coalesce(CASE a.kind WHEN 'points_pending' THEN l.pending ELSE l.active END, 0) AS lots
FROM (SELECT * FROM ledger_accounts WHERE kind IN ('points', 'points_pending')) a
FULL JOIN l ON l.member_id = a.member_id
WHERE coalesce(a.balance, 0)
      <> coalesce(CASE a.kind WHEN 'points_pending' THEN l.pending ELSE l.active END, 0)"""

AUDIT_MOVEMENTS = """
SELECT l.id, l.points_left, coalesce(sum(m.points), 0)::bigint AS moved FROM point_lots l
LEFT JOIN lot_movements m ON m.lot_id = l.id GROUP BY l.id
HAVING l.points_left <> coalesce(sum(m.points), 0)"""


async def audit(session: AsyncSession) -> AuditReport:
    """Prove every balance equals its ledger sum and every points balance its lots."""
    conn = await raw_connection(session)
    problems = [f"account {r['id']} ({r['kind']}, member {r['member_id']}): balance "
                f"{r['balance']} != ledger sum {r['ledger']}"
                for r in await conn.fetch(AUDIT_BALANCES)]
    problems += [f"member {r['member_id']} {r['kind'] or 'points'}: balance {r['balance']} "
                 f"!= lots {r['lots']}" for r in await conn.fetch(AUDIT_LOTS)]
    problems += [f"lot {r['id']}: points_left {r['points_left']} != movements {r['moved']}"
                 for r in await conn.fetch(AUDIT_MOVEMENTS)]
    count = int(await conn.fetchval("SELECT count(*) FROM ledger_accounts"))
    return AuditReport(count, problems)
