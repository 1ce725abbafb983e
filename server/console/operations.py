"""The console's operations lists (stores, card types, mailings, audit, API keys, users,
roles, adjustments waiting for approval): each list RPC's answer as a table or CSV, and the
changes made from them (upsert a row, approve or reject, revoke or create a key, create,
change or disable a user), each through its RPC (`Door`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from google.protobuf.message import Message
from kopilka.v1 import admin_pb2, bonus_pb2, users_pb2

from server.console import lists
from server.console.common import PREFIX, A, B, csv_response, names

if TYPE_CHECKING:
    from server.auth.principal import Principal
    from server.console.web import Console


class OperationPages:
    """The handlers; `add_routes` puts them on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door
        self.deps = console.deps

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/lists/{name}", self.listing)
        router.add_post("/lists/pending/{id}/{decision}", self.decide_adjustment)
        router.add_post("/lists/api-keys/{id}/revoke", self.revoke_key)
        router.add_post("/lists/api-keys", self.create_key)
        router.add_post("/lists/users", self.create_user)
        router.add_post("/lists/{name}", self.upsert_row)
        router.add_post("/lists/users/{id}/{action}", self.change_user)

    async def listing(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        return await self.show(request, who, request.match_info["name"])

    async def show(self, request: web.Request, who: Principal, name: str, status: int = 200,
                   more: Callable[[Message, list[dict[str, str]]], dict[str, Any]] | None = None
                   ) -> web.StreamResponse:
        """A list page; `more` adds to (or replaces in) the template's context from the RPC's
        answer (the roles page's forms and its rows' rights in short)."""
        page = lists.LISTS.get(name)
        if page is None:
            raise web.HTTPNotFound()
        query = dict(request.query)
        message, filters = lists.build_request(page, query)
        answer = await self.door.call(who, page.method, message, page.response)
        columns, rows = lists.table(getattr(answer, page.rows))
        if query.get("format") == "csv":
            return csv_response(f"{name}.csv", columns, rows)
        keep = {k: v for k, v in query.items() if k != "page_token" and v}
        context: dict[str, Any] = {
            "name": name, "page": page, "filters": filters, "columns": columns, "rows": rows,
            "next_token": lists.next_token(answer), "keep": keep,
            "request_id": str(uuid.uuid4()), "row_form": lists.row_fields(page)}
        context.update(more(answer, rows) if more is not None else {})
        return self.console.render(request, "list.html", status=status, **context)

    async def upsert_row(self, request: web.Request) -> web.StreamResponse:
        """Add or change a store or a card type (UpsertStore, UpsertCardType)."""
        await self.console.signed_in(request)
        name = request.match_info["name"]
        page = lists.LISTS.get(name)
        if page is None or page.upsert is None:
            raise web.HTTPNotFound()
        method, _, response_type, _ = page.upsert
        return await self.console.then(request, method,
                                lists.upsert_request(page, await self.console.form(request)),
                                response_type, f"{PREFIX}/lists/{name}")


    async def decide_adjustment(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        decision, adjustment = request.match_info["decision"], request.match_info["id"]
        back = PREFIX + "/lists/pending"
        if decision == "approve":
            return await self.console.then(request, B + "ApproveAdjustment",
                                    bonus_pb2.ApproveAdjustmentRequest(
                                        request_id=form.get("request_id", ""),
                                        adjustment_id=adjustment),
                                    bonus_pb2.ApproveAdjustmentResponse, back)
        if decision == "reject":
            return await self.console.then(request, B + "RejectAdjustment",
                                    bonus_pb2.RejectAdjustmentRequest(
                                        request_id=form.get("request_id", ""),
                                        adjustment_id=adjustment,
                                        reason=form.get("reason", "")),
                                    bonus_pb2.RejectAdjustmentResponse, back)
        raise web.HTTPNotFound()

    async def revoke_key(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        return await self.console.then(request, A + "RevokeApiKey", admin_pb2.RevokeApiKeyRequest(
            request_id=form.get("request_id", ""), key_id=request.match_info["id"]),
            admin_pb2.RevokeApiKeyResponse, PREFIX + "/lists/api-keys")

    async def create_key(self, request: web.Request) -> web.StreamResponse:
        """A new API key; its secret is shown on this answer once (a second post of the same
        form, same request id, gets the same key and secret, never a second key)."""
        who = await self.console.signed_in(request)
        form = await self.console.form(request)
        kinds = {"terminal": admin_pb2.PRINCIPAL_KIND_TERMINAL,
                 "store_backend": admin_pb2.PRINCIPAL_KIND_STORE_BACKEND,
                 "operator": admin_pb2.PRINCIPAL_KIND_OPERATOR,
                 "integrator": admin_pb2.PRINCIPAL_KIND_INTEGRATOR}
        answer = await self.door.call(who, A + "CreateApiKey", admin_pb2.CreateApiKeyRequest(
            request_id=form.get("request_id", ""), name=form.get("name", ""),
            kind=kinds.get(form.get("kind", ""), admin_pb2.PRINCIPAL_KIND_UNSPECIFIED),
            store_code=form.get("store_code", ""), terminal_id=form.get("terminal_id", ""),
            roles=names(form.get("roles", ""))), admin_pb2.CreateApiKeyResponse)
        return self.console.render(request, "secret.html", key_id=answer.key_id,
                                   secret=answer.secret)

    async def create_user(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        return await self.console.then(request, "/kopilka.v1.UserService/CreateUser",
                                users_pb2.CreateUserRequest(
                                    request_id=form.get("request_id", ""),
                                    name=form.get("name", ""), email=form.get("email", ""),
                                    roles=names(form.get("roles", "")),
                                    password=form.get("password", "")),
                                users_pb2.CreateUserResponse, PREFIX + "/lists/users")

    async def change_user(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        user_id, action = request.match_info["id"], request.match_info["action"]
        back = PREFIX + "/lists/users"
        if action == "roles":
            return await self.console.then(request, "/kopilka.v1.UserService/SetUserRoles",
                                    users_pb2.SetUserRolesRequest(
                                        request_id=form.get("request_id", ""),
                                        user_id=user_id, roles=names(form.get("roles", ""))),
                                    users_pb2.SetUserRolesResponse, back)
        if action == "disable":
            return await self.console.then(request, "/kopilka.v1.UserService/DisableUser",
                                    users_pb2.DisableUserRequest(
                                        request_id=form.get("request_id", ""),
                                        user_id=user_id),
                                    users_pb2.DisableUserResponse, back)
        raise web.HTTPNotFound()
