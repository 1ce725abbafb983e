"""Shared setup of the payments e2e tests: two legal entities selling in one order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from kopilka.v1 import payments_pb2

from server.settings import Settings
from tests.e2e.orders_support import WEB, O, lines, member_with_points, place
from tests.liqpay_peer import FakeLiqPay

P = payments_pb2
PUBLIC, PRIVATE = "i00000000001", "sandbox_private_key_123"  # the LiqPay shop's keys
SHOP_URL = "https://shop.example"


@asynccontextmanager
async def running_liqpay() -> AsyncIterator[FakeLiqPay]:
    """The LiqPay fake (tests/liqpay_peer.py) on a loopback port, for the shop above."""
    peer = FakeLiqPay(PUBLIC, PRIVATE)
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()


def liqpay_settings(tmp_path: Path, liqpay: FakeLiqPay) -> Settings:
    """A server with the HTTP site (callbacks) and the LiqPay plugin pointed at the fake."""
    return Settings(
        grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
        log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
        http_listen="127.0.0.1:0", orders_public_url=SHOP_URL,
        plugin_settings={"liqpay": {"public_key": PUBLIC, "private_key": PRIVATE,
                                    "api_url": f"{liqpay.url}/api/request",
                                    "checkout_url": f"{liqpay.url}/api/3/checkout"}})
# EDRPOU codes with a valid check digit (PrivatBank 14360570, Naftogaz 20077720) and two
# IBANs passing mod-97
SHOP = P.LegalEntity(code="shop", name="ТОВ «Копілка Рітейл»", edrpou="14360570",
                     iban="UA213223130000026007233566001",
                     tax_status=P.TAX_STATUS_VAT_PAYER, address="м. Київ, вул. Хрещатик, 1",
                     nova_poshta=P.NovaPoshtaSender(
                         sender_ref="6e9acced-d072-11e3-95eb-0050568046cd",
                         contact_ref="d9a04d7e-6a53-11e8-8b24-005056881c6b",
                         city_ref="8d5a980d-391c-11dd-90d9-001a92567626",
                         address_ref="1ec09d88-e1c2-11e3-8c4a-0050568002cf",
                         phone="380671112233"))
FOP = P.LegalEntity(code="fop", name="ФОП Петренко Ірина Олегівна", edrpou="20077720",
                    iban="UA353052990000026000052733333", tax_status=P.TAX_STATUS_SINGLE_TAX,
                    address="м. Львів, пл. Ринок, 2",
                    nova_poshta=P.NovaPoshtaSender(
                        sender_ref="7e9acced-d072-11e3-95eb-0050568046cd",
                        contact_ref="e9a04d7e-6a53-11e8-8b24-005056881c6b",
                        city_ref="db5c88f5-391c-11dd-90d9-001a92567626",
                        address_ref="2ec09d88-e1c2-11e3-8c4a-0050568002cf",
                        phone="380501112233"))


def rid() -> str:
    return str(uuid.uuid4())


async def two_entities(admin) -> None:  # type: ignore[no-untyped-def]
    """shop owns the web store (so sku-01); fop sells sku-02 wherever it is sold."""
    for entity in (SHOP, FOP):
        await admin.payments.UpsertLegalEntity(P.UpsertLegalEntityRequest(
            request_id=rid(), entity=entity))
    await admin.payments.AssignToEntity(P.AssignToEntityRequest(
        request_id=rid(), entity_code="shop", store_codes=[WEB]))
    await admin.payments.AssignToEntity(P.AssignToEntityRequest(
        request_id=rid(), entity_code="fop", skus=["sku-02"]))


async def split_order(admin, web, phone: str = "+380675550101", points: int = 0):  # type: ignore[no-untyped-def]
    """An order of 2 x sku-01 at 123.45 (shop: 246.90) and 1 x sku-02 at 80.00 (fop)."""
    _, card = await member_with_points(admin, phone, points)
    order = (await web.orders.PlaceOrder(place(
        O.Customer(card_number=card, language="uk"),
        lines(("sku-01", 2000, 12345), ("sku-02", 1000, 8000))))).order
    return order, card


def pay(method: int, amount: int, entity: str = "", certificate: str = "") -> P.NewPayment:
    return P.NewPayment(method=method, amount_minor=amount, entity_code=entity,
                        certificate_number=certificate)
