"""MarketingService: consent, templates, lists, campaigns and triggers over gRPC.

Translation only: the checks live in server/marketing/, the SQL in server/db/marketing/.
Every mutating call runs once per request_id, in one transaction, with an audit row.
"""

from __future__ import annotations

import datetime as dt
import uuid

from kopilka.v1 import marketing_pb2 as pb
from kopilka.v1 import marketing_pb2_grpc

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.paging import decode_token, encode_token, page_size
from server.api.servicers.marketing_coupons import may_issue_coupons, offer_from, offer_pb
from server.db.audit.repo import Change, record
from server.db.ledger.repo import raw_connection
from server.db.marketing import campaigns as sql_campaigns
from server.db.marketing import repo
from server.db.marketing.campaigns import Coupons, LinkKeys, link_keys
from server.db.marketing.coupons import issue_for_campaign
from server.db.outbox.repo import enqueue_message
from server.errors import DomainError, ErrorKind, invalid, not_found
from server.marketing import consent as consent_service
from server.marketing.coupons import check_fits, sample_code
from server.marketing.model import (
    CampaignState,
    check_channel,
    check_code,
    check_language,
    check_transition,
)
from server.marketing.pacing import zone
from server.marketing.segments import parse_segment
from server.marketing.templates import FIELDS, check_template, pick_language, render
from server.members.contacts import normalize_email, normalize_phone

STATES = {s.value: getattr(pb, f"CAMPAIGN_STATE_{s.name}") for s in CampaignState}
ACTIONS = {pb.CAMPAIGN_ACTION_PAUSE: CampaignState.PAUSED,
           pb.CAMPAIGN_ACTION_RESUME: CampaignState.RUNNING,
           pb.CAMPAIGN_ACTION_CANCEL: CampaignState.CANCELLED}
S = "/kopilka.v1.MarketingService/"


def consent_pb(row: repo.ConsentRow) -> pb.Consent:
    return pb.Consent(channel=row.channel, purpose=row.purpose, granted=row.granted,
                      source=row.source, wording_version=row.wording_version,
                      record_time=timestamp(row.recorded_at), principal=row.principal)


def campaign_pb(row: sql_campaigns.CampaignRow) -> pb.Campaign:
    return pb.Campaign(
        campaign_id=str(row.id), name=row.name, list_id=str(row.list_id),
        template_code=row.template_code, channel=row.channel, state=STATES[row.state],
        schedule_time=timestamp(row.scheduled_at), recipients=row.recipients,
        skipped=row.skipped, estimated_parts=row.estimated_parts,
        estimated_cost_minor=row.estimated_cost_minor,
        delivered_cost_minor=row.delivered_cost_minor, delivery_counts=row.delivery_counts,
        coupon=offer_pb(row.coupon),
        coupon_batch_id=str(row.coupon_batch_id) if row.coupon_batch_id else "",
        create_time=timestamp(row.created_at))


def keys_of(deps: ApiDeps) -> LinkKeys:
    """Unsubscribe-link keys: a key derived from the server secret for this purpose."""
    return link_keys(deps.settings.marketing_public_url,
                     deps.signer.derive_key("unsubscribe"))


class MarketingServicer(marketing_pb2_grpc.MarketingServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    @property
    def language(self) -> str:
        return self.deps.settings.marketing_language

    # --- consent ---------------------------------------------------------------------------

    async def SetConsent(self, request: pb.SetConsentRequest, context: Context
                         ) -> pb.SetConsentResponse:
        member_id = parse_uuid(request.member_id, "member_id")
        c = request.consent
        given = consent_service.answer(member_id, c.channel, c.purpose, c.granted, c.source,
                                       c.wording_version)

        async def work(session) -> pb.SetConsentResponse:  # type: ignore[no-untyped-def]
            store = repo.SqlConsentStore(await raw_connection(session))
            row = await consent_service.record(store, given, caller().label)
            assert isinstance(row, repo.ConsentRow)  # audited by the store
            return pb.SetConsentResponse(consent=consent_pb(row))

        return await run_once(self.deps.db, S + "SetConsent", request,
                              pb.SetConsentResponse, work)

    async def GetConsents(self, request: pb.GetConsentsRequest, context: Context
                          ) -> pb.GetConsentsResponse:
        member_id = parse_uuid(request.member_id, "member_id")
        async with self.deps.db.transaction() as session:
            conn = await raw_connection(session)
            if not await repo.member_exists(conn, member_id):
                raise not_found("member", request.member_id, "MEMBER_NOT_FOUND")
            current, history = await repo.consents(conn, member_id)
        return pb.GetConsentsResponse(consents=[consent_pb(r) for r in current],
                                      history=[consent_pb(r) for r in history])

    async def SetMemberPreferences(self, request: pb.SetMemberPreferencesRequest,
                                   context: Context) -> pb.SetMemberPreferencesResponse:
        member_id = parse_uuid(request.member_id, "member_id")
        language = check_language(request.language, "language") if request.language else None
        time_zone = request.time_zone or None
        if time_zone and zone(time_zone, "UTC").key != time_zone:
            raise invalid("time_zone", "not an IANA time zone such as Europe/Kyiv")

        async def work(session) -> pb.SetMemberPreferencesResponse:  # type: ignore[no-untyped-def]
            conn = await raw_connection(session)
            if not await repo.member_exists(conn, member_id):
                raise not_found("member", request.member_id, "MEMBER_NOT_FOUND")
            await repo.set_preferences(conn, member_id, language, time_zone)
            await record(session, Change("member_preferences", str(member_id), "set", None,
                                         {"language": language, "time_zone": time_zone}))
            return pb.SetMemberPreferencesResponse()

        return await run_once(self.deps.db, S + "SetMemberPreferences", request,
                              pb.SetMemberPreferencesResponse, work)

    # --- templates -------------------------------------------------------------------------

    async def UpsertTemplate(self, request: pb.UpsertTemplateRequest, context: Context
                             ) -> pb.UpsertTemplateResponse:
        t = request.template
        check_code(t.code, "template.code")
        check_channel(t.channel, "template.channel")
        check_language(t.default_language, "template.default_language")
        texts: dict[str, tuple[str | None, str]] = {}
        for i, text in enumerate(t.texts):
            where = f"template.texts[{i}]"
            check_language(text.language, f"{where}.language")
            if text.language in texts:
                raise invalid(f"{where}.language", "given twice")
            if not text.body.strip():
                raise invalid(f"{where}.body", "required")
            check_template(text.body, f"{where}.body")
            if text.subject:
                check_template(text.subject, f"{where}.subject")
            texts[text.language] = (text.subject or None, text.body)
        if t.default_language not in texts:
            raise invalid("template.default_language", "needs a text in that language")
        row = repo.TemplateRow(t.code, t.channel, t.default_language, texts)

        async def work(session) -> pb.UpsertTemplateResponse:  # type: ignore[no-untyped-def]
            await repo.upsert_template(await raw_connection(session), row)
            await record(session, Change("template", row.code, "upsert", None, {
                "channel": row.channel, "languages": sorted(texts)}))
            return pb.UpsertTemplateResponse(template=t)

        return await run_once(self.deps.db, S + "UpsertTemplate", request,
                              pb.UpsertTemplateResponse, work)

    # --- lists -----------------------------------------------------------------------------

    async def CreateList(self, request: pb.CreateListRequest, context: Context
                         ) -> pb.CreateListResponse:
        if not request.name.strip():
            raise invalid("name", "required")
        static = bool(request.card_numbers or request.csv)
        if static == bool(request.segment):
            raise invalid("segment", "give a segment, or card_numbers / csv, not both")
        if request.segment:
            parse_segment(request.segment)
        cards, phones = list(request.card_numbers), list[str]()
        if request.csv:
            more, phones = repo.parse_csv(request.csv, "csv")
            cards += more
        list_id = uuid.uuid4()

        async def work(session) -> pb.CreateListResponse:  # type: ignore[no-untyped-def]
            conn = await raw_connection(session)
            members = unmatched = 0
            if static:
                members, unmatched = await repo.create_static_list(conn, list_id,
                                                                   request.name, cards, phones)
            else:
                await repo.create_segment_list(conn, list_id, request.name, request.segment)
            await record(session, Change("marketing_list", str(list_id), "create", None, {
                "name": request.name, "segment": request.segment or None,
                "members": members}))
            return pb.CreateListResponse(list_id=str(list_id), member_count=members,
                                         unmatched=unmatched)

        return await run_once(self.deps.db, S + "CreateList", request,
                              pb.CreateListResponse, work)

    async def PreviewList(self, request: pb.PreviewListRequest, context: Context
                          ) -> pb.PreviewListResponse:
        sample = min(max(request.sample_size, 0) or 10, 50)
        async with self.deps.db.transaction() as session:
            conn = await raw_connection(session)
            if request.list_id:
                found = await self._list(conn, request.list_id, "list_id")
            else:
                parse_segment(request.segment)
                found = repo.ListRow(uuid.uuid4(), "", "dynamic", request.segment)
            count, ids = await repo.preview(conn, found, self.language, sample)
        return pb.PreviewListResponse(member_count=count,
                                      sample_member_ids=[str(i) for i in ids])

    async def _list(self, conn, raw: str, field: str) -> repo.ListRow:  # type: ignore[no-untyped-def]
        found = await repo.marketing_list(conn, parse_uuid(raw, field))
        if found is None:
            raise not_found("list", raw, "LIST_NOT_FOUND")
        return found

    # --- campaigns -------------------------------------------------------------------------

    async def CreateCampaign(self, request: pb.CreateCampaignRequest, context: Context
                             ) -> pb.CreateCampaignResponse:
        if not request.name.strip():
            raise invalid("name", "required")
        channel = check_channel(request.channel, "channel")
        offer = offer_from(request.coupon, "coupon", self.deps.clock()) \
            if request.HasField("coupon") else None
        if offer is not None:
            may_issue_coupons(self.deps)
        campaign_id = uuid.uuid4()

        async def work(session) -> pb.CreateCampaignResponse:  # type: ignore[no-untyped-def]
            conn = await raw_connection(session)
            found = await self._list(conn, request.list_id, "list_id")
            tpl = await repo.template(conn, request.template_code)
            if tpl is None:
                raise not_found("template", request.template_code, "TEMPLATE_NOT_FOUND")
            check_fits(tpl.texts, offer, "coupon")
            await sql_campaigns.create(conn, campaign_id, request.name, found.id,
                                       request.template_code, channel, offer)
            await record(session, Change("campaign", str(campaign_id), "create", None, {
                "name": request.name, "list_id": str(found.id),
                "template": request.template_code, "channel": channel,
                "coupon": offer.as_json() if offer else None}))
            return pb.CreateCampaignResponse(campaign=campaign_pb(await self._view(
                conn, campaign_id)))

        return await run_once(self.deps.db, S + "CreateCampaign", request,
                              pb.CreateCampaignResponse, work)

    async def _view(self, conn, campaign_id: uuid.UUID) -> sql_campaigns.CampaignRow:  # type: ignore[no-untyped-def]
        row = await sql_campaigns.view(conn, campaign_id, self.deps.clock())
        if row is None:
            raise not_found("campaign", str(campaign_id), "CAMPAIGN_NOT_FOUND")
        return row

    async def _parts(self, conn, raw_id: str  # type: ignore[no-untyped-def]
                     ) -> tuple[sql_campaigns.CampaignRow, repo.ListRow, repo.TemplateRow]:
        row = await self._view(conn, parse_uuid(raw_id, "campaign_id"))
        found = await repo.marketing_list(conn, row.list_id)
        tpl = await repo.template(conn, row.template_code)
        assert found is not None and tpl is not None  # foreign keys
        return row, found, tpl

    async def EstimateCampaign(self, request: pb.EstimateCampaignRequest, context: Context
                               ) -> pb.EstimateCampaignResponse:
        async with self.deps.db.transaction() as session:
            conn = await raw_connection(session)
            row, found, tpl = await self._parts(conn, request.campaign_id)
            totals = await sql_campaigns.estimate(
                conn, found, tpl, row.channel, self.language, keys_of(self.deps),
                Coupons(None, sample_code(row.coupon)) if row.coupon else None)
        return pb.EstimateCampaignResponse(recipients=totals.recipients, skipped=totals.skipped,
                                           parts=totals.parts, cost_minor=totals.cost_minor,
                                           currency="UAH")

    async def TestSendCampaign(self, request: pb.TestSendCampaignRequest, context: Context
                               ) -> pb.TestSendCampaignResponse:
        if request.language:
            check_language(request.language, "language")

        async def work(session) -> pb.TestSendCampaignResponse:  # type: ignore[no-untyped-def]
            conn = await raw_connection(session)
            row, _, tpl = await self._parts(conn, request.campaign_id)
            try:
                recipient = (normalize_email(request.recipient) if row.channel == "email"
                             else normalize_phone(request.recipient,
                                                  self.deps.settings.default_region))
            except ValueError as exc:
                raise invalid("recipient", str(exc)) from None
            subject, body = tpl.texts[pick_language(tpl.texts, request.language or None,
                                                    tpl.default_language)]
            text = render(body, FIELDS)
            mailing_id = await enqueue_message(
                session, channel=row.channel, recipient=recipient, text=f"[TEST] {text}",
                subject=render(subject, FIELDS) if subject else None,
                reference=f"campaign-test:{row.id}")
            await record(session, Change("campaign", str(row.id), "test_send", None,
                                         {"mailing_id": str(mailing_id)}))
            return pb.TestSendCampaignResponse(mailing_id=str(mailing_id))

        answer = await run_once(self.deps.db, S + "TestSendCampaign", request,
                                pb.TestSendCampaignResponse, work)
        self._wake()
        return answer

    def _wake(self) -> None:
        if self.deps.outbox is not None:
            self.deps.outbox.wake()

    async def StartCampaign(self, request: pb.StartCampaignRequest, context: Context
                            ) -> pb.StartCampaignResponse:
        now = self.deps.clock()
        scheduled = (request.schedule_time.ToDatetime(dt.UTC)
                     if request.HasField("schedule_time") else None)

        async def work(session) -> pb.StartCampaignResponse:  # type: ignore[no-untyped-def]
            conn = await raw_connection(session)
            row, found, tpl = await self._parts(conn, request.campaign_id)
            await sql_campaigns.lock(conn, row.id)
            wanted = CampaignState.SCHEDULED if scheduled and scheduled > now \
                else CampaignState.RUNNING
            if row.state != CampaignState.DRAFT:
                check_transition(row.state, CampaignState.DRAFT)  # always refused
            check_fits(tpl.texts, row.coupon, "campaign_id")  # the template changed since
            coupons = None
            if row.coupon is not None:  # each recipient's coupon, before the texts need it
                may_issue_coupons(self.deps)
                coupons = await issue_for_campaign(conn, row.id, found, row.channel,
                                                   self.language, row.coupon, caller().label,
                                                   now)
            rate = self.deps.settings.marketing_channel_rates.get(row.channel, 10.0)
            totals = await sql_campaigns.build(
                conn, row.id, found, tpl, row.channel, self.language, keys_of(self.deps),
                scheduled if scheduled and scheduled > now else now, rate, coupons)
            if totals.recipients == 0:  # rolls the whole transaction back: nothing queued
                raise DomainError(
                    ErrorKind.FAILED_PRECONDITION, "CAMPAIGN_NO_CONSENT",
                    f"no member of the list has marketing consent for {row.channel} "
                    f"({totals.skipped} without)", metadata={"channel": row.channel})
            await sql_campaigns.mark_started(conn, row.id, wanted.value, scheduled, totals)
            await record(session, Change("campaign", str(row.id), "start", None, {
                "recipients": totals.recipients, "skipped": totals.skipped,
                "parts": totals.parts, "cost_minor": totals.cost_minor,
                "scheduled": scheduled,
                "coupon_batch_id": str(coupons.batch_id) if coupons else None}))
            return pb.StartCampaignResponse(campaign=campaign_pb(await self._view(conn, row.id)))

        answer = await run_once(self.deps.db, S + "StartCampaign", request,
                                pb.StartCampaignResponse, work)
        self._wake()
        return answer

    async def ChangeCampaignState(self, request: pb.ChangeCampaignStateRequest,
                                  context: Context) -> pb.ChangeCampaignStateResponse:
        wanted = ACTIONS.get(request.action)
        if wanted is None:
            raise invalid("action", "pause, resume or cancel")

        async def work(session) -> pb.ChangeCampaignStateResponse:  # type: ignore[no-untyped-def]
            conn = await raw_connection(session)
            row = await self._view(conn, parse_uuid(request.campaign_id, "campaign_id"))
            await sql_campaigns.lock(conn, row.id)
            check_transition(row.state, wanted)
            rate = self.deps.settings.marketing_channel_rates.get(row.channel, 10.0)
            await sql_campaigns.set_state(conn, row.id, wanted.value, 1.0 / rate)
            await record(session, Change("campaign", str(row.id), wanted.value,
                                         {"state": row.state}, {"state": wanted.value}))
            return pb.ChangeCampaignStateResponse(campaign=campaign_pb(
                await self._view(conn, row.id)))

        answer = await run_once(self.deps.db, S + "ChangeCampaignState", request,
                                pb.ChangeCampaignStateResponse, work)
        self._wake()
        return answer

    async def GetCampaign(self, request: pb.GetCampaignRequest, context: Context
                          ) -> pb.GetCampaignResponse:
        async with self.deps.db.transaction() as session:
            conn = await raw_connection(session)
            row = await self._view(conn, parse_uuid(request.campaign_id, "campaign_id"))
        return pb.GetCampaignResponse(campaign=campaign_pb(row))

    async def ListCampaigns(self, request: pb.ListCampaignsRequest, context: Context
                            ) -> pb.ListCampaignsResponse:
        if request.channel:
            check_channel(request.channel, "channel")
        limit = page_size(request.page.page_size)
        before = decode_token(request.page.page_token)
        async with self.deps.db.transaction() as session:
            conn = await raw_connection(session)
            rows = await sql_campaigns.page(conn, request.channel or None, before, limit + 1,
                                            self.deps.clock())
        answer = pb.ListCampaignsResponse(campaigns=[campaign_pb(r) for r in rows[:limit]])
        last = rows[limit - 1] if len(rows) > limit else None
        if last is not None and last.created_at is not None:
            answer.page.next_page_token = encode_token(last.created_at, last.id)
        return answer

    async def ListCampaignRecipients(self, request: pb.ListCampaignRecipientsRequest,
                                     context: Context) -> pb.ListCampaignRecipientsResponse:
        campaign_id = parse_uuid(request.campaign_id, "campaign_id")
        after = parse_uuid(request.after_member_id, "after_member_id") \
            if request.after_member_id else None
        limit = min(max(request.page_size, 0) or 100, 1000)
        async with self.deps.db.transaction() as session:
            conn = await raw_connection(session)
            await self._view(conn, campaign_id)
            rows = await sql_campaigns.recipients(conn, campaign_id, after, limit)
        return pb.ListCampaignRecipientsResponse(recipients=[pb.CampaignRecipient(
            member_id=str(r["member_id"]), mailing_id=str(r["mailing_id"]),
            recipient=r["recipient"], state=r["state"], parts=r["parts"],
            coupon_code=r["coupon_code"] or "") for r in rows])

    async def SetSmsTariff(self, request: pb.SetSmsTariffRequest, context: Context
                           ) -> pb.SetSmsTariffResponse:
        if request.prefix and not request.prefix.isdigit():
            raise invalid("prefix", "digits of the E.164 number without '+', or empty")
        if not 0 <= request.part_price_minor <= 10**9:
            raise invalid("part_price_minor", "0 to 1,000,000,000")
        if len(request.currency) != 3 or not request.currency.isupper():
            raise invalid("currency", "an ISO 4217 code such as UAH")

        async def work(session) -> pb.SetSmsTariffResponse:  # type: ignore[no-untyped-def]
            await sql_campaigns.set_tariff(await raw_connection(session), request.prefix,
                                           request.part_price_minor, request.currency)
            await record(session, Change("sms_tariff", request.prefix or "*", "set", None, {
                "part_price_minor": request.part_price_minor, "currency": request.currency}))
            return pb.SetSmsTariffResponse()

        return await run_once(self.deps.db, S + "SetSmsTariff", request,
                              pb.SetSmsTariffResponse, work)

    # --- triggers --------------------------------------------------------------------------

    async def UpsertTrigger(self, request: pb.UpsertTriggerRequest, context: Context
                            ) -> pb.UpsertTriggerResponse:
        from server.db.marketing import triggers as sql_triggers
        from server.marketing.triggers import check_trigger

        t = request.trigger
        offer = offer_from(t.coupon, "trigger.coupon", self.deps.clock()) \
            if t.HasField("coupon") else None
        spec = check_trigger(t.code, t.event_type, t.condition, t.template_code, t.channel,
                             t.delay_seconds, t.occurrence, t.max_per_occurrence,
                             list(t.stop_events), t.active, offer)
        if offer is not None:
            may_issue_coupons(self.deps)

        async def work(session) -> pb.UpsertTriggerResponse:  # type: ignore[no-untyped-def]
            conn = await raw_connection(session)
            tpl = await repo.template(conn, spec.template_code)
            if tpl is None:
                raise not_found("template", spec.template_code, "TEMPLATE_NOT_FOUND")
            check_fits(tpl.texts, offer, "trigger.coupon")
            await sql_triggers.upsert(conn, spec)
            await record(session, Change("trigger", spec.code, "upsert", None, spec))
            return pb.UpsertTriggerResponse(trigger=t)

        return await run_once(self.deps.db, S + "UpsertTrigger", request,
                              pb.UpsertTriggerResponse, work)
