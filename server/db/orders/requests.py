"""Requests to stores and their answers in SQL (tables of migration 0017)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

from server.orders.requests import Answer, RequestedLine, RequestState, StoreRequest

COLUMNS = ("id, order_id, store_code, round, state, deadline_at, answered_at, answered_by, "
           "created_at")


async def _with_lines(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]
                      ) -> list[StoreRequest]:
    if not rows:
        return []
    lines = await conn.fetch(
        "SELECT request_id, line_no, quantity_milli, answer, confirmed_milli, reason "
        "FROM web_order_store_request_lines WHERE request_id = ANY($1) ORDER BY line_no",
        [r["id"] for r in rows])
    by: dict[uuid.UUID, list[RequestedLine]] = {}
    for x in lines:
        by.setdefault(x["request_id"], []).append(RequestedLine(
            x["line_no"], x["quantity_milli"], Answer(x["answer"]) if x["answer"] else None,
            x["confirmed_milli"], x["reason"]))
    return [StoreRequest(r["id"], r["order_id"], r["store_code"], r["round"], r["deadline_at"],
                         RequestState(r["state"]), by.get(r["id"], []), r["answered_at"],
                         r["answered_by"], r["created_at"]) for r in rows]


async def of_order(conn: asyncpg.Connection, order_id: uuid.UUID) -> list[StoreRequest]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM web_order_store_requests "
                            "WHERE order_id = $1 ORDER BY round, store_code", order_id)
    return await _with_lines(conn, rows)


async def get(conn: asyncpg.Connection, request_id: uuid.UUID) -> StoreRequest | None:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM web_order_store_requests WHERE id = $1",
                            request_id)
    found = await _with_lines(conn, rows)
    return found[0] if found else None


async def add(conn: asyncpg.Connection, requests: Sequence[StoreRequest],
              now: dt.datetime) -> None:
    await conn.executemany(
        "INSERT INTO web_order_store_requests (id, order_id, store_code, round, state, "
        "deadline_at, answered_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, '', $7)",
        [(r.id, r.order_id, r.store_code, r.round, r.state.value, r.deadline_at, now)
         for r in requests])
    await conn.executemany(
        "INSERT INTO web_order_store_request_lines (request_id, line_no, quantity_milli, "
        "answer, confirmed_milli, reason) VALUES ($1, $2, $3, NULL, 0, '')",
        [(r.id, x.line_no, x.quantity_milli) for r in requests for x in r.lines])


async def save(conn: asyncpg.Connection, request: StoreRequest) -> None:
    await conn.execute(
        "UPDATE web_order_store_requests SET state = $2, answered_at = $3, answered_by = $4 "
        "WHERE id = $1", request.id, request.state.value, request.answered_at,
        request.answered_by)
    await conn.executemany(
        "UPDATE web_order_store_request_lines SET answer = $3, confirmed_milli = $4, "
        "reason = $5 WHERE request_id = $1 AND line_no = $2",
        [(request.id, x.line_no, x.answer.value if x.answer else None, x.confirmed_milli,
          x.reason) for x in request.lines])


async def close_pending(conn: asyncpg.Connection, order_id: uuid.UUID) -> None:
    """A cancelled or completed order asks nobody any more."""
    await conn.execute("UPDATE web_order_store_requests SET state = 'closed' "
                       "WHERE order_id = $1 AND state = 'pending'", order_id)


async def next_round(conn: asyncpg.Connection, order_id: uuid.UUID) -> int:
    return int(await conn.fetchval(
        "SELECT coalesce(max(round), 0) + 1 FROM web_order_store_requests WHERE order_id = $1",
        order_id))


async def due(conn: asyncpg.Connection, now: dt.datetime, limit: int) -> list[uuid.UUID]:
    """Pending requests past their deadline, oldest first."""
    rows = await conn.fetch(
        "SELECT id FROM web_order_store_requests WHERE state = 'pending' AND deadline_at <= $1 "
        "ORDER BY deadline_at LIMIT $2", now, limit)
    return [r["id"] for r in rows]
