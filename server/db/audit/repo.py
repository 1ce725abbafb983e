"""Write, read and verify the audit trail (table and functions of migration 0016).

Rows are appended only through kopilka_audit_append(), in the transaction of the change they
describe. The trail is sixteen hash chains (migration 0039): the append takes the advisory
lock of a chain no other transaction is writing and holds it until its transaction ends, so
each chain follows id order while concurrent writers never wait on each other (unless
sixteen are writing at once).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.actor import current_actor, request_id
from server.db.ledger.repo import raw_connection

APPEND = "SELECT kopilka_audit_append($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)"


@dataclass(frozen=True, slots=True)
class Change:
    """One audited change of one object."""

    object_type: str
    object_id: str
    action: str
    before: Any = None
    after: Any = None


def _plain(value: Any) -> Any:
    """JSON for the values our domain objects hold (dataclasses, enums, times, ids)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # uuid.UUID and the like


# json.dumps(value, default=_plain, ensure_ascii=False), its encoder made once
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=_plain).encode


def to_json(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


async def record(session: AsyncSession, *changes: Change) -> None:
    """Append `changes` for the current actor, in `session`'s transaction."""
    await record_on(await raw_connection(session), *changes)


async def record_on(conn: asyncpg.Connection, *changes: Change) -> None:
    """`record` on a driver connection already inside the change's transaction."""
    if not changes:
        return
    rows = append_arguments(*changes)
    if len(rows) == 1:
        await conn.fetchval(APPEND, *rows[0])
    else:
        await conn.executemany(APPEND, rows)


def append_arguments(*changes: Change) -> list[tuple[Any, ...]]:
    """kopilka_audit_append's arguments for `changes` by the current actor: principal, key
    id, request id, object type and id, action, before and after (JSON texts)."""
    actor = current_actor()
    rid = request_id.get() or None
    return [(actor.label, actor.key_id, rid, c.object_type, c.object_id[:200], c.action,
             to_json(c.before), to_json(c.after)) for c in changes]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored audit row as read back."""

    id: int
    created_at: dt.datetime
    principal: str
    key_id: uuid.UUID | None
    request_id: str | None
    object_type: str
    object_id: str
    action: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """ListAudit's filters; None or empty means any."""

    object_type: str = ""
    object_id: str = ""
    principal: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    after_id: int | None = None  # keyset: rows after this id (newest-first pages: before)


async def list_rows(session: AsyncSession, where: AuditFilter, limit: int) -> list[AuditRecord]:
    """Newest first; `after_id` continues a page (rows with a smaller id)."""
    conn = await raw_connection(session)
    rows = await conn.fetch(
        """SELECT id, created_at, principal, key_id, request_id, object_type, object_id,
                  action, before::text AS before, after::text AS after
           FROM audit_log
           WHERE ($1 = '' OR object_type = $1) AND ($2 = '' OR object_id = $2)
             AND ($3 = '' OR principal = $3)
             AND ($4::timestamptz IS NULL OR created_at >= $4)
             AND ($5::timestamptz IS NULL OR created_at < $5)
             AND ($6::bigint IS NULL OR id < $6)
           ORDER BY id DESC LIMIT $7""",
        where.object_type, where.object_id, where.principal, where.since, where.until,
        where.after_id, limit)
    return [AuditRecord(
        r["id"], r["created_at"], r["principal"], r["key_id"], r["request_id"],
        r["object_type"], r["object_id"], r["action"],
        None if r["before"] is None else json.loads(r["before"]),
        None if r["after"] is None else json.loads(r["after"])) for r in rows]


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The newest row of one chain: keep it elsewhere to notice removed newest rows."""

    chain: int
    id: int
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `kopilka audit verify` found: rows checked, the first broken row, each chain's
    head."""

    rows: int
    first_broken: int | None
    heads: tuple[ChainHead, ...]


VERIFY = """
WITH checked AS (
  SELECT id, hash, kopilka_audit_digest(lag(hash) OVER (PARTITION BY chain ORDER BY id),
           kopilka_audit_canonical(id, created_at, principal, key_id, request_id, object_type,
                                   object_id, action, before, after)) AS expected
  FROM audit_log)
SELECT count(*) AS n, min(id) FILTER (WHERE hash IS DISTINCT FROM expected) AS broken
FROM checked
"""

HEADS = """
SELECT DISTINCT ON (chain) chain, id, encode(hash, 'hex') AS hash
FROM audit_log ORDER BY chain, id DESC
"""


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every row's hash from its content and the stored hash of the row before it
    in its chain.

    A changed row breaks its own hash; a removed row breaks the next one of its chain (its
    previous hash is gone); a rewritten hash breaks the next row. Removing a chain's newest
    rows leaves a shorter valid chain: compare the printed heads with ones kept elsewhere.
    """
    conn = await raw_connection(session)
    row = await conn.fetchrow(VERIFY)
    assert row is not None
    heads = tuple(ChainHead(r["chain"], r["id"], r["hash"]) for r in await conn.fetch(HEADS))
    return ChainReport(row["n"], row["broken"], heads)


def key_change(key_id: uuid.UUID, name: str, kind: str, roles: Sequence[str],
               store: str | None, terminal: str | None, network: str | None) -> Change:
    """The audit row of a new API key: who holds it and what it may do, never the secret."""
    return Change("api_key", str(key_id), "create", None, {
        "name": name, "kind": kind, "roles": list(roles), "store_code": store or None,
        "terminal_id": terminal or None, "network_code": network or None})
