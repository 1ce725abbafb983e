"""Surveys through the real server, PostgreSQL and HTTP: the designer's field errors and
versions, invitations (signed, single use, expiring), the pages' refusals and CSRF, points
given once (also when two submits race), results with NPS, the member's completed surveys."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import grpc
import sqlalchemy as sa
from kopilka.v1 import surveys_pb2 as SV

from tests.e2e.console_support import settings
from tests.e2e.ledger_support import balance, new_member, setup_world
from tests.e2e.survey_support import branching_survey, csrf_of, invite, save, site
from tests.helpers import rpc_error

__all__ = ["settings"]


async def test_a_bad_definition_names_every_bad_field_and_saves_nothing(admin):
    bad = branching_survey()
    bad.branding.primary_color = "blue"
    bad.questions[0].branches[0].goto_question_id = "nowhere"
    bad.questions[3].options[1].value = "shop"
    bad.questions.append(SV.SurveyQuestion(question_id="nps", kind=SV.QUESTION_KIND_TEXT,
                                           text="again"))
    with rpc_error() as failure:
        await save(admin, bad)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "SURVEY_INVALID"
    assert set(failure.fields) == {
        "survey.branding.primary_color", "survey.questions[0].branches[0].goto_question_id",
        "survey.questions[3].options[1].value", "survey.questions[5].question_id"}
    with rpc_error() as missing:
        await admin.surveys.GetSurvey(SV.GetSurveyRequest(survey_code="nps-2026"))
    assert missing.reason == "SURVEY_NOT_FOUND"


async def test_each_save_is_a_new_version(admin):
    assert (await save(admin, branching_survey())).version == 1
    again = branching_survey()
    again.title = "How are we doing now?"
    assert (await save(admin, again)).version == 2
    got = (await admin.surveys.GetSurvey(SV.GetSurveyRequest(survey_code="nps-2026"))).survey
    assert (got.version, got.title, len(got.questions)) == (2, "How are we doing now?", 5)
    assert got.questions[0].branches[0].goto_question_id == "why"


async def _form(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as page:
        assert page.status == 200, await page.text()
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
        return csrf_of(await page.text())


async def test_an_invitation_answers_once_gives_points_once_and_is_then_refused(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await save(admin, branching_survey(points=50))
    url = site(app) + "/s/" + (await invite(admin, member.member_id)).token
    async with aiohttp.ClientSession() as http:
        csrf = await _form(http, url)
        # a detractor must say why (the branch makes 'why' required and skips 'channel')
        async with http.post(url, data={"csrf": csrf, "q_nps": "3"}) as missing:
            assert missing.status == 400
            assert 'id="err-why"' in await missing.text()
        async with http.post(url, data={"csrf": csrf, "q_nps": "3", "q_why": "Queues",
                                        "q_stop": "no", "q_channel": "web"}) as done:
            assert done.status == 200, await done.text()
            assert "50 points" in await done.text()
        async with http.post(url, data={"csrf": csrf, "q_nps": "9"}) as second:
            assert second.status == 409
            assert "SURVEY_INVITATION_USED" in await second.text()
        async with http.get(url) as shown:
            assert shown.status == 409
        # a new invitation of the same member: the survey is done, nothing granted twice
        url2 = site(app) + "/s/" + (await invite(admin, member.member_id)).token
        async with http.get(url2) as again:
            assert again.status == 409
            assert "SURVEY_ALREADY_COMPLETED" in await again.text()
    assert (await balance(admin, member)).points_available == 50
    mine = (await admin.surveys.ListMemberSurveys(
        SV.ListMemberSurveysRequest(member_id=member.member_id))).surveys
    assert [(s.survey_code, s.version, s.reward_json) for s in mine] == [
        ("nps-2026", 1, '{"points": 50}')]
    # 'channel' was off the path the branch took: not stored
    assert '"channel"' not in mine[0].answers_json and '"why": "Queues"' in mine[0].answers_json
    async with app.db.transaction() as session:
        events = (await session.execute(sa.text(
            "SELECT count(*) FROM outbox WHERE event_type = 'survey.completed'"))).scalar()
    assert events == 1


async def test_two_submits_at_once_store_one_response_and_one_reward(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await save(admin, branching_survey(points=70))
    urls = [site(app) + "/s/" + (await invite(admin, member.member_id)).token
            for _ in range(2)]
    async with aiohttp.ClientSession() as http:
        forms = [await _form(http, url) for url in urls] * 2
        answers = {"q_nps": "10", "q_channel": ["shop", "web"], "q_visit": "2026-11-30"}

        async def post(url: str, csrf: str) -> int:
            data = aiohttp.FormData([("csrf", csrf)] + [
                (k, x) for k, v in answers.items() for x in (v if isinstance(v, list) else [v])])
            async with http.post(url, data=data) as reply:
                return reply.status

        statuses = await asyncio.gather(*(post(u, c) for u, c in zip(urls * 2, forms,
                                                                      strict=True)))
    assert sorted(statuses) == [200, 409, 409, 409]
    assert (await balance(admin, member)).points_available == 70
    results = await admin.surveys.GetSurveyResults(
        SV.GetSurveyResultsRequest(survey_code="nps-2026"))
    assert results.responses == 1


async def test_expired_forged_and_csrf_less_submits_are_refused(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await save(admin, branching_survey())
    token = (await invite(admin, member.member_id)).token
    async with app.db.transaction() as session:
        await session.execute(sa.text(
            "UPDATE survey_invitations SET expires_at = now() - interval '1 minute'"))
    async with aiohttp.ClientSession() as http:
        async with http.get(site(app) + "/s/" + token) as expired:
            assert expired.status == 409
            assert "SURVEY_INVITATION_EXPIRED" in await expired.text()
        forged = uuid.uuid4().hex + "." + token.split(".")[1]
        async with http.get(site(app) + "/s/" + forged) as bad:
            assert bad.status == 404
        public = site(app) + "/s/p/nps-2026"
        async with http.post(public, data={"q_nps": "9"}) as no_csrf:
            assert no_csrf.status == 403
        csrf = await _form(http, site(app) + "/s/p/nps-2026")
        other_page = await _form(http, site(app) + "/s/" + (await invite(
            admin, member.member_id)).token)
        async with http.post(public, data={"csrf": other_page, "q_nps": "9"}) as wrong:
            assert wrong.status == 403  # a token of another page
        async with http.post(public, data={"csrf": csrf, "q_nps": "11"}) as out_of_range:
            assert out_of_range.status == 400
    assert (await balance(admin, member)).points_available == 0
    assert (await admin.surveys.GetSurveyResults(
        SV.GetSurveyResultsRequest(survey_code="nps-2026"))).responses == 0


async def test_public_answers_count_in_results_with_nps_in_integers(app, admin):
    await save(admin, branching_survey())
    url = site(app) + "/s/p/nps-2026"
    scores = ["10", "9", "9", "8", "7", "3", "0"]  # 3 promoters, 2 detractors of 7
    async with aiohttp.ClientSession() as http:
        for score in scores:
            csrf = await _form(http, url)
            data = {"csrf": csrf, "q_nps": score}
            if int(score) <= 6:
                data |= {"q_why": "slow", "q_stop": "yes"}
            async with http.post(url, data=data) as reply:
                assert reply.status == 200, await reply.text()
                assert "points" not in await reply.text()  # anonymous: no reward
    results = await admin.surveys.GetSurveyResults(
        SV.GetSurveyResultsRequest(survey_code="nps-2026"))
    nps = results.questions[0]
    assert results.responses == 7 and nps.answered == 7
    assert {c.value: c.count for c in nps.counts if c.count} == {
        "10": 1, "9": 2, "8": 1, "7": 1, "3": 1, "0": 1}
    assert nps.nps == "14.29"  # (3 - 2) / 7 = 14.2857...%
    stop = results.questions[2]
    assert [(c.value, c.count) for c in stop.counts] == [("yes", 2), ("no", 0)]


async def test_a_coupon_reward_is_bound_to_the_member(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await save(admin, branching_survey(points=0, coupon="survey-thanks"))
    url = site(app) + "/s/" + (await invite(admin, member.member_id)).token
    async with aiohttp.ClientSession() as http:
        csrf = await _form(http, url)
        async with http.post(url, data={"csrf": csrf, "q_nps": "9"}) as done:
            assert done.status == 200
            assert 'class="coupon"' in await done.text()
    async with app.db.transaction() as session:
        row = (await session.execute(sa.text(
            "SELECT promotion_id, source, CAST(member_id AS text) FROM coupons"))).one()
    assert tuple(row) == ("survey-thanks", "survey", member.member_id)


async def test_the_page_script_style_and_brand_colours_are_served(app, admin):
    await save(admin, branching_survey())
    async with aiohttp.ClientSession() as http:
        async with http.get(site(app) + "/s/static/survey.js") as script:
            assert script.status == 200 and "branches" in await script.text()
        async with http.get(site(app) + "/s/brand/nps-2026/1.css") as brand:
            assert brand.status == 200
            assert "--brand:#0b5394" in await brand.text()
        async with http.get(site(app) + "/s/brand/nps-2026/7.css") as missing:
            assert missing.status == 404


async def test_saving_and_inviting_are_idempotent_on_the_request_id(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    request = SV.SaveSurveyRequest(request_id=str(uuid.uuid4()), survey=branching_survey())
    first = await admin.surveys.SaveSurvey(request)
    again = await admin.surveys.SaveSurvey(request)
    assert first.survey.version == again.survey.version == 1
    invite_request = SV.IssueSurveyInvitationRequest(
        request_id=str(uuid.uuid4()), survey_code="nps-2026", member_id=member.member_id)
    one = await admin.surveys.IssueSurveyInvitation(invite_request)
    two = await admin.surveys.IssueSurveyInvitation(invite_request)
    assert one.token == two.token
    with rpc_error() as failure:
        await admin.surveys.IssueSurveyInvitation(SV.IssueSurveyInvitationRequest(
            request_id=str(uuid.uuid4()), survey_code="nps-2026",
            member_id=member.member_id, valid_hours=5000))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == ["valid_hours"]
    async with app.db.transaction() as session:
        count = (await session.execute(sa.text(
            "SELECT count(*) FROM survey_invitations"))).scalar()
    assert count == 1
