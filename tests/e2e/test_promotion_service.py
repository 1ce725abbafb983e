"""PromotionService through the generated client: rule-set versions listed, read, diffed and
rolled back (audited, idempotent); bonus rules applied and read over RPC."""

from __future__ import annotations

import uuid

import grpc
from kopilka.v1 import admin_pb2, audit_pb2
from kopilka.v1 import promotions_pb2 as P
from sqlalchemy import text

from tests.helpers import rid, rpc_error

V1 = """
name: v1
rules:
  - {id: dairy-10, target: [{groups: [dairy]}], benefit: {type: percent, percent: "10%"}}
  - {id: bread-5, target: [{groups: [bakery]}], benefit: {type: percent, percent: "5%"}}
"""
V2 = """
name: v2
rules:
  - {id: dairy-10, target: [{groups: [dairy]}], benefit: {type: percent, percent: "15%"}}
  - {id: juice, target: [{groups: [drinks]}], benefit: {type: m_for_n, buy: 3, pay: 2}}
"""


async def apply(admin, document: str) -> str:  # type: ignore[no-untyped-def]
    reply = await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=document))
    return reply.version


async def test_versions_are_listed_read_diffed_and_rolled_back(admin, app):
    first, second = await apply(admin, V1), await apply(admin, V2)
    page = await admin.promotions.ListRuleSetVersions(P.ListRuleSetVersionsRequest(page_size=1))
    assert [(v.version, v.name, v.rule_count, v.active) for v in page.versions] == [
        (second, "v2", 2, True)]
    rest = await admin.promotions.ListRuleSetVersions(P.ListRuleSetVersionsRequest(
        page_size=1, before_id=page.next_before_id))
    assert [v.version for v in rest.versions] == [first] and rest.next_before_id == 0

    got = await admin.promotions.GetRuleSet(P.GetRuleSetRequest(version=first))
    assert got.document == V1 and got.format == "yaml" and not got.info.active
    active = await admin.promotions.GetRuleSet(P.GetRuleSetRequest())
    assert active.info.version == second

    diff = await admin.promotions.DiffRuleSets(P.DiffRuleSetsRequest(from_version=first))
    assert [(c.path, c.kind, list(c.fields)) for c in diff.changes] == [
        ("name", P.RULE_SET_CHANGE_KIND_CHANGED, []),
        ("rules[bread-5]", P.RULE_SET_CHANGE_KIND_REMOVED, []),
        ("rules[dairy-10]", P.RULE_SET_CHANGE_KIND_CHANGED, ["benefit.percent"]),
        ("rules[juice]", P.RULE_SET_CHANGE_KIND_ADDED, []),
    ]

    request = P.RollbackRuleSetRequest(request_id=str(uuid.uuid4()), version=first)
    done = await admin.promotions.RollbackRuleSet(request)
    assert (done.version, done.rule_count, done.changed) == (first, 2, True)
    assert app.deps.pricing.snapshot.rules.version == first
    again = await admin.promotions.RollbackRuleSet(request)  # the same request: same answer
    assert again == done
    async with app.db.transaction() as session:
        rows = (await session.execute(text("SELECT count(*) FROM rule_sets"))).scalar_one()
    assert rows == 3  # applied twice, rolled back once
    audit = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(object_type="rule_set"))
    assert "rollback" in [e.action for e in audit.entries]
    # already active: nothing changes
    noop = await admin.promotions.RollbackRuleSet(P.RollbackRuleSetRequest(
        request_id=str(uuid.uuid4()), version=first))
    assert not noop.changed


async def test_unknown_versions_and_bad_requests_name_the_field(admin):
    with rpc_error() as failure:
        await admin.promotions.GetRuleSet(P.GetRuleSetRequest(version="0123456789abcdef"))
    assert failure.code == grpc.StatusCode.NOT_FOUND and failure.reason == "RULE_SET_NOT_FOUND"
    with rpc_error() as failure:
        await admin.promotions.RollbackRuleSet(P.RollbackRuleSetRequest(
            request_id=str(uuid.uuid4())))
    assert failure.fields == ["version"]
    with rpc_error() as failure:
        await admin.promotions.ListRuleSetVersions(P.ListRuleSetVersionsRequest(page_size=9999))
    assert failure.fields == ["page_size"]


async def test_bonus_rules_over_rpc(admin, app):
    empty = await admin.promotions.GetBonusRules(P.GetBonusRulesRequest())
    assert empty.version == "" and empty.id == 0
    document = "version: rpc-1\nrules: [{id: base, award: {points: 1, per: '10.00'}}]\n"
    checked = await admin.promotions.ApplyBonusRules(P.ApplyBonusRulesRequest(
        request_id=str(uuid.uuid4()), document=document, check_only=True))
    assert (checked.version, checked.rule_count, checked.id) == ("rpc-1", 1, 0)
    assert (await admin.promotions.GetBonusRules(P.GetBonusRulesRequest())).id == 0

    request = P.ApplyBonusRulesRequest(request_id=str(uuid.uuid4()), document=document)
    applied = await admin.promotions.ApplyBonusRules(request)
    assert applied.id > 0 and await admin.promotions.ApplyBonusRules(request) == applied
    got = await admin.promotions.GetBonusRules(P.GetBonusRulesRequest())
    assert (got.version, got.id, got.rule_count) == ("rpc-1", applied.id, 1)
    assert '"per": 1000' in got.document
    assert app.deps.pricing.snapshot.accrual.version == "rpc-1"
    audit = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="bonus_rules"))
    assert len(audit.entries) == 1  # the retry wrote nothing

    with rpc_error() as failure:
        await admin.promotions.ApplyBonusRules(P.ApplyBonusRulesRequest(
            request_id=str(uuid.uuid4()), document="version: x\nrules: [{id: a, award: {}}]"))
    assert failure.reason == "ACCRUAL_RULES_INVALID" and failure.fields == ["rules[0].award"]
