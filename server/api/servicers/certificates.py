"""CertificateService: protobuf in, certificates domain and ledger, protobuf out."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import certificates_pb2 as pb
from kopilka.v1 import certificates_pb2_grpc, common_pb2
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import money, timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.scope import (
    acting_store_in_scope,
    check_receipt_in_scope,
    may_act_on,
    out_of_scope,
    session_networks,
)
from server.certificates import service
from server.certificates.model import (
    BarcodeFormat,
    CertificateInfo,
    CertificateKind,
    CertificateState,
    CertificateTypeInfo,
    EntryInfo,
    ExpiredRefundPolicy,
    RemainderPolicy,
    UsageRow,
)
from server.certificates.validity import effective_state
from server.db.audit.repo import Change, record
from server.db.certificates import payments
from server.db.certificates.repo import SqlCertificateRepository, expire_due, usage_report
from server.db.database import Database
from server.errors import Violations, invalid, not_found

SERVICE = "/kopilka.v1.CertificateService/"
DEFAULT_REFUND_EXTENSION_DAYS = 30

KINDS = {pb.CERTIFICATE_KIND_MONEY: CertificateKind.MONEY,
         pb.CERTIFICATE_KIND_PRODUCT: CertificateKind.PRODUCT}
STATES = {
    CertificateState.NEW: pb.CERTIFICATE_STATE_NEW,
    CertificateState.ACTIVE: pb.CERTIFICATE_STATE_ACTIVE,
    CertificateState.REDEEMED: pb.CERTIFICATE_STATE_REDEEMED,
    CertificateState.EXPIRED: pb.CERTIFICATE_STATE_EXPIRED,
    CertificateState.BLOCKED: pb.CERTIFICATE_STATE_BLOCKED,
    CertificateState.CLOSED: pb.CERTIFICATE_STATE_CLOSED,
}
FORMATS = {pb.BARCODE_FORMAT_UNSPECIFIED: BarcodeFormat.EAN13,
           pb.BARCODE_FORMAT_EAN13: BarcodeFormat.EAN13,
           pb.BARCODE_FORMAT_CODE128: BarcodeFormat.CODE128}
REMAINDERS = {pb.REMAINDER_POLICY_UNSPECIFIED: RemainderPolicy.KEEP,
              pb.REMAINDER_POLICY_KEEP: RemainderPolicy.KEEP,
              pb.REMAINDER_POLICY_FORFEIT: RemainderPolicy.FORFEIT}
EXPIRED_REFUNDS = {pb.EXPIRED_REFUND_POLICY_UNSPECIFIED: ExpiredRefundPolicy.REACTIVATE,
                   pb.EXPIRED_REFUND_POLICY_REACTIVATE: ExpiredRefundPolicy.REACTIVATE,
                   pb.EXPIRED_REFUND_POLICY_FORFEIT: ExpiredRefundPolicy.FORFEIT}


K = TypeVar("K")
V = TypeVar("V")


def _inverse(mapping: dict[K, V]) -> dict[V, K]:
    """Domain value -> proto enum value; the UNSPECIFIED (zero) keys are only read."""
    return {v: k for k, v in mapping.items() if k}


def _time(ts: Timestamp, field: str, bad: Violations) -> dt.datetime | None:
    if not ts.seconds and not ts.nanos:
        return None
    try:
        return ts.ToDatetime(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        bad.add(field, "not a valid time")
        return None


def type_from_pb(t: pb.CertificateType) -> CertificateTypeInfo:
    """Proto type -> domain type; enum values out of range name their field."""
    bad = Violations()
    f = "certificate_type"
    kind = KINDS.get(t.kind)
    if kind is None:
        bad.add(f"{f}.kind", "required: money or product")
    for name, table, value in (("barcode_format", FORMATS, t.barcode_format),
                               ("remainder_policy", REMAINDERS, t.remainder_policy),
                               ("expired_refund_policy", EXPIRED_REFUNDS,
                                t.expired_refund_policy)):
        if value not in table:
            bad.add(f"{f}.{name}", "unknown value")
    valid_from = _time(t.valid_from_time, f"{f}.valid_from_time", bad)
    valid_until = _time(t.valid_until_time, f"{f}.valid_until_time", bad)
    bad.raise_if_any()
    assert kind is not None
    policy = EXPIRED_REFUNDS[t.expired_refund_policy]
    extension = t.refund_extension_days
    if extension == 0 and policy is ExpiredRefundPolicy.REACTIVATE:
        extension = DEFAULT_REFUND_EXTENSION_DAYS
    return CertificateTypeInfo(
        code=t.code, name=t.name, kind=kind, currency=t.currency,
        denominations=tuple(t.denominations_minor), barcode_format=FORMATS[t.barcode_format],
        number_prefix=t.number_prefix, remainder_policy=REMAINDERS[t.remainder_policy],
        valid_days=t.valid_days, valid_from=valid_from, valid_until=valid_until,
        expired_refund_policy=policy, refund_extension_days=extension,
        product_skus=tuple(t.product_skus), product_groups=tuple(t.product_groups),
        template=t.template, min_denomination_minor=t.min_denomination_minor,
        max_denomination_minor=t.max_denomination_minor,
        denomination_step_minor=t.denomination_step_minor,
    )


def type_to_pb(t: CertificateTypeInfo) -> pb.CertificateType:
    return pb.CertificateType(
        code=t.code, name=t.name, kind=_inverse(KINDS)[t.kind], currency=t.currency,
        denominations_minor=list(t.denominations),
        barcode_format=_inverse(FORMATS)[t.barcode_format], number_prefix=t.number_prefix,
        remainder_policy=_inverse(REMAINDERS)[t.remainder_policy], valid_days=t.valid_days,
        valid_from_time=timestamp(t.valid_from), valid_until_time=timestamp(t.valid_until),
        expired_refund_policy=_inverse(EXPIRED_REFUNDS)[t.expired_refund_policy],
        refund_extension_days=t.refund_extension_days, product_skus=list(t.product_skus),
        product_groups=list(t.product_groups), template=t.template,
        min_denomination_minor=t.min_denomination_minor,
        max_denomination_minor=t.max_denomination_minor,
        denomination_step_minor=t.denomination_step_minor,
    )


def certificate_to_pb(c: CertificateInfo, now: dt.datetime) -> pb.Certificate:
    return pb.Certificate(
        number=c.number, certificate_type=c.type_code, kind=_inverse(KINDS)[c.kind],
        state=STATES[effective_state(c, now)], denomination=money(c.denomination_minor,
                                                                  c.currency),
        balance=money(c.balance_minor, c.currency), activate_time=timestamp(c.activated_at),
        expire_time=timestamp(c.expires_at), store_code=c.store_code or "",
        replaces_number=c.replaces_number or "", replaced_by_number=c.replaced_by_number or "",
        valid_from_time=timestamp(c.valid_from),
        remainder_policy=_inverse(REMAINDERS)[c.remainder_policy],
    )


def entry_to_pb(e: EntryInfo, with_receipt: bool = True) -> pb.CertificateEntry:
    """An entry; `with_receipt=False` hides the receipt id of a store outside the caller's
    scope (the certificate travels the chain, other stores' receipts stay theirs)."""
    receipt = str(e.receipt_id) if e.receipt_id and with_receipt else ""
    return pb.CertificateEntry(
        amount_minor=e.amount_minor, kind=e.kind.value,
        receipt_id=receipt, create_time=timestamp(e.created_at),
        balance_after_minor=e.balance_after_minor, store_code=e.store_code or "",
        sku=e.sku or "", note=e.note,
    )


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def usage_to_pb(r: UsageRow) -> pb.CertificateUsageRow:
    """The report sums exactly (Python ints); an amount past int64, possible only with
    certificates issued before face values were bounded, shows the limit and is flagged."""
    amounts = {name: getattr(r, name) for name in (
        "issued_minor", "redeemed_minor", "refunded_minor", "forfeited_minor", "expired_minor",
        "outstanding_minor")}
    fitted = {name: min(max(value, INT64_MIN), INT64_MAX) for name, value in amounts.items()}
    return pb.CertificateUsageRow(
        store_code=r.store_code, currency=r.currency, issued_count=r.issued_count,
        expired_count=r.expired_count, outstanding_count=r.outstanding_count,
        amounts_saturated=fitted != amounts, **fitted,
    )


def _number(value: str, field: str = "number") -> str:
    number = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9]{2,32}", number):
        raise invalid(field, "required: 2 to 32 letters or digits")
    return number.upper()


def _amount(amount: common_pb2.Money, field: str = "amount") -> tuple[int, str]:
    bad = Violations()
    if amount.amount_minor <= 0:
        bad.add(f"{field}.amount_minor", "must be positive")
    if not re.fullmatch(r"[A-Z]{3}", amount.currency):
        bad.add(f"{field}.currency", "ISO 4217 code, e.g. UAH")
    bad.raise_if_any()
    return amount.amount_minor, amount.currency


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _live(repo: SqlCertificateRepository, number: str) -> CertificateInfo:
    """The certificate, or the reissue that now carries its balance."""
    cert = await repo.certificate(number)
    assert cert is not None
    while cert.replaced_by_number:
        successor = await repo.certificate(cert.replaced_by_number)
        assert successor is not None
        cert = successor
    return cert


def _unscoped() -> bool:
    p = caller()
    return p.store_code is None and p.network_code is None


async def _issued_in_scope(session: AsyncSession, number: str) -> None:
    """Blocking or reissuing is for the keys whose scope holds the store that issued it."""
    cert = await SqlCertificateRepository(session).certificate(number)
    if cert is None:
        raise not_found("certificate", number, "CERTIFICATE_NOT_FOUND")
    if not await may_act_on(cert.store_code, session_networks(session)):
        raise out_of_scope("number")


def _state(cert: CertificateInfo | None) -> dict[str, object]:
    """The part of a certificate a state change changes."""
    if cert is None:
        return {}
    return {"state": cert.state, "balance_minor": cert.balance_minor}


def expiry_change(rows: list[tuple[str, int, int]], batch: str) -> Change:
    """One audit row per expiry run: how many certificates and how much, per currency."""
    return Change("certificate_expiry", batch, "expire", None,
                  [{"currency": c, "count": n, "written_off_minor": a} for c, n, a in rows])


async def activate_once(
    db: Database, request: pb.ActivateCertificateRequest,
    store_of: Callable[[AsyncSession], Awaitable[str]], *, principal: str,
    principal_id: uuid.UUID | None = None,
) -> pb.ActivateCertificateResponse:
    """The one activation path (the RPC, `kopilka certificates activate --scanner`):
    idempotent on the request id, audited for the current actor, in one transaction.
    ``store_of`` is the door's own check of the store it acts for."""
    number = _number(request.number)

    async def work(session: AsyncSession) -> pb.ActivateCertificateResponse:
        store = await store_of(session)
        now = _now()
        repo = SqlCertificateRepository(session)
        old = await repo.certificate(number)
        cert = await service.activate(repo, number=number, store_code=store, now=now,
                                      principal=principal)
        await record(session, Change("certificate", cert.number, "activate", _state(old), cert))
        return pb.ActivateCertificateResponse(certificate=certificate_to_pb(cert, now))

    return await run_once(db, SERVICE + "ActivateCertificate", request,
                          pb.ActivateCertificateResponse, work, principal_id=principal_id)


class CertificateServicer(certificates_pb2_grpc.CertificateServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def UpsertCertificateType(
        self, request: pb.UpsertCertificateTypeRequest, context: Context
    ) -> pb.UpsertCertificateTypeResponse:
        t = type_from_pb(request.certificate_type)

        async def work(session: AsyncSession) -> pb.UpsertCertificateTypeResponse:
            repo = SqlCertificateRepository(session)
            old = await repo.certificate_type(t.code)
            stored = await service.upsert_type(repo, t)
            await record(session, Change("certificate_type", t.code, "upsert", old, stored))
            return pb.UpsertCertificateTypeResponse(certificate_type=type_to_pb(stored))

        return await run_once(self.deps.db, SERVICE + "UpsertCertificateType", request,
                              pb.UpsertCertificateTypeResponse, work)

    async def ListCertificateTypes(
        self, request: pb.ListCertificateTypesRequest, context: Context
    ) -> pb.ListCertificateTypesResponse:
        async with self.deps.db.transaction() as session:
            types = await SqlCertificateRepository(session).list_types()
        return pb.ListCertificateTypesResponse(certificate_types=[type_to_pb(t) for t in types])

    async def IssueCertificate(
        self, request: pb.IssueCertificateRequest, context: Context
    ) -> pb.IssueCertificateResponse:
        if not request.certificate_type:
            raise invalid("certificate_type", "required")

        async def work(session: AsyncSession) -> pb.IssueCertificateResponse:
            store = await acting_store_in_scope(request.store_code, session_networks(session))
            now = _now()
            certs = await service.issue(
                SqlCertificateRepository(session), type_code=request.certificate_type,
                count=request.count or 1, store_code=store,
                denomination_minor=request.denomination_minor, print_only=request.print_only,
                now=now, principal=caller().label, batch_id=uuid.UUID(request.request_id),
            )
            await record(session, *(Change("certificate", c.number, "issue", None, c)
                                    for c in certs))
            return pb.IssueCertificateResponse(
                certificates=[certificate_to_pb(c, now) for c in certs])

        return await run_once(self.deps.db, SERVICE + "IssueCertificate", request,
                              pb.IssueCertificateResponse, work)

    async def ActivateCertificate(
        self, request: pb.ActivateCertificateRequest, context: Context
    ) -> pb.ActivateCertificateResponse:
        async def store_of(session: AsyncSession) -> str:
            return await acting_store_in_scope(request.store_code, session_networks(session))

        return await activate_once(self.deps.db, request, store_of, principal=caller().label)

    async def GetCertificate(
        self, request: pb.GetCertificateRequest, context: Context
    ) -> pb.GetCertificateResponse:
        number = _number(request.number)
        async with self.deps.db.transaction() as session:
            cert, entries = await service.get(SqlCertificateRepository(session), number)
            networks = session_networks(session)
            shown = [entry_to_pb(e, not e.store_code or await may_act_on(e.store_code, networks))
                     for e in entries]
        return pb.GetCertificateResponse(certificate=certificate_to_pb(cert, _now()),
                                         entries=shown)

    async def RedeemCertificate(
        self, request: pb.RedeemCertificateRequest, context: Context
    ) -> pb.RedeemCertificateResponse:
        number = _number(request.number)
        receipt_id = parse_uuid(request.receipt_id, "receipt_id")
        if request.sku and request.HasField("amount"):
            raise invalid("sku", "give amount for a money certificate or sku for a product "
                          "certificate, not both")
        if not request.sku and not request.HasField("amount"):
            raise invalid("amount", "required (or sku for a product certificate)")
        amount = _amount(request.amount) if request.HasField("amount") else None
        if request.sku and len(request.sku) > 64:
            raise invalid("sku", "at most 64 characters")

        async def work(session: AsyncSession) -> pb.RedeemCertificateResponse:
            store = await acting_store_in_scope(request.store_code, session_networks(session))
            await check_receipt_in_scope(session, receipt_id)  # else it pays for nothing
            now = _now()
            if amount is not None:
                await payments.pay_with_certificate(
                    session, number=number, amount_minor=amount[0], currency=amount[1],
                    receipt_id=receipt_id, store_code=store, now=now)
            else:
                await payments.redeem_for_product(session, number=number, sku=request.sku,
                                                  receipt_id=receipt_id, store_code=store,
                                                  now=now)
            cert = await SqlCertificateRepository(session).certificate(number)
            assert cert is not None
            return pb.RedeemCertificateResponse(certificate=certificate_to_pb(cert, now))

        return await run_once(self.deps.db, SERVICE + "RedeemCertificate", request,
                              pb.RedeemCertificateResponse, work)

    async def RefundToCertificate(
        self, request: pb.RefundToCertificateRequest, context: Context
    ) -> pb.RefundToCertificateResponse:
        number = _number(request.number)
        receipt_id = parse_uuid(request.receipt_id, "receipt_id")
        amount_minor, currency = _amount(request.amount)

        async def work(session: AsyncSession) -> pb.RefundToCertificateResponse:
            now = _now()
            repo = SqlCertificateRepository(session)
            cert = await repo.certificate(number)
            if cert is not None and cert.currency != currency:
                raise invalid("amount.currency", f"the certificate is in {cert.currency}")
            networks = session_networks(session)

            async def spent_in_scope(store_code: str | None) -> bool:
                return await may_act_on(store_code, networks)

            await payments.refund_to_certificate(session, number=number,
                                                 amount_minor=amount_minor,
                                                 receipt_id=receipt_id, now=now,
                                                 spent_in_scope=spent_in_scope)
            return pb.RefundToCertificateResponse(
                certificate=certificate_to_pb(await _live(repo, number), now))

        return await run_once(self.deps.db, SERVICE + "RefundToCertificate", request,
                              pb.RefundToCertificateResponse, work)

    async def BlockCertificate(
        self, request: pb.BlockCertificateRequest, context: Context
    ) -> pb.BlockCertificateResponse:
        number = _number(request.number)

        async def work(session: AsyncSession) -> pb.BlockCertificateResponse:
            now = _now()
            await _issued_in_scope(session, number)
            repo = SqlCertificateRepository(session)
            old = await repo.certificate(number)
            cert = await service.block(repo, number=number,
                                       reason=request.reason, now=now,
                                       principal=caller().label)
            await record(session, Change("certificate", cert.number, "block", _state(old),
                                         {**_state(cert), "reason": request.reason}))
            return pb.BlockCertificateResponse(certificate=certificate_to_pb(cert, now))

        return await run_once(self.deps.db, SERVICE + "BlockCertificate", request,
                              pb.BlockCertificateResponse, work)

    async def ReissueCertificate(
        self, request: pb.ReissueCertificateRequest, context: Context
    ) -> pb.ReissueCertificateResponse:
        number = _number(request.number)

        async def work(session: AsyncSession) -> pb.ReissueCertificateResponse:
            now = _now()
            await _issued_in_scope(session, number)
            old, new = await service.reissue(
                SqlCertificateRepository(session), number=number, reason=request.reason,
                now=now, principal=caller().label, batch_id=uuid.UUID(request.request_id))
            await record(session, Change("certificate", old.number, "reissue", None,
                                         {**_state(old), "replaced_by": new.number,
                                          "reason": request.reason}),
                         Change("certificate", new.number, "issue", None, new))
            return pb.ReissueCertificateResponse(old_certificate=certificate_to_pb(old, now),
                                                 new_certificate=certificate_to_pb(new, now))

        return await run_once(self.deps.db, SERVICE + "ReissueCertificate", request,
                              pb.ReissueCertificateResponse, work)

    async def ExpireCertificates(
        self, request: pb.ExpireCertificatesRequest, context: Context
    ) -> pb.ExpireCertificatesResponse:
        async def work(session: AsyncSession) -> pb.ExpireCertificatesResponse:
            rows = await expire_due(session, _now())
            if rows:
                await record(session, expiry_change(rows, request.request_id))
            # min(): only certificates issued before face values were bounded can sum past
            # int64; the write-off must not fail over how it is shown
            return pb.ExpireCertificatesResponse(
                expired_count=sum(n for _, n, _ in rows),
                written_off=[money(min(amount, INT64_MAX), currency)
                             for currency, _, amount in rows])

        return await run_once(self.deps.db, SERVICE + "ExpireCertificates", request,
                              pb.ExpireCertificatesResponse, work)

    async def GetCertificateUsageReport(
        self, request: pb.GetCertificateUsageReportRequest, context: Context
    ) -> pb.GetCertificateUsageReportResponse:
        bad = Violations()
        start = _time(request.from_time, "from_time", bad)
        end = _time(request.to_time, "to_time", bad)
        if start is None and not bad.items:
            bad.add("from_time", "required")
        if end is None and not any(v.field == "to_time" for v in bad.items):
            bad.add("to_time", "required")
        if start and end and start >= end:
            bad.add("to_time", "must be after from_time")
        bad.raise_if_any()
        assert start is not None and end is not None
        async with self.deps.db.transaction() as session:
            store = request.store_code
            if store or not _unscoped():  # a store's or a network's key sees its stores only
                store = await acting_store_in_scope(store, session_networks(session))
            rows = await usage_report(session, start, end, store)
        return pb.GetCertificateUsageReportResponse(rows=[usage_to_pb(r) for r in rows])
