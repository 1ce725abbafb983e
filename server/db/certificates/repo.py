"""SQL implementation of server.certificates.repository.CertificateRepository."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import exists, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.certificates.model import (
    BarcodeFormat,
    CertificateInfo,
    CertificateKind,
    CertificateState,
    CertificateTypeInfo,
    EntryInfo,
    EntryKind,
    ExpiredRefundPolicy,
    NewCertificate,
    RemainderPolicy,
    UsageRow,
)
from server.db.certificates.models import CertificateEntryRow, CertificateRow, CertificateTypeRow
from server.db.models import CardType, Product, Store
from server.db.outbox.repo import emit
from server.events.schema import NewEvent

C = CertificateRow
E = CertificateEntryRow
T = CertificateTypeRow


def type_info(r: CertificateTypeRow) -> CertificateTypeInfo:
    return CertificateTypeInfo(
        code=r.code, name=r.name, kind=CertificateKind(r.kind), currency=r.currency,
        denominations=tuple(r.denominations), barcode_format=BarcodeFormat(r.barcode_format),
        number_prefix=r.number_prefix, remainder_policy=RemainderPolicy(r.remainder_policy),
        valid_days=r.valid_days, valid_from=r.valid_from, valid_until=r.valid_until,
        expired_refund_policy=ExpiredRefundPolicy(r.expired_refund_policy),
        refund_extension_days=r.refund_extension_days, product_skus=tuple(r.product_skus),
        product_groups=tuple(r.product_groups), template=r.template,
        min_denomination_minor=r.min_denomination_minor,
        max_denomination_minor=r.max_denomination_minor,
        denomination_step_minor=r.denomination_step_minor,
    )


def certificate_info(r: Any) -> CertificateInfo:
    """A row of `certificates` (ORM object or Row with the same names) as domain data."""
    return CertificateInfo(
        id=r.id, number=r.number, type_code=r.type_code, kind=CertificateKind(r.kind),
        currency=r.currency, state=CertificateState(r.state),
        denomination_minor=r.denomination_minor, balance_minor=r.balance_minor,
        remainder_policy=RemainderPolicy(r.remainder_policy), store_code=r.store_code,
        activated_at=r.activated_at, valid_from=r.valid_from, expires_at=r.expires_at,
        replaces_number=r.replaces_number, replaced_by_number=r.replaced_by_number,
    )


class SqlCertificateRepository:
    """Certificates over one AsyncSession (the caller owns the transaction)."""

    async def emit(self, event: NewEvent) -> None:
        await emit(self.session, event)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def certificate_type(self, code: str) -> CertificateTypeInfo | None:
        row = await self.session.scalar(
            select(T).where(T.code == code).execution_options(populate_existing=True))
        return None if row is None else type_info(row)

    async def list_types(self) -> list[CertificateTypeInfo]:
        return [type_info(r) for r in await self.session.scalars(select(T).order_by(T.code))]

    async def upsert_type(self, t: CertificateTypeInfo) -> None:
        values = {
            "name": t.name, "kind": t.kind.value, "currency": t.currency,
            "denominations": list(t.denominations), "barcode_format": t.barcode_format.value,
            "number_prefix": t.number_prefix, "remainder_policy": t.remainder_policy.value,
            "valid_days": t.valid_days, "valid_from": t.valid_from, "valid_until": t.valid_until,
            "expired_refund_policy": t.expired_refund_policy.value,
            "refund_extension_days": t.refund_extension_days,
            "product_skus": list(t.product_skus), "product_groups": list(t.product_groups),
            "template": t.template, "min_denomination_minor": t.min_denomination_minor,
            "max_denomination_minor": t.max_denomination_minor,
            "denomination_step_minor": t.denomination_step_minor,
        }
        await self.session.execute(
            pg_insert(T).values(code=t.code, next_sequence=1, **values)
            .on_conflict_do_update(index_elements=["code"],
                                   set_={**values, "updated_at": func.now()})
        )

    async def type_in_use(self, code: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(C.type_code == code))))

    async def other_prefixes(self, code: str) -> list[tuple[str, str]]:
        certs = await self.session.execute(
            select(T.code, T.number_prefix).where(T.code != code))
        cards = await self.session.execute(select(CardType.code, CardType.number_prefix))
        return ([(f"certificate type {c}", p) for c, p in certs]
                + [(f"card type {c}", p) for c, p in cards])

    async def store_exists(self, code: str) -> bool:
        return await self.session.scalar(select(Store.code).where(Store.code == code)) is not None

    async def product_group(self, sku: str) -> str | None:
        return await self.session.scalar(select(Product.group_code).where(Product.sku == sku))

    async def take_sequences(self, type_code: str, count: int) -> int:
        """Row-locking increment: concurrent issues of one type never share a number."""
        return (await self.session.execute(
            update(T).where(T.code == type_code)
            .values(next_sequence=T.next_sequence + count)
            .returning(T.next_sequence - count)
        )).scalar_one()

    async def add_certificates(
        self, t: CertificateTypeInfo, new: list[NewCertificate], batch_id: uuid.UUID,
        principal: str, now: dt.datetime,
    ) -> list[CertificateInfo]:
        rows = [{
            "number": n.number, "type_code": t.code, "kind": t.kind.value,
            "currency": t.currency, "state": n.state.value,
            "denomination_minor": n.denomination_minor, "balance_minor": n.balance_minor,
            "remainder_policy": t.remainder_policy.value, "store_code": n.store_code,
            "batch_id": batch_id, "activated_at": n.activated_at, "valid_from": n.valid_from,
            "expires_at": n.expires_at, "replaces_number": n.replaces_number,
            "created_at": now, "updated_at": now,
        } for n in new]
        inserted = (await self.session.execute(insert(C).returning(*C.__table__.c), rows)).all()
        certs = sorted((certificate_info(r) for r in inserted), key=lambda c: c.number)
        entries = [{
            "certificate_id": c.id, "amount_minor": c.balance_minor,
            "balance_after_minor": c.balance_minor, "store_code": c.store_code,
            "kind": (EntryKind.REISSUE_IN if c.replaces_number else EntryKind.ISSUE).value,
            "principal": principal, "created_at": now,
        } for c in certs if c.state is CertificateState.ACTIVE]
        if entries:
            await self.session.execute(insert(E), entries)
        return certs

    async def certificate(self, number: str, *, for_update: bool = False
                          ) -> CertificateInfo | None:
        query = select(C).where(C.number == number).execution_options(populate_existing=True)
        if for_update:
            query = query.with_for_update()
        row = await self.session.scalar(query)
        return None if row is None else certificate_info(row)

    async def entries(self, certificate_id: int) -> list[EntryInfo]:
        rows = await self.session.scalars(
            select(E).where(E.certificate_id == certificate_id).order_by(E.id))
        return [EntryInfo(EntryKind(r.kind), r.amount_minor, r.balance_after_minor,
                          r.created_at, r.receipt_id, r.store_code, r.sku, r.note)
                for r in rows]

    async def change(
        self, cert: CertificateInfo, *, state: CertificateState, entry: EntryKind,
        amount_minor: int, now: dt.datetime, principal: str, note: str = "",
        store_code: str | None = None, receipt_id: uuid.UUID | None = None,
        **columns: object,
    ) -> CertificateInfo:
        if store_code is not None and entry is EntryKind.ISSUE:
            columns["store_code"] = store_code
        row = (await self.session.execute(
            update(C).where(C.id == cert.id)
            .values(state=state.value, balance_minor=C.balance_minor + amount_minor,
                    updated_at=now, **columns)
            .returning(*C.__table__.c)
        )).one()
        after = certificate_info(row)
        await self.session.execute(insert(E).values(
            certificate_id=cert.id, kind=entry.value, amount_minor=amount_minor,
            balance_after_minor=after.balance_minor, receipt_id=receipt_id,
            store_code=store_code or after.store_code,
            note=note, principal=principal, created_at=now,
        ))
        return after


_EXPIRE = text("""
WITH due AS (
    SELECT id, balance_minor, currency, store_code FROM certificates
     WHERE state IN ('active', 'blocked') AND expires_at <= CAST(:now AS timestamptz)
     ORDER BY id
       FOR UPDATE
), cleared AS (
    UPDATE certificates c
       SET state = 'expired', balance_minor = 0, updated_at = CAST(:now AS timestamptz)
      FROM due WHERE c.id = due.id
    RETURNING c.id
), entries AS (
    INSERT INTO certificate_entries (certificate_id, kind, amount_minor, balance_after_minor,
                                     store_code, note, created_at)
    SELECT id, 'expire', -balance_minor, 0, store_code, 'validity ended',
           CAST(:now AS timestamptz)
      FROM due
)
SELECT currency, COUNT(*) AS n, SUM(balance_minor::numeric) AS written_off FROM due
 GROUP BY currency
 ORDER BY currency
""")


async def expire_due(session: AsyncSession, now: dt.datetime) -> list[tuple[str, int, int]]:
    """Expire active and blocked certificates past validity: (currency, count, written off).

    FOR UPDATE waits for spends in flight and then reads the balance they left, so the
    write-off entry always equals what was still on the certificate.
    """
    rows = await session.execute(_EXPIRE, {"now": now})
    return [(r.currency, int(r.n), int(r.written_off)) for r in rows]


# Every sum is numeric (arbitrary precision), never bigint: certificates issued before face
# values were bounded may hold up to 2^63-1 each, and their sums must not overflow.
_USAGE = text("""
WITH flows AS (
    SELECT COALESCE(e.store_code, '') AS store_code, c.currency,
           COUNT(*) FILTER (WHERE e.kind = 'issue') AS issued_count,
           COALESCE(SUM(e.amount_minor::numeric) FILTER (WHERE e.kind = 'issue'), 0)
               AS issued,
           COALESCE(-SUM(e.amount_minor::numeric)
                    FILTER (WHERE e.kind IN ('redeem', 'refund')), 0) AS redeemed,
           COALESCE(SUM(e.amount_minor::numeric) FILTER (WHERE e.kind = 'refund'), 0)
               AS refunded,
           COALESCE(-SUM(e.amount_minor::numeric) FILTER (WHERE e.kind = 'forfeit'), 0)
               AS forfeited,
           COALESCE(-SUM(e.amount_minor::numeric) FILTER (WHERE e.kind = 'expire'), 0)
               AS expired,
           COUNT(*) FILTER (WHERE e.kind = 'expire' AND e.receipt_id IS NULL)
               AS expired_count
      FROM certificate_entries e JOIN certificates c ON c.id = e.certificate_id
     WHERE e.created_at >= CAST(:from_time AS timestamptz)
       AND e.created_at < CAST(:to_time AS timestamptz)
     GROUP BY 1, 2
), balances AS (
    SELECT certificate_id, SUM(amount_minor::numeric) AS balance FROM certificate_entries
     WHERE created_at < CAST(:to_time AS timestamptz) GROUP BY certificate_id
), outstanding AS (
    SELECT COALESCE(c.store_code, '') AS store_code, c.currency,
           SUM(b.balance) AS outstanding, COUNT(*) FILTER (WHERE b.balance > 0) AS n
      FROM balances b JOIN certificates c ON c.id = b.certificate_id
     GROUP BY 1, 2
)
SELECT store_code, currency,
       COALESCE(f.issued_count, 0) AS issued_count, COALESCE(f.issued, 0) AS issued,
       COALESCE(f.redeemed, 0) AS redeemed, COALESCE(f.refunded, 0) AS refunded,
       COALESCE(f.forfeited, 0) AS forfeited, COALESCE(f.expired, 0) AS expired,
       COALESCE(f.expired_count, 0) AS expired_count,
       COALESCE(o.outstanding, 0) AS outstanding, COALESCE(o.n, 0) AS outstanding_count
  FROM flows f FULL JOIN outstanding o USING (store_code, currency)
 WHERE CAST(:store_code AS varchar) = '' OR store_code = CAST(:store_code AS varchar)
 ORDER BY store_code, currency
""")


async def usage_report(
    session: AsyncSession, from_time: dt.datetime, to_time: dt.datetime, store_code: str
) -> list[UsageRow]:
    """Issued, redeemed, refunded, forfeited, expired in [from, to) and liability at `to`.

    Flows count where they happened (the store of the entry); liability counts for the
    store that sold the certificate. Everything is summed from the ledger, not the caches,
    in numeric: the amounts are exact Python ints, possibly beyond int64 (see usage_to_pb).
    """
    rows = await session.execute(_USAGE, {"from_time": from_time, "to_time": to_time,
                                          "store_code": store_code})
    return [UsageRow(
        store_code=r.store_code, currency=r.currency, issued_count=int(r.issued_count),
        issued_minor=int(r.issued), redeemed_minor=int(r.redeemed),
        refunded_minor=int(r.refunded), forfeited_minor=int(r.forfeited),
        expired_minor=int(r.expired), expired_count=int(r.expired_count),
        outstanding_minor=int(r.outstanding), outstanding_count=int(r.outstanding_count),
    ) for r in rows]


async def certificates_for_export(
    session: AsyncSession, type_code: str | None, state: CertificateState | None
) -> list[tuple[CertificateTypeInfo, CertificateInfo]]:
    """Certificates (with their types) to print, by number."""
    query = select(C, T).join(T, T.code == C.type_code).order_by(C.number)
    if type_code:
        query = query.where(C.type_code == type_code)
    if state is not None:
        query = query.where(C.state == state.value)
    return [(type_info(t), certificate_info(c)) for c, t in (await session.execute(query)).all()]
