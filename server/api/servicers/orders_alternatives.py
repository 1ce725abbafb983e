"""OrderService's alternatives: OfferAlternatives and the signed link's offer and acceptance."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import timestamp
from server.api.idempotency import parse_uuid, run_once
from server.api.servicers.orders_base import CUSTOMER_LINK, LINK_PATH, SERVICE, OrderServicerBase
from server.api.servicers.orders_pb import OP
from server.audit.actor import acting
from server.db.audit.repo import Change, record
from server.db.orders import offers as offer_repo
from server.db.orders.notify import SqlNotifier
from server.db.orders.repo import SqlOrderRepository
from server.errors import invalid, not_found
from server.orders import actions, alternatives, service
from server.orders.model import (
    Order,
)
from server.orders.notifications import render_offer
from server.orders.states import Action, require, require_line


class AlternativesMixin(OrderServicerBase):
    """OfferAlternatives; the link pages call offer_of and accept_offer."""

    def link(self, token: str) -> str:
        """Where the customer opens an offer (the HTTP mount of server/features/order_links)."""
        return f"{self.deps.settings.orders_public_url.rstrip('/')}{LINK_PATH}{token}"

    async def OfferAlternatives(self, request: OP.OfferAlternativesRequest,
                                context: Context) -> OP.OfferAlternativesResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        lifetime = alternatives.ttl(request.ttl_seconds)
        if request.max_alternatives < 0:
            raise invalid("max_alternatives", "must be >= 0")
        prices = {c.sku: c.unit_price_minor for c in request.candidates}
        if any(p < 0 for p in prices.values()):
            raise invalid("candidates", "prices must be >= 0")

        async def work(session: AsyncSession) -> OP.OfferAlternativesResponse:
            repo = await SqlOrderRepository.of(session)
            order = await self._visible(session, await repo.lock(order_id), order_id)
            require(order, Action.REPLACE_LINE)
            line = order.line(request.line_no)
            if line is None:
                raise invalid("line_no", f"order has no line {request.line_no}",
                              "ORDER_LINE_NOT_FOUND")
            require_line(order, line.line_no, Action.REPLACE_LINE)
            _, group, brand = (await repo.products([line.sku])).get(line.sku, ("", "", ""))
            found = await offer_repo.candidates(repo.conn, group, brand,
                                                sorted(prices) if prices else None)
            chosen = alternatives.choose(
                line.sku, group, brand, line.quantity_milli, line.unit_price,
                offer_repo.as_candidates(found, prices or dict.fromkeys(found,
                                                                         line.unit_price)),
                request.price_band_bps, request.max_alternatives)
            now = self.deps.clock()
            offers = [alternatives.Offer(uuid.uuid4(), order.id, line.line_no, c.sku,
                                         c.unit_price, now + lifetime) for c in chosen]
            await offer_repo.add(repo.conn, offers)
            links = [self.link(self.deps.signer.sign(alternatives.PURPOSE, {"o": str(o.id)}))
                     for o in offers]
            if request.notify_customer and offers:
                subject, text = render_offer(order, line.sku, [
                    f"{c.name or c.sku} {c.unit_price // 100}.{c.unit_price % 100:02d}: {url}"
                    for c, url in zip(chosen, links, strict=True)])
                await SqlNotifier(session).send(order, subject, text,
                                                f"web_order:{order.id}:alternatives")
            await record(session, Change("web_order", str(order.id), "OfferAlternatives",
                                         None, {"line_no": line.line_no,
                                                "offers": [str(o.id) for o in offers]}))
            return OP.OfferAlternativesResponse(alternatives=[
                OP.Alternative(offer_id=str(o.id), sku=c.sku, name=c.name,
                               unit_price_minor=c.unit_price, in_stock_milli=c.in_stock_milli,
                               url=url, expire_time=timestamp(o.expires_at))
                for o, c, url in zip(offers, chosen, links, strict=True)])

        answer = await run_once(self.deps.db, SERVICE + "OfferAlternatives", request,
                                OP.OfferAlternativesResponse, work)
        self._wake()
        return answer

    async def offer_of(self, token: str) -> tuple[alternatives.Offer, str]:
        """The offer a genuine link names, with its product's name (TOKEN_INVALID if not)."""
        payload = self.deps.signer.verify(alternatives.PURPOSE, token, "token")
        async with self.deps.db.transaction() as session:
            conn = (await SqlOrderRepository.of(session)).conn
            offer = await offer_repo.get(conn, uuid.UUID(str(payload["o"])))
            if offer is None:
                raise not_found("offer", str(payload["o"]), "ORDER_NOT_FOUND")
            names = await SqlOrderRepository(conn).products([offer.sku])
        return offer, names.get(offer.sku, ("", "", ""))[0]

    async def accept_offer(self, token: str) -> Order:
        """The customer took the alternative: the line is replaced, once, before expiry.
        Raises OfferClosed when the link was used or has expired."""
        offer, _ = await self.offer_of(token)
        now = self.deps.clock()
        if offer.used_at is not None or now >= offer.expires_at:
            raise OfferClosed("used" if offer.used_at else "expired")
        async with self.deps.db.transaction() as session:
            peek = await (await SqlOrderRepository.of(session)).get(offer.order_id)
            assert peek is not None
        card = await self._card_context(peek.card_number, now)
        who = CUSTOMER_LINK.label
        with acting(CUSTOMER_LINK):
            async with self.deps.db.transaction() as session:
                repo = await SqlOrderRepository.of(session)
                await repo.lock(offer.order_id)
                if not await offer_repo.use(repo.conn, offer.id, now):
                    raise OfferClosed("used")
                outcome = await service.act(
                    self._ports(repo, session, card, peek.created_at or now, who),
                    offer.order_id, None, "accepted by the customer",
                    lambda o: actions.replace_line(o, offer.line_no, offer.sku, 0,
                                                   offer.unit_price))
                await offer_repo.close_line(repo.conn, offer.order_id, offer.line_no, now)
                await record(session, Change("web_order", str(offer.order_id),
                                             "accept_alternative", None,
                                             {"offer_id": str(offer.id),
                                              "version": outcome.order.version}))
        self._wake()
        return outcome.order


class OfferClosed(Exception):
    """An alternative's link that was used already or has expired."""
