"""Spending and refunding certificates inside the caller's transaction (the hot path).

A certificate can never be spent twice: the spend is one conditional UPDATE (`... WHERE
balance_minor >= amount AND state = 'active' ...`) with its ledger entry, in the ledger's
function kopilka_spend_certificate (migration 0013), which ConfirmReceipt's one call uses too.
Concurrent spends of one certificate queue on the row lock; each re-checks the condition
against the balance the previous one left, so at most the balance is ever spent. When the
UPDATE touches no row, a plain read names the rule that was broken.

RedeemCertificate calls `pay_with_certificate`; RefundReceipt and RefundToCertificate call
`refund_to_certificate`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.certificates import refunds, rules
from server.certificates.model import CertificateInfo, CertificateKind, EntryKind
from server.db.certificates.repo import SqlCertificateRepository
from server.errors import DomainError, ErrorKind, invalid, not_found

# The one conditional spend (migration 0013): the balance left, NULL when refused.
_SPEND = text("SELECT kopilka_spend_certificate(CAST(:number AS text), CAST(:kind AS text), "
              "CAST(:amount AS bigint), CAST(:currency AS text), CAST(:receipt_id AS uuid), "
              "CAST(:store_code AS text), CAST(:sku AS text), CAST(:now AS timestamptz))")

_RETRIES = 3


async def _spend(
    session: AsyncSession, *, number: str, kind: CertificateKind, amount_minor: int,
    currency: str | None, receipt_id: uuid.UUID, store_code: str, sku: str | None,
    now: dt.datetime,
) -> int:
    """The balance left after a spend (the forfeit policy applied), or the refusal."""
    params = {"number": number, "kind": kind.value, "amount": amount_minor,
              "currency": currency, "receipt_id": receipt_id, "store_code": store_code,
              "sku": sku, "now": now}
    for _ in range(_RETRIES):
        left = await session.scalar(_SPEND, params)
        if left is not None:
            return int(left)
        cert = await SqlCertificateRepository(session).certificate(number)
        if cert is None:
            raise not_found("certificate", number, "CERTIFICATE_NOT_FOUND")
        refusal = rules.spend_refusal(cert, kind=kind, amount_minor=amount_minor,
                                      currency=currency or cert.currency, now=now)
        if refusal is not None:
            raise refusal
        # The certificate changed between the UPDATE and the read (a refund landed): retry.
    raise DomainError(ErrorKind.ABORTED, "CERTIFICATE_CONTENDED",
                      f"certificate {number} kept changing; retry")


async def pay_with_certificate(
    session: AsyncSession, *, number: str, amount_minor: int, receipt_id: uuid.UUID,
    store_code: str, currency: str, now: dt.datetime,
) -> None:
    """Spend `amount_minor` of a "money" certificate for a receipt, exactly once.

    With the FORFEIT remainder policy the rest of the balance is written off by its own
    entry in the same transaction, so a single-use certificate cannot be used again.
    """
    if amount_minor <= 0:
        raise invalid("amount_minor", "must be positive")
    await _spend(session, number=number, kind=CertificateKind.MONEY, amount_minor=amount_minor,
                 currency=currency, receipt_id=receipt_id, store_code=store_code, sku=None,
                 now=now)


async def redeem_for_product(
    session: AsyncSession, *, number: str, sku: str, receipt_id: uuid.UUID, store_code: str,
    now: dt.datetime,
) -> None:
    """Exchange a "product" certificate for goods: the whole certificate is used at once."""
    repo = SqlCertificateRepository(session)
    cert = await repo.certificate(number)
    if cert is None:
        raise not_found("certificate", number, "CERTIFICATE_NOT_FOUND")
    if cert.kind is CertificateKind.PRODUCT:
        t = await repo.certificate_type(cert.type_code)
        assert t is not None  # foreign key
        if refusal := rules.product_refusal(t, sku, await repo.product_group(sku)):
            raise refusal
    # The spend statement re-checks state and kind under the row lock; amount = balance
    # means whoever gets there first takes it all and the other sees INSUFFICIENT_BALANCE.
    await _spend(session, number=number, kind=CertificateKind.PRODUCT,
                 amount_minor=max(cert.balance_minor, 1), currency=None,
                 receipt_id=receipt_id, store_code=store_code, sku=sku, now=now)


_PAID = text("""
SELECT COALESCE(-SUM(amount_minor) FILTER (WHERE kind = 'redeem'), 0) AS paid,
       COALESCE(SUM(amount_minor) FILTER (WHERE kind = 'refund'), 0) AS refunded,
       MIN(store_code) FILTER (WHERE kind = 'redeem') AS store_code
  FROM certificate_entries
 WHERE receipt_id = CAST(:receipt_id AS uuid)
   AND certificate_id = ANY(CAST(:ids AS bigint[]))
""")


async def _live_chain(
    repo: SqlCertificateRepository, number: str
) -> tuple[list[int], CertificateInfo]:
    """Ids of the certificate and its reissues, and the live (last) one, locked."""
    cert = await repo.certificate(number, for_update=True)
    if cert is None:
        raise not_found("certificate", number, "CERTIFICATE_NOT_FOUND")
    ids = [cert.id]
    while cert.replaced_by_number:  # reissued after the purchase: the money follows it
        successor = await repo.certificate(cert.replaced_by_number, for_update=True)
        assert successor is not None  # written in the same transaction as the close
        cert = successor
        ids.append(cert.id)
    return ids, cert


async def refund_to_certificate(
    session: AsyncSession, *, number: str, amount_minor: int, receipt_id: uuid.UUID,
    now: dt.datetime, spent_in_scope: Callable[[str | None], Awaitable[bool]] | None = None,
) -> None:
    """Return money for returned goods to the certificate that paid (never to cash).

    At most what the certificate paid on that receipt comes back, over all partial refunds;
    a used-up certificate becomes active again; an expired one follows the type's policy.
    `spent_in_scope(store)` says whether the caller may reverse a spend in that store; a
    spend outside its scope is answered as no spend at all (nothing to take back).
    """
    if amount_minor <= 0:
        raise invalid("amount_minor", "must be positive")
    repo = SqlCertificateRepository(session)
    ids, cert = await _live_chain(repo, number)
    paid = (await session.execute(_PAID, {"receipt_id": receipt_id, "ids": ids})).one()
    hidden = spent_in_scope is not None and not await spent_in_scope(paid.store_code)
    refunds.check_refund_amount(cert, amount_minor, 0 if hidden else int(paid.paid),
                                0 if hidden else int(paid.refunded))
    t = await repo.certificate_type(cert.type_code)
    assert t is not None  # foreign key
    plan = refunds.plan_refund(cert, t, amount_minor, now)
    after = await repo.change(
        cert, state=plan.state, entry=EntryKind.REFUND, amount_minor=amount_minor, now=now,
        principal="", store_code=paid.store_code, receipt_id=receipt_id,
        expires_at=plan.expires_at,
    )
    if plan.written_off_minor:
        await repo.change(
            after, state=plan.state, entry=EntryKind.EXPIRE,
            amount_minor=-plan.written_off_minor, now=now, principal="",
            store_code=paid.store_code, receipt_id=receipt_id,
            note="refund to an expired certificate written off by the type policy",
        )
