"""The contact center end to end: topics and queues, the state machine with its history,
the overdue job step, goodwill points through the manual-money rules, the member's own view
(web cabinet), the knowledge base's Ukrainian full-text search, and the events."""

from __future__ import annotations

import datetime as dt
import json

import grpc
import pytest
from kopilka.v1 import appeals_pb2 as AP
from kopilka.v1 import bonus_pb2 as B
from kopilka.v1 import users_pb2 as U
from sqlalchemy import text

from server.features.jobs import run_all_jobs
from tests.e2e.certificates_helpers import rid
from tests.e2e.ledger_support import balance, new_member, setup_world
from tests.helpers import rpc_error

S = AP


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(
        grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
        log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
        manual_points_approval_threshold=1000,
        manual_daily_caps={"operator": {"points": 3000, "cash_minor": 20000}})


async def topic(client, code: str = "points", minutes: int = 60) -> None:  # type: ignore[no-untyped-def]
    await client.appeals.UpsertAppealTopic(AP.UpsertAppealTopicRequest(
        request_id=rid(), topic=AP.AppealTopic(code=code, name="Points", queue="loyalty",
                                               deadline_minutes=minutes, active=True)))


async def appeal(client, phone: str = "", topic_code: str = "points") -> AP.Appeal:  # type: ignore[no-untyped-def]
    reply = await client.appeals.CreateAppeal(AP.CreateAppealRequest(
        request_id=rid(), member=AP.AppealMemberKey(phone=phone), topic_code=topic_code,
        subject="Бали не нараховані", description="Покупка 12.03 без балів"))
    return reply.appeal


def move(appeal_id: str, state: int, resolution: str = "") -> AP.ChangeAppealStateRequest:
    return AP.ChangeAppealStateRequest(request_id=rid(), appeal_id=appeal_id, state=state,
                                       resolution=resolution)


async def events(app, kind: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        rows = (await session.execute(text(
            "SELECT payload FROM outbox WHERE kind = 'event' AND event_type = :t ORDER BY id"),
            {"t": kind})).scalars().all()
    return list(rows)


async def test_an_appeal_goes_through_its_route_and_state_machine_with_history(
        app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 11)
    await topic(admin, minutes=30)
    operator = client_for(await make_key("operator"))
    user = (await admin.users.CreateUser(U.CreateUserRequest(request_id=rid(),
        name="Olena", email="olena@example.com", roles=["operator"],
        password="correct horse battery"))).user

    a = await appeal(operator, "067 000 00 11")
    assert (a.state, a.queue, a.member_id, a.number) == (S.APPEAL_STATE_NEW, "loyalty",
                                                          member.member_id, a.number)
    assert a.due_time.ToDatetime(dt.UTC) - a.create_time.ToDatetime(dt.UTC) == \
        dt.timedelta(minutes=30)

    with rpc_error() as failure:  # new -> in progress skips the assignment
        await operator.appeals.ChangeAppealState(move(a.appeal_id, S.APPEAL_STATE_IN_PROGRESS))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "APPEAL_STATE_CONFLICT")
    await operator.appeals.AssignAppeal(AP.AssignAppealRequest(
        request_id=rid(), appeal_id=a.appeal_id, user_id=user.user_id))
    await operator.appeals.ChangeAppealState(move(a.appeal_id, S.APPEAL_STATE_IN_PROGRESS))
    await operator.appeals.AddAppealNote(AP.AddAppealNoteRequest(
        request_id=rid(), appeal_id=a.appeal_id, text="чек 4711 у 1С є", internal=True))
    await operator.appeals.AddAppealNote(AP.AddAppealNoteRequest(
        request_id=rid(), appeal_id=a.appeal_id, text="Перевіряємо вашу покупку"))
    await operator.appeals.ChangeAppealState(move(a.appeal_id, S.APPEAL_STATE_WAITING))
    with rpc_error() as failure:
        await operator.appeals.ChangeAppealState(move(a.appeal_id, S.APPEAL_STATE_RESOLVED))
    assert failure.fields == ["resolution"]
    await operator.appeals.ChangeAppealState(move(a.appeal_id, S.APPEAL_STATE_RESOLVED,
                                                  "Бали нараховано вручну"))
    closed = (await operator.appeals.ChangeAppealState(
        move(a.appeal_id, S.APPEAL_STATE_CLOSED))).appeal
    assert closed.state == S.APPEAL_STATE_CLOSED and closed.resolution == "Бали нараховано вручну"
    with rpc_error() as failure:  # closed is final
        await operator.appeals.ChangeAppealState(move(a.appeal_id, S.APPEAL_STATE_IN_PROGRESS))
    assert failure.reason == "APPEAL_STATE_CONFLICT"

    got = (await operator.appeals.GetAppeal(AP.GetAppealRequest(appeal_id=a.appeal_id))).appeal
    assert [(h.action, h.from_state, h.to_state) for h in got.history] == [
        ("created", S.APPEAL_STATE_UNSPECIFIED, S.APPEAL_STATE_NEW),
        ("assigned", S.APPEAL_STATE_NEW, S.APPEAL_STATE_ASSIGNED),
        ("state", S.APPEAL_STATE_ASSIGNED, S.APPEAL_STATE_IN_PROGRESS),
        ("note", 0, 0), ("note", 0, 0),
        ("state", S.APPEAL_STATE_IN_PROGRESS, S.APPEAL_STATE_WAITING),
        ("state", S.APPEAL_STATE_WAITING, S.APPEAL_STATE_RESOLVED),
        ("state", S.APPEAL_STATE_RESOLVED, S.APPEAL_STATE_CLOSED)]
    assert len({h.actor for h in got.history}) == 1  # the operator's key, every time
    assert json.loads(got.history[1].detail_json) == {"assignee_user_id": user.user_id}
    assert got.version == 6 and [n.internal for n in got.notes] == [True, False]

    created, closed_events = await events(app, "appeal.created"), await events(app,
                                                                               "appeal.closed")
    assert [(e["appeal_id"], e["member_id"], e["channel"], e["topic_code"]) for e in created] \
        == [(a.appeal_id, member.member_id, "operator", "points")]
    assert [(e["appeal_id"], e["overdue_at"]) for e in closed_events] == [(a.appeal_id, None)]


async def test_the_overdue_step_marks_open_appeals_past_their_deadline_once(app, admin):
    await topic(admin, minutes=10)
    late = await appeal(admin)
    done = await appeal(admin)
    await admin.appeals.ChangeAppealState(move(done.appeal_id, S.APPEAL_STATE_CLOSED, "дубль"))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    first = await run_all_jobs(app.db, later)
    assert first is not None and first.counts["appeals_overdue"] == 1
    again = await run_all_jobs(app.db, later + dt.timedelta(minutes=1))
    assert again is not None and again.counts["appeals_overdue"] == 0
    page = await admin.appeals.ListAppeals(AP.ListAppealsRequest(overdue_only=True))
    assert [x.appeal_id for x in page.appeals] == [late.appeal_id]
    got = (await admin.appeals.GetAppeal(AP.GetAppealRequest(appeal_id=late.appeal_id))).appeal
    assert got.history[-1].action == "overdue" and got.history[-1].actor == "job:scheduler"
    assert abs(got.overdue_time.ToDatetime(dt.UTC) - later) < dt.timedelta(milliseconds=1)


async def test_goodwill_points_follow_the_manual_money_caps_and_approval(
        app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 12)
    await topic(admin)
    operator = client_for(await make_key("operator"))
    a = await appeal(operator, "+380670000012")
    small = await operator.appeals.GrantAppealGoodwill(AP.GrantAppealGoodwillRequest(
        request_id=rid(), appeal_id=a.appeal_id, points=500, reason="вибачення"))
    assert small.state == B.ADJUSTMENT_STATE_APPLIED and small.transaction_id
    before = await balance(admin, member)
    assert before.points_available + before.points_pending >= 500
    big = await operator.appeals.GrantAppealGoodwill(AP.GrantAppealGoodwillRequest(
        request_id=rid(), appeal_id=a.appeal_id, points=2000, reason="велика компенсація"))
    assert big.state == B.ADJUSTMENT_STATE_PENDING_APPROVAL and not big.transaction_id
    pending = (await admin.bonus.ListPendingAdjustments(
        B.ListPendingAdjustmentsRequest())).adjustments
    assert [(p.adjustment_id, p.reason_code, p.amount) for p in pending] == [
        (big.adjustment_id, B.ADJUSTMENT_REASON_GOODWILL, 2000)]
    assert pending[0].reason.startswith(f"appeal #{a.number}: ")
    with rpc_error() as failure:  # 500 + 2000 used of the 3000 cap
        await operator.appeals.GrantAppealGoodwill(AP.GrantAppealGoodwillRequest(
            request_id=rid(), appeal_id=a.appeal_id, points=600, reason="ще"))
    assert (failure.code, failure.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                              "DAILY_CAP_EXCEEDED")
    with rpc_error() as failure:  # the requester cannot approve its own request
        await operator.bonus.ApproveAdjustment(B.ApproveAdjustmentRequest(
            request_id=rid(), adjustment_id=big.adjustment_id))
    assert failure.code in (grpc.StatusCode.PERMISSION_DENIED,
                            grpc.StatusCode.FAILED_PRECONDITION)
    got = (await admin.appeals.GetAppeal(AP.GetAppealRequest(appeal_id=a.appeal_id))).appeal
    goodwill = [json.loads(h.detail_json) for h in got.history if h.action == "goodwill"]
    assert [(g["adjustment_id"], g["state"]) for g in goodwill] == [
        (small.adjustment_id, "applied"), (big.adjustment_id, "pending")]
    anonymous = await appeal(operator)
    with rpc_error() as failure:
        await operator.appeals.GrantAppealGoodwill(AP.GrantAppealGoodwillRequest(
            request_id=rid(), appeal_id=anonymous.appeal_id, points=5, reason="x"))
    assert failure.reason == "APPEAL_WITHOUT_MEMBER"


async def test_the_web_cabinet_reads_only_the_named_members_appeals_without_internal_notes(
        admin, make_key, client_for):
    await setup_world(admin)
    await new_member(admin, 13)
    await new_member(admin, 14)
    await topic(admin)
    mine = await appeal(admin, "+380670000013")
    await appeal(admin, "+380670000014")
    for internal, words in ((True, "клієнт грубий"), (False, "Відповіли на e-mail")):
        await admin.appeals.AddAppealNote(AP.AddAppealNoteRequest(
            request_id=rid(), appeal_id=mine.appeal_id, text=words, internal=internal))
    web = client_for(await make_key("store_backend"))
    seen = (await web.appeals.ListMemberAppeals(AP.ListMemberAppealsRequest(
        member=AP.AppealMemberKey(phone="0670000013")))).appeals
    assert [a.appeal_id for a in seen] == [mine.appeal_id]
    assert [n.text for n in seen[0].notes] == ["Відповіли на e-mail"]
    assert not seen[0].history and not seen[0].assignee_user_id
    for call in (web.appeals.GetAppeal(AP.GetAppealRequest(appeal_id=mine.appeal_id)),
                 web.appeals.ListAppeals(AP.ListAppealsRequest())):
        with rpc_error() as failure:
            await call
        assert failure.code == grpc.StatusCode.PERMISSION_DENIED


async def test_knowledge_base_search_finds_ukrainian_words_in_any_case_best_first(admin):
    async def article(title: str, body: str, published: bool = True) -> str:
        reply = await admin.appeals.UpsertArticle(AP.UpsertArticleRequest(
            request_id=rid(), article=AP.Article(title=title, body=body, tags=["бонуси"],
                                                 published=published)))
        return reply.article.article_id

    refund = await article("Повернення бонусів", "Як повернути бонуси після повернення товару")
    card = await article("Заміна картки", "Загублену картку замінюють у магазині; бонуси "
                         "переходять на нову")
    await article("Чернетка про бонуси", "бонуси бонуси", published=False)
    hits = (await admin.appeals.SearchArticles(AP.SearchArticlesRequest(
        query="ПОВЕРНЕННЯ"))).hits
    assert [h.article.article_id for h in hits] == [refund]
    assert "[повернення]" in hits[0].snippet.lower()
    both = (await admin.appeals.SearchArticles(AP.SearchArticlesRequest(query="бонуси"))).hits
    assert {h.article.article_id for h in both} == {refund, card}
    assert both[0].rank_micro >= both[1].rank_micro > 0
    none = (await admin.appeals.SearchArticles(AP.SearchArticlesRequest(
        query="картку -бонуси"))).hits
    assert none == []
    with rpc_error() as failure:
        await admin.appeals.SearchArticles(AP.SearchArticlesRequest(query="  "))
    assert failure.fields == ["query"]
