"""Managing promotion rule-set versions and bonus accrual rules: one application service per
change, whichever door (RPC, CLI) calls it.

Rollback re-applies an earlier version's stored document as a new row (the newest row is
the active one), so the history stays append-only and every change is an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual_schema import AccrualRuleSet
from server.db.audit.repo import Change, record
from server.db.ledger import rules as ledger_rules_repo
from server.db.pricing import repo as pricing_repo
from server.db.pricing.repo import RuleSetInfo, StoredRuleSet
from server.errors import DomainError, ErrorKind, not_found
from server.features.pricing import parse_document
from server.pricing.diff import RuleSetChange, diff_rule_sets


@dataclass(frozen=True, slots=True)
class Rollback:
    """Outcome of a rollback: the active version and whether anything changed."""

    version: str
    rule_count: int
    changed: bool


async def stored_version(session: AsyncSession, version: str
                         ) -> tuple[RuleSetInfo, StoredRuleSet]:
    """An applied version (empty: the active one), or NOT_FOUND."""
    if not version:
        info = await pricing_repo.active_rule_set_info(session)
        if info is None:
            raise DomainError(ErrorKind.NOT_FOUND, "RULE_SET_NOT_FOUND",
                              "no rule set has been applied yet")
        version = info.version
    found = await pricing_repo.rule_set_by_version(session, version)
    if found is None:
        raise not_found("rule set version", version, "RULE_SET_NOT_FOUND")
    return found


async def diff_versions(session: AsyncSession, old: str, new: str) -> list[RuleSetChange]:
    """Changes from version `old` to `new` (empty: the active one)."""
    _, before = await stored_version(session, old)
    _, after = await stored_version(session, new)
    old_doc, _ = parse_document(before.document, before.format)
    new_doc, _ = parse_document(after.document, after.format)
    return diff_rule_sets(old_doc, new_doc)


async def rollback_rule_set(session: AsyncSession, version: str, applied_by: str) -> Rollback:
    """Make an earlier version active again: a new row with its document, audited."""
    info, stored = await stored_version(session, version)
    active = await pricing_repo.active_rule_set_info(session)
    if active is not None and active.version == info.version:
        return Rollback(info.version, info.rule_count, False)
    await pricing_repo.save_rule_set(
        session, version=info.version, name=info.name, document=stored.document,
        fmt=stored.format, rule_count=info.rule_count, applied_by=applied_by)
    await record(session, Change(
        "rule_set", info.version, "rollback",
        None if active is None else {"version": active.version},
        {"version": info.version, "name": info.name, "rule_count": info.rule_count,
         "from_row": info.id}))
    return Rollback(info.version, info.rule_count, True)


async def apply_bonus_rules(session: AsyncSession, rule_set: AccrualRuleSet, principal: str
                            ) -> int:
    """Store a validated accrual rule set as the active one, audited; its row id."""
    row_id = await ledger_rules_repo.apply_accrual_rules(session, rule_set, principal)
    await record(session, Change("bonus_rules", str(rule_set.version), "apply", None,
                                 {"rules": len(rule_set.rules), "version": rule_set.version,
                                  "row": row_id}))
    return row_id
