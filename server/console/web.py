"""The console's pages and actions (aiohttp + Jinja2 + htmx), mounted at /console.

Security: a session cookie (the access service's session token, HttpOnly, SameSite=Strict,
Secure on TLS or with KOPILKA_CONSOLE_SECURE_COOKIES), a CSRF token derived from the session
on every POST (a form field or htmx's X-CSRF-Token header), a double-submit token on the
sign-in form, and a Content-Security-Policy allowing only this site's own script and style.
Every action goes through `Door` (the servicers' code, permissions and audit).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web
from kopilka.v1 import (
    admin_pb2,
    audit_pb2,
    bonus_pb2,
    certificates_pb2,
    common_pb2,
    members_pb2,
    promotions_pb2,
    users_pb2,
)

from server.access import service as access
from server.access.model import User
from server.api.convert import CARD_STATES
from server.api.servicers.adjustments import REASON_CODES
from server.api.servicers.users import access_policy
from server.auth.permissions import Permission
from server.auth.principal import Principal
from server.console import i18n, lists, locate
from server.console.campaigns import CampaignPages
from server.console.dashboard import DashboardPages
from server.console.door import Door, user_principal
from server.console.orders import OrderPages
from server.db.access.repo import SqlUserRepository
from server.db.console import queries
from server.db.pricing import repo as pricing_repo
from server.errors import DomainError, ErrorKind
from server.members.contacts import normalize_phone
from server.members.model import MemberInfo, Profile, RegistrationChannel
from server.members.views import shown

PREFIX = "/console"
SESSION_COOKIE = "kopilka_session"
LOGIN_COOKIE = "kopilka_login"
LANG_COOKIE = "kopilka_lang"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PAGE = 20
M = "/kopilka.v1.MemberService/"
C = "/kopilka.v1.CertificateService/"
B = "/kopilka.v1.BonusService/"
A = "/kopilka.v1.AdminService/"

USER = web.RequestKey("user", User)
PRINCIPAL = web.RequestKey("principal", Principal)
CSRF = web.RequestKey("csrf", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_token(session_token: str) -> str:
    """Per-session CSRF token: a keyed hash of the session token (which the page's script
    cannot read: the cookie is HttpOnly), so nothing is stored for it."""
    return hmac.new(session_token.encode(), b"kopilka-console-csrf", hashlib.sha256).hexdigest()


def _names(text: str) -> list[str]:
    """"operator, admin" -> ["operator", "admin"] (role lists typed in one field)."""
    return [n for n in (part.strip() for part in text.replace(",", " ").split()) if n]


def money(minor: int) -> str:
    """Minor units as 1 234.56 (integers only: no float touches money)."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(int(minor)), 100)
    return f"{sign}{whole:,}.{cents:02d}".replace(",", "\u202f")


def when(value: Any) -> str:
    """A timestamp (datetime or protobuf Timestamp) as 2026-12-01 09:00 UTC."""
    if hasattr(value, "ToDatetime"):
        if not value.seconds and not value.nanos:
            return ""
        value = value.ToDatetime(tzinfo=dt.UTC)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    return str(value or "")


class Console:
    """The console's handlers; `add_routes` puts them on the server's HTTP site."""

    prefix = PREFIX

    def __init__(self, door: Door, secure_cookies: bool) -> None:
        self.door = door
        self.deps = door.deps
        self.policy = access_policy(door.deps.settings)
        self.secure_cookies = secure_cookies
        self.region = door.deps.settings.default_region
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("server.console", "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined)
        self.env.filters["money"] = money
        self.env.filters["when"] = when
        static = resources.files("server.console") / "static"
        self.static = {name: (static / name).read_bytes()
                       for name in ("htmx.min.js", "console.css")}
        self.order_pages = OrderPages(self)
        self.campaign_pages = CampaignPages(self)
        self.dashboard_pages = DashboardPages(self)

    # --- plumbing -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers, self._errors])
        r = app.router
        r.add_get("/", self.home)
        r.add_get("/static/{name}", self.static_file)
        r.add_get("/login", self.login_page)
        r.add_post("/login", self.login)
        r.add_post("/logout", self.logout)
        r.add_get("/lang/{lang}", self.set_lang)
        r.add_get("/members", self.members)
        r.add_get("/members/{member_id}", self.member)
        r.add_post("/members/{member_id}/profile", self.update_profile)
        r.add_post("/members/{member_id}/vip", self.set_vip)
        r.add_post("/members/{member_id}/points", self.adjust_points)
        r.add_post("/members/{member_id}/cards/{number}/block", self.block_card)
        r.add_post("/members/{member_id}/cards/{number}/replace", self.replace_card)
        r.add_get("/lists/{name}", self.listing)
        r.add_post("/lists/pending/{id}/{decision}", self.decide_adjustment)
        r.add_post("/lists/api-keys/{id}/revoke", self.revoke_key)
        r.add_post("/lists/api-keys", self.create_key)
        r.add_post("/lists/users", self.create_user)
        r.add_post("/lists/{name}", self.upsert_row)
        r.add_post("/lists/users/{id}/{action}", self.change_user)
        r.add_get("/certificates", self.certificate)
        r.add_post("/certificates", self.issue_batch)
        r.add_post("/certificates/{number}/{action}", self.certificate_action)
        r.add_get("/certificates-usage", self.certificate_usage)
        self.dashboard_pages.add_routes(r)
        self.order_pages.add_routes(r)
        self.campaign_pages.add_routes(r)
        r.add_get("/program/rules", self.rules)
        r.add_post("/program/rules", self.upload_rules)
        r.add_get("/program/bonus-rules", self.rules)
        r.add_post("/program/bonus-rules", self.upload_rules)
        return app

    def add_routes(self, root: web.Application) -> None:
        root.add_subapp(PREFIX, self.app())

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except DomainError as error:
            if error.kind is ErrorKind.UNAUTHENTICATED:
                raise web.HTTPSeeOther(PREFIX + "/login") from None
            status = {ErrorKind.PERMISSION_DENIED: 403, ErrorKind.NOT_FOUND: 404,
                      ErrorKind.INVALID_ARGUMENT: 400}.get(error.kind, 409)
            key = {403: "forbidden", 404: "not_found"}.get(status)
            return self.render(request, "error.html", status=status,
                               message=self.t(request)[key] if key else error.message,
                               violations=error.violations)

    def lang(self, request: web.Request) -> str:
        return i18n.choose(request.cookies.get(LANG_COOKIE),
                           request.headers.get("Accept-Language", ""))

    def t(self, request: web.Request) -> dict[str, str]:
        return i18n.translator(self.lang(request))

    def render(self, request: web.Request, template: str, status: int = 200,
               **context: Any) -> web.Response:
        user = request.get(USER)
        principal = request.get(PRINCIPAL)
        t = self.t(request)
        body = self.env.get_template(template).render(
            t=t, tr=lambda key, word: t.get(key + word, word),  # an enum's word, translated
            lang=self.lang(request), prefix=PREFIX, user=user,
            csrf=request.get(CSRF, ""), nav=self._nav(principal), **context)
        return web.Response(text=body, status=status, content_type="text/html")

    def _nav(self, principal: Principal | None) -> list[tuple[str, str]]:
        if principal is None:
            return []
        items = [("members", PREFIX + "/members", Permission.MEMBERS_READ),
                 ("dashboard", PREFIX + "/dashboard", Permission.BONUS_READ),
                 ("rules", PREFIX + "/program/rules", Permission.PROMOTIONS_WRITE),
                 ("bonus_rules", PREFIX + "/program/bonus-rules", Permission.PROMOTIONS_WRITE)]
        shown_ = [(key, url) for key, url, needed in items if self.door.allows(principal, needed)]
        if self.door.allowed_rpc(principal, C + "GetCertificate"):
            shown_.append(("certificates", PREFIX + "/certificates"))
        if self.door.allowed_rpc(principal, "/kopilka.v1.OrderService/ListOrders"):
            shown_.append(("orders", PREFIX + "/orders"))
        if self.door.allowed_rpc(principal, "/kopilka.v1.MarketingService/ListCampaigns"):
            shown_.append(("campaigns", PREFIX + "/campaigns"))
        shown_ += [(page.title, f"{PREFIX}/lists/{name}") for name, page in lists.LISTS.items()
                   if self.door.allowed_rpc(principal, page.method)]
        return shown_

    def _cookie(self, response: web.StreamResponse, request: web.Request, name: str,
                value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, path=PREFIX, httponly=True, samesite="Strict",
                            secure=self.secure_cookies or request.secure, max_age=max_age)

    async def signed_in(self, request: web.Request) -> Principal:
        """The signed-in user's principal; POSTs must carry the session's CSRF token."""
        token = request.cookies.get(SESSION_COOKIE, "")
        async with self.deps.db.transaction() as session:
            _, user = await access.check_session(SqlUserRepository(session), self.policy,
                                                 token, self.deps.clock())
        request[USER] = user
        request[CSRF] = csrf_token(token)
        principal = request[PRINCIPAL] = user_principal(user)
        if request.method == "POST":
            form = await request.post()
            sent = str(form.get("csrf", "")) or request.headers.get("X-CSRF-Token", "")
            if not hmac.compare_digest(sent, request[CSRF]):
                raise web.HTTPForbidden(text="CSRF token missing or wrong")
        return principal

    async def form(self, request: web.Request) -> dict[str, str]:
        return {k: str(v) for k, v in (await request.post()).items()}

    # --- sign-in ------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(PREFIX + "/members")

    async def static_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.static:
            raise web.HTTPNotFound()
        kind = "application/javascript" if name.endswith(".js") else "text/css"
        response = web.Response(body=self.static[name], content_type=kind)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    async def set_lang(self, request: web.Request) -> web.StreamResponse:
        lang = request.match_info["lang"]
        back = request.query.get("next", "")
        response = web.HTTPSeeOther(back if back.startswith(PREFIX + "/") else PREFIX + "/")
        if lang in i18n.LANGUAGES:
            self._cookie(response, request, LANG_COOKIE, lang, max_age=365 * 86400)
        raise response

    async def login_page(self, request: web.Request, failed: str = "",
                         status: int = 200) -> web.StreamResponse:
        nonce = secrets.token_urlsafe(24)
        response = self.render(request, "login.html", status=status, login_csrf=nonce,
                               failed=failed)
        self._cookie(response, request, LOGIN_COOKIE, nonce)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await self.form(request)
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not hmac.compare_digest(form.get("csrf", ""), nonce):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
        async with self.deps.db.transaction() as session:
            result = await access.login(
                SqlUserRepository(session), self.policy, email=form.get("email", ""),
                password=form.get("password", ""), totp_code=form.get("totp", ""),
                now=self.deps.clock())
        if result.refusal is not None:
            return await self.login_page(request, failed=result.refusal.message, status=401)
        response = web.HTTPSeeOther(PREFIX + "/members")
        self._cookie(response, request, SESSION_COOKIE, result.token)
        response.del_cookie(LOGIN_COOKIE, path=PREFIX)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        async with self.deps.db.transaction() as session:
            await access.logout(SqlUserRepository(session),
                                request.cookies.get(SESSION_COOKIE, ""), self.deps.clock())
        response = web.HTTPSeeOther(PREFIX + "/login")
        response.del_cookie(SESSION_COOKIE, path=PREFIX)
        raise response

    # --- members ------------------------------------------------------------------------

    async def members(self, request: web.Request) -> web.StreamResponse:
        """Search: e-mail, card and phone go through FindMember (one member); anything else
        is a last-name prefix (then a first-name prefix) in keyset pages."""
        who = await self.signed_in(request)
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
        return self.render(request, template, q=q, hits=hits, next_after=next_after)

    async def _find_exact(self, who: Principal, q: str) -> dict[str, Any] | None:
        request = members_pb2.FindMemberRequest()
        compact = q.replace(" ", "").replace("-", "")
        if "@" in q:
            request.email = q
        elif compact.isdigit() and len(compact) == 13:
            request.card_number = compact
        else:
            try:
                normalize_phone(q, self.region)
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
        who = await self.signed_in(request)
        notice = notice or self.t(request).get(request.query.get("notice", ""), "")
        member_id = request.match_info["member_id"]
        got = await self.door.call(who, M + "GetMember",
                                   members_pb2.GetMemberRequest(member_id=member_id),
                                   members_pb2.GetMemberResponse)
        m = got.member
        mid = uuid.UUID(m.member_id)
        purchases = (await self.door.call(
            who, M + "ListPurchases", members_pb2.ListPurchasesRequest(
                member_id=member_id, page=common_pb2.PageRequest(page_size=20)),
            members_pb2.ListPurchasesResponse)).purchases
        ctx: dict[str, Any] = {"m": m, "purchases": purchases, "lines": {}, "balances": None,
                               "ledger": [], "lots": [], "messages": [], "audit": [],
                               "orders": await self.order_pages.member_orders(who, member_id),
                               "certificates": [],
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
        async with self.deps.db.transaction() as session:
            ctx["lines"] = {str(k): v for k, v in (await queries.receipt_lines(
                session, [uuid.UUID(p.receipt_id) for p in purchases])).items()}
            if self.door.allows(who, Permission.BONUS_READ):
                ctx["balances"] = await queries.balances(session, mid)
                ctx["ledger"] = await queries.ledger_rows(session, mid, 50)
                ctx["lots"] = await queries.lots(session, mid, 50)
            if self.door.allowed_rpc(who, C + "GetCertificate"):
                ctx["certificates"] = await queries.member_certificates(session, mid, 50)
            if self.door.allows(who, Permission.MAILINGS_READ):
                recipients = [r for r in (m.profile.phone, m.profile.email)
                              if r and "*" not in r]
                ctx["messages"] = await queries.messages(session, recipients, 50)
        if self.door.allows(who, Permission.AUDIT_READ):
            for object_type, object_id in [("member", m.member_id),
                                           *(("card", c.number) for c in m.cards)]:
                ctx["audit"].extend((await self.door.call(
                    who, "/kopilka.v1.AuditService/ListAudit", audit_pb2.ListAuditRequest(
                        object_type=object_type, object_id=object_id,
                        page=common_pb2.PageRequest(page_size=50)),
                    audit_pb2.ListAuditResponse)).entries)
            ctx["audit"].sort(key=lambda e: (e.create_time.seconds, e.id), reverse=True)
        return self.render(request, "member.html", status=status, **ctx)

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
        await self.signed_in(request)
        form = await self.form(request)
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
        await self.signed_in(request)
        form = await self.form(request)
        return await self._act(request, M + "SetMemberVip", members_pb2.SetMemberVipRequest(
            member_id=request.match_info["member_id"], vip=form.get("vip") == "1"),
            members_pb2.SetMemberVipResponse)

    async def adjust_points(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        form = await self.form(request)
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
        await self.signed_in(request)
        form = await self.form(request)
        return await self._act(request, M + "ChangeCardState",
                               members_pb2.ChangeCardStateRequest(
                                   request_id=form.get("request_id", ""),
                                   card_number=request.match_info["number"],
                                   state=members_pb2.CARD_STATE_BLOCKED,
                                   reason=form.get("reason", "")),
                               members_pb2.ChangeCardStateResponse)

    async def replace_card(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        form = await self.form(request)
        return await self._act(request, M + "ReplaceCard", members_pb2.ReplaceCardRequest(
            request_id=form.get("request_id", ""), card_number=request.match_info["number"],
            reason=form.get("reason", "")), members_pb2.ReplaceCardResponse)

    # --- program ------------------------------------------------------------------------

    async def rules(self, request: web.Request, document: str = "", fmt: str = "yaml",
                    violations: Any = None, diff: str = "", applied: str = "",
                    status: int = 200) -> web.StreamResponse:
        """The promotions rule set (AdminService.ApplyRuleSet) or, at /program/bonus-rules,
        the accrual rules: the active one, its history, upload with errors by line, diff."""
        who = await self.signed_in(request)
        self.door.require(who, Permission.PROMOTIONS_WRITE)
        bonus = request.path.endswith("/bonus-rules")
        active: Any
        history: Any
        async with self.deps.db.transaction() as session:
            if bonus:
                active = await queries.active_bonus_rules(session)
                history = await queries.bonus_rules_history(session, 20)
            else:
                active = await pricing_repo.active_rule_set(session)
                history = await pricing_repo.rule_set_history(session, 20)
        located = [(v.field, v.description, locate.line_of(document, v.field))
                   for v in violations or []]
        bad_lines = {line for _, _, line in located if line}
        numbered = [(i, text, i in bad_lines)
                    for i, text in enumerate(document.splitlines(), 1)] if located else []
        return self.render(request, "rules.html", status=status, active=active,
                           history=history, document=document, fmt=fmt, violations=located,
                           numbered=numbered, diff=diff, bonus=bonus,
                           action=request.path,
                           applied=applied or request.query.get("applied", ""))

    async def upload_rules(self, request: web.Request) -> web.StreamResponse:
        who = await self.signed_in(request)
        form = await self.form(request)
        document, fmt = form.get("document", ""), form.get("format", "yaml")
        bonus = request.path.endswith("/bonus-rules")
        if form.get("preview"):
            self.door.require(who, Permission.BONUS_RULES_WRITE if bonus
                              else Permission.PROMOTIONS_WRITE)
            async with self.deps.db.transaction() as session:
                active = await (queries.active_bonus_rules(session) if bonus
                                else pricing_repo.active_rule_set(session))
            before = active.document.splitlines() if active is not None else []
            diff = "\n".join(difflib.unified_diff(before, document.splitlines(), "active",
                                                  "uploaded", lineterm=""))
            return await self.rules(request, document, fmt, diff=diff or "=")
        try:
            if bonus:  # the RPC's own path: permission, idempotency, audit
                applied = await self.door.call(
                    who, "/kopilka.v1.PromotionService/ApplyBonusRules",
                    promotions_pb2.ApplyBonusRulesRequest(
                        request_id=form.get("request_id") or str(uuid.uuid4()),
                        document=document),
                    promotions_pb2.ApplyBonusRulesResponse)
                version = applied.version
            else:
                answer = await self.door.call(
                    who, "/kopilka.v1.AdminService/ApplyRuleSet", admin_pb2.ApplyRuleSetRequest(
                        document=document, format=admin_pb2.RULE_SET_FORMAT_JSON
                        if fmt == "json" else admin_pb2.RULE_SET_FORMAT_YAML),
                    admin_pb2.ApplyRuleSetResponse)
                version = answer.version
        except DomainError as error:
            if error.kind is not ErrorKind.INVALID_ARGUMENT:
                raise
            return await self.rules(request, document, fmt, violations=error.violations,
                                    status=400)
        raise web.HTTPSeeOther(f"{request.path}?applied={version}")

    # --- lists, certificates --------------------------------------------------------------

    async def listing(self, request: web.Request) -> web.StreamResponse:
        who = await self.signed_in(request)
        name = request.match_info["name"]
        page = lists.LISTS.get(name)
        if page is None:
            raise web.HTTPNotFound()
        query = dict(request.query)
        message, filters = lists.build_request(page, query)
        answer = await self.door.call(who, page.method, message, page.response)
        columns, rows = lists.table(getattr(answer, page.rows))
        if query.get("format") == "csv":
            return self._csv(f"{name}.csv", columns, rows)
        more = lists.next_token(answer)
        keep = {k: v for k, v in query.items() if k != "page_token" and v}
        return self.render(request, "list.html", name=name, page=page, filters=filters,
                           columns=columns, rows=rows, next_token=more, keep=keep,
                           request_id=str(uuid.uuid4()), row_form=lists.row_fields(page))

    async def upsert_row(self, request: web.Request) -> web.StreamResponse:
        """Add or change a store or a card type (UpsertStore, UpsertCardType)."""
        await self.signed_in(request)
        name = request.match_info["name"]
        page = lists.LISTS.get(name)
        if page is None or page.upsert is None:
            raise web.HTTPNotFound()
        method, _, response_type, _ = page.upsert
        return await self._then(request, method,
                                lists.upsert_request(page, await self.form(request)),
                                response_type, f"{PREFIX}/lists/{name}")

    def _csv(self, filename: str, columns: list[str], rows: list[dict[str, str]]) -> web.Response:
        response = web.Response(text=lists.as_csv(columns, rows), content_type="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    async def _then(self, request: web.Request, method: str, message: Any, response_type: Any,
                    back: str) -> web.StreamResponse:
        """Run one change from a list page; refusals of bad input show on an error page."""
        await self.door.call(request[PRINCIPAL], method, message, response_type)
        raise web.HTTPSeeOther(back)

    async def decide_adjustment(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        form = await self.form(request)
        decision, adjustment = request.match_info["decision"], request.match_info["id"]
        back = PREFIX + "/lists/pending"
        if decision == "approve":
            return await self._then(request, B + "ApproveAdjustment",
                                    bonus_pb2.ApproveAdjustmentRequest(
                                        request_id=form.get("request_id", ""),
                                        adjustment_id=adjustment),
                                    bonus_pb2.ApproveAdjustmentResponse, back)
        if decision == "reject":
            return await self._then(request, B + "RejectAdjustment",
                                    bonus_pb2.RejectAdjustmentRequest(
                                        request_id=form.get("request_id", ""),
                                        adjustment_id=adjustment,
                                        reason=form.get("reason", "")),
                                    bonus_pb2.RejectAdjustmentResponse, back)
        raise web.HTTPNotFound()

    async def revoke_key(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        return await self._then(request, A + "RevokeApiKey", admin_pb2.RevokeApiKeyRequest(
            key_id=request.match_info["id"]), admin_pb2.RevokeApiKeyResponse,
            PREFIX + "/lists/api-keys")

    async def create_key(self, request: web.Request) -> web.StreamResponse:
        """A new API key; its secret is shown on this answer once, never again."""
        who = await self.signed_in(request)
        form = await self.form(request)
        kinds = {"terminal": admin_pb2.PRINCIPAL_KIND_TERMINAL,
                 "store_backend": admin_pb2.PRINCIPAL_KIND_STORE_BACKEND,
                 "operator": admin_pb2.PRINCIPAL_KIND_OPERATOR,
                 "integrator": admin_pb2.PRINCIPAL_KIND_INTEGRATOR}
        answer = await self.door.call(who, A + "CreateApiKey", admin_pb2.CreateApiKeyRequest(
            name=form.get("name", ""), kind=kinds.get(form.get("kind", ""),
                                                     admin_pb2.PRINCIPAL_KIND_UNSPECIFIED),
            store_code=form.get("store_code", ""), terminal_id=form.get("terminal_id", ""),
            roles=_names(form.get("roles", ""))), admin_pb2.CreateApiKeyResponse)
        return self.render(request, "secret.html", key_id=answer.key_id, secret=answer.secret)

    async def create_user(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        form = await self.form(request)
        return await self._then(request, "/kopilka.v1.UserService/CreateUser",
                                users_pb2.CreateUserRequest(
                                    name=form.get("name", ""), email=form.get("email", ""),
                                    roles=_names(form.get("roles", "")),
                                    password=form.get("password", "")),
                                users_pb2.CreateUserResponse, PREFIX + "/lists/users")

    async def change_user(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        form = await self.form(request)
        user_id, action = request.match_info["id"], request.match_info["action"]
        back = PREFIX + "/lists/users"
        if action == "roles":
            return await self._then(request, "/kopilka.v1.UserService/SetUserRoles",
                                    users_pb2.SetUserRolesRequest(
                                        user_id=user_id, roles=_names(form.get("roles", ""))),
                                    users_pb2.SetUserRolesResponse, back)
        if action == "disable":
            return await self._then(request, "/kopilka.v1.UserService/DisableUser",
                                    users_pb2.DisableUserRequest(user_id=user_id),
                                    users_pb2.DisableUserResponse, back)
        raise web.HTTPNotFound()

    async def certificate(self, request: web.Request) -> web.StreamResponse:
        who = await self.signed_in(request)
        number = request.query.get("number", "").strip()[:32]
        found: dict[str, str] = {}
        entries: tuple[list[str], list[dict[str, str]]] = ([], [])
        if number:
            answer = await self.door.call(who, C + "GetCertificate",
                                          certificates_pb2.GetCertificateRequest(number=number),
                                          certificates_pb2.GetCertificateResponse)
            _, rows = lists.table([answer.certificate])
            found = rows[0] if rows else {}
            entries = lists.table(answer.entries)
        return self.render(request, "certificate.html", number=number, found=found,
                           entries=entries, request_id=str(uuid.uuid4()),
                           can_manage=self.door.allowed_rpc(who, C + "BlockCertificate"),
                           can_issue=self.door.allowed_rpc(who, C + "IssueCertificate"))

    async def issue_batch(self, request: web.Request) -> web.StreamResponse:
        """A batch of certificates (IssueCertificate with a count): shown, or as CSV."""
        who = await self.signed_in(request)
        form = await self.form(request)

        def number(name: str) -> int:
            try:
                return int(form.get(name, ""))
            except ValueError:
                return 0  # IssueCertificate names the field

        answer = await self.door.call(who, C + "IssueCertificate",
                                      certificates_pb2.IssueCertificateRequest(
                                          request_id=form.get("request_id", ""),
                                          certificate_type=form.get("certificate_type", ""),
                                          count=number("count"),
                                          store_code=form.get("store_code", ""),
                                          denomination_minor=number("denomination_minor")),
                                      certificates_pb2.IssueCertificateResponse)
        columns, rows = lists.table(answer.certificates)
        if form.get("format") == "csv":
            return self._csv("certificates.csv", columns, rows)
        page = lists.ListPage("certificates", C + "IssueCertificate",
                              certificates_pb2.IssueCertificateRequest,
                              certificates_pb2.IssueCertificateResponse, "certificates",
                              "program")
        return self.render(request, "list.html", name="batch", page=page, filters=[],
                           columns=columns, rows=rows, next_token="", keep={},
                           request_id="", row_form=[])

    async def certificate_action(self, request: web.Request) -> web.StreamResponse:
        await self.signed_in(request)
        form = await self.form(request)
        number, action = request.match_info["number"], request.match_info["action"]
        fields = {"request_id": form.get("request_id", ""), "number": number,
                  "reason": form.get("reason", "")}
        if action == "block":
            await self.door.call(request[PRINCIPAL], C + "BlockCertificate",
                                 certificates_pb2.BlockCertificateRequest(**fields),
                                 certificates_pb2.BlockCertificateResponse)
            raise web.HTTPSeeOther(f"{PREFIX}/certificates?number={number}")
        if action == "reissue":
            answer = await self.door.call(request[PRINCIPAL], C + "ReissueCertificate",
                                          certificates_pb2.ReissueCertificateRequest(**fields),
                                          certificates_pb2.ReissueCertificateResponse)
            raise web.HTTPSeeOther(
                f"{PREFIX}/certificates?number={answer.new_certificate.number}")
        raise web.HTTPNotFound()

    async def certificate_usage(self, request: web.Request) -> web.StreamResponse:
        who = await self.signed_in(request)
        page = lists.ListPage("certificate_usage", C + "GetCertificateUsageReport",
                              certificates_pb2.GetCertificateUsageReportRequest,
                              certificates_pb2.GetCertificateUsageReportResponse, "rows",
                              "program")
        query = dict(request.query)
        today = self.deps.clock().date()  # the report needs a period: the last 30 days
        query.setdefault("from_time", (today - dt.timedelta(days=30)).isoformat())
        query.setdefault("to_time", today.isoformat())
        message, filters = lists.build_request(page, query)
        answer = await self.door.call(who, page.method, message, page.response)
        columns, rows = lists.table(getattr(answer, page.rows))
        if query.get("format") == "csv":
            return self._csv("certificate-usage.csv", columns, rows)
        keep = {k: v for k, v in query.items() if v}
        return self.render(request, "list.html", name="certificates-usage", page=page,
                           filters=filters, columns=columns, rows=rows, next_token="",
                           keep=keep, request_id="", row_form=[])
