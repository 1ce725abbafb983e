"""Shared setup of the online-order e2e tests: stores, products, a card type, members."""

from __future__ import annotations

import uuid

from kopilka.v1 import admin_pb2, bonus_pb2, members_pb2, orders_pb2

O = orders_pb2  # noqa: E741
WEB = "web"
PICKUP = "kyiv-01"
SKUS = [(f"sku-{i:02d}", f"Product {i}", "dairy" if i % 2 else "bakery", "Brand A" if i < 5
         else "Brand B") for i in range(1, 31)]


async def setup_shop(app, admin) -> None:  # type: ignore[no-untyped-def]
    """The web store, two pickup stores, 30 products, a 5% card type."""
    for code in (WEB, PICKUP, "lviv-01"):
        await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
            store=admin_pb2.Store(code=code, name=code, time_zone="Europe/Kyiv")))
    await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
        card_type=admin_pb2.CardType(code="silver", name="Silver", accrual_bps=500,
                                     number_prefix="2900")))
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku=sku, name=name, group_code=group, brand=brand)
        for sku, name, group, brand in SKUS]))
    await app.deps.pricing.refresh()


async def member_with_points(admin, phone: str, points: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(member id, card number) of a new member holding `points`."""
    reply = await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=str(uuid.uuid4()),
        profile=members_pb2.MemberProfile(first_name="Olena", phone=phone),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="silver"))
    card = reply.member.cards[0].number
    if points:
        await admin.bonus.AdjustPoints(bonus_pb2.AdjustPointsRequest(
            request_id=str(uuid.uuid4()), card_number=card, points=points, reason="test",
            reason_code=bonus_pb2.ADJUSTMENT_REASON_CORRECTION))
    return reply.member.member_id, card


async def balance(admin, card: str) -> int:  # type: ignore[no-untyped-def]
    reply = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=card))
    return int(reply.points_available)


def lines(*items: tuple[str, int, int]) -> list[orders_pb2.NewOrderLine]:
    """(sku, quantity in thousandths, unit price) numbered from 1."""
    return [O.NewOrderLine(line_no=i, sku=sku, quantity_milli=q, unit_price_minor=p)
            for i, (sku, q, p) in enumerate(items, 1)]


def place(customer: orders_pb2.Customer, order_lines: list[orders_pb2.NewOrderLine], *,
          points: int = 0, number: str = "W-1", request_id: str | None = None,
          delivery: orders_pb2.Delivery | None = None) -> orders_pb2.PlaceOrderRequest:
    return O.PlaceOrderRequest(
        request_id=request_id or str(uuid.uuid4()), external_number=number,
        customer=customer, lines=order_lines, points_to_spend=points, comment="call first",
        delivery=delivery or O.Delivery(kind=O.DELIVERY_KIND_PICKUP, pickup_store_code=PICKUP))


def rid() -> str:
    return str(uuid.uuid4())
