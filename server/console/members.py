"""The console's members: search (e-mail, card and phone through FindMember; a last-name
prefix, then a first-name prefix, in keyset pages), a member's page with the whole timeline,
and the changes to a member (profile, VIP, points, cards), each through its RPC (`Door`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from kopilka.v1 import audit_pb2, bonus_pb2, common_pb2, members_pb2

from server.api.convert import CARD_STATES
from server.api.servicers.adjustments import REASON_CODES
from server.auth.permissions import Permission
from server.auth.principal import Principal
from server.console.common import PREFIX, PRINCIPAL, B, C, M
from server.db.console import queries
from server.errors import DomainError, ErrorKind
from server.members.contacts import normalize_phone
from server.members.model import MemberInfo, Profile, RegistrationChannel
from server.members.views import shown

PAGE = 20  # search hits per page


if TYPE_CHECKING:
    from server.console.web import Console


class MemberPages:
    """The handlers; `add_routes` puts them on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door
        self.deps = console.deps

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/members", self.members)
        router.add_get("/members/{member_id}", self.member)
        router.add_post("/members/{member_id}/profile", self.update_profile)
        router.add_post("/members/{member_id}/vip", self.set_vip)
        router.add_post("/members/{member_id}/points", self.adjust_points)
        router.add_post("/members/{member_id}/cards/{number}/block", self.block_card)
        router.add_post("/members/{member_id}/cards/{number}/replace", self.replace_card)

    async def members(self, request: web.Request) -> web.StreamResponse:
        """Search: e-mail, card and phone go through FindMember (one member); anything else
        is a last-name prefix (then a first-name prefix) in keyset pages."""
        who = await self.console.signed_in(request)
        self.door.require(who, Permission.MEMBERS_READ)
        q = request.query.get("q", "").strip()[:100]
        hits: list[dict[str, Any]] = []
        next_after = ""
        if q:
            found = await self._find_exact(who, q)
            if found is not None:
                hits = [found]
            else:
                hits, next_after = await self._by_name(who, q, request.query.get("after", ""))
        template = "members_results.html" if request.headers.get("HX-Request") else \
            "members.html"
        return self.console.render(request, template, q=q, hits=hits, next_after=next_after)

    async def _find_exact(self, who: Principal, q: str) -> dict[str, Any] | None:
        request = members_pb2.FindMemberRequest()
        compact = q.replace(" ", "").replace("-", "")
        if "@" in q:
            request.email = q
        elif compact.isdigit() and len(compact) == 13:
            request.card_number = compact
        else:
            try:
                normalize_phone(q, self.console.region)
            except ValueError:
                return None
            request.phone = q
        try:
            answer = await self.door.call(who, M + "FindMember", request,
                                          members_pb2.FindMemberResponse)
        except DomainError as error:
            if error.kind in (ErrorKind.NOT_FOUND, ErrorKind.INVALID_ARGUMENT):
                return None
            raise
        m = answer.member
        return {"id": m.member_id, "name": " ".join(
            x for x in (m.profile.last_name, m.profile.first_name, m.profile.middle_name) if x),
            "phone": m.profile.phone, "email": m.profile.email,
            "cards": [c.number for c in m.cards], "vip": m.vip}

    async def _by_name(self, who: Principal, q: str,
                       after_raw: str) -> tuple[list[dict[str, Any]], str]:
        view = self.door.access(who).member_view
        if "last_name" not in view.fields:  # nobody is searched by what they may not see
            return [], ""
        last, _, first = q.partition(" ")
        after = None
        if after_raw:
            key, _, raw_id = after_raw.rpartition("|")
            try:
                after = (key, uuid.UUID(raw_id))
            except ValueError:
                after = None
        async with self.deps.db.transaction() as session:
            rows = await queries.members_by_name(session, last, first.strip(),
                                                 sees_vip=view.vip, after=after,
                                                 limit=PAGE + 1)
        hits = []
        for row in rows[:PAGE]:
            info = shown(MemberInfo(row.member_id, Profile(
                first_name=row.first_name, last_name=row.last_name,
                middle_name=row.middle_name, phone=row.phone, email=row.email),
                RegistrationChannel.OPERATOR, dt.datetime.min, [], row.vip), view)
            p = info.profile
            hits.append({"id": str(row.member_id), "name": " ".join(
                x for x in (p.last_name, p.first_name, p.middle_name) if x),
                "phone": p.phone or "", "email": p.email or "", "cards": [], "vip": info.vip})
        more = f"{rows[PAGE - 1].sort_key}|{rows[PAGE - 1].member_id}" \
            if len(rows) > PAGE else ""
        return hits, more

    async def member(self, request: web.Request, notice: str = "",
                     violations: Any = None, status: int = 200) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        notice = notice or self.console.t(request).get(request.query.get("notice", ""), "")
        member_id = request.match_info["member_id"]
        got = await self.door.call(who, M + "GetMember",
                                   members_pb2.GetMemberRequest(member_id=member_id),
                                   members_pb2.GetMemberResponse)
        m = got.member
        mid = uuid.UUID(m.member_id)
        # the timeline's parts read at once, each in a short transaction of its own: the
        # page waits for the slowest one, not for their sum
        (purchases, lines), orders, reads, audit = await asyncio.gather(
            self._purchases(who, member_id), self.console.order_pages.member_orders(
                who, member_id), self._timeline(who, m, mid), self._audit(who, m))
        ctx: dict[str, Any] = {"m": m, "purchases": purchases, "lines": lines,
                               "orders": orders, "audit": audit, **reads,
                               "notice": notice, "violations": violations or [],
                               "card_state": {v: k.value for v, k in CARD_STATES.items()},
                               "active": members_pb2.CARD_STATE_ACTIVE,
                               "reason_codes": [c.value for c in REASON_CODES.values()],
                               "can": {
                                   "cards": self.door.allowed_rpc(who, M + "ChangeCardState"),
                                   "points": self.door.allowed_rpc(who, B + "AdjustPoints"),
                                   "vip": self.door.allowed_rpc(who, M + "SetMemberVip"),
                                   "profile": self.door.allowed_rpc(
                                       who, M + "UpdateMemberProfile")},
                               "request_id": str(uuid.uuid4())}
        return self.console.render(request, "member.html", status=status, **ctx)

    async def _purchases(self, who: Principal, member_id: str
                         ) -> tuple[Any, dict[str, Any]]:
        """The newest purchases and their lines."""
        purchases = (await self.door.call(
            who, M + "ListPurchases", members_pb2.ListPurchasesRequest(
                member_id=member_id, page=common_pb2.PageRequest(page_size=20)),
            members_pb2.ListPurchasesResponse)).purchases
        if not purchases:
            return purchases, {}
        async with self.deps.db.transaction() as session:
            lines = await queries.receipt_lines(
                session, [uuid.UUID(p.receipt_id) for p in purchases])
        return purchases, {str(k): v for k, v in lines.items()}

    async def _timeline(self, who: Principal, m: Any, mid: uuid.UUID) -> dict[str, Any]:
        """Points, lots, certificates and messages, as far as the user may read them."""
        out: dict[str, Any] = {"balances": None, "ledger": [], "lots": [], "messages": [],
                               "certificates": []}
        points = self.door.allows(who, Permission.BONUS_READ)
        certificates = self.door.allowed_rpc(who, C + "GetCertificate")
        mailings = self.door.allows(who, Permission.MAILINGS_READ)
        if not (points or certificates or mailings):
            return out
        async with self.deps.db.transaction() as session:
            if points:
                out["balances"] = await queries.balances(session, mid)
                out["ledger"] = await queries.ledger_rows(session, mid, 50)
                out["lots"] = await queries.lots(session, mid, 50)
            if certificates:
                out["certificates"] = await queries.member_certificates(session, mid, 50)
            if mailings:
                recipients = [r for r in (m.profile.phone, m.profile.email)
                              if r and "*" not in r]
                out["messages"] = await queries.messages(session, recipients, 50)
        return out

    async def _audit(self, who: Principal, m: Any) -> list[Any]:
        """The audit of the member and their cards, newest first."""
        if not self.door.allows(who, Permission.AUDIT_READ):
            return []
        pages = await asyncio.gather(*(self.door.call(
            who, "/kopilka.v1.AuditService/ListAudit", audit_pb2.ListAuditRequest(
                object_type=object_type, object_id=object_id,
                page=common_pb2.PageRequest(page_size=50)),
            audit_pb2.ListAuditResponse) for object_type, object_id in
            [("member", m.member_id), *(("card", c.number) for c in m.cards)]))
        entries = [e for page in pages for e in page.entries]
        entries.sort(key=lambda e: (e.create_time.seconds, e.id), reverse=True)
        return entries

    async def _act(self, request: web.Request, method: str, message: Any,
                   response_type: Any, notice_key: str = "done") -> web.StreamResponse:
        """Run one change; on bad input show the member page again with the fields named."""
        who = request[PRINCIPAL]
        try:
            answer = await self.door.call(who, method, message, response_type)
        except DomainError as error:
            if error.kind in (ErrorKind.INVALID_ARGUMENT, ErrorKind.FAILED_PRECONDITION,
                              ErrorKind.RESOURCE_EXHAUSTED, ErrorKind.ALREADY_EXISTS):
                return await self.member(request, notice=error.message,
                                         violations=error.violations, status=400)
            raise
        key = "pending_approval" if getattr(answer, "state", 0) == \
            bonus_pb2.ADJUSTMENT_STATE_PENDING_APPROVAL else notice_key
        raise web.HTTPSeeOther(f"{PREFIX}/members/{request.match_info['member_id']}"
                               f"?notice={key}")

    async def update_profile(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        fields = [f for f in ("first_name", "last_name", "phone", "email") if f in form]
        profile = members_pb2.MemberProfile()
        for name in fields:
            setattr(profile, name, form[name])
        return await self._act(request, M + "UpdateMemberProfile",
                               members_pb2.UpdateMemberProfileRequest(
                                   request_id=form.get("request_id", ""),
                                   member_id=request.match_info["member_id"],
                                   profile=profile, update_fields=fields,
                                   source=form.get("source", "") or "console"),
                               members_pb2.UpdateMemberProfileResponse)

    async def set_vip(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        return await self._act(request, M + "SetMemberVip", members_pb2.SetMemberVipRequest(
            request_id=form.get("request_id", ""), member_id=request.match_info["member_id"],
            vip=form.get("vip") == "1"),
            members_pb2.SetMemberVipResponse)

    async def adjust_points(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        codes = {v.value: k for k, v in REASON_CODES.items()}
        try:
            points = int(form.get("points", ""))
        except ValueError:
            points = 0  # AdjustPoints names the field
        return await self._act(request, B + "AdjustPoints", bonus_pb2.AdjustPointsRequest(
            request_id=form.get("request_id", ""), card_number=form.get("card_number", ""),
            points=points, reason=form.get("reason", ""),
            reason_code=codes.get(form.get("reason_code", ""),
                                  bonus_pb2.ADJUSTMENT_REASON_UNSPECIFIED)),
            bonus_pb2.AdjustPointsResponse)

    async def block_card(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        return await self._act(request, M + "ChangeCardState",
                               members_pb2.ChangeCardStateRequest(
                                   request_id=form.get("request_id", ""),
                                   card_number=request.match_info["number"],
                                   state=members_pb2.CARD_STATE_BLOCKED,
                                   reason=form.get("reason", "")),
                               members_pb2.ChangeCardStateResponse)

    async def replace_card(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        return await self._act(request, M + "ReplaceCard", members_pb2.ReplaceCardRequest(
            request_id=form.get("request_id", ""), card_number=request.match_info["number"],
            reason=form.get("reason", "")), members_pb2.ReplaceCardResponse)
