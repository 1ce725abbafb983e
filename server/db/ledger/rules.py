"""The active accrual rule set: stored as JSON, compiled once into memory by its readers."""

from __future__ import annotations

import json

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual import CompiledRules, compile_rules
from server.accounts.accrual_schema import AccrualRuleSet
from server.accounts.rules_loader import dump_accrual_rules, parse_accrual_rules
from server.db.database import Database
from server.db.ledger.models import AccrualRuleSetRow


async def apply_accrual_rules(session: AsyncSession, rule_set: AccrualRuleSet,
                              principal: str = "") -> int:
    """Store a validated rule set as the active one; its row id."""
    return int((await session.execute(
        insert(AccrualRuleSetRow).values(
            version=rule_set.version, document=json.loads(dump_accrual_rules(rule_set)),
            principal=principal,
        ).returning(AccrualRuleSetRow.id)
    )).scalar_one())


async def active_accrual_rules(session: AsyncSession) -> AccrualRuleSet:
    """The newest applied rule set, or an empty one (no points) when none was applied."""
    document = await session.scalar(
        select(AccrualRuleSetRow.document).order_by(AccrualRuleSetRow.id.desc()).limit(1))
    if document is None:
        return AccrualRuleSet(version="none")
    return parse_accrual_rules(document)


async def newest_accrual_rules_id(session: AsyncSession) -> int | None:
    """Cheap change detection for workers that keep the compiled rules in memory."""
    return await session.scalar(select(func.max(AccrualRuleSetRow.id)))


async def load_compiled_accrual_rules(db: Database) -> CompiledRules:
    """What CalculateReceipt keeps in memory: call at start and after `bonus-rules apply`."""
    async with db.transaction() as session:
        return compile_rules(await active_accrual_rules(session))


async def active_accrual_rules_row(session: AsyncSession
                                   ) -> tuple[int, AccrualRuleSet] | None:
    """(row id, rule set) of the newest applied accrual rule set, or None."""
    row = (await session.execute(
        select(AccrualRuleSetRow.id, AccrualRuleSetRow.document)
        .order_by(AccrualRuleSetRow.id.desc()).limit(1))).first()
    if row is None:
        return None
    return int(row[0]), parse_accrual_rules(row[1])
