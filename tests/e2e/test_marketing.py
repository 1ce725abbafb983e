"""MarketingService end to end: real server, PostgreSQL, SMSC and HTTP site."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import aiohttp
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import common_pb2
from kopilka.v1 import mailings_pb2 as ML
from kopilka.v1 import marketing_pb2 as MK

from plugins.smpp.encoding import decode_text
from tests.e2e.verification_support import marketing_settings, register
from tests.helpers import rpc_error
from tests.smtp import running_smtp


@pytest.fixture
async def smtp():
    async with running_smtp() as running:
        yield running


@pytest.fixture
def settings(tmp_path, smsc, smtp):
    return marketing_settings(tmp_path, smsc.port, smtp[1])


def rid() -> str:
    return str(uuid.uuid4())


async def consent(admin, member_id: str, granted: bool = True, channel: str = "sms"):
    return await admin.marketing.SetConsent(MK.SetConsentRequest(
        request_id=rid(), member_id=member_id, consent=MK.Consent(
            channel=channel, purpose="marketing", granted=granted, source="questionnaire",
            wording_version="v1")))


async def template(admin, body: str, code: str = "sale", en: str = "",
                   channel: str = "sms", subject: str = "") -> None:
    texts = [MK.TemplateText(language="uk", body=body, subject=subject)]
    if en:
        texts.append(MK.TemplateText(language="en", body=en))
    await admin.marketing.UpsertTemplate(MK.UpsertTemplateRequest(
        request_id=rid(), template=MK.Template(code=code, channel=channel,
                                               default_language="uk", texts=texts)))


async def test_consent_is_recorded_with_its_proof_and_history(app, admin, world):
    member = await register(admin)
    await consent(admin, member.member_id)
    await consent(admin, member.member_id, granted=False)
    got = await admin.marketing.GetConsents(MK.GetConsentsRequest(member_id=member.member_id))
    (current,) = got.consents
    assert (current.channel, current.purpose, current.granted) == ("sms", "marketing", False)
    assert [h.granted for h in got.history] == [True, False]
    assert all(h.source == "questionnaire" and h.wording_version == "v1" and h.principal
               for h in got.history)
    with rpc_error() as bad:
        await admin.marketing.SetConsent(MK.SetConsentRequest(
            request_id=rid(), member_id=member.member_id, consent=MK.Consent(
                channel="pigeon", purpose="marketing", source="x", wording_version="v1")))
    assert bad.fields == ["consent.channel"]


async def test_bad_templates_and_segments_are_refused_with_the_reason(app, admin, world):
    for body, why in (("Hi {{ nickname }}", "unknown field"),
                      ("{{ first_name.__class__ }}", "unsafe"),
                      ("{{ ''.__class__.__mro__ }}", "unsafe"),
                      ("{% if %}", "does not parse")):
        with rpc_error() as bad:
            await template(admin, body)
        assert bad.reason == "TEMPLATE_INVALID" and why in bad.message, body
        assert bad.fields == ["template.texts[0].body"]
    with rpc_error() as bad:
        await admin.marketing.CreateList(MK.CreateListRequest(
            request_id=rid(), name="x", segment="shoe_size > 40"))
    assert bad.reason == "SEGMENT_INVALID" and "unknown field 'shoe_size'" in bad.message


async def test_campaign_end_to_end_over_the_smsc(app, admin, world, smsc):
    olena = await register(admin, phone="067 123 45 67", first_name="Olena")
    john = await register(admin, phone="050 765 43 21", first_name="John")
    petro = await register(admin, phone="093 111 22 33", first_name="Petro")
    await admin.marketing.SetMemberPreferences(MK.SetMemberPreferencesRequest(
        request_id=rid(), member_id=john.member_id, language="en"))
    await template(admin, "Привіт, {{ first_name }}! Знижка 20% до неділі.",
                   en="Hi {{ first_name }}, 20% off until Sunday!")
    listed = await admin.marketing.CreateList(MK.CreateListRequest(
        request_id=rid(), name="gold", segment="card_type = 'gold'"))
    preview = await admin.marketing.PreviewList(MK.PreviewListRequest(list_id=listed.list_id))
    assert preview.member_count == 3
    campaign = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="spring", list_id=listed.list_id, template_code="sale",
        channel="sms"))).campaign
    assert campaign.state == MK.CAMPAIGN_STATE_DRAFT
    start = MK.StartCampaignRequest(request_id=rid(), campaign_id=campaign.campaign_id)
    with rpc_error() as refused:  # nobody consented yet
        await admin.marketing.StartCampaign(start)
    assert refused.reason == "CAMPAIGN_NO_CONSENT"
    await asyncio.sleep(0.3)
    assert smsc.submitted == []  # refused before anything was sent

    await consent(admin, olena.member_id)
    await consent(admin, john.member_id)
    await consent(admin, petro.member_id, granted=False)
    estimate = await admin.marketing.EstimateCampaign(MK.EstimateCampaignRequest(
        campaign_id=campaign.campaign_id))
    # Cyrillic: UCS-2, one part (<= 70); English GSM-7 one part; 38067 120, 38050 110 kopecks
    assert (estimate.recipients, estimate.skipped, estimate.parts,
            estimate.cost_minor) == (2, 1, 2, 230)
    await admin.marketing.SetSmsTariff(MK.SetSmsTariffRequest(  # a longer prefix wins
        request_id=rid(), prefix="3805076", part_price_minor=90, currency="UAH"))
    assert (await admin.marketing.EstimateCampaign(MK.EstimateCampaignRequest(
        campaign_id=campaign.campaign_id))).cost_minor == 210
    await admin.marketing.SetSmsTariff(MK.SetSmsTariffRequest(
        request_id=rid(), prefix="3805076", part_price_minor=110, currency="UAH"))
    started = (await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=campaign.campaign_id))).campaign
    assert started.state == MK.CAMPAIGN_STATE_RUNNING and started.recipients == 2
    await smsc.wait_for(lambda: len(smsc.submitted) >= 2)
    texts = {s.destination_addr: s.text for s in smsc.submitted}
    assert texts == {"380671234567": "Привіт, Olena! Знижка 20% до неділі.",
                     "380507654321": "Hi John, 20% off until Sunday!"}
    uk = next(s for s in smsc.submitted if s.destination_addr == "380671234567")
    assert uk.data_coding == 0x08
    await asyncio.sleep(0.3)
    await smsc.push_receipt(uk.message_id, "DELIVRD")
    for _ in range(50):
        got = (await admin.marketing.GetCampaign(MK.GetCampaignRequest(
            campaign_id=campaign.campaign_id))).campaign
        if got.delivered_cost_minor:
            break
        await asyncio.sleep(0.1)
    assert got.delivered_cost_minor == 120 and got.estimated_cost_minor == 230
    assert got.state == MK.CAMPAIGN_STATE_COMPLETED
    assert dict(got.delivery_counts) == {"delivered": 1, "sent": 1}
    page = await admin.marketing.ListCampaignRecipients(MK.ListCampaignRecipientsRequest(
        campaign_id=campaign.campaign_id))
    assert sorted(r.state for r in page.recipients) == ["delivered", "sent"]
    other = await campaign_for(admin, channel="email")  # newer, a draft on another channel
    listed = await admin.marketing.ListCampaigns(MK.ListCampaignsRequest())
    assert [c.campaign_id for c in listed.campaigns] == [other.campaign_id,
                                                         campaign.campaign_id]
    [sms] = (await admin.marketing.ListCampaigns(MK.ListCampaignsRequest(
        channel="sms"))).campaigns
    assert sms == got  # as GetCampaign shows it: counts, costs, state
    assert sms.create_time.seconds > 0
    first = await admin.marketing.ListCampaigns(MK.ListCampaignsRequest(
        page=common_pb2.PageRequest(page_size=1)))
    assert [c.campaign_id for c in first.campaigns] == [other.campaign_id]
    rest = await admin.marketing.ListCampaigns(MK.ListCampaignsRequest(
        page=common_pb2.PageRequest(page_size=1, page_token=first.page.next_page_token)))
    assert [c.campaign_id for c in rest.campaigns] == [campaign.campaign_id]
    assert not rest.page.next_page_token
    with rpc_error() as bad:
        await admin.marketing.ListCampaigns(MK.ListCampaignsRequest(channel="pigeon"))
    assert bad.fields == ["channel"]
    with rpc_error() as again:
        await admin.marketing.StartCampaign(MK.StartCampaignRequest(
            request_id=rid(), campaign_id=campaign.campaign_id))
    assert again.reason == "CAMPAIGN_STATE_INVALID"


async def test_unsubscribe_link_withdraws_consent(app, admin, world, smsc):
    member = await register(admin)
    await consent(admin, member.member_id)
    await template(admin, "Sale! Stop: {{ unsubscribe_url }}")
    listed = await admin.marketing.CreateList(MK.CreateListRequest(
        request_id=rid(), name="one", csv="phone\n067 123 45 67\n099 000 00 00\n"))
    assert (listed.member_count, listed.unmatched) == (1, 1)
    campaign = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="c", list_id=listed.list_id, template_code="sale",
        channel="sms"))).campaign
    await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=campaign.campaign_id))
    await smsc.wait_for(lambda: len(smsc.submitted) >= 1)
    # the SMSC saw GSM-7 bytes ('_' is 0x11 there); the history keeps the text as sent
    (sent,) = (await admin.mailings.ListMailings(ML.ListMailingsRequest(
        reference=f"campaign:{campaign.campaign_id}"))).mailings
    url = sent.body.split("Stop: ")[1]
    path = url.split("/u/")[1]
    base = f"http://127.0.0.1:{app.http.port}/u/"
    async with aiohttp.ClientSession() as http:
        async with http.get(base + path) as shown:
            assert shown.status == 200 and "<form" in await shown.text()
        async with http.post(base + path[:-2] + "xx") as forged:
            assert forged.status == 404
        async with http.post(base + path) as done:
            assert done.status == 200
    got = await admin.marketing.GetConsents(MK.GetConsentsRequest(member_id=member.member_id))
    assert [(c.granted, c.source) for c in got.consents] == [(False, "unsubscribe_link")]


async def test_a_stop_reply_withdraws_sms_marketing_consent(app, admin, world, smsc):
    member = await register(admin, phone="050 123 45 67")  # the SMSC's MO sender
    await consent(admin, member.member_id)
    await app.deps.plugins.message_channels()["sms"].wait_connected(2.0)
    assert await smsc.push_deliver_sm("Привіт".encode("utf-16-be"), data_coding=0x08) == 0
    assert await smsc.push_deliver_sm(b"STOP") == 0
    got = await admin.marketing.GetConsents(MK.GetConsentsRequest(member_id=member.member_id))
    assert [(c.channel, c.granted, c.source) for c in got.consents] == [
        ("sms", False, "sms_stop")]
    assert [h.granted for h in got.history] == [True, False]  # "Привіт" changed nothing


async def campaign_for(admin, channel: str = "sms", segment: str = "card_type = 'gold'"):
    listed = await admin.marketing.CreateList(MK.CreateListRequest(
        request_id=rid(), name="l", segment=segment))
    return (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="c", list_id=listed.list_id, template_code="sale",
        channel=channel))).campaign


async def test_an_email_campaign_with_logic_reaches_the_smtp_server(app, admin, world, smtp):
    mailbox, _ = smtp
    rich = await register(admin, phone="067 123 45 67", email="olena@example.test")
    await register(admin, phone="050 765 43 21", email="petro@example.test")
    await consent(admin, rich.member_id, channel="email")
    await template(admin, "{% if points_balance > 0 %}Бали: {{ points_balance }}{% else %}"
                   "Вітаємо, {{ first_name }}!{% endif %} {{ unsubscribe_url }}",
                   channel="email", subject="Для {{ first_name }}")
    campaign = await campaign_for(admin, channel="email")
    started = (await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=campaign.campaign_id))).campaign
    assert (started.recipients, started.skipped) == (1, 1)  # petro never consented
    for _ in range(50):
        if mailbox.received:
            break
        await asyncio.sleep(0.1)
    (mail,) = mailbox.received
    assert mail.rcpt_tos == ["olena@example.test"]
    text = mail.content.decode()
    assert "/u/" in text and "Olena" in text


async def due_times(app, campaign_id: str) -> list[dt.datetime | None]:
    """When the campaign's outbox rows fall due (None: never, while paused)."""
    from server.db.ledger.repo import raw_connection

    async with app.db.transaction() as session:
        rows = await (await raw_connection(session)).fetch(
            "SELECT CASE WHEN o.next_attempt_at = 'infinity' THEN NULL ELSE "
            "date_trunc('second', o.next_attempt_at) END AS due FROM outbox o "
            "JOIN marketing_messages mm ON mm.mailing_id = o.mailing_id "
            "WHERE mm.campaign_id = $1", uuid.UUID(campaign_id))
    return [r["due"] for r in rows]


async def test_scheduled_campaign_pauses_resumes_and_cancels_without_sending(
        app, admin, world, smsc):
    member = await register(admin)
    await consent(admin, member.member_id)
    await template(admin, "Sale soon")
    campaign = await campaign_for(admin)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(microsecond=0)
    when = Timestamp()
    when.FromDatetime(later)
    started = (await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=campaign.campaign_id, schedule_time=when))).campaign
    assert started.state == MK.CAMPAIGN_STATE_SCHEDULED
    change = lambda action: admin.marketing.ChangeCampaignState(  # noqa: E731
        MK.ChangeCampaignStateRequest(request_id=rid(), campaign_id=campaign.campaign_id,
                                      action=action))
    assert await due_times(app, campaign.campaign_id) == [later.replace(microsecond=0)]
    assert (await change(MK.CAMPAIGN_ACTION_PAUSE)).campaign.state == MK.CAMPAIGN_STATE_PAUSED
    assert await due_times(app, campaign.campaign_id) == [None]  # 'infinity': never due
    assert (await change(MK.CAMPAIGN_ACTION_RESUME)).campaign.state == \
        MK.CAMPAIGN_STATE_RUNNING
    assert await due_times(app, campaign.campaign_id) == [later.replace(microsecond=0)]
    cancelled = (await change(MK.CAMPAIGN_ACTION_CANCEL)).campaign
    assert cancelled.state == MK.CAMPAIGN_STATE_CANCELLED
    assert dict(cancelled.delivery_counts) == {"failed": 1}
    with rpc_error() as bad:
        await change(MK.CAMPAIGN_ACTION_RESUME)
    assert bad.reason == "CAMPAIGN_STATE_INVALID"
    # a test send goes out at once, marked, outside the campaign
    sent = await admin.marketing.TestSendCampaign(MK.TestSendCampaignRequest(
        request_id=rid(), campaign_id=campaign.campaign_id, recipient="093 111 22 33"))
    await smsc.wait_for(lambda: len(smsc.submitted) >= 1)
    assert [(s.destination_addr, decode_text(s.short_message, s.data_coding))
            for s in smsc.submitted] == [
        ("380931112233", "[TEST] Sale soon")]
    assert sent.mailing_id


async def test_the_seeded_birthday_trigger_greets_over_the_smsc_once(app, admin, world, smsc):
    """The running server's dispatcher hands member.birthday to the triggers (an event
    consumer registered in server.app.EVENT_CONSUMERS); a redelivery greets no one twice."""
    import datetime as dt

    from server.db.outbox.repo import emit
    from server.events.schema import new_event
    from server.features.triggers import trigger_consumer
    from server.plugin_contracts import DomainEvent

    member = await register(admin, first_name="Olena")
    await consent(admin, member.member_id)
    birthday = new_event("member.birthday", member_id=member.member_id,
                         birth_date=dt.date(1990, 6, 1), date=dt.date(2030, 6, 1))
    async with app.db.transaction() as session:
        event_id = await emit(session, birthday)
    await smsc.wait_for(lambda: len(smsc.submitted) >= 1)
    redelivered = DomainEvent(birthday.type, dict(birthday.payload), str(event_id))
    assert await trigger_consumer(app.deps).on_event(redelivered) == 0
    await asyncio.sleep(0.5)
    (greeting,) = smsc.submitted
    assert greeting.text.startswith("Olena, з днем народження")


async def test_plain_subjects_render_and_plain_and_logic_languages_mix(app, admin, world,
                                                                      smtp):
    """A plain template's subject is rendered in SQL like its body (it was sent as written),
    and a template plain in one language but with logic in another starts (it failed on the
    plain text's unused parameters)."""
    mailbox, _ = smtp
    olena = await register(admin, phone="067 123 45 67", email="olena@example.test")
    john = await register(admin, phone="050 765 43 21", email="john@example.test",
                          first_name="John")
    await admin.marketing.SetMemberPreferences(MK.SetMemberPreferencesRequest(
        request_id=rid(), member_id=john.member_id, language="en"))
    for member in (olena, john):
        await consent(admin, member.member_id, channel="email")
    await admin.marketing.UpsertTemplate(MK.UpsertTemplateRequest(
        request_id=rid(), template=MK.Template(code="sale", channel="email",
                                               default_language="uk", texts=[
            MK.TemplateText(language="uk", body="Знижка для {{ first_name }}",
                            subject="{{ first_name }}, знижка"),
            MK.TemplateText(language="en", body="{% if first_name %}Hi {{ first_name }}"
                            "{% endif %}", subject="Sale")])))
    mixed = await campaign_for(admin, channel="email")
    assert (await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=mixed.campaign_id))).campaign.recipients == 2
    await admin.marketing.UpsertTemplate(MK.UpsertTemplateRequest(
        request_id=rid(), template=MK.Template(code="plain", channel="email",
                                               default_language="uk", texts=[
            MK.TemplateText(language="uk", body="Знижка", subject="Для {{ first_name }}")])))
    listed = await admin.marketing.CreateList(MK.CreateListRequest(
        request_id=rid(), name="one", card_numbers=[olena.cards[0].number]))
    plain = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="p", list_id=listed.list_id, template_code="plain",
        channel="email"))).campaign
    await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=plain.campaign_id))
    sent = await admin.mailings.ListMailings(ML.ListMailingsRequest(
        reference=f"campaign:{plain.campaign_id}"))
    assert [m.subject for m in sent.mailings] == ["Для Olena"]
    for _ in range(50):
        if len(mailbox.received) >= 3:
            break
        await asyncio.sleep(0.1)
    assert len(mailbox.received) == 3
