"""Survey pages on the HTTP site: /s/<token> (a personal invitation) and /s/p/<code> (the
public link). GET shows the form (and changes nothing); POST stores the answers through the
surveys service. Each form carries a CSRF token bound to its page and time (an HMAC with a
derived key, no cookie); the CSP allows only this site's script and style (the branding
colours come as a per-survey stylesheet) and https images for the logo.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING

import jinja2
from aiohttp import web

from server.audit.actor import Actor, acting
from server.db.surveys.repo import SqlSurveyStore
from server.errors import DomainError, ErrorKind
from server.surveys import model, service
from server.surveys.model import Survey

if TYPE_CHECKING:
    from server.api.deps import ApiDeps

PREFIX = "/s"
ACTOR = "survey-page"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
STATUS = {ErrorKind.INVALID_ARGUMENT: 400, ErrorKind.NOT_FOUND: 404,
          ErrorKind.FAILED_PRECONDITION: 409}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SurveyPages:
    """The handlers; stateless (everything is in the database and the signed tokens)."""

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("server.survey_pages", "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined)
        static = resources.files("server.survey_pages") / "static"
        self.script = (static / "survey.js").read_bytes()
        self.style = (static / "survey.css").read_bytes()

    def key(self, purpose: str) -> bytes:
        return self.deps.signer.derive_key(purpose)

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(PREFIX + "/static/survey.js", self.static("application/javascript",
                                                            lambda: self.script))
        r.add_get(PREFIX + "/static/survey.css", self.static("text/css", lambda: self.style))
        r.add_get(PREFIX + "/brand/{code}/{version}.css", self.brand)
        r.add_get(PREFIX + "/p/{code}", self.show_public)
        r.add_post(PREFIX + "/p/{code}", self.submit_public)
        r.add_get(PREFIX + "/{token}", self.show_invitation)
        r.add_post(PREFIX + "/{token}", self.submit_invitation)

    def static(self, content_type: str, body: Callable[[], bytes]) -> Handler:
        async def handler(_: web.Request) -> web.StreamResponse:
            return web.Response(body=body(), content_type=content_type,
                                headers={"Cache-Control": "max-age=3600"})
        return handler

    def render(self, name: str, status: int = 200, **values: object) -> web.Response:
        response = web.Response(status=status, content_type="text/html",
                                text=self.env.get_template(name).render(**values))
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def refusal(self, error: DomainError) -> web.Response:
        return self.render("message.html", STATUS.get(error.kind, 400), title="",
                           message=error.message, reason=error.reason)

    def form(self, request: web.Request, survey: Survey, status: int = 200,
             errors: dict[str, str] | None = None,
             given: dict[str, list[str]] | None = None) -> web.Response:
        csrf = model.csrf_token(self.key(model.CSRF_PURPOSE), request.path, self.deps.clock())
        return self.render(
            "survey.html", status, survey=survey, csrf=csrf, errors=errors or {},
            given=given or {}, brand=f"{PREFIX}/brand/{survey.code}/{survey.version}.css",
            branches={q.id: json.dumps(dict(q.branches)) for q in survey.questions})

    async def brand(self, request: web.Request) -> web.StreamResponse:
        """The survey's colours as a stylesheet (no inline style under the CSP)."""
        async with self.deps.db.transaction() as session:
            store = await SqlSurveyStore.of(session, ACTOR)
            version = request.match_info["version"]
            found = await store.get(request.match_info["code"][:64],
                                    version=int(version) if version.isdigit() else -1)
        if found is None:
            raise web.HTTPNotFound()
        b = found.branding  # validated #rrggbb values: nothing else reaches the CSS
        css = (f":root{{--brand:{b.primary_color};--page:{b.background_color};}}\n")
        return web.Response(text=css, content_type="text/css",
                            headers={"Cache-Control": "max-age=86400"})

    def _invitation_id(self, request: web.Request) -> uuid.UUID:
        found = model.parse_invitation(self.key(model.TOKEN_PURPOSE),
                                       request.match_info["token"])
        if found is None:
            raise web.HTTPNotFound(text="This link is not valid.")
        return found

    async def show_invitation(self, request: web.Request) -> web.StreamResponse:
        invitation_id = self._invitation_id(request)
        try:
            async with self.deps.db.transaction() as session:
                store = await SqlSurveyStore.of(session, ACTOR)
                _, survey = await service.open_invitation(
                    store, invitation_id, self.deps.clock())
        except DomainError as error:
            return self.refusal(error)
        return self.form(request, survey)

    async def show_public(self, request: web.Request) -> web.StreamResponse:
        try:
            async with self.deps.db.transaction() as session:
                survey = await service.current(await SqlSurveyStore.of(session, ACTOR),
                                               request.match_info["code"][:64])
            if not survey.active:
                raise model.refused("SURVEY_CLOSED", "the survey is not active")
        except DomainError as error:
            return self.refusal(error)
        return self.form(request, survey)

    async def _submitted(self, request: web.Request) -> dict[str, list[str]] | None:
        """The answers of a genuine form (None: the CSRF token is missing or wrong)."""
        data = await request.post()
        token = data.get("csrf")
        if not isinstance(token, str) or not model.csrf_ok(
                self.key(model.CSRF_PURPOSE), request.path, token, self.deps.clock()):
            return None
        out: dict[str, list[str]] = {}
        for name in data:
            if name.startswith("q_"):
                out[name[2:]] = [v for v in data.getall(name) if isinstance(v, str)]
        return out

    async def _complete(self, request: web.Request,
                        run: Callable[[SqlSurveyStore, dict[str, list[str]]],
                                      Awaitable[service.Completed]],
                        survey_of: Callable[[SqlSurveyStore], Awaitable[Survey]]
                        ) -> web.StreamResponse:
        submitted = await self._submitted(request)
        if submitted is None:
            return self.render("message.html", 403, title="",
                               message="This form has expired; open the link again.",
                               reason="CSRF")
        try:
            with acting(Actor(ACTOR)):
                async with self.deps.db.transaction() as session:
                    done = await run(await SqlSurveyStore.of(session, ACTOR), submitted)
        except DomainError as error:
            if error.reason != "SURVEY_ANSWER_INVALID":
                return self.refusal(error)
            async with self.deps.db.transaction() as session:
                survey = await survey_of(await SqlSurveyStore.of(session, ACTOR))
            errors = {v.field.removeprefix("answers."): v.description
                      for v in error.violations}
            return self.form(request, survey, 400, errors, submitted)
        return self.render("done.html", title=done.title, reward=done.reward)

    async def submit_invitation(self, request: web.Request) -> web.StreamResponse:
        invitation_id = self._invitation_id(request)
        now = self.deps.clock()

        async def run(store: SqlSurveyStore, submitted: dict[str, list[str]]
                      ) -> service.Completed:
            return await service.complete_invitation(
                store, invitation_id, submitted, now)

        async def survey_of(store: SqlSurveyStore) -> Survey:
            return (await service.open_invitation(
                store, invitation_id, now))[1]

        return await self._complete(request, run, survey_of)

    async def submit_public(self, request: web.Request) -> web.StreamResponse:
        code = request.match_info["code"][:64]
        now = self.deps.clock()

        async def run(store: SqlSurveyStore, submitted: dict[str, list[str]]
                      ) -> service.Completed:
            return await service.complete_public(store, code, submitted, now)

        async def survey_of(store: SqlSurveyStore) -> Survey:
            return await service.current(store, code)

        return await self._complete(request, run, survey_of)
