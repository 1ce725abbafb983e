"""MemberService: protobuf in, members domain, protobuf out."""

from __future__ import annotations

from kopilka.v1 import members_pb2, members_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import (
    CARD_STATES,
    CHANNELS,
    card_to_pb,
    member_to_pb,
    money,
    profile_from_pb,
    timestamp,
)
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.paging import decode_token, encode_token, page_size
from server.api.servicers.receipts import STATES as RECEIPT_STATES
from server.auth.scope import visible_stores
from server.db import scope_repo
from server.db.audit.repo import Change, record
from server.db.members.repo import SqlMemberRepository
from server.errors import invalid
from server.members import service
from server.members.model import MemberInfo, Profile

SERVICE = "/kopilka.v1.MemberService/"


def profile_change(member_id: object, old: Profile, new: Profile, source: str) -> list[Change]:
    """The audit row of a profile update: the changed fields, before and after (none when
    nothing changed)."""
    names = [n for n in Profile.__dataclass_fields__ if getattr(old, n) != getattr(new, n)]
    if not names:
        return []
    return [Change("member", str(member_id), "update_profile",
                  {n: getattr(old, n) for n in names},
                  {**{n: getattr(new, n) for n in names}, "source": source})]


class MemberServicer(members_pb2_grpc.MemberServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self.region = deps.settings.default_region

    def member_answer(self, member: MemberInfo) -> members_pb2.Member:
        """The one way a member leaves this service: in the view of the caller's roles (a
        till sees the sale view; see server/members/views.py). RegisterMember and
        UpdateMemberProfile store this answer for retries, so a till's stored answer holds
        no more than the till saw."""
        return member_to_pb(member, self.deps.access().member_view)

    def sees_vip(self) -> bool:
        """Whether VIP members exist for the caller (read on vip_members)."""
        return self.deps.access().member_view.vip

    async def RegisterMember(
        self, request: members_pb2.RegisterMemberRequest, context: Context
    ) -> members_pb2.RegisterMemberResponse:
        channel = CHANNELS.get(request.channel)
        if channel is None:
            raise invalid("channel", "required: how the member registers")
        raw = profile_from_pb(request.profile)

        async def work(session: AsyncSession) -> members_pb2.RegisterMemberResponse:
            member = await service.register_member(
                SqlMemberRepository(session), raw, channel,
                issue_card_type=request.issue_card_type or None, region=self.region,
                principal=caller().label, sees_vip=self.sees_vip(),
            )
            await record(session, Change("member", str(member.id), "register", None,
                                         member))
            return members_pb2.RegisterMemberResponse(member=self.member_answer(member))

        return await run_once(self.deps.db, SERVICE + "RegisterMember", request,
                              members_pb2.RegisterMemberResponse, work)

    async def GetMember(
        self, request: members_pb2.GetMemberRequest, context: Context
    ) -> members_pb2.GetMemberResponse:
        member_id = parse_uuid(request.member_id, "member_id")
        async with self.deps.db.transaction() as session:
            member = await service.get_member(SqlMemberRepository(session), member_id,
                                              sees_vip=self.sees_vip())
        return members_pb2.GetMemberResponse(member=self.member_answer(member))

    async def FindMember(
        self, request: members_pb2.FindMemberRequest, context: Context
    ) -> members_pb2.FindMemberResponse:
        async with self.deps.db.transaction() as session:
            member = await service.find_member(
                SqlMemberRepository(session), card_number=request.card_number,
                phone=request.phone, email=request.email, region=self.region,
                sees_vip=self.sees_vip(),
            )
        return members_pb2.FindMemberResponse(member=self.member_answer(member))

    async def UpdateMemberProfile(
        self, request: members_pb2.UpdateMemberProfileRequest, context: Context
    ) -> members_pb2.UpdateMemberProfileResponse:
        member_id = parse_uuid(request.member_id, "member_id")
        raw = profile_from_pb(request.profile)

        async def work(session: AsyncSession) -> members_pb2.UpdateMemberProfileResponse:
            repo = SqlMemberRepository(session)
            old = (await service.get_member(repo, member_id, sees_vip=self.sees_vip())).profile
            member = await service.update_profile(
                repo, member_id, raw, request.update_fields,
                source=request.source, region=self.region, principal=caller().label,
                sees_vip=self.sees_vip(),
            )
            await record(session, *profile_change(member_id, old, member.profile,
                                                  request.source))
            return members_pb2.UpdateMemberProfileResponse(member=self.member_answer(member))

        return await run_once(self.deps.db, SERVICE + "UpdateMemberProfile", request,
                              members_pb2.UpdateMemberProfileResponse, work)

    async def IssueCard(
        self, request: members_pb2.IssueCardRequest, context: Context
    ) -> members_pb2.IssueCardResponse:
        member_id = parse_uuid(request.member_id, "member_id")
        if not request.card_type:
            raise invalid("card_type", "required")

        async def work(session: AsyncSession) -> members_pb2.IssueCardResponse:
            card = await service.issue_card(
                SqlMemberRepository(session), member_id, request.card_type,
                activate=request.activate, principal=caller().label, sees_vip=self.sees_vip(),
            )
            await record(session, Change("card", card.number, "issue", None, card))
            return members_pb2.IssueCardResponse(card=card_to_pb(card))

        return await run_once(self.deps.db, SERVICE + "IssueCard", request,
                              members_pb2.IssueCardResponse, work)

    async def ChangeCardState(
        self, request: members_pb2.ChangeCardStateRequest, context: Context
    ) -> members_pb2.ChangeCardStateResponse:
        target = CARD_STATES.get(request.state)
        if target is None:
            raise invalid("state", "required: the state to move the card to")
        if not request.card_number:
            raise invalid("card_number", "required")

        async def work(session: AsyncSession) -> members_pb2.ChangeCardStateResponse:
            repo = SqlMemberRepository(session)
            old = await repo.card(request.card_number)
            card = await service.change_card_state(
                repo, request.card_number, target, request.reason,
                principal=caller().label, sees_vip=self.sees_vip(),
            )
            if old is not None and old.state != card.state:
                await record(session, Change("card", card.number, "state",
                                             {"state": old.state},
                                             {"state": card.state, "reason": request.reason}))
            return members_pb2.ChangeCardStateResponse(card=card_to_pb(card))

        return await run_once(self.deps.db, SERVICE + "ChangeCardState", request,
                              members_pb2.ChangeCardStateResponse, work)

    async def ReplaceCard(
        self, request: members_pb2.ReplaceCardRequest, context: Context
    ) -> members_pb2.ReplaceCardResponse:
        if not request.card_number:
            raise invalid("card_number", "required")

        async def work(session: AsyncSession) -> members_pb2.ReplaceCardResponse:
            old, new = await service.replace_card(
                SqlMemberRepository(session), request.card_number, request.reason,
                principal=caller().label, sees_vip=self.sees_vip(),
            )
            await record(session, Change("card", old.number, "replace", {"state": "active"},
                                         {"state": old.state, "replaced_by": new.number,
                                          "reason": request.reason}),
                         Change("card", new.number, "issue", None, new))
            return members_pb2.ReplaceCardResponse(old_card=card_to_pb(old),
                                                   new_card=card_to_pb(new))

        return await run_once(self.deps.db, SERVICE + "ReplaceCard", request,
                              members_pb2.ReplaceCardResponse, work)

    async def ListPurchases(
        self, request: members_pb2.ListPurchasesRequest, context: Context
    ) -> members_pb2.ListPurchasesResponse:
        if request.member_id or not request.card_number:
            member_id = parse_uuid(request.member_id, "member_id")
        else:
            member_id = None
            if len(request.card_number) > 32:
                raise invalid("card_number", "at most 32 characters")
        limit = page_size(request.page.page_size)
        before = decode_token(request.page.page_token)
        who = caller()
        async with self.deps.db.transaction() as session:
            network = (await scope_repo.network_store_codes(session, who.network_code)
                       if who.network_code else frozenset())
            rows = await service.list_purchases(
                SqlMemberRepository(session), member_id, before, limit + 1,
                stores=visible_stores(who, network), card_number=request.card_number,
                sees_vip=self.sees_vip(),
            )
        more = len(rows) > limit
        rows = rows[:limit]
        response = members_pb2.ListPurchasesResponse(purchases=[
            members_pb2.Purchase(
                receipt_id=str(r.receipt_id), store_code=r.store_code,
                receipt_number=r.receipt_number, card_number=r.card_number or "",
                total=money(r.total_minor, r.currency),
                discount_total=money(r.discount_total_minor, r.currency),
                confirm_time=timestamp(r.confirmed_at), state=RECEIPT_STATES[r.state],
                refunded_total=money(r.refunded_minor, r.currency),
            )
            for r in rows
        ])
        if more:
            response.page.next_page_token = encode_token(rows[-1].confirmed_at, rows[-1].receipt_id)
        return response

    async def SetMemberVip(
        self, request: members_pb2.SetMemberVipRequest, context: Context
    ) -> members_pb2.SetMemberVipResponse:
        member_id = parse_uuid(request.member_id, "member_id")

        async def work(session: AsyncSession) -> members_pb2.SetMemberVipResponse:
            member = await service.set_vip(SqlMemberRepository(session), member_id, request.vip,
                                           sees_vip=self.sees_vip())
            await record(session, Change("member", str(member_id), "set_vip", None,
                                         {"vip": member.vip}))
            return members_pb2.SetMemberVipResponse(member=self.member_answer(member))

        return await run_once(self.deps.db, SERVICE + "SetMemberVip", request,
                              members_pb2.SetMemberVipResponse, work)
