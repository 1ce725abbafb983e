"""Shared set-up for the certificate e2e tests: stores, types, issue, spend."""

from __future__ import annotations

import uuid

from kopilka.v1 import admin_pb2, common_pb2, receipts_pb2
from kopilka.v1 import certificates_pb2 as C


def rid() -> str:
    return str(uuid.uuid4())


def uah(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="UAH")


async def setup_stores(admin, *codes: str) -> None:
    for code in codes or ("kyiv-01",):
        await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
            store=admin_pb2.Store(code=code, name=code)))


def money_type(code: str = "gift", prefix: str = "2100", **fields) -> C.CertificateType:
    values = dict(code=code, name=f"Gift {code}", kind=C.CERTIFICATE_KIND_MONEY, currency="UAH",
                  denominations_minor=[50000, 100000], number_prefix=prefix, valid_days=365)
    values.update(fields)
    return C.CertificateType(**values)


async def upsert_type(admin, certificate_type: C.CertificateType) -> C.CertificateType:
    reply = await admin.certificates.UpsertCertificateType(C.UpsertCertificateTypeRequest(
        request_id=rid(), certificate_type=certificate_type))
    return reply.certificate_type


async def issue(client, certificate_type: str = "gift", count: int = 1, store: str = "kyiv-01",
                denomination: int = 100000, **fields) -> list[C.Certificate]:
    reply = await client.certificates.IssueCertificate(C.IssueCertificateRequest(
        request_id=rid(), certificate_type=certificate_type, count=count, store_code=store,
        denomination_minor=denomination, **fields))
    return list(reply.certificates)


APP = None  # the test's server, a getter (tests/e2e/conftest.py sets it): sale() refreshes


async def sale(client, store: str = "kyiv-01", price: int = 100) -> str:
    """A confirmed receipt (paid in cash) that a certificate can then pay for: its id."""
    if APP is not None:
        await APP().deps.pricing.refresh()  # knows the stores the test has just created
    calc = await client.receipts.CalculateReceipt(receipts_pb2.CalculateReceiptRequest(
        store_code=store, lines=[receipts_pb2.ReceiptLine(
            line_no=1, sku="ANY-1", quantity_milli=1000, unit_price_minor=price)]))
    done = await client.receipts.ConfirmReceipt(receipts_pb2.ConfirmReceiptRequest(
        request_id=rid(), calculation_id=calc.calculation_id, receipt_number=rid(),
        payments=[receipts_pb2.Payment(method=receipts_pb2.PAYMENT_METHOD_CASH,
                                       amount_minor=calc.total.amount_minor)]))
    return done.receipt_id


async def redeem(client, number: str, amount: int | None = None, sku: str = "",
                 receipt_id: str | None = None, store: str = "kyiv-01") -> C.Certificate:
    """Spend `number` on `receipt_id`, or on a new receipt of `store` when it is None."""
    if receipt_id is None:
        receipt_id = await sale(client, store)
    request = C.RedeemCertificateRequest(request_id=rid(), number=number,
                                         receipt_id=receipt_id, store_code=store,
                                         sku=sku)
    if amount is not None:
        request.amount.CopyFrom(uah(amount))
    return (await client.certificates.RedeemCertificate(request)).certificate


async def refund(client, number: str, amount: int, receipt_id: str) -> C.Certificate:
    reply = await client.certificates.RefundToCertificate(C.RefundToCertificateRequest(
        request_id=rid(), number=number, receipt_id=receipt_id, amount=uah(amount)))
    return reply.certificate


async def history(client, number: str) -> C.GetCertificateResponse:
    return await client.certificates.GetCertificate(C.GetCertificateRequest(number=number))


def entry_kinds(reply: C.GetCertificateResponse) -> list[tuple[str, int]]:
    return [(e.kind, e.amount_minor) for e in reply.entries]


def assert_ledger_matches(reply: C.GetCertificateResponse) -> None:
    """The balance cache equals the ledger sum and every running balance adds up."""
    running = 0
    for entry in reply.entries:
        running += entry.amount_minor
        assert entry.balance_after_minor == running
    assert reply.certificate.balance.amount_minor == running
