"""Coupons in SQL: issue (one or a batch, set-based), look up, block, list.

Issuing writes the rows, the audit and a coupon.issued event per coupon in the caller's
transaction; every door (the RPC, campaigns and triggers, surveys, social rules) goes
through `issue_coupons`. The till's lookup (`coupons_by_code`) runs on the hot-path pool,
only when codes are presented.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from server.db.audit.repo import Change, record_on
from server.db.ledger.pool import LedgerPool
from server.engagement.coupons import Coupon, new_code
from server.events.schema import new_event

_COLUMNS = ("id, code, promotion_id, max_uses, uses, valid_from, valid_to, member_id, state, "
            "batch_id, source, created_at, block_reason")

_INSERT = f"""
INSERT INTO coupons (id, code, promotion_id, max_uses, valid_from, valid_to, member_id,
                     batch_id, source, issued_by)
SELECT gen_random_uuid(), u.c, $2, $3, $4, $5, u.m, $7, $8, $9
FROM unnest($1::text[], $6::uuid[]) AS u(c, m)
ON CONFLICT (code) DO NOTHING
RETURNING {_COLUMNS}"""

_EMIT = "SELECT kopilka_emit_event($1, $2, $3::jsonb)"


def coupon_of(row: asyncpg.Record) -> Coupon:
    """A row as the domain value."""
    return Coupon(row["id"], row["code"], row["promotion_id"], row["max_uses"], row["uses"],
                  row["valid_from"], row["valid_to"], row["member_id"], row["state"],
                  row["batch_id"], row["source"], row["created_at"], row["block_reason"])


async def issue_coupons(conn: asyncpg.Connection, *, count: int, promotion_id: str,
                        max_uses: int, valid_from: dt.datetime, valid_to: dt.datetime | None,
                        member_id: uuid.UUID | None, batch_id: uuid.UUID | None, source: str,
                        issued_by: str, prefix: str = "",
                        member_ids: Sequence[uuid.UUID] | None = None) -> list[Coupon]:
    """`count` new coupons with unique random codes, in the caller's transaction: one
    INSERT ... SELECT unnest per round; a code that collides is drawn again (rare: 30**10
    codes per prefix). With `member_ids` (a campaign's recipients) each member gets one
    coupon of its own: `count` is their number and `member_id` is not used; in a batch the
    unique index uq_coupons_batch_member refuses a second one for a member."""
    pending: list[uuid.UUID | None] = (list(member_ids) if member_ids is not None
                                       else [member_id] * count)
    issued: list[Coupon] = []
    for _ in range(10):
        if not pending:
            break
        codes = _distinct_codes(prefix, len(pending))
        rows = await conn.fetch(_INSERT, codes, promotion_id, max_uses, valid_from, valid_to,
                                pending, batch_id, source, issued_by)
        issued.extend(coupon_of(r) for r in rows)
        taken = {r["code"] for r in rows}
        pending = [m for c, m in zip(codes, pending, strict=True) if c not in taken]
    if pending:
        raise RuntimeError("could not draw unique coupon codes")
    if not issued:
        return issued
    await _issued_events(conn, issued)
    await record_on(conn, *(
        [Change("coupon_batch", str(batch_id), "issue", None,
                {"promotion_id": promotion_id, "count": len(issued), "max_uses": max_uses,
                 "source": source})] if batch_id is not None else
        [Change("coupon", str(c.id), "issue", None,
                {"promotion_id": c.promotion_id, "max_uses": c.max_uses,
                 "member_id": c.member_id, "source": c.source}) for c in issued]))
    return issued


def _distinct_codes(prefix: str, count: int) -> list[str]:
    codes: dict[str, None] = {}
    while len(codes) < count:
        codes[new_code(prefix)] = None
    return list(codes)


async def _issued_events(conn: asyncpg.Connection, coupons: list[Coupon]) -> None:
    rows = []
    for c in coupons:
        event = new_event("coupon.issued", coupon_id=c.id, promotion_id=c.promotion_id,
                          member_id=c.member_id, batch_id=c.batch_id, source=c.source,
                          max_uses=c.max_uses, valid_from=c.valid_from, valid_to=c.valid_to)
        rows.append((event.type, event.version, json.dumps(dict(event.payload))))
    await conn.executemany(_EMIT, rows)


async def coupon_by_code(conn: asyncpg.Connection | PoolConnectionProxy, code: str, *,
                         lock: bool = False) -> Coupon | None:
    """One coupon by its normalized code."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM coupons WHERE code = $1"
                              + (" FOR UPDATE" if lock else ""), code)
    return coupon_of(row) if row is not None else None


async def coupons_by_code(pool: LedgerPool, codes: list[str]) -> dict[str, Coupon]:
    """The presented codes that exist, by code (one query on the hot-path pool)."""
    rows = await (await pool.get()).fetch(
        f"SELECT {_COLUMNS} FROM coupons WHERE code = ANY($1::text[])", codes)
    return {r["code"]: coupon_of(r) for r in rows}


async def block_coupon(conn: asyncpg.Connection, coupon: Coupon, reason: str) -> Coupon:
    """Block it (already blocked: the reason is kept as first given), audited."""
    row = await conn.fetchrow(
        f"UPDATE coupons SET state = 'blocked', block_reason = coalesce(block_reason, $2) "
        f"WHERE id = $1 RETURNING {_COLUMNS}", coupon.id, reason)
    assert row is not None  # the caller holds the row locked
    blocked = coupon_of(row)
    await record_on(conn, Change("coupon", str(coupon.id), "block",
                                 {"state": coupon.state}, {"state": blocked.state,
                                                           "reason": reason}))
    return blocked


async def list_coupons(conn: asyncpg.Connection, *, promotion_id: str | None,
                       batch_id: uuid.UUID | None, member_id: uuid.UUID | None,
                       after: tuple[dt.datetime, uuid.UUID] | None, limit: int
                       ) -> list[Coupon]:
    """Newest first, keyset-paged on (created_at, id)."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("promotion_id", promotion_id), ("batch_id", batch_id),
                          ("member_id", member_id)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if after is not None:
        args.extend(after)
        where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM coupons WHERE {' AND '.join(where)} "
        f"ORDER BY created_at DESC, id DESC LIMIT ${len(args)}", *args)
    return [coupon_of(r) for r in rows]
