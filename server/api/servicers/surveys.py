"""SurveyService: protobuf in, the surveys service (server/surveys/service.py), protobuf out."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from kopilka.v1 import surveys_pb2 as SV
from kopilka.v1 import surveys_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps
from server.api.idempotency import parse_uuid, run_once
from server.audit.actor import current_actor
from server.db.members.repo import SqlMemberRepository
from server.db.surveys.repo import SqlSurveyStore
from server.errors import Violations
from server.members import service as members
from server.surveys import model, service
from server.surveys.model import Branding, Kind, Option, Question, Survey

SERVICE = "/kopilka.v1.SurveyService/"
KINDS = {Kind.SINGLE: SV.QUESTION_KIND_SINGLE, Kind.MULTIPLE: SV.QUESTION_KIND_MULTIPLE,
         Kind.SCALE: SV.QUESTION_KIND_SCALE, Kind.NPS: SV.QUESTION_KIND_NPS,
         Kind.TEXT: SV.QUESTION_KIND_TEXT, Kind.DATE: SV.QUESTION_KIND_DATE}
KIND_OF = {v: k for k, v in KINDS.items()}


def survey_pb(s: Survey) -> SV.Survey:
    return SV.Survey(
        code=s.code, title=s.title, active=s.active, version=s.version,
        reward_points=s.reward_points, reward_coupon_promotion_id=s.reward_promotion_id,
        update_time=timestamp(s.updated_at),
        branding=SV.SurveyBranding(logo_url=s.branding.logo_url,
                                   primary_color=s.branding.primary_color,
                                   background_color=s.branding.background_color),
        questions=[SV.SurveyQuestion(
            question_id=q.id, kind=KINDS[q.kind], text=q.text, required=q.required,
            scale_min=q.scale_min, scale_max=q.scale_max,
            options=[SV.SurveyOption(value=o.value, label=o.label) for o in q.options],
            branches=[SV.SurveyBranch(answer=a, goto_question_id=g) for a, g in q.branches])
            for q in s.questions])


def survey_of(m: SV.Survey) -> Survey:
    """The domain survey; an unknown kind is reported by validate() through the question."""
    v = Violations()
    questions = []
    for i, q in enumerate(m.questions):
        kind = KIND_OF.get(q.kind)
        if kind is None:
            v.add(f"survey.questions[{i}].kind", "choose a question kind")
            kind = Kind.TEXT
        questions.append(Question(
            q.question_id, kind, q.text, q.required,
            tuple(Option(o.value, o.label) for o in q.options), q.scale_min, q.scale_max,
            tuple((b.answer, b.goto_question_id) for b in q.branches)))
    v.raise_if_any("SURVEY_INVALID")
    b = m.branding
    return Survey(m.code, m.title, tuple(questions),
                  Branding(b.logo_url, b.primary_color or "#1f6feb",
                           b.background_color or "#ffffff"),
                  m.reward_points, m.reward_coupon_promotion_id, m.active)


class SurveyServicer(surveys_pb2_grpc.SurveyServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def now(self) -> dt.datetime:
        return self.deps.clock()

    async def SaveSurvey(self, request: SV.SaveSurveyRequest, context: Context
                         ) -> SV.SaveSurveyResponse:
        survey = survey_of(request.survey)
        model.validate(survey)  # before the idempotency claim: bad input changes nothing

        async def work(session: AsyncSession) -> SV.SaveSurveyResponse:
            actor = current_actor().label
            saved = await service.save(await SqlSurveyStore.of(session, actor), survey, actor)
            return SV.SaveSurveyResponse(survey=survey_pb(saved))

        return await run_once(self.deps.db, SERVICE + "SaveSurvey", request,
                              SV.SaveSurveyResponse, work)

    async def GetSurvey(self, request: SV.GetSurveyRequest, context: Context
                        ) -> SV.GetSurveyResponse:
        async with self.deps.db.transaction() as session:
            store = await SqlSurveyStore.of(session, current_actor().label)
            found = await service.current(store, request.survey_code)
        return SV.GetSurveyResponse(survey=survey_pb(found))

    async def _member(self, session: AsyncSession, member_id: str) -> uuid.UUID:
        """The member as the caller may see members (VIPs)."""
        parsed = parse_uuid(member_id, "member_id")
        return (await members.get_member(SqlMemberRepository(session), parsed,
                                         sees_vip=self.deps.access().member_view.vip)).id

    async def IssueSurveyInvitation(self, request: SV.IssueSurveyInvitationRequest,
                                    context: Context) -> SV.IssueSurveyInvitationResponse:
        parse_uuid(request.member_id, "member_id")

        async def work(session: AsyncSession) -> SV.IssueSurveyInvitationResponse:
            actor = current_actor().label
            member_id = await self._member(session, request.member_id)
            inv = await service.invite(await SqlSurveyStore.of(session, actor),
                                       request.survey_code, member_id, request.valid_hours,
                                       self.now(), actor)
            token = model.invitation_token(
                self.deps.signer.derive_key(model.TOKEN_PURPOSE), inv.id)
            return SV.IssueSurveyInvitationResponse(
                invitation_id=str(inv.id), token=token, expire_time=timestamp(inv.expires_at))

        return await run_once(self.deps.db, SERVICE + "IssueSurveyInvitation", request,
                              SV.IssueSurveyInvitationResponse, work)

    async def GetSurveyResults(self, request: SV.GetSurveyResultsRequest, context: Context
                               ) -> SV.GetSurveyResultsResponse:
        async with self.deps.db.transaction() as session:
            store = await SqlSurveyStore.of(session, current_actor().label)
            survey = await service.current(store, request.survey_code)
            total, counts = await store.counts(survey.code)
        out = []
        for q in survey.questions:
            got = counts.get(q.id, {})
            per = {v: got.get(v, 0) for v in q.values()}
            out.append(SV.QuestionResult(
                question_id=q.id, answered=got.get("\0answered", 0),
                counts=[SV.AnswerCount(value=v, count=n) for v, n in per.items()],
                nps=model.nps(per) if q.kind is Kind.NPS else ""))
        return SV.GetSurveyResultsResponse(responses=total, questions=out)

    async def ListMemberSurveys(self, request: SV.ListMemberSurveysRequest, context: Context
                                ) -> SV.ListMemberSurveysResponse:
        async with self.deps.db.transaction() as session:
            member_id = await self._member(session, request.member_id)
            rows = await (await SqlSurveyStore.of(session, current_actor().label)
                          ).member_surveys(member_id)
        return SV.ListMemberSurveysResponse(surveys=[SV.CompletedSurvey(
            survey_code=c.survey_code, title=c.title, version=c.version,
            complete_time=timestamp(c.completed_at),
            reward_json=json.dumps({k: v for k, v in c.reward.items() if k != "tx_id"},
                                   sort_keys=True),
            answers_json=json.dumps(c.answers, sort_keys=True)) for c in rows])
