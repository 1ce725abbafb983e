"""Site events end to end: batches recorded over gRPC (COPY), a member's footprint read in
keyset pages newest first within the caller's stores, old events pruned by the jobs pass."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import shopping_pb2 as S

from server.audit.actor import JOBS, acting
from server.auth.principal import PrincipalKind
from server.features.jobs import run_all_jobs
from server.limits import MAX_SITE_EVENTS
from tests.e2e.shopping_support import OTHER, WEB, count, setup_world
from tests.helpers import rpc_error

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
async def world(admin, make_key, client_for):  # type: ignore[no-untyped-def]
    return await setup_world(admin, make_key, client_for)


def at(minutes_ago: float) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(NOW - dt.timedelta(minutes=minutes_ago))
    return ts


def batch(*events: S.SiteEvent, request_id: str | None = None) -> S.RecordSiteEventsRequest:
    return S.RecordSiteEventsRequest(request_id=request_id or str(uuid.uuid4()),
                                     events=list(events))


def view(member_id: str, sku: str, minutes_ago: float) -> S.SiteEvent:
    return S.SiteEvent(member_id=member_id, kind=S.SITE_EVENT_KIND_VIEW, sku=sku,
                       occur_time=at(minutes_ago))


async def footprint(client, member_id: str, page_size: int = 0) -> list[S.SiteEvent]:  # type: ignore[no-untyped-def]
    seen: list[S.SiteEvent] = []
    token = ""
    while True:
        page = await client.shopping.ListSiteEvents(S.ListSiteEventsRequest(
            member=S.MemberKey(member_id=member_id),
            page={"page_size": page_size, "page_token": token}))
        seen += page.events
        token = page.page.next_page_token
        if not token:
            return seen


async def test_events_are_recorded_in_batches_and_read_back_newest_first(world, admin, app):
    (m0, _, _), (m1, _, _) = world.members
    request = batch(
        view(m0, "milk-1", 50),
        S.SiteEvent(member_id=m0, kind=S.SITE_EVENT_KIND_SEARCH, search_query="масло вершкове",
                    occur_time=at(40)),
        S.SiteEvent(member_id=m0, kind=S.SITE_EVENT_KIND_BASKET_ADD, sku="butter-1",
                    quantity_milli=2000, basket_id="b-1", occur_time=at(30)),
        view(m1, "tea-1", 20),
        S.SiteEvent(member_id=m0, kind=S.SITE_EVENT_KIND_BASKET_REMOVE, sku="butter-1",
                    quantity_milli=1000, basket_id="b-1", occur_time=at(10)),
        view(m0, "jam-1", 10))  # same time as the removal: the id breaks the tie
    reply = await world.web.shopping.RecordSiteEvents(request)
    assert reply.recorded == 6
    assert await world.web.shopping.RecordSiteEvents(request) == reply  # a retry: no new rows
    assert await count(app, "SELECT count(*) FROM shopping_site_events") == 6

    paged = await footprint(admin, m0, page_size=2)
    whole = await footprint(admin, m0)
    assert paged == whole and len(whole) == 5
    assert [e.kind for e in whole[2:]] == [S.SITE_EVENT_KIND_BASKET_ADD, S.SITE_EVENT_KIND_SEARCH,
                                           S.SITE_EVENT_KIND_VIEW]
    assert {e.sku for e in whole[:2]} == {"butter-1", "jam-1"}
    assert whole[3].search_query == "масло вершкове"
    assert (whole[2].basket_id, whole[2].quantity_milli, whole[2].store_code) == ("b-1", 2000, WEB)
    assert [e.occur_time.ToDatetime(tzinfo=dt.UTC) for e in whole] == sorted(
        (e.occur_time.ToDatetime(tzinfo=dt.UTC) for e in whole), reverse=True)
    assert [e.sku for e in await footprint(world.web, m1)] == ["tea-1"]
    assert await count(app, "SELECT count(*) FROM audit_log WHERE object_type = 'site_events'") \
        == 1


async def test_a_full_batch_goes_in_with_one_call(world, app):
    m0 = world.members[0][0]
    reply = await world.web.shopping.RecordSiteEvents(batch(
        *(view(m0, "milk-1", n / 100) for n in range(MAX_SITE_EVENTS))))
    assert reply.recorded == MAX_SITE_EVENTS
    with rpc_error() as failure:
        await world.web.shopping.RecordSiteEvents(batch(
            *(view(m0, "milk-1", 1) for _ in range(MAX_SITE_EVENTS + 1))))
    assert failure.fields == ["events"]


async def test_bad_events_name_their_fields_and_nothing_is_stored(world, app):
    m0 = world.members[0][0]
    future = Timestamp()
    future.FromDatetime(NOW + dt.timedelta(days=1))
    with rpc_error() as failure:
        await world.web.shopping.RecordSiteEvents(batch(
            view(m0, "milk-1", 1),
            S.SiteEvent(member_id="nope", kind=S.SITE_EVENT_KIND_VIEW, sku="milk-1"),
            S.SiteEvent(member_id=m0, sku="milk-1"),
            S.SiteEvent(member_id=m0, kind=S.SITE_EVENT_KIND_SEARCH),
            S.SiteEvent(member_id=m0, kind=S.SITE_EVENT_KIND_BASKET_ADD, sku="milk-1"),
            S.SiteEvent(member_id=m0, kind=S.SITE_EVENT_KIND_VIEW, sku="milk-1",
                        occur_time=future)))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["events[1].member_id", "events[2].kind",
                              "events[3].search_query", "events[4].quantity_milli",
                              "events[5].occur_time"]
    with rpc_error() as failure:  # a well-formed id of nobody
        await world.web.shopping.RecordSiteEvents(batch(view(m0, "milk-1", 1),
                                                        view(str(uuid.uuid4()), "milk-1", 1)))
    assert failure.fields == ["events[1].member_id"]
    assert await count(app, "SELECT count(*) FROM shopping_site_events") == 0


async def test_a_store_key_reads_its_own_stores_events_only(world, make_key, client_for):
    m0 = world.members[0][0]
    await world.web.shopping.RecordSiteEvents(batch(view(m0, "milk-1", 5)))
    other = client_for(await make_key("store_backend", kind=PrincipalKind.STORE_BACKEND,
                                      store_code=OTHER))
    await other.shopping.RecordSiteEvents(batch(view(m0, "tea-1", 1)))
    assert [e.sku for e in await footprint(other, m0)] == ["tea-1"]
    assert [e.sku for e in await footprint(world.web, m0)] == ["milk-1"]


async def test_events_past_the_retention_are_hidden_and_pruned(world, admin, app):
    m0 = world.members[0][0]
    days = app.settings.site_events_retention_days
    await world.web.shopping.RecordSiteEvents(batch(
        view(m0, "milk-1", (days + 1) * 24 * 60), view(m0, "tea-1", (days - 1) * 24 * 60),
        view(m0, "jam-1", 1)))
    assert [e.sku for e in await footprint(admin, m0)] == ["jam-1", "tea-1"]
    with acting(JOBS):
        done = await run_all_jobs(app.db, dt.datetime.now(dt.UTC), app.settings)
    assert done is not None and done.counts["site_events_pruned"] == 1
    assert await count(app, "SELECT count(*) FROM shopping_site_events") == 2
    with acting(JOBS):  # two days later the second one goes too
        done = await run_all_jobs(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
                                  app.settings)
    assert done is not None and done.counts["site_events_pruned"] == 1
