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

from server.errors import DomainError
from server.security.signing import Signer
from server.verification.model import Operation
from server.verification.tokens import Grant, Spend, TokenCheck, authorize, naming, required, used

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


async def verify_spend(conn: asyncpg.Connection, check: TokenCheck | None, card_number: str,
                       operation: Operation, amount: int, now: dt.datetime) -> Grant:
    """The spend of a card that requires verification: `check`'s token must cover it and is
    used once (consume_verification); without a check or a token VERIFICATION_REQUIRED.
    Every refusal names the request's token field."""
    field_path = check.field_path if check is not None else "verification_token"
    try:
        if check is None or not check.token:
            raise required()
        return await consume_verification(conn, check.signer, check.token,
                                          check.spend(card_number, operation, amount),
                                          check.request_id, now)
    except DomainError as error:
        raise naming(error, field_path) from None
