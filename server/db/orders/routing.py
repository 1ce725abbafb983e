"""The deadline job: a store that did not answer in time loses its lines to the next store.

One transaction per expired request: lock the order, expire the request, ask the next store
holding each still-open line (server/orders/requests.py `route`), write the history entry
and the event through the orders service like any other change.
"""

from __future__ import annotations

import datetime as dt

from server.audit.actor import current_actor
from server.db.audit.repo import Change, record
from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.db.orders import requests as request_repo
from server.db.orders.money import SqlOrderMoney
from server.db.orders.notify import SqlNotifier
from server.db.orders.repo import SqlOrderRepository
from server.db.orders.stock import stock_of
from server.db.payments.refunds import SqlOrderPayments
from server.orders import service
from server.orders.model import Order, OrderState
from server.orders.requests import RequestState, StoreRequest, route

BATCH = 100


def _no_pricing(order: Order, points: int) -> int:
    raise RuntimeError("routing never changes lines, so it never prices")


async def route_due(db: Database, now: dt.datetime) -> int:
    """Route every request past its deadline; how many were routed."""
    async with db.transaction() as session:
        due = await request_repo.due(await raw_connection(session), now, BATCH)
    done = 0
    for request_id in due:
        async with db.transaction() as session:
            conn = await raw_connection(session)
            found = await request_repo.get(conn, request_id)
            if found is None:
                continue
            repo = SqlOrderRepository(conn)
            order = await repo.lock(found.order_id)
            current = await request_repo.get(conn, request_id)  # again, under the lock
            if order is None or current is None or current.state is not RequestState.PENDING:
                continue
            if order.state not in (OrderState.PLACED, OrderState.CONFIRMED):
                await request_repo.close_pending(conn, order.id)
                continue
            history = await request_repo.of_order(conn, order.id)
            asked: dict[int, set[str]] = {}
            for r in history:
                for x in r.lines:
                    asked.setdefault(x.line_no, set()).add(r.store_code)
            stock = await stock_of(session, sorted({x.sku for x in order.lines}))
            round_no = await request_repo.next_round(conn, order.id)
            made: list[StoreRequest] = []

            def action(o: Order, current: StoreRequest = current, asked: dict[int, set[str]]
                       = asked, stock: dict[str, dict[str, int]] = stock,
                       round_no: int = round_no, made: list[StoreRequest] = made
                       ) -> service.Effect:
                requests, effect = route(o, current, asked, stock, (), round_no,
                                         now + current.duration)
                made.extend(requests)
                return effect

            who = current_actor().label
            ports = service.Ports(repo, SqlOrderMoney(conn, who, now), SqlNotifier(session),
                                  _no_pricing, who, SqlOrderPayments(session, who, now))
            await service.act(ports, order.id, None, "no answer by the deadline", action)
            await request_repo.save(conn, current)
            await request_repo.add(conn, made, now)
            await record(session, Change("web_order", str(order.id), "route",
                                         {"store_request_id": str(current.id)},
                                         {"requests": [str(r.id) for r in made]}))
            done += 1
    return done
