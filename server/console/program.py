"""The console's program: the promotions rule set and the accrual (bonus) rules, each with
the active one, its history, an upload with errors shown at their lines, a diff against the
active one, and apply (ApplyRuleSet, ApplyBonusRules)."""

from __future__ import annotations

import difflib
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from kopilka.v1 import admin_pb2, promotions_pb2

from server.auth.permissions import Permission
from server.console import locate
from server.db.console import queries
from server.db.pricing import repo as pricing_repo
from server.errors import DomainError, ErrorKind

if TYPE_CHECKING:
    from server.console.web import Console


class ProgramPages:
    """The handlers; `add_routes` puts them on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door
        self.deps = console.deps

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/program/rules", self.rules)
        router.add_post("/program/rules", self.upload_rules)
        router.add_get("/program/bonus-rules", self.rules)
        router.add_post("/program/bonus-rules", self.upload_rules)

    async def rules(self, request: web.Request, document: str = "", fmt: str = "yaml",
                    violations: Any = None, diff: str = "", applied: str = "",
                    status: int = 200) -> web.StreamResponse:
        """The promotions rule set (AdminService.ApplyRuleSet) or, at /program/bonus-rules,
        the accrual rules: the active one, its history, upload with errors by line, diff."""
        who = await self.console.signed_in(request)
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
        return self.console.render(request, "rules.html", status=status, active=active,
                           history=history, document=document, fmt=fmt, violations=located,
                           numbered=numbered, diff=diff, bonus=bonus,
                           action=request.path, request_id=str(uuid.uuid4()),
                           applied=applied or request.query.get("applied", ""))

    async def upload_rules(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        form = await self.console.form(request)
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
                        request_id=form.get("request_id") or str(uuid.uuid4()),
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
