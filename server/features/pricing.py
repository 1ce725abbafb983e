"""The pricing engine's in-memory state: compiled rules, catalog, stores, accrual rules.

Pricing reads only memory on the hot path. Each worker reloads when the newest rule set or
the catalog fingerprint in the database changes (polled off the hot path), so a rule set
applied through any worker reaches all of them within `pricing_refresh_seconds`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.accounts.accrual import CompiledRules, compile_rules
from server.db.audit.repo import Change, record
from server.db.database import Database
from server.db.ledger import rules as ledger_rules_repo
from server.db.pricing import repo as pricing_repo
from server.pricing import compile_rule_set, load_rule_set
from server.pricing.compiler import CompiledRuleSet
from server.pricing.model import Catalog, Store
from server.pricing.schema import RuleSetDocument, RuleSetError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.app import App

log = logging.getLogger("kopilka.pricing")

EMPTY_RULES = compile_rule_set(RuleSetDocument.model_validate({"name": "no promotions"}))


@dataclass(frozen=True, slots=True)
class PricingSnapshot:
    """Everything one calculation needs; replaced as a whole, never mutated."""

    rules: CompiledRuleSet
    rule_set_id: int | None
    catalog: Catalog
    stores: Mapping[str, Store]
    catalog_fingerprint: tuple[object, ...]
    accrual: CompiledRules
    accrual_id: int | None


def parse_document(text: str, fmt: str) -> tuple[RuleSetDocument, CompiledRuleSet]:
    """Validate and compile a rule-set document; errors name the field paths."""
    try:
        doc = load_rule_set(text, "json" if fmt == "json" else "yaml")
        return doc, compile_rule_set(doc)
    except RuleSetError as error:
        raise error.as_domain_error() from None


async def apply_rule_set(db: Database, text: str, fmt: str, applied_by: str) -> tuple[str, int]:
    """Validate, compile and store a rule set as the active one; (version, rule count)."""
    async with db.transaction() as session:
        return await apply_rule_set_in(session, text, fmt, applied_by)


async def apply_rule_set_in(session: AsyncSession, text: str, fmt: str,
                            applied_by: str) -> tuple[str, int]:
    """`apply_rule_set` inside the caller's transaction (ApplyRuleSet's, with its claim of
    the request id); the same content as the active set changes nothing and writes no row."""
    doc, compiled = parse_document(text, fmt)
    active = await pricing_repo.active_rule_set(session)
    if active is not None and active.version == compiled.version:
        return compiled.version, len(doc.rules)  # same content: nothing to change
    await pricing_repo.save_rule_set(
        session, version=compiled.version, name=doc.name, document=text, fmt=fmt,
        rule_count=len(doc.rules), applied_by=applied_by,
    )
    await record(session, Change(
        "rule_set", compiled.version, "apply",
        None if active is None else {"version": active.version},
        {"version": compiled.version, "name": doc.name, "rule_count": len(doc.rules),
         "format": fmt}))
    return compiled.version, len(doc.rules)


class PricingState:
    """Holds the current snapshot; `refresh()` swaps in a new one when the DB changed."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.snapshot = PricingSnapshot(EMPTY_RULES, None, Catalog({}), {}, (), compile_rules(),
                                        None)
        self._lock = asyncio.Lock()

    async def refresh(self, force: bool = False) -> bool:
        """Reload what changed; True when a new snapshot was installed."""
        async with self._lock:
            current = self.snapshot
            async with self._db.transaction() as session:
                newest = await pricing_repo.newest_rule_set_id(session)
                fingerprint = await pricing_repo.catalog_fingerprint(session)
                accrual_id = await ledger_rules_repo.newest_accrual_rules_id(session)
                rules_changed = force or newest != current.rule_set_id
                catalog_changed = force or fingerprint != current.catalog_fingerprint
                accrual_changed = force or accrual_id != current.accrual_id
                if not (rules_changed or catalog_changed or accrual_changed):
                    return False
                rules, rule_set_id = current.rules, current.rule_set_id
                if rules_changed:
                    stored = await pricing_repo.active_rule_set(session)
                    if stored is None:
                        rules, rule_set_id = EMPTY_RULES, None
                    else:
                        rules, rule_set_id = parse_document(stored.document, stored.format)[1], \
                            stored.id
                catalog, stores = current.catalog, current.stores
                if catalog_changed:
                    catalog = await pricing_repo.load_catalog(session)
                    stores = await pricing_repo.load_stores(session)
                accrual = current.accrual
                if accrual_changed:
                    accrual = compile_rules(await ledger_rules_repo.active_accrual_rules(session))
            self.snapshot = PricingSnapshot(rules, rule_set_id, catalog, stores, fingerprint,
                                            accrual, accrual_id)
            log.info("pricing state loaded", extra={
                "rule_set_version": rules.version, "rules": len(rules.rules),
                "products": len(catalog.products), "stores": len(stores),
            })
            return True

    async def poll(self, interval: float) -> None:
        """Refresh forever every `interval` seconds; errors are logged, never fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("pricing refresh failed; keeping the previous rules")


def attach(app: App, state: PricingState) -> None:
    """Load pricing state before the app serves, then poll for changes until stop."""

    async def load(_: App) -> None:
        await state.refresh(force=True)
        # Long-lived rule objects need no GC scans; freezing once, after the first load,
        # keeps collector pauses off pricing (later refreshes run on the serving loop).
        gc.collect()
        gc.freeze()

    app.on_start.append(load)
    app.add_background(lambda: state.poll(app.settings.pricing_refresh_seconds))
