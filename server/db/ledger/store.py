"""The ledger's store: each operation is ONE call of its PL/pgSQL function (migration 0013).

The functions claim the request id, do the work, keep the result under the claim and return
it, in the one transaction the call is (sent in autocommit: one round trip). A refusal comes
back as a KLnnn SQLSTATE with nothing written, the claim included; it becomes a Refusal for
the ledger service (server/ledger/service.py) to explain.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import asyncpg

from server.certificates.model import CertificateInfo
from server.db.certificates.repo import SqlCertificateRepository
from server.db.database import Database
from server.db.engagement.coupons import coupon_by_code
from server.db.ledger.pool import LedgerPool
from server.engagement.coupons import Coupon
from server.ledger.model import Claim, Refusal

CONFIRM_RECEIPT = "SELECT kopilka_confirm_receipt($1, $2, $3, $4, $5::jsonb, $6, $7)"
REDEEM_POINTS = ("SELECT kopilka_redeem_points($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class SqlLedgerStore:
    """LedgerStore on the hot-path asyncpg pool (reads for explanations: the database)."""

    def __init__(self, pool: LedgerPool, db: Database) -> None:
        self._pool = pool
        self._db = db

    async def confirm_receipt(self, claim: Claim, receipt: dict[str, Any],
                              token_id: uuid.UUID | None, now: dt.datetime) -> dict[str, Any]:
        return await self._call(CONFIRM_RECEIPT, claim.principal_id, claim.request_id,
                                claim.method, claim.digest, _ENCODE(receipt), token_id, now)

    async def redeem_points(self, claim: Claim, card_number: str, points: int,
                            tx_id: uuid.UUID, reason: str, principal: str,
                            token_id: uuid.UUID | None, now: dt.datetime) -> dict[str, Any]:
        return await self._call(REDEEM_POINTS, claim.principal_id, claim.request_id,
                                claim.method, claim.digest, card_number, points, tx_id,
                                reason, principal, token_id, now)

    async def certificate(self, number: str) -> CertificateInfo | None:
        async with self._db.transaction() as session:
            return await SqlCertificateRepository(session).certificate(number)

    async def coupon(self, code: str) -> Coupon | None:
        async with (await self._pool.get()).acquire() as conn:
            return await coupon_by_code(conn, code)

    async def _call(self, sql: str, *args: Any) -> dict[str, Any]:
        async with (await self._pool.get()).acquire() as conn:
            try:
                result = await conn.fetchval(sql, *args)
            except asyncpg.PostgresError as error:
                code = error.sqlstate or ""
                if code.startswith("KL"):
                    raise Refusal(code, getattr(error, "detail", None) or "") from None
                raise
        return json.loads(result) if isinstance(result, str) else dict(result)
