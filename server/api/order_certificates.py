"""The audit row of an exchange whose difference a gift certificate settled: the
certificate's state and balance before and after, the order and the amount (the
certificate ledger's own entry is written by the spend or refund itself)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.audit.repo import Change
from server.db.certificates.repo import SqlCertificateRepository
from server.orders.service import certificate_of


async def certificate_state(session: AsyncSession, number: str) -> dict[str, object]:
    """State and balance of the named certificate ({} when none is named or known)."""
    number = certificate_of(number)
    cert = await SqlCertificateRepository(session).certificate(number) if number else None
    return {} if cert is None else {"state": cert.state.value,
                                    "balance_minor": cert.balance_minor}


async def settlement_change(session: AsyncSession, number: str, before: dict[str, object],
                            order_id: uuid.UUID, difference_minor: int) -> Change:
    """certificate / exchange_settle; `amount_minor` signed as the certificate's own entry:
    < 0 it paid the difference, > 0 it got the difference back."""
    after = {**await certificate_state(session, number), "order_id": str(order_id),
             "amount_minor": -difference_minor}
    return Change("certificate", certificate_of(number), "exchange_settle", before, after)
