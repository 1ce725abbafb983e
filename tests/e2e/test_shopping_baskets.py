"""Baskets end to end: the web shop reports them over gRPC, the jobs pass raises
basket.abandoned once per basket (also with two runners at once), ordered baskets never."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from kopilka.v1 import shopping_pb2 as S

from server.audit.actor import JOBS, acting
from server.auth.principal import PrincipalKind
from server.features.jobs import run_all_jobs, run_steps
from server.plugin_api import hookimpl
from server.plugin_contracts import DomainEvent
from server.shopping.model import BASKET_ABANDONED
from tests.e2e.shopping_support import OTHER, WEB, count, events, later, line, report, setup_world
from tests.helpers import rpc_error


@pytest.fixture
async def world(admin, make_key, client_for):  # type: ignore[no-untyped-def]
    return await setup_world(admin, make_key, client_for)


async def test_a_report_stores_the_basket_and_a_newer_version_replaces_it(world, admin):
    member_id, card, phone = world.members[0]
    first = await world.web.shopping.ReportBasket(report(
        "b-1", line("milk-1", 2000, 4550), line("bread-1", 1500, 2999), version=3, card=card))
    assert first.applied
    b = first.basket
    assert (b.basket_id, b.store_code, b.member_id, b.version) == ("b-1", WEB, member_id, 3)
    assert b.state == S.BASKET_STATE_OPEN
    assert (b.total.amount_minor, b.total.currency) == (9100 + 4499, "UAH")  # half up per line
    assert not b.HasField("abandon_time") and not b.HasField("order_time")

    newer = await world.web.shopping.ReportBasket(report("b-1", line("jam-1"), version=5,
                                                         phone=phone))
    assert newer.applied and newer.basket.version == 5
    assert [x.sku for x in newer.basket.lines] == ["jam-1"]
    assert newer.basket.total.amount_minor == 1000

    late = await world.web.shopping.ReportBasket(report("b-1", line("tea-1"), version=4))
    assert not late.applied and late.basket == newer.basket  # an older report changes nothing

    numbered = await world.web.shopping.ReportBasket(report("b-1", line("tea-1")))
    assert numbered.applied and numbered.basket.version == 6
    assert numbered.basket.member_id == ""  # the latest report says anonymous

    got = await admin.shopping.GetBasket(S.GetBasketRequest(store_code=WEB, basket_id="b-1"))
    assert got.basket == numbered.basket




async def test_a_retry_returns_the_first_answer_and_a_reused_id_is_refused(world, app):
    request = report("b-r", line("milk-1"), request_id=str(uuid.uuid4()))
    first = await world.web.shopping.ReportBasket(request)
    again = await world.web.shopping.ReportBasket(request)
    assert again == first and first.basket.version == 1
    assert await count(app, "SELECT count(*) FROM shopping_baskets") == 1
    assert await count(app, "SELECT count(*) FROM audit_log WHERE object_type = 'basket'") == 1
    changed = report("b-r", line("bread-1"), request_id=request.request_id)
    with rpc_error() as failure:
        await world.web.shopping.ReportBasket(changed)
    assert failure.reason == "REQUEST_ID_REUSED"


async def test_bad_reports_name_every_field_and_change_nothing(world, app):
    with rpc_error() as failure:
        await world.web.shopping.ReportBasket(S.ReportBasketRequest(
            request_id=str(uuid.uuid4()), basket_id="b-x", currency="uah", version=-1,
            lines=[line("nope", 1000), line("milk-1", 0), line("bread-1", 1000, -5),
                   line("bread-1")]))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.fields) == {"currency", "version", "lines[0].sku",
                                   "lines[1].quantity_milli", "lines[2].unit_price_minor",
                                   "lines[3].sku"}
    with rpc_error() as failure:
        await world.web.shopping.ReportBasket(report("", line("milk-1")))
    assert failure.fields == ["basket_id"]
    with rpc_error() as failure:
        await world.web.shopping.ReportBasket(report("b-x", line("milk-1"), card="2900999999999"))
    assert failure.reason == "CARD_NOT_FOUND"
    with rpc_error() as failure:
        await world.web.shopping.ReportBasket(report("b-x", line("milk-1"), phone="12"))
    assert failure.fields == ["member.phone"]
    with rpc_error() as failure:  # a web shop key reports for its own store only
        await world.web.shopping.ReportBasket(S.ReportBasketRequest(
            request_id=str(uuid.uuid4()), store_code=OTHER, basket_id="b-x", currency="UAH"))
    assert failure.fields == ["store_code"]
    assert await count(app, "SELECT count(*) FROM shopping_baskets") == 0
    assert await count(app, "SELECT count(*) FROM audit_log WHERE object_type = 'basket'") == 0


async def test_another_store_cannot_see_the_basket_and_tills_may_not_report(
        world, make_key, client_for):
    await world.web.shopping.ReportBasket(report("b-s", line("milk-1")))
    other = client_for(await make_key("store_backend", kind=PrincipalKind.STORE_BACKEND,
                                      store_code=OTHER))
    with rpc_error() as failure:
        await other.shopping.GetBasket(S.GetBasketRequest(basket_id="b-s"))
    assert failure.reason == "BASKET_NOT_FOUND"
    till = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL, store_code=WEB))
    with rpc_error() as failure:
        await till.shopping.ReportBasket(report("b-s", line("milk-1")))
    assert failure.reason == "PERMISSION_DENIED"


async def test_an_unordered_basket_is_reported_abandoned_once_an_ordered_one_never(world, app):
    member_id, card, _ = world.members[0]
    await world.web.shopping.ReportBasket(report("b-a", line("milk-1", 3000, 500), card=card))
    await world.web.shopping.ReportBasket(report("b-o", line("milk-1"), card=card))
    ordered = await world.web.shopping.MarkBasketOrdered(S.MarkBasketOrderedRequest(
        request_id=str(uuid.uuid4()), basket_id="b-o", order_reference="order-77"))
    assert ordered.basket.state == S.BASKET_STATE_ORDERED and ordered.basket.HasField("order_time")

    with acting(JOBS):
        early = await run_all_jobs(app.db, later(59), app.settings)
        assert early is not None and early.counts["baskets_abandoned"] == 0
        done = await run_all_jobs(app.db, later(61), app.settings)
        assert done is not None and done.counts["baskets_abandoned"] == 1
        again = await run_all_jobs(app.db, later(600), app.settings)
        assert again is not None and again.counts["baskets_abandoned"] == 0
    (event,) = await events(app, BASKET_ABANDONED)
    assert event == {
        "basket_id": "b-a", "store_code": WEB, "member_id": member_id,
        "version": 1, "currency": "UAH", "total_minor": 1500,
        "lines": [{"sku": "milk-1", "quantity_milli": 3000, "unit_price_minor": 500}],
        "reported_at": event["reported_at"], "abandoned_after_minutes": 60}
    got = await world.web.shopping.GetBasket(S.GetBasketRequest(basket_id="b-a"))
    assert got.basket.HasField("abandon_time") and got.basket.state == S.BASKET_STATE_OPEN

    # reported again after the event: the basket lives on, the event is not raised twice
    await world.web.shopping.ReportBasket(report("b-a", line("tea-1")))
    with acting(JOBS):
        assert (await run_all_jobs(app.db, later(6000), app.settings)).counts[
            "baskets_abandoned"] == 0
    assert len(await events(app, BASKET_ABANDONED)) == 1


async def test_an_ordered_basket_no_longer_changes(world):
    await world.web.shopping.ReportBasket(report("b-z", line("milk-1")))
    mark = S.MarkBasketOrderedRequest(request_id=str(uuid.uuid4()), basket_id="b-z",
                                      order_reference="o-1")
    first = await world.web.shopping.MarkBasketOrdered(mark)
    same = await world.web.shopping.MarkBasketOrdered(S.MarkBasketOrderedRequest(
        request_id=str(uuid.uuid4()), basket_id="b-z", order_reference="o-1"))
    assert same.basket == first.basket
    with rpc_error() as failure:
        await world.web.shopping.MarkBasketOrdered(S.MarkBasketOrderedRequest(
            request_id=str(uuid.uuid4()), basket_id="b-z", order_reference="o-2"))
    assert failure.reason == "BASKET_ALREADY_ORDERED"
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    with rpc_error() as failure:
        await world.web.shopping.ReportBasket(report("b-z", line("tea-1")))
    assert failure.reason == "BASKET_ALREADY_ORDERED"
    with rpc_error() as failure:
        await world.web.shopping.MarkBasketOrdered(S.MarkBasketOrderedRequest(
            request_id=str(uuid.uuid4()), basket_id="never", order_reference="o-3"))
    assert failure.reason == "BASKET_NOT_FOUND"


async def test_two_job_runners_at_once_raise_each_basket_event_once(world, app):
    baskets = [f"race-{n}" for n in range(40)]
    for basket_id in baskets:
        await world.web.shopping.ReportBasket(report(basket_id, line("milk-1")))
    with acting(JOBS):  # run_steps directly: no advisory lock keeps the two apart
        first, second = await asyncio.gather(
            run_steps(app.db, later(120), app.settings),
            run_steps(app.db, later(120), app.settings))
    assert first.counts["baskets_abandoned"] + second.counts["baskets_abandoned"] == 40
    raised = [e["basket_id"] for e in await events(app, BASKET_ABANDONED)]
    assert sorted(raised) == sorted(baskets)


async def test_concurrent_first_reports_of_one_basket_make_one_basket(world, app):
    replies = await asyncio.gather(*(world.web.shopping.ReportBasket(
        report("b-c", line("milk-1", 1000 * (n + 1)), version=n + 1)) for n in range(6)))
    assert await count(app, "SELECT count(*) FROM shopping_baskets") == 1
    final = await world.web.shopping.GetBasket(S.GetBasketRequest(basket_id="b-c"))
    assert final.basket.version == 6 and final.basket.lines[0].quantity_milli == 6000
    assert sum(r.applied for r in replies) >= 1


class EventRecorder:
    """A plugin that keeps the domain events the running server's outbox delivers."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    @hookimpl
    def kopilka_on_event(self, event: DomainEvent) -> None:
        self.events.append(event)


async def test_the_abandoned_basket_event_reaches_the_plugins_event_hook(world, app):
    recorder = EventRecorder()
    app.deps.plugins.plugin_manager.register(recorder, name="shopping-recorder")
    member_id, card, _ = world.members[1]
    await world.web.shopping.ReportBasket(report("b-p", line("cheese-1"), card=card))
    with acting(JOBS):
        await run_all_jobs(app.db, later(90), app.settings)
    assert app.deps.outbox is not None
    app.deps.outbox.wake()
    def abandoned() -> list[DomainEvent]:  # the jobs pass may emit other events too
        return [e for e in recorder.events if e.type == BASKET_ABANDONED]

    for _ in range(100):
        if abandoned():
            break
        await asyncio.sleep(0.05)
    (event,) = abandoned()
    assert (event.payload["basket_id"], event.payload["member_id"]) == ("b-p", member_id)
    done = ("SELECT count(*) FROM outbox WHERE kind = 'event' AND state = 'done' "
            f"AND event_type = '{BASKET_ABANDONED}'")
    for _ in range(100):  # settled after the hook returned
        if await count(app, done):
            break
        await asyncio.sleep(0.05)
    assert await count(app, done) == 1
