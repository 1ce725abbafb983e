"""Campaigns and triggers that give each recipient a personal coupon, end to end: the real
server and PostgreSQL, the SMSC and SMTP fakes. Three recipients get three distinct codes
in their texts; a retried start, a throttled (resent) SMS and a redelivered event issue
nothing twice; the code then unlocks its promotion on CalculateReceipt and ConfirmReceipt
spends it; the coupon right and the template's {{ coupon }} are checked."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid

import grpc
import pytest
import smpp34
import sqlalchemy as sa
from kopilka.v1 import admin_pb2
from kopilka.v1 import coupons_pb2 as C
from kopilka.v1 import marketing_pb2 as MK
from kopilka.v1 import receipts_pb2 as R
from kopilka.v1 import roles_pb2 as RP

from server.engagement.coupons import well_formed
from tests.e2e.ledger_support import STORE, Member, new_member, setup_world
from tests.e2e.verification_support import marketing_settings, register
from tests.helpers import rpc_error
from tests.smtp import running_smtp

RULES = """
rules:
  - {id: coupon-20, promotion: spring-coupon, conditions: {coupon: spring-coupon},
     benefit: {type: percent, percent: "20%", scope: receipt}, message: "Coupon: 20% off"}
"""
CODE = re.compile(r"coupon ([2-9A-Z]+)")


@pytest.fixture
async def smtp():
    async with running_smtp() as running:
        yield running


@pytest.fixture
def settings(tmp_path, smsc, smtp):
    return marketing_settings(tmp_path, smsc.port, smtp[1])


def rid() -> str:
    return str(uuid.uuid4())


async def consent(admin, member_id: str, channel: str = "sms") -> None:  # type: ignore[no-untyped-def]
    await admin.marketing.SetConsent(MK.SetConsentRequest(
        request_id=rid(), member_id=member_id, consent=MK.Consent(
            channel=channel, purpose="marketing", granted=True, source="questionnaire",
            wording_version="v1")))


async def template(admin, body: str, code: str = "gift", channel: str = "sms",  # type: ignore[no-untyped-def]
                   subject: str = "") -> None:
    await admin.marketing.UpsertTemplate(MK.UpsertTemplateRequest(
        request_id=rid(), template=MK.Template(code=code, channel=channel,
                                               default_language="uk", texts=[
                                                   MK.TemplateText(language="uk", body=body,
                                                                   subject=subject)])))


async def segment(admin, expression: str = "card_type = 'silver'") -> str:  # type: ignore[no-untyped-def]
    return (await admin.marketing.CreateList(MK.CreateListRequest(
        request_id=rid(), name="l", segment=expression))).list_id


def spring(**fields: object) -> MK.RecipientCoupon:
    return MK.RecipientCoupon(promotion_id="spring-coupon", **fields)  # type: ignore[arg-type]


async def rows(app, sql: str, **params: object) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return [tuple(r) for r in (await session.execute(sa.text(sql), params)).all()]


async def test_three_recipients_get_three_coupons_once_and_one_is_spent(app, admin, smsc):
    await setup_world(admin)
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(request_id=rid(), document=RULES))
    members = [await new_member(admin, n) for n in (41, 42, 43)]
    silent = await new_member(admin, 44)  # no consent: no message, no coupon
    for m in members:
        await consent(admin, m.member_id)
    await template(admin, "Your coupon {{ coupon }}: 20% off until Sunday")
    campaign = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="spring", list_id=await segment(admin), template_code="gift",
        channel="sms", coupon=spring(valid_days=14, prefix="SP")))).campaign
    assert (campaign.coupon.promotion_id, campaign.coupon.valid_days,
            campaign.coupon.max_uses, campaign.coupon_batch_id) == ("spring-coupon", 14, 1, "")
    estimate = await admin.marketing.EstimateCampaign(MK.EstimateCampaignRequest(
        campaign_id=campaign.campaign_id))
    assert (estimate.recipients, estimate.skipped, estimate.parts) == (3, 1, 3)
    assert await rows(app, "SELECT 1 FROM coupons") == []  # estimating issues nothing

    smsc.script.append(smpp34.ESME_RTHROTTLED)  # the first submit is refused and resent
    start = MK.StartCampaignRequest(request_id=rid(), campaign_id=campaign.campaign_id)
    started = (await admin.marketing.StartCampaign(start)).campaign
    assert started.recipients == 3 and started.coupon_batch_id
    assert (await admin.marketing.StartCampaign(start)).campaign == started  # a retry
    with rpc_error() as again:
        await admin.marketing.StartCampaign(MK.StartCampaignRequest(
            request_id=rid(), campaign_id=campaign.campaign_id))
    assert again.reason == "CAMPAIGN_STATE_INVALID"

    await smsc.wait_for(lambda: sum(s.message_id is not None for s in smsc.submitted) >= 3)
    sent = {s.destination_addr: CODE.search(s.text).group(1)  # type: ignore[union-attr]
            for s in smsc.submitted if s.message_id}
    assert len(smsc.submitted) == 4 and smsc.submitted[0].message_id is None
    throttled = smsc.submitted[0]
    assert CODE.search(throttled.text).group(1) == sent[throttled.destination_addr]  # type: ignore[union-attr]
    codes = set(sent.values())
    assert len(codes) == 3 and all(well_formed(c) and c.startswith("SP") for c in codes)

    issued = (await admin.coupons.ListCoupons(C.ListCouponsRequest(
        batch_id=started.coupon_batch_id))).coupons
    by_member = {c.member_id: c for c in issued}
    assert set(by_member) == {m.member_id for m in members}
    assert {c.code for c in issued} == codes and {c.source for c in issued} == {"campaign"}
    assert all(c.max_uses == 1 and c.valid_to_time.seconds - c.valid_from_time.seconds
               == 14 * 86400 for c in issued)
    # each member's SMS carries that member's own code
    phones = {m.member_id: f"38067{n:07d}" for m, n in zip(members, (41, 42, 43), strict=True)}
    assert {phones[c.member_id]: c.code for c in issued} == sent
    page = await admin.marketing.ListCampaignRecipients(MK.ListCampaignRecipientsRequest(
        campaign_id=campaign.campaign_id))
    assert {r.member_id: r.coupon_code for r in page.recipients} == {
        c.member_id: c.code for c in issued}

    await asyncio.sleep(0.3)  # the resend and the dispatcher's passes issued nothing more
    assert await rows(app, "SELECT count(*) FROM coupons") == [(3,)]
    events = await rows(app, "SELECT payload->>'member_id', payload->>'source', "
                             "payload->>'batch_id' FROM outbox WHERE event_type = "
                             "'coupon.issued'")
    assert sorted(events) == sorted((m.member_id, "campaign", started.coupon_batch_id)
                                    for m in members)
    audit = await rows(app, "SELECT object_type, action, after->>'count', after->>'source' "
                            "FROM audit_log WHERE object_id = :b", b=started.coupon_batch_id)
    assert audit == [("coupon_batch", "issue", "3", "campaign")]
    assert silent.member_id not in by_member

    # the code unlocks its promotion for its member, and a receipt spends it once
    anna = members[0]
    code = by_member[anna.member_id].code
    calc = await calculate(admin, anna, code)
    assert calc.discount_total.amount_minor == 2000
    assert [(c.code, c.accepted, c.applied) for c in calc.coupons] == [(code, True, True)]
    await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=rid(), calculation_id=calc.calculation_id, receipt_number="CAMP-1",
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                            amount_minor=calc.total.amount_minor)]))
    spent = (await admin.coupons.GetCoupon(C.GetCouponRequest(code=code))).coupon
    assert spent.uses == 1
    assert (await calculate(admin, anna, code)).coupons[0].reason == "COUPON_USED_UP"
    other = by_member[members[1].member_id].code  # someone else's coupon on Anna's card
    assert (await calculate(admin, anna, other)).coupons[0].reason == "COUPON_OTHER_MEMBER"


async def calculate(admin, member: Member, *codes: str) -> R.CalculateReceiptResponse:  # type: ignore[no-untyped-def]
    return await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code=STORE, terminal_id="T1", card_number=member.card,
        lines=[R.ReceiptLine(line_no=1, sku="milk", quantity_milli=1000,
                             unit_price_minor=10_000)], coupon_codes=list(codes)))


async def test_an_email_campaign_with_logic_mails_each_code(app, admin, smtp):
    from tests.e2e.verification_support import setup_world as gold_world

    mailbox, _ = smtp
    await gold_world(admin)
    olena = await register(admin, phone="067 123 45 67", email="olena@example.test")
    petro = await register(admin, phone="050 765 43 21", email="petro@example.test",
                           first_name="Petro")
    for m in (olena, petro):
        await consent(admin, m.member_id, channel="email")
    await template(admin, "{% if coupon %}{{ first_name }}, your coupon {{ coupon }}"
                   "{% endif %}", channel="email", subject="A gift for {{ first_name }}")
    until = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    offer = spring(max_uses=2)
    offer.valid_to_time.FromDatetime(until)
    campaign = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="mail", list_id=await segment(admin, "card_type = 'gold'"),
        template_code="gift", channel="email", coupon=offer))).campaign
    started = (await admin.marketing.StartCampaign(MK.StartCampaignRequest(
        request_id=rid(), campaign_id=campaign.campaign_id))).campaign
    assert started.recipients == 2
    for _ in range(50):
        if len(mailbox.received) >= 2:
            break
        await asyncio.sleep(0.1)
    mailed = {mail.rcpt_tos[0]: CODE.search(mail.content.decode()).group(1)  # type: ignore[union-attr]
              for mail in mailbox.received}
    issued = (await admin.coupons.ListCoupons(C.ListCouponsRequest(
        batch_id=started.coupon_batch_id))).coupons
    owner = {olena.member_id: "olena@example.test", petro.member_id: "petro@example.test"}
    assert mailed == {owner[c.member_id]: c.code for c in issued}
    assert all(c.max_uses == 2 and c.valid_to_time.ToDatetime(dt.UTC) == until
               for c in issued)


async def test_a_trigger_issues_one_coupon_per_firing_and_none_on_redelivery(
        app, admin, smsc):
    from server.db.outbox.repo import emit
    from server.events.schema import new_event
    from server.features.triggers import trigger_consumer
    from server.plugin_contracts import DomainEvent

    await setup_world(admin)
    member = await new_member(admin, 51)
    await consent(admin, member.member_id)
    await template(admin, "Welcome to gold! Your coupon {{ coupon }}")
    await admin.marketing.UpsertTrigger(MK.UpsertTriggerRequest(
        request_id=rid(), trigger=MK.Trigger(
            code="tier-gift", event_type="member.tier_changed", template_code="gift",
            channel="sms", occurrence="event", max_per_occurrence=1, active=True,
            coupon=spring(valid_days=30))))
    moved = new_event("member.tier_changed", member_id=member.member_id,
                      card_number=member.card, from_card_type="silver", to_card_type="vip",
                      spent_minor=500_000, period_days=365, moved_at=dt.datetime.now(dt.UTC))
    async with app.db.transaction() as session:
        event_id = await emit(session, moved)
    await smsc.wait_for(lambda: len(smsc.submitted) >= 1)
    (coupon,) = (await admin.coupons.ListCoupons(C.ListCouponsRequest(
        member_id=member.member_id))).coupons
    assert (coupon.source, coupon.promotion_id) == ("trigger", "spring-coupon")
    assert CODE.search(smsc.submitted[0].text).group(1) == coupon.code  # type: ignore[union-attr]
    redelivered = DomainEvent(moved.type, dict(moved.payload), str(event_id))
    assert await trigger_consumer(app.deps).on_event(redelivered) == 0
    await asyncio.sleep(0.5)
    assert len(smsc.submitted) == 1
    assert len((await admin.coupons.ListCoupons(C.ListCouponsRequest(
        member_id=member.member_id))).coupons) == 1
    assert await rows(app, "SELECT coupon_id::text FROM trigger_firings") == [
        (await rows(app, "SELECT id::text FROM coupons"))[0]]
    audit = await rows(app, "SELECT principal, after->>'source' FROM audit_log WHERE "
                            "object_type = 'coupon' AND action = 'issue'")
    assert [a[1] for a in audit] == ["trigger"]


async def test_coupon_right_template_field_and_bad_input(app, admin, make_key, client_for):
    await setup_world(admin)
    list_id = await segment(admin)
    await template(admin, "Your coupon {{ coupon }}")
    await template(admin, "No coupon here", code="plain")
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=RP.Role(
        name="campaigner", grants=[RP.Grant(object_type="campaigns", action=a)
                                   for a in ("read", "update", "approve")])))
    campaigner = client_for(await make_key("campaigner"))
    create = lambda client, **kw: client.marketing.CreateCampaign(  # noqa: E731
        MK.CreateCampaignRequest(request_id=rid(), name="c", list_id=list_id, channel="sms",
                                 **kw))
    with rpc_error() as denied:  # issuing coupons is the coupon issuer's right too
        await create(campaigner, template_code="gift", coupon=spring())
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED,
                                            "PERMISSION_DENIED")
    assert "coupons.issue" in denied.message
    with rpc_error() as denied:
        await campaigner.marketing.UpsertTrigger(MK.UpsertTriggerRequest(
            request_id=rid(), trigger=MK.Trigger(
                code="t", event_type="member.tier_changed", template_code="gift",
                channel="sms", occurrence="event", max_per_occurrence=1, coupon=spring())))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    await create(campaigner, template_code="plain")  # without a coupon: the campaign right
    with rpc_error() as bad:  # {{ coupon }} with no coupon to show
        await create(admin, template_code="gift")
    assert (bad.reason, bad.fields) == ("TEMPLATE_INVALID", ["coupon"])
    for fields, path in (({"promotion_id": " "}, "coupon.promotion_id"),
                         ({"prefix": "OIL"}, "coupon.prefix"),
                         ({"max_uses": -1}, "coupon.max_uses"),
                         ({"valid_days": 5000}, "coupon.valid_days")):
        offer = MK.RecipientCoupon(**{"promotion_id": "spring-coupon", **fields})  # type: ignore[arg-type]
        with rpc_error() as bad:
            await create(admin, template_code="gift", coupon=offer)
        assert (bad.code, bad.fields) == (grpc.StatusCode.INVALID_ARGUMENT, [path]), fields
    past = spring()
    past.valid_to_time.FromDatetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with rpc_error() as bad:
        await create(admin, template_code="gift", coupon=past)
    assert bad.fields == ["coupon.valid_to_time"]
    with rpc_error() as bad:  # a coupon on coupon.issued would issue coupons forever
        await admin.marketing.UpsertTrigger(MK.UpsertTriggerRequest(
            request_id=rid(), trigger=MK.Trigger(
                code="loop", event_type="coupon.issued", template_code="gift",
                channel="sms", occurrence="event", max_per_occurrence=1, coupon=spring())))
    assert bad.fields == ["trigger.coupon"]
    assert await rows(app, "SELECT count(*) FROM campaigns") == [(1,)]  # only the plain one


async def test_a_campaign_whose_coupons_expired_before_the_start_issues_nothing(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 61)
    await consent(admin, member.member_id)
    await template(admin, "Your coupon {{ coupon }}")
    soon = spring()
    soon.valid_to_time.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    campaign = (await admin.marketing.CreateCampaign(MK.CreateCampaignRequest(
        request_id=rid(), name="late", list_id=await segment(admin), template_code="gift",
        channel="sms", coupon=soon))).campaign
    await asyncio.sleep(1.2)
    with rpc_error() as late:
        await admin.marketing.StartCampaign(MK.StartCampaignRequest(
            request_id=rid(), campaign_id=campaign.campaign_id))
    assert late.reason == "CAMPAIGN_COUPON_EXPIRED"
    assert await rows(app, "SELECT count(*) FROM coupons") == [(0,)]
    got = (await admin.marketing.GetCampaign(MK.GetCampaignRequest(
        campaign_id=campaign.campaign_id))).campaign
    assert got.state == MK.CAMPAIGN_STATE_DRAFT and got.coupon_batch_id == ""
