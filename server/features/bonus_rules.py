"""Applying an accrual ("bonus") rule set: one path for `kopilka bonus-rules apply` and the
console. Validation (server/accounts/rules_loader.py) names the bad fields; the store and
its audit row are one transaction. The caller sets the actor (`acting(...)` for the CLI, the
signed-in user's principal for the console)."""

from __future__ import annotations

from server.accounts.accrual_schema import AccrualRuleSet
from server.accounts.rules_loader import load_accrual_rules
from server.db.audit.repo import Change, record
from server.db.database import Database
from server.db.ledger.rules import apply_accrual_rules


async def apply_bonus_rules(db: Database, text: str, applied_by: str) -> AccrualRuleSet:
    """Validate (DomainError ACCRUAL_RULES_INVALID naming the fields) and store as active."""
    rule_set = load_accrual_rules(text)
    async with db.transaction() as session:
        await apply_accrual_rules(session, rule_set, applied_by)
        await record(session, Change("bonus_rules", str(rule_set.version), "apply", None,
                                     {"rules": len(rule_set.rules),
                                      "version": rule_set.version}))
    return rule_set
