"""PromotionService: rule-set versions (list, get, diff, roll back) and bonus accrual rules
over RPC. Translates only: the work is in server/features/rule_sets.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from kopilka.v1 import promotions_pb2 as P
from kopilka.v1 import promotions_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.rules_loader import load_accrual_rules
from server.api.context import Context
from server.api.convert import time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import run_once
from server.db.ledger import rules as ledger_rules_repo
from server.db.pricing import repo as pricing_repo
from server.db.pricing.repo import RuleSetInfo
from server.errors import Violations, invalid
from server.features import rule_sets
from server.features.whatif import Progress, check_period, run_what_if
from server.pricing.whatif import WhatIfTotals

SERVICE = "/kopilka.v1.PromotionService/"
MAX_PAGE = 500
KINDS = {"added": P.RULE_SET_CHANGE_KIND_ADDED, "removed": P.RULE_SET_CHANGE_KIND_REMOVED,
         "changed": P.RULE_SET_CHANGE_KIND_CHANGED}


def _version_pb(info: RuleSetInfo, active_id: int | None) -> P.RuleSetVersion:
    return P.RuleSetVersion(id=info.id, version=info.version, name=info.name,
                            rule_count=info.rule_count, applied_by=info.applied_by,
                            applied_at=timestamp(info.applied_at), active=info.id == active_id)


class PromotionServicer(promotions_pb2_grpc.PromotionServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def ListRuleSetVersions(
        self, request: P.ListRuleSetVersionsRequest, context: Context
    ) -> P.ListRuleSetVersionsResponse:
        if not 0 <= request.page_size <= MAX_PAGE:
            raise invalid("page_size", f"must be 0..{MAX_PAGE} (0: 50)")
        if request.before_id < 0:
            raise invalid("before_id", "must be >= 0")
        size = request.page_size or 50
        async with self.deps.db.transaction() as session:
            rows = await pricing_repo.list_rule_sets(session, before_id=request.before_id,
                                                     limit=size + 1)
            active = await pricing_repo.active_rule_set_info(session)
        active_id = active.id if active else None
        page = rows[:size]
        return P.ListRuleSetVersionsResponse(
            versions=[_version_pb(x, active_id) for x in page],
            next_before_id=page[-1].id if len(rows) > size else 0)

    async def GetRuleSet(self, request: P.GetRuleSetRequest, context: Context
                         ) -> P.GetRuleSetResponse:
        async with self.deps.db.transaction() as session:
            info, stored = await rule_sets.stored_version(session, request.version)
            active = await pricing_repo.active_rule_set_info(session)
        return P.GetRuleSetResponse(info=_version_pb(info, active.id if active else None),
                                    document=stored.document, format=stored.format)

    async def DiffRuleSets(self, request: P.DiffRuleSetsRequest, context: Context
                           ) -> P.DiffRuleSetsResponse:
        if not request.from_version:
            raise invalid("from_version", "required: the older version")
        async with self.deps.db.transaction() as session:
            changes = await rule_sets.diff_versions(session, request.from_version,
                                                    request.to_version)
        return P.DiffRuleSetsResponse(changes=[
            P.RuleSetChange(path=c.path, kind=KINDS[c.kind], fields=list(c.fields),
                            before_json=c.before_json(), after_json=c.after_json())
            for c in changes])

    async def RollbackRuleSet(self, request: P.RollbackRuleSetRequest, context: Context
                              ) -> P.RollbackRuleSetResponse:
        if not request.version:
            raise invalid("version", "required: the version to activate again")

        async def work(session: AsyncSession) -> P.RollbackRuleSetResponse:
            done = await rule_sets.rollback_rule_set(session, request.version, caller().label)
            return P.RollbackRuleSetResponse(version=done.version, rule_count=done.rule_count,
                                             changed=done.changed)

        reply = await run_once(self.deps.db, SERVICE + "RollbackRuleSet", request,
                               P.RollbackRuleSetResponse, work)
        await self.deps.pricing.refresh()
        return reply

    async def ApplyBonusRules(self, request: P.ApplyBonusRulesRequest, context: Context
                              ) -> P.ApplyBonusRulesResponse:
        if not request.document.strip():
            raise invalid("document", "required: the accrual rules as YAML or JSON")
        rule_set = load_accrual_rules(request.document)  # ACCRUAL_RULES_INVALID, by field
        if request.check_only:
            return P.ApplyBonusRulesResponse(version=rule_set.version,
                                             rule_count=len(rule_set.rules))

        async def work(session: AsyncSession) -> P.ApplyBonusRulesResponse:
            row = await rule_sets.apply_bonus_rules(session, rule_set, caller().label)
            return P.ApplyBonusRulesResponse(version=rule_set.version,
                                             rule_count=len(rule_set.rules), id=row)

        reply = await run_once(self.deps.db, SERVICE + "ApplyBonusRules", request,
                               P.ApplyBonusRulesResponse, work)
        await self.deps.pricing.refresh()
        return reply

    async def GetBonusRules(self, request: P.GetBonusRulesRequest, context: Context
                            ) -> P.GetBonusRulesResponse:
        async with self.deps.db.transaction() as session:
            found = await ledger_rules_repo.active_accrual_rules_row(session)
        if found is None:
            return P.GetBonusRulesResponse()
        row, rule_set = found
        return P.GetBonusRulesResponse(
            version=rule_set.version, id=row, rule_count=len(rule_set.rules),
            document=json.dumps(rule_set.model_dump(mode="json", exclude_defaults=True),
                                sort_keys=True))

    async def WhatIf(self, request: P.WhatIfRequest, context: Context
                     ) -> AsyncIterator[P.WhatIfResponse]:
        if not request.document.strip():
            raise invalid("document", "required: the candidate rule set as YAML or JSON")
        if request.format not in ("", "yaml", "json"):
            raise invalid("format", "must be yaml or json")
        errors = Violations()
        start = time_field(request, "period_start", errors)
        end = time_field(request, "period_end", errors)
        errors.raise_if_any()
        start, end = check_period(start, end)
        async for step in run_what_if(self.deps.db, self.deps.pricing.snapshot,
                                      request.document, request.format or "yaml", start, end):
            yield P.WhatIfResponse(receipts_expected=step.expected, done=step.done,
                                   report=_report_pb(step))


def _report_pb(step: Progress) -> P.WhatIfReport:
    t = step.totals
    return P.WhatIfReport(
        candidate_version=step.version, receipts=t.receipts, lines=t.lines,
        receipts_affected=t.affected, discount_minor=t.discount,
        actual_discount_minor=t.actual_discount, difference_minor=t.difference,
        points=t.points, actual_points=t.actual_points, skipped=t.skipped,
        rules=rule_totals_pb(t))


def rule_totals_pb(totals: WhatIfTotals) -> list[P.WhatIfRuleTotal]:
    """Each rule's would-be discount and receipts, by rule id (what-if runs, imports)."""
    return [P.WhatIfRuleTotal(rule_id=rule_id, discount_minor=x.discount, receipts=x.receipts)
            for rule_id, x in sorted(totals.per_rule.items())]
