"""Spending a verification token exactly once, inside the spend's own transaction.

The row in verification_token_uses commits or rolls back with the spend: a refused spend
(short balance, say) leaves the token usable, and of concurrent spends with one token the
first insert holds the primary key until its transaction ends; the others then see the row
and are refused with VERIFICATION_USED, or take it over if the first rolled back.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from server.security.signing import Signer
from server.verification.tokens import Grant, Spend, authorize, used

# The ledger's one use of a token (migration 0013): KL007 when it paid for a spend already.
USE = "SELECT kopilka_use_verification($1, $2, $3, $4)"


async def consume_verification(conn: asyncpg.Connection, signer: Signer, token: str,
                               spend: Spend, request_id: uuid.UUID, now: dt.datetime) -> Grant:
    """Check `token` covers `spend`, then mark it used in the caller's transaction.

    Call after claiming the request id, so a retry of a finished call gets its stored answer
    without the token being looked at again."""
    grant = authorize(signer, token, spend, now)
    try:
        await conn.execute(USE, grant.token_id, request_id, spend.operation.value, spend.amount)
    except asyncpg.PostgresError as error:  # the caller's transaction rolls back with it
        if error.sqlstate != "KL007":
            raise
        raise used() from None
    return grant
