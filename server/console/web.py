"""The console's pages and actions (aiohttp + Jinja2 + htmx), mounted at /console.

Security: a session cookie (the access service's session token, HttpOnly, SameSite=Strict,
Secure on TLS or with KOPILKA_CONSOLE_SECURE_COOKIES), a CSRF token derived from the session
on every POST (a form field or htmx's X-CSRF-Token header), a double-submit token on the
sign-in form, and a Content-Security-Policy allowing only this site's own script and style.
Every action goes through `Door` (the servicers' code, permissions and audit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from server.access import service as access
from server.api.servicers.users import access_policy
from server.auth.permissions import Permission
from server.auth.principal import Principal
from server.console import i18n, lists
from server.console.campaigns import CampaignPages
from server.console.certificate_pages import CertificatePages
from server.console.common import CSRF, PREFIX, PRINCIPAL, USER, C
from server.console.dashboard import DashboardPages
from server.console.door import Door, user_principal
from server.console.members import MemberPages
from server.console.operations import OperationPages
from server.console.orders import OrderPages
from server.console.program import ProgramPages
from server.console.roles import RolePages
from server.db.access.repo import SqlUserRepository
from server.errors import DomainError, ErrorKind

SESSION_COOKIE = "kopilka_session"
LOGIN_COOKIE = "kopilka_login"
LANG_COOKIE = "kopilka_lang"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_token(session_token: str) -> str:
    """Per-session CSRF token: a keyed hash of the session token (which the page's script
    cannot read: the cookie is HttpOnly), so nothing is stored for it."""
    return hmac.new(session_token.encode(), b"kopilka-console-csrf", hashlib.sha256).hexdigest()



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
        self.member_pages = MemberPages(self)
        self.operation_pages = OperationPages(self)
        self.certificate_pages = CertificatePages(self)
        self.program_pages = ProgramPages(self)
        self.role_pages = RolePages(self)

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
        # in the order they were always matched (aiohttp tries routes in order); the roles'
        # before the generic /lists/{name}
        for pages in (self.member_pages, self.role_pages, self.operation_pages,
                      self.certificate_pages, self.dashboard_pages, self.order_pages,
                      self.campaign_pages, self.program_pages):
            pages.add_routes(r)
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

    async def then(self, request: web.Request, method: str, message: Any, response_type: Any,
                    back: str) -> web.StreamResponse:
        """Run one change from a list page; refusals of bad input show on an error page."""
        await self.door.call(request[PRINCIPAL], method, message, response_type)
        raise web.HTTPSeeOther(back)
