"""ShoppingService: protobuf in, the shopping application service, protobuf out."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from kopilka.v1 import shopping_pb2 as S
from kopilka.v1 import shopping_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import money, time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.paging import decode_token, encode_token, page_size
from server.api.scope import acting_store_in_scope, session_networks
from server.auth.scope import visible_stores
from server.db import scope_repo
from server.db.members.repo import SqlMemberRepository
from server.db.shopping.repo import SqlShoppingRepository
from server.errors import DomainError, FieldViolation, Violations, invalid
from server.members import service as members
from server.shopping import service
from server.shopping.hints import basket_hints
from server.shopping.model import (
    Basket,
    BasketLine,
    BasketReport,
    BasketState,
    SiteEvent,
    SiteEventKind,
    WishlistItem,
    check_site_event,
)

SERVICE = "/kopilka.v1.ShoppingService/"
MAX_RECOMMENDATIONS = 100
DEFAULT_RECOMMENDATIONS = 10

STATES = {BasketState.OPEN: S.BASKET_STATE_OPEN, BasketState.ORDERED: S.BASKET_STATE_ORDERED}
KINDS = {S.SITE_EVENT_KIND_VIEW: SiteEventKind.VIEW, S.SITE_EVENT_KIND_SEARCH: SiteEventKind.SEARCH,
         S.SITE_EVENT_KIND_BASKET_ADD: SiteEventKind.BASKET_ADD,
         S.SITE_EVENT_KIND_BASKET_REMOVE: SiteEventKind.BASKET_REMOVE}
KIND_TO_PB = {v: k for k, v in KINDS.items()}


def basket_to_pb(b: Basket) -> S.Basket:
    return S.Basket(
        basket_id=b.basket_id, store_code=b.store_code,
        member_id="" if b.member_id is None else str(b.member_id), version=b.version,
        state=STATES[b.state],
        lines=[S.BasketLine(sku=x.sku, quantity_milli=x.quantity_milli,
                            unit_price_minor=x.unit_price_minor) for x in b.lines],
        total=money(b.total_minor, b.currency), report_time=timestamp(b.reported_at),
        order_time=timestamp(b.ordered_at), abandon_time=timestamp(b.abandoned_at),
        order_reference=b.order_reference or "")


def wish_to_pb(item: WishlistItem) -> S.WishlistItem:
    return S.WishlistItem(sku=item.sku, add_time=timestamp(item.added_at))


def _under(prefix: str, error: DomainError) -> DomainError:
    """The members service's error with its fields named inside `prefix` (member.phone)."""
    if not error.violations:
        return error
    moved = [FieldViolation(f"{prefix}.{v.field}", v.description) for v in error.violations]
    return replace(error, message=f"{prefix}.{error.message}", violations=moved)


def lines_from_pb(lines: list[S.BasketLine]) -> tuple[BasketLine, ...]:
    return tuple(BasketLine(x.sku, x.quantity_milli, x.unit_price_minor) for x in lines)


class ShoppingServicer(shopping_pb2_grpc.ShoppingServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def now(self) -> dt.datetime:
        return self.deps.clock()

    async def member_of(self, session: AsyncSession, key: S.MemberKey, *,
                        required: bool) -> uuid.UUID | None:
        """The member a MemberKey names (None: no key given and none required)."""
        sees_vip = self.deps.access().member_view.vip
        repo = SqlMemberRepository(session)
        if not (key.member_id or key.card_number or key.phone or key.email):
            if required:
                raise invalid("member", "name the member: member_id, card_number, phone or "
                              "email")
            return None
        try:
            if key.member_id:
                member_id = parse_uuid(key.member_id, "member_id")
                return (await members.get_member(repo, member_id, sees_vip=sees_vip)).id
            found = await members.find_member(
                repo, card_number=key.card_number, phone=key.phone, email=key.email,
                region=self.deps.settings.default_region, sees_vip=sees_vip)
            return found.id
        except DomainError as error:
            raise _under("member", error) from None

    async def store(self, session: AsyncSession, requested: str) -> str:
        return await acting_store_in_scope(requested, session_networks(session))

    # --- baskets --------------------------------------------------------------------------

    async def ReportBasket(self, request: S.ReportBasketRequest, context: Context
                           ) -> S.ReportBasketResponse:
        async def work(session: AsyncSession) -> S.ReportBasketResponse:
            store = await self.store(session, request.store_code)
            member = await self.member_of(session, request.member, required=False)
            basket, applied = await service.report_basket(
                SqlShoppingRepository(session),
                BasketReport(store, request.basket_id, member, request.currency,
                             lines_from_pb(list(request.lines)), request.version),
                self.now())
            return S.ReportBasketResponse(basket=basket_to_pb(basket), applied=applied)

        return await run_once(self.deps.db, SERVICE + "ReportBasket", request,
                              S.ReportBasketResponse, work)

    async def MarkBasketOrdered(self, request: S.MarkBasketOrderedRequest, context: Context
                                ) -> S.MarkBasketOrderedResponse:
        async def work(session: AsyncSession) -> S.MarkBasketOrderedResponse:
            store = await self.store(session, request.store_code)
            basket = await service.mark_basket_ordered(
                SqlShoppingRepository(session), store, request.basket_id,
                request.order_reference, self.now())
            return S.MarkBasketOrderedResponse(basket=basket_to_pb(basket))

        return await run_once(self.deps.db, SERVICE + "MarkBasketOrdered", request,
                              S.MarkBasketOrderedResponse, work)

    async def GetBasket(self, request: S.GetBasketRequest, context: Context
                        ) -> S.GetBasketResponse:
        if not request.basket_id:
            raise invalid("basket_id", "required")
        async with self.deps.db.transaction() as session:
            store = await self.store(session, request.store_code)
            basket = await service.get_basket(SqlShoppingRepository(session), store,
                                              request.basket_id)
        return S.GetBasketResponse(basket=basket_to_pb(basket))

    # --- wishlists ------------------------------------------------------------------------

    async def AddWishlistItem(self, request: S.AddWishlistItemRequest, context: Context
                              ) -> S.AddWishlistItemResponse:
        async def work(session: AsyncSession) -> S.AddWishlistItemResponse:
            member = await self.member_of(session, request.member, required=True)
            assert member is not None
            item, added = await service.add_wish(SqlShoppingRepository(session), member,
                                                 request.sku, self.now())
            return S.AddWishlistItemResponse(item=wish_to_pb(item), added=added)

        return await run_once(self.deps.db, SERVICE + "AddWishlistItem", request,
                              S.AddWishlistItemResponse, work)

    async def RemoveWishlistItem(self, request: S.RemoveWishlistItemRequest, context: Context
                                 ) -> S.RemoveWishlistItemResponse:
        async def work(session: AsyncSession) -> S.RemoveWishlistItemResponse:
            member = await self.member_of(session, request.member, required=True)
            assert member is not None
            removed = await service.remove_wish(SqlShoppingRepository(session), member,
                                                request.sku)
            return S.RemoveWishlistItemResponse(removed=removed)

        return await run_once(self.deps.db, SERVICE + "RemoveWishlistItem", request,
                              S.RemoveWishlistItemResponse, work)

    async def ListWishlist(self, request: S.ListWishlistRequest, context: Context
                           ) -> S.ListWishlistResponse:
        limit = page_size(request.page.page_size)
        before = decode_token(request.page.page_token)
        async with self.deps.db.transaction() as session:
            member = await self.member_of(session, request.member, required=True)
            assert member is not None
            items = await SqlShoppingRepository(session).wishes(member, before, limit + 1)
        response = S.ListWishlistResponse(member_id=str(member),
                                          items=[wish_to_pb(i) for i in items[:limit]])
        if len(items) > limit:
            last = items[limit - 1]
            response.page.next_page_token = encode_token(last.added_at, last.id)
        return response

    # --- site events ----------------------------------------------------------------------

    async def RecordSiteEvents(self, request: S.RecordSiteEventsRequest, context: Context
                               ) -> S.RecordSiteEventsResponse:
        errors = Violations()
        now = self.now()
        parsed: list[tuple[uuid.UUID | None, SiteEventKind | None, dt.datetime | None]] = []
        for i, pb in enumerate(request.events):
            member_id = None
            try:
                member_id = parse_uuid(pb.member_id, f"events[{i}].member_id")
            except DomainError as error:
                errors.add(error.violations[0].field, error.violations[0].description)
            kind = KINDS.get(pb.kind)
            if kind is None:
                errors.add(f"events[{i}].kind", "required: view, search, basket add or remove")
            else:  # the domain's checks of the event too, so every bad field is named at once
                for path, description in check_site_event(i, SiteEvent(
                        member_id or uuid.UUID(int=0), "", kind, now, pb.sku or None,
                        pb.search_query or None, None, pb.quantity_milli or None)):
                    errors.add(path, description)
            occurred = time_field(pb, "occur_time", errors, f"events[{i}].occur_time")
            if occurred is not None and occurred > now + dt.timedelta(minutes=5):
                errors.add(f"events[{i}].occur_time", "in the future")
            parsed.append((member_id, kind, occurred))
        errors.raise_if_any()

        async def work(session: AsyncSession) -> S.RecordSiteEventsResponse:
            store = await self.store(session, request.store_code)
            events = []
            for pb, (member_id, kind, occurred) in zip(request.events, parsed, strict=True):
                assert member_id is not None and kind is not None
                events.append(SiteEvent(
                    member_id, store, kind, occurred or now, sku=pb.sku or None,
                    search_query=pb.search_query or None, basket_id=pb.basket_id or None,
                    quantity_milli=pb.quantity_milli or None))
            done = await service.record_site_events(SqlShoppingRepository(session), events)
            return S.RecordSiteEventsResponse(recorded=done)

        return await run_once(self.deps.db, SERVICE + "RecordSiteEvents", request,
                              S.RecordSiteEventsResponse, work)

    async def ListSiteEvents(self, request: S.ListSiteEventsRequest, context: Context
                             ) -> S.ListSiteEventsResponse:
        limit = page_size(request.page.page_size)
        before = decode_token(request.page.page_token)
        since = self.now() - dt.timedelta(days=self.deps.settings.site_events_retention_days)
        who = caller()
        async with self.deps.db.transaction() as session:
            member = await self.member_of(session, request.member, required=True)
            assert member is not None
            network = (await scope_repo.network_store_codes(session, who.network_code)
                       if who.network_code else frozenset())
            rows = await SqlShoppingRepository(session).site_events(
                member, before, limit + 1, visible_stores(who, network), since)
        response = S.ListSiteEventsResponse(member_id=str(member), events=[
            S.SiteEvent(member_id=str(e.member_id), kind=KIND_TO_PB[e.kind], sku=e.sku or "",
                        search_query=e.search_query or "", basket_id=e.basket_id or "",
                        quantity_milli=e.quantity_milli or 0,
                        occur_time=timestamp(e.occurred_at), store_code=e.store_code)
            for e in rows[:limit]])
        if len(rows) > limit:
            last = rows[limit - 1]
            assert last.id is not None
            response.page.next_page_token = encode_token(last.occurred_at, last.id)
        return response

    # --- recommendations ------------------------------------------------------------------

    async def GetRecommendations(self, request: S.GetRecommendationsRequest, context: Context
                                 ) -> S.GetRecommendationsResponse:
        if not 0 <= request.limit <= MAX_RECOMMENDATIONS:
            raise invalid("limit", f"from 0 (meaning {DEFAULT_RECOMMENDATIONS}) to "
                          f"{MAX_RECOMMENDATIONS}")
        errors = Violations()
        for i, line in enumerate(request.lines):
            if not line.sku:
                errors.add(f"lines[{i}].sku", "required")
            if line.quantity_milli < 0:
                errors.add(f"lines[{i}].quantity_milli",
                           "must not be negative (0: the line counts for the pairs only)")
            if line.unit_price_minor < 0:
                errors.add(f"lines[{i}].unit_price_minor", "must not be negative")
        errors.raise_if_any()
        async with self.deps.db.transaction() as session:
            store = await self.store(session, request.store_code)
            repo = SqlShoppingRepository(session)
            found = await service.recommend(repo, {x.sku for x in request.lines},
                                            request.limit or DEFAULT_RECOMMENDATIONS)
            computed = await repo.last_pair_run()
        snap = self.deps.pricing.snapshot  # CalculateReceipt's rules, catalog and stores
        hints = basket_hints(snap.rules, snap.catalog, snap.stores, store,
                             lines_from_pb(list(request.lines)), self.now())
        response = S.GetRecommendationsResponse(
            recommendations=[S.Recommendation(
                sku=r.sku, because_of_sku=r.because_of_sku, reason=r.reason,
                pair_count=r.pair_count, confidence_permille=r.confidence_permille,
                support_permille=r.support_permille) for r in found],
            computed_time=timestamp(computed))
        for hint in hints:
            response.promotion_hints.add(rule_id=hint.rule_id, message=hint.message,
                                         missing_quantity_milli=hint.missing_quantity_milli,
                                         missing_amount_minor=hint.missing_amount)
        return response
