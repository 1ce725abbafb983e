"""Shared set-up of the shopping e2e tests: two web stores, a catalog, members, a web key."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from kopilka.v1 import admin_pb2, members_pb2
from kopilka.v1 import shopping_pb2 as S
from sqlalchemy import text

from server.auth.principal import PrincipalKind
from tests.helpers import rid

WEB = "web-01"
OTHER = "web-02"
SKUS = ("milk-1", "bread-1", "butter-1", "cheese-1", "jam-1", "tea-1")


@dataclass
class World:
    web: Any  # a client with the web shop's key (store_backend bound to WEB)
    members: list[tuple[str, str, str]]  # (member_id, card number, phone)


async def setup_world(admin, make_key, client_for, members: int = 2) -> World:  # type: ignore[no-untyped-def]
    for code in (WEB, OTHER):
        await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
            store=admin_pb2.Store(code=code, name=code, time_zone="Europe/Kyiv")))
    await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
        card_type=admin_pb2.CardType(code="silver", name="silver", accrual_bps=100,
                                     number_prefix="2900")))
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku=sku, name=sku, group_code=sku.split("-")[0]) for sku in SKUS]))
    people = []
    for n in range(members):
        phone = f"+38067{n + 1:07d}"
        reply = await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
            request_id=str(uuid.uuid4()),
            profile=members_pb2.MemberProfile(first_name=f"M{n}", phone=phone),
            channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="silver"))
        people.append((reply.member.member_id, reply.member.cards[0].number, phone))
    web = client_for(await make_key("store_backend", kind=PrincipalKind.STORE_BACKEND,
                                    store_code=WEB))
    return World(web, people)


def line(sku: str, quantity: int = 1000, price: int = 1000) -> S.BasketLine:
    return S.BasketLine(sku=sku, quantity_milli=quantity, unit_price_minor=price)


def report(basket_id: str, *lines: S.BasketLine, version: int = 0, card: str = "",
           phone: str = "", request_id: str | None = None) -> S.ReportBasketRequest:
    return S.ReportBasketRequest(
        request_id=request_id or str(uuid.uuid4()), basket_id=basket_id, currency="UAH",
        lines=list(lines), version=version, member=S.MemberKey(card_number=card, phone=phone))


async def events(app, event_type: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Payloads of the outbox's domain events of one type, oldest first."""
    async with app.db.transaction() as session:
        rows = (await session.execute(text(
            "SELECT payload FROM outbox WHERE kind = 'event' AND event_type = :t ORDER BY id"),
            {"t": event_type})).all()
    return [r.payload for r in rows]


async def count(app, sql: str, **params: Any) -> int:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


def later(minutes: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
