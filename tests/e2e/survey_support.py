"""Shared setup of the survey tests: a branching survey, invitations, the page's form."""

from __future__ import annotations

import re
import uuid

from kopilka.v1 import surveys_pb2 as SV


def site(app) -> str:  # type: ignore[no-untyped-def]
    return f"http://127.0.0.1:{app.http.port}"


def branching_survey(code: str = "nps-2026", *, points: int = 50, coupon: str = ""
                     ) -> SV.Survey:
    """Q1 NPS (0-6 goes to 'why', else to 'channel'), 'why' text (required) then end,
    'channel' multiple choice, 'visit' date."""
    return SV.Survey(
        code=code, title="How are we doing?", active=True, reward_points=points,
        reward_coupon_promotion_id=coupon,
        branding=SV.SurveyBranding(logo_url="", primary_color="#0b5394",
                                   background_color="#f4f4f4"),
        questions=[
            SV.SurveyQuestion(question_id="nps", kind=SV.QUESTION_KIND_NPS, required=True,
                              text="How likely are you to recommend us?",
                              branches=[SV.SurveyBranch(answer=str(v), goto_question_id="why")
                                        for v in range(7)]
                              + [SV.SurveyBranch(answer=str(v), goto_question_id="channel")
                                 for v in range(7, 11)]),
            SV.SurveyQuestion(question_id="why", kind=SV.QUESTION_KIND_TEXT, required=True,
                              text="What should we improve?",
                              branches=[]),
            SV.SurveyQuestion(question_id="stop", kind=SV.QUESTION_KIND_SINGLE,
                              text="May we call you?", required=True,
                              options=[SV.SurveyOption(value="yes", label="Yes"),
                                       SV.SurveyOption(value="no", label="No")],
                              branches=[SV.SurveyBranch(answer="yes", goto_question_id="end"),
                                        SV.SurveyBranch(answer="no", goto_question_id="end")]),
            SV.SurveyQuestion(question_id="channel", kind=SV.QUESTION_KIND_MULTIPLE,
                              text="Where do you shop?",
                              options=[SV.SurveyOption(value="shop", label="In the shop"),
                                       SV.SurveyOption(value="web", label="Online")]),
            SV.SurveyQuestion(question_id="visit", kind=SV.QUESTION_KIND_DATE,
                              text="When did you last visit?"),
        ])


async def save(admin, survey: SV.Survey) -> SV.Survey:  # type: ignore[no-untyped-def]
    reply = await admin.surveys.SaveSurvey(SV.SaveSurveyRequest(
        request_id=str(uuid.uuid4()), survey=survey))
    return reply.survey


async def invite(admin, member_id: str, code: str = "nps-2026",  # type: ignore[no-untyped-def]
                 hours: int = 0) -> SV.IssueSurveyInvitationResponse:
    return await admin.surveys.IssueSurveyInvitation(SV.IssueSurveyInvitationRequest(
        request_id=str(uuid.uuid4()), survey_code=code, member_id=member_id,
        valid_hours=hours))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)
