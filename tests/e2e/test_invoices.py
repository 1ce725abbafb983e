"""Invoices: one PDF per legal entity of an order (ReportLab, DejaVu Sans), numbered per
entity without gaps, downloadable by RPC and by a signed HTTP link, e-mailed through the
outbox. The PDF's text is read back with pdftotext (poppler-utils)."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from decimal import Decimal

import aiohttp
import pytest
from kopilka.v1 import members_pb2
from sqlalchemy import text

from server.settings import Settings
from tests.e2e.orders_support import WEB, O, lines, place, setup_shop
from tests.e2e.payments_support import P, rid, two_entities
from tests.helpers import rpc_error

SHOP_URL = "https://shop.example"
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext missing: apt install poppler-utils")


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
                    http_listen="127.0.0.1:0", orders_public_url=SHOP_URL)


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def amounts(line: str) -> list[Decimal]:
    return [Decimal(x.replace(" ", "")) for x in re.findall(r"-?\d[\d ]*\.\d{2}\b", line)]


async def an_order(admin, web, email: str):  # type: ignore[no-untyped-def]
    reply = await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=rid(), profile=members_pb2.MemberProfile(
            first_name="Олена", last_name="Коваленко", email=email),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="silver"))
    card = reply.member.cards[0].number
    return (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card, language="uk"),
        lines(("sku-01", 2000, 12345), ("sku-03", 1500, 3333), ("sku-02", 1000, 8000)),
        number=f"W-{uuid.uuid4().hex[:6]}"))).order


async def test_invoices_per_entity_numbered_printed_and_mailed(app, admin, make_key,
                                                              client_for):
    await setup_shop(app, admin)
    await two_entities(admin)
    web = client_for(await make_key("store_backend", store_code=WEB))
    order = await an_order(admin, web, "olena@example.com")
    issue = P.IssueInvoicesRequest(request_id=rid(), order_id=order.order_id, send_email=True)
    first = await web.payments.IssueInvoices(issue)
    assert await web.payments.IssueInvoices(issue) == first  # idempotent on request_id
    got = {i.entity_code: i for i in first.invoices}
    shop_total = sum(x.final_amount_minor for x in order.lines if x.sku != "sku-02")
    assert (got["shop"].number, got["shop"].total_minor) == ("SHOP-000001", shop_total)
    assert got["shop"].vat_minor == (shop_total + 3) // 6  # 20/120, to the kopeck
    assert (got["fop"].number, got["fop"].total_minor, got["fop"].vat_minor) == (
        "FOP-000001", 8000, 0)

    pdf = await web.payments.GetInvoicePdf(P.GetInvoicePdfRequest(
        invoice_id=got["shop"].invoice_id))
    assert pdf.file_name == "SHOP-000001.pdf"
    page = pdf_text(pdf.pdf)
    for needle in ("Рахунок № SHOP-000001", "ТОВ «Копілка Рітейл»", "Код ЄДРПОУ: 14360570",
                   "IBAN: UA213223130000026007233566001", "Покупець: Олена Коваленко",
                   f"Замовлення: {order.external_number}", "Product 1 (sku-01)",
                   "Product 3 (sku-03)", "платник ПДВ"):
        assert needle in page, needle
    assert "sku-02" not in page  # the other entity's line is on its own invoice
    rows = [amounts(x) for x in page.splitlines() if "(sku-0" in x]
    assert len(rows) == 2
    for _price, base, discount, pay in rows:  # each line: base - discount = to pay
        assert base - discount == pay
    [total_row] = [amounts(x) for x in page.splitlines() if "Разом" in x]
    assert total_row == [sum(r[1] for r in rows), sum(r[2] for r in rows),
                         sum(r[3] for r in rows)]
    assert f"Всього до сплати: {Decimal(shop_total) / 100:.2f} UAH" in page
    assert f"ПДВ 20%: {Decimal(got['shop'].vat_minor) / 100:.2f} UAH" in page
    fop_page = pdf_text((await web.payments.GetInvoicePdf(P.GetInvoicePdfRequest(
        invoice_id=got["fop"].invoice_id))).pdf)
    assert "ФОП Петренко Ірина Олегівна" in fop_page and "Без ПДВ" in fop_page
    assert "Всього до сплати: 80.00 UAH" in fop_page

    # the signed link over HTTP: the same bytes; a forged one is refused
    local = f"http://127.0.0.1:{app.http.port}"
    url = got["shop"].download_url
    assert url.startswith(f"{SHOP_URL}/payments/invoices/")
    async with aiohttp.ClientSession() as session:
        async with session.get(local + url.removeprefix(SHOP_URL)) as response:
            assert response.status == 200
            assert response.content_type == "application/pdf"
            assert await response.read() == pdf.pdf
        async with session.get(local + url.removeprefix(SHOP_URL)[:-3] + "xyz") as response:
            assert response.status == 403

    # e-mailed through the outbox, with both links
    async with app.db.transaction() as session:
        mail = (await session.execute(text(
            "SELECT channel, recipient, subject, body FROM mailings WHERE id = :id"),
            {"id": uuid.UUID(first.mailing_id)})).one()
    assert (mail.channel, mail.recipient) == ("email", "olena@example.com")
    assert got["shop"].download_url in mail.body and got["fop"].download_url in mail.body

    # numbered per entity without gaps: issuing again gives the same numbers, a refused
    # issue takes no number, the next order takes the next ones
    again = await web.payments.IssueInvoices(P.IssueInvoicesRequest(
        request_id=rid(), order_id=order.order_id))
    assert sorted(i.number for i in again.invoices) == ["FOP-000001", "SHOP-000001"]
    cancelled = await an_order(admin, web, "taras@example.com")
    await web.orders.CancelOrder(O.CancelOrderRequest(
        request_id=rid(), order_id=cancelled.order_id, expected_version=1, reason="test"))
    with rpc_error() as failure:
        await web.payments.IssueInvoices(P.IssueInvoicesRequest(
            request_id=rid(), order_id=cancelled.order_id))
    assert failure.reason == "ORDER_STATE_CONFLICT"
    nxt = await an_order(admin, web, "ivan@example.com")
    numbers = sorted(i.number for i in (await web.payments.IssueInvoices(
        P.IssueInvoicesRequest(request_id=rid(), order_id=nxt.order_id))).invoices)
    assert numbers == ["FOP-000002", "SHOP-000002"]
