"""A survey page in a real browser (Debian's Chromium through Playwright, as the console
tests): the branches show and hide questions as the member answers, the answers are saved
with the reward, no CSP refusal or script error, axe-core finds nothing serious; a screenshot."""

from __future__ import annotations

import uuid

from kopilka.v1 import surveys_pb2 as SV

from tests.e2e.console_support import settings, shots_dir
from tests.e2e.ledger_support import balance, new_member, setup_world
from tests.e2e.survey_support import branching_survey, invite, save, site
from tests.e2e.test_console_browser import accessible, browser, page

__all__ = ["browser", "page", "settings"]


async def test_answering_a_survey_with_branching_in_the_browser(app, admin, page, tmp_path):
    await setup_world(admin)
    member = await new_member(admin, 1)
    await save(admin, branching_survey(points=40))
    token = (await invite(admin, member.member_id)).token
    await page.goto(site(app) + "/s/" + token)
    await page.wait_for_selector("#q-nps")
    # before any answer every question is on the path (each goes on to the next one); a
    # promoter's 9 goes to 'channel' (skipping 'why' and 'stop'), a detractor's 2 to 'why'
    # and then 'stop', whose answers both end the survey
    assert await page.is_visible("#q-why") and await page.is_visible("#q-channel")
    await page.check("input[name=q_nps][value='9']")
    assert not await page.is_visible("#q-why") and not await page.is_visible("#q-stop")
    assert await page.is_visible("#q-channel") and await page.is_visible("#q-visit")
    await page.check("input[name=q_nps][value='2']")  # a detractor: asked why instead
    assert await page.is_visible("#q-why") and await page.is_visible("#q-stop")
    await page.check("input[name=q_stop][value='no']")
    assert not await page.is_visible("#q-channel") and not await page.is_visible("#q-visit")
    await page.check("input[name=q_nps][value='10']")
    await page.check("input[name=q_channel][value='web']")
    await page.fill("input[name=q_visit]", "2026-11-28")
    await accessible(page)
    await page.screenshot(path=str(shots_dir(tmp_path) / f"survey-{uuid.uuid4().hex[:6]}.png"),
                          full_page=True)
    await page.click("button[type=submit]")
    await page.wait_for_selector("p.done")
    assert "40 points" in await page.inner_text("main")
    await accessible(page)
    assert page.errors == []
    assert (await balance(admin, member)).points_available == 40
    mine = (await admin.surveys.ListMemberSurveys(
        SV.ListMemberSurveysRequest(member_id=member.member_id))).surveys
    assert len(mine) == 1
    assert '"channel": ["web"]' in mine[0].answers_json
    assert '"visit": "2026-11-28"' in mine[0].answers_json
    assert '"why"' not in mine[0].answers_json
