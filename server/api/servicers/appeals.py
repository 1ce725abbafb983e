"""AppealService: protobuf in, the appeal service (server/appeals/service.py), protobuf out.

Goodwill points go through BonusService's manual-money path (request_adjustment): the same
reason code, daily caps and four-eyes threshold as AdjustPoints; the appeal records which
adjustment it asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from kopilka.v1 import appeals_pb2 as AP
from kopilka.v1 import appeals_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps
from server.api.idempotency import parse_uuid, run_once
from server.api.paging import page_size
from server.api.servicers.adjustments import STATE_PB, request_adjustment
from server.appeals import service
from server.appeals.model import (
    Appeal,
    AppealChannel,
    AppealState,
    Article,
    Topic,
)
from server.audit.actor import current_actor
from server.db.appeals.repo import SqlAppealStore
from server.db.members.repo import SqlMemberRepository
from server.errors import invalid
from server.ledger.manual import ManualKind, ReasonCode
from server.members import service as members

SERVICE = "/kopilka.v1.AppealService/"
STATES = {AppealState.NEW: AP.APPEAL_STATE_NEW, AppealState.ASSIGNED: AP.APPEAL_STATE_ASSIGNED,
          AppealState.IN_PROGRESS: AP.APPEAL_STATE_IN_PROGRESS,
          AppealState.WAITING: AP.APPEAL_STATE_WAITING,
          AppealState.RESOLVED: AP.APPEAL_STATE_RESOLVED,
          AppealState.CLOSED: AP.APPEAL_STATE_CLOSED}
STATE_OF = {v: k for k, v in STATES.items()}
CHANNELS = {AppealChannel.OPERATOR: AP.APPEAL_CHANNEL_OPERATOR,
            AppealChannel.CALL: AP.APPEAL_CHANNEL_CALL, AppealChannel.WEB: AP.APPEAL_CHANNEL_WEB}
CHANNEL_OF = {v: k for k, v in CHANNELS.items()}
MEMBER_APPEALS = 100


def topic_pb(t: Topic) -> AP.AppealTopic:
    return AP.AppealTopic(code=t.code, name=t.name, queue=t.queue,
                          deadline_minutes=t.deadline_minutes, active=t.active)


def appeal_pb(a: Appeal) -> AP.Appeal:
    return AP.Appeal(
        appeal_id=str(a.id), number=a.number, member_id=str(a.member_id or ""),
        channel=CHANNELS[a.channel], topic_code=a.topic_code or "", queue=a.queue or "",
        subject=a.subject, description=a.description, state=STATES[a.state],
        assignee_user_id=str(a.assignee_user_id or ""), due_time=timestamp(a.due_at),
        overdue_time=timestamp(a.overdue_at), resolution=a.resolution,
        create_time=timestamp(a.created_at), close_time=timestamp(a.closed_at),
        version=a.version, caller_phone=a.caller_phone or "",
        notes=[AP.AppealNote(text=n.text, internal=n.internal, author=n.author,
                             create_time=timestamp(n.created_at)) for n in a.notes],
        history=[AP.AppealHistoryEntry(
            action=h.action,
            from_state=STATES[h.from_state] if h.from_state else AP.APPEAL_STATE_UNSPECIFIED,
            to_state=STATES[h.to_state] if h.to_state else AP.APPEAL_STATE_UNSPECIFIED,
            actor=h.actor, change_time=timestamp(h.at),
            detail_json=json.dumps(h.detail, sort_keys=True)) for h in a.history])


def article_pb(a: Article) -> AP.Article:
    return AP.Article(article_id=str(a.id), title=a.title, body=a.body, tags=list(a.tags),
                      published=a.published, update_time=timestamp(a.updated_at))


class AppealServicer(appeals_pb2_grpc.AppealServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def now(self) -> dt.datetime:
        return self.deps.clock()

    async def member_of(self, session: AsyncSession, key: AP.AppealMemberKey, *,
                        required: bool) -> uuid.UUID | None:
        """The member a key names, seen as the caller may see members (VIPs)."""
        if not (key.member_id or key.card_number or key.phone):
            if required:
                raise invalid("member", "name the member: member_id, card_number or phone")
            return None
        sees_vip = self.deps.access().member_view.vip
        repo = SqlMemberRepository(session)
        if key.member_id:
            member_id = parse_uuid(key.member_id, "member.member_id")
            return (await members.get_member(repo, member_id, sees_vip=sees_vip)).id
        found = await members.find_member(
            repo, card_number=key.card_number, phone=key.phone, email="",
            region=self.deps.settings.default_region, sees_vip=sees_vip)
        return found.id

    async def _full(self, store: SqlAppealStore, appeal_id: uuid.UUID) -> AP.Appeal:
        found = await store.get(appeal_id)
        if found is None:
            raise service.appeal_not_found(appeal_id)
        return appeal_pb(found)

    async def UpsertAppealTopic(self, request: AP.UpsertAppealTopicRequest, context: Context
                                ) -> AP.UpsertAppealTopicResponse:
        t = request.topic

        async def work(session: AsyncSession) -> AP.UpsertAppealTopicResponse:
            saved = await service.save_topic(
                await SqlAppealStore.of(session),
                Topic(t.code, t.name, t.queue, t.deadline_minutes, t.active))
            return AP.UpsertAppealTopicResponse(topic=topic_pb(saved))

        return await run_once(self.deps.db, SERVICE + "UpsertAppealTopic", request,
                              AP.UpsertAppealTopicResponse, work)

    async def ListAppealTopics(self, request: AP.ListAppealTopicsRequest, context: Context
                               ) -> AP.ListAppealTopicsResponse:
        async with self.deps.db.transaction() as session:
            topics = await (await SqlAppealStore.of(session)).topics()
        return AP.ListAppealTopicsResponse(topics=[topic_pb(t) for t in topics])

    async def CreateAppeal(self, request: AP.CreateAppealRequest, context: Context
                           ) -> AP.CreateAppealResponse:
        channel = CHANNEL_OF.get(request.channel, AppealChannel.OPERATOR)
        if channel is AppealChannel.CALL:
            raise invalid("channel", "calls are registered by the telephony hook "
                          "(/hooks/telephony/call)")

        async def work(session: AsyncSession) -> AP.CreateAppealResponse:
            member_id = await self.member_of(session, request.member, required=False)
            store = await SqlAppealStore.of(session)
            appeal, _ = await service.create(
                store, actor=current_actor().label, now=self.now(), member_id=member_id,
                channel=channel, topic_code=request.topic_code, subject=request.subject,
                description=request.description)
            return AP.CreateAppealResponse(appeal=await self._full(store, appeal.id))

        return await run_once(self.deps.db, SERVICE + "CreateAppeal", request,
                              AP.CreateAppealResponse, work)

    async def GetAppeal(self, request: AP.GetAppealRequest, context: Context
                        ) -> AP.GetAppealResponse:
        appeal_id = parse_uuid(request.appeal_id, "appeal_id")
        async with self.deps.db.transaction() as session:
            return AP.GetAppealResponse(
                appeal=await self._full(await SqlAppealStore.of(session), appeal_id))

    async def ListAppeals(self, request: AP.ListAppealsRequest, context: Context
                          ) -> AP.ListAppealsResponse:
        limit = page_size(request.page.page_size)
        after: int | None = None
        if request.page.page_token:
            if not request.page.page_token.isdigit():
                raise invalid("page.page_token", "not a token of this list")
            after = int(request.page.page_token)
        assignee = (parse_uuid(request.assignee_user_id, "assignee_user_id")
                    if request.assignee_user_id else None)
        state = STATE_OF.get(request.state)
        async with self.deps.db.transaction() as session:
            rows = await (await SqlAppealStore.of(session)).listing(
                request.queue, state, assignee, request.overdue_only, after, limit + 1)
        response = AP.ListAppealsResponse(appeals=[appeal_pb(a) for a in rows[:limit]])
        if len(rows) > limit:
            response.page.next_page_token = str(rows[limit - 1].number)
        return response

    async def _change(self, request: AP.RouteAppealRequest | AP.AssignAppealRequest
                      | AP.ChangeAppealStateRequest | AP.AddAppealNoteRequest,
                      method: str) -> AP.Appeal:
        appeal_id = parse_uuid(request.appeal_id, "appeal_id")

        async def work(session: AsyncSession) -> AP.GetAppealResponse:
            store = await SqlAppealStore.of(session)
            actor, now = current_actor().label, self.now()
            if isinstance(request, AP.RouteAppealRequest):
                await service.route(store, appeal_id, request.topic_code, actor=actor, now=now)
            elif isinstance(request, AP.AssignAppealRequest):
                user_id = parse_uuid(request.user_id, "user_id")
                await service.assign(store, appeal_id, user_id, actor=actor, now=now)
            elif isinstance(request, AP.ChangeAppealStateRequest):
                target = STATE_OF.get(request.state)
                if target is None:
                    raise invalid("state", "required: one of the AppealState values")
                await service.change_state(
                    store, appeal_id, target, resolution=request.resolution,
                    expected_version=request.expected_version, actor=actor, now=now)
            else:
                await service.add_note(store, appeal_id, request.text, request.internal,
                                       actor=actor, now=now)
            return AP.GetAppealResponse(appeal=await self._full(store, appeal_id))

        done = await run_once(self.deps.db, SERVICE + method, request, AP.GetAppealResponse,
                              work)
        return done.appeal

    async def RouteAppeal(self, request: AP.RouteAppealRequest, context: Context
                          ) -> AP.RouteAppealResponse:
        return AP.RouteAppealResponse(appeal=await self._change(request, "RouteAppeal"))

    async def AssignAppeal(self, request: AP.AssignAppealRequest, context: Context
                           ) -> AP.AssignAppealResponse:
        return AP.AssignAppealResponse(appeal=await self._change(request, "AssignAppeal"))

    async def ChangeAppealState(self, request: AP.ChangeAppealStateRequest, context: Context
                                ) -> AP.ChangeAppealStateResponse:
        return AP.ChangeAppealStateResponse(
            appeal=await self._change(request, "ChangeAppealState"))

    async def AddAppealNote(self, request: AP.AddAppealNoteRequest, context: Context
                            ) -> AP.AddAppealNoteResponse:
        return AP.AddAppealNoteResponse(appeal=await self._change(request, "AddAppealNote"))

    async def GrantAppealGoodwill(self, request: AP.GrantAppealGoodwillRequest,
                                  context: Context) -> AP.GrantAppealGoodwillResponse:
        appeal_id = parse_uuid(request.appeal_id, "appeal_id")
        if request.points <= 0:
            raise invalid("points", "must be positive")
        reason = request.reason.strip()
        if not reason:
            raise invalid("reason", "required")

        async def work(session: AsyncSession) -> AP.GrantAppealGoodwillResponse:
            store = await SqlAppealStore.of(session)
            a = await service.goodwill_target(store, appeal_id)
            assert a.member_id is not None
            card = request.card_number or await store.newest_active_card(a.member_id)
            if card is None:
                raise invalid("card_number", "the member has no active card; name one")
            if await store.member_of_card(card) != a.member_id:
                raise invalid("card_number", "not a card of the appeal's member")
            note = f"appeal #{a.number}: {reason}"[:500]
            adj, _ = await request_adjustment(self.deps, session, ManualKind.POINTS, card,
                                              request.points, ReasonCode.GOODWILL, note)
            await service.goodwill_recorded(store, a, {
                "adjustment_id": str(adj.id), "points": adj.amount, "card_number": card,
                "state": adj.state.value}, actor=current_actor().label, now=self.now())
            return AP.GrantAppealGoodwillResponse(
                adjustment_id=str(adj.id), state=STATE_PB[adj.state],
                transaction_id=str(adj.tx_id) if adj.tx_id else "")

        return await run_once(self.deps.db, SERVICE + "GrantAppealGoodwill", request,
                              AP.GrantAppealGoodwillResponse, work)

    async def ListMemberAppeals(self, request: AP.ListMemberAppealsRequest, context: Context
                                ) -> AP.ListMemberAppealsResponse:
        async with self.deps.db.transaction() as session:
            member_id = await self.member_of(session, request.member, required=True)
            assert member_id is not None
            rows = await (await SqlAppealStore.of(session)).of_member(member_id,
                                                                      MEMBER_APPEALS)
        return AP.ListMemberAppealsResponse(appeals=[appeal_pb(a.for_member()) for a in rows])

    async def UpsertArticle(self, request: AP.UpsertArticleRequest, context: Context
                            ) -> AP.UpsertArticleResponse:
        a = request.article
        article_id = (parse_uuid(a.article_id, "article.article_id") if a.article_id
                      else uuid.uuid4())

        async def work(session: AsyncSession) -> AP.UpsertArticleResponse:
            saved = await service.save_article(
                await SqlAppealStore.of(session),
                Article(article_id, a.title, a.body, tuple(a.tags), a.published, self.now()),
                actor=current_actor().label)
            return AP.UpsertArticleResponse(article=article_pb(saved))

        return await run_once(self.deps.db, SERVICE + "UpsertArticle", request,
                              AP.UpsertArticleResponse, work)

    async def SearchArticles(self, request: AP.SearchArticlesRequest, context: Context
                             ) -> AP.SearchArticlesResponse:
        words = request.query.strip()
        if not words:
            raise invalid("query", "required")
        limit = service.search_limit(request.limit)
        async with self.deps.db.transaction() as session:
            hits = await (await SqlAppealStore.of(session)).search(words, limit)
        return AP.SearchArticlesResponse(hits=[
            AP.ArticleHit(article=article_pb(a), rank_micro=round(rank * 1_000_000),
                          snippet=snippet) for a, rank, snippet in hits])

