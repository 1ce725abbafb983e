"""Scheduled housekeeping inside the server: points lots, event points, certificate expiry.

Every worker runs the loop, but a PostgreSQL advisory lock lets one pass run at a time
across all workers and servers, so operators need no cron (`kopilka ledger run-jobs` runs
the same pass). Each step runs on its own: a step that fails is logged and counted, and the
steps after it still run, so one bad rule cannot stop birthday points or certificate expiry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import text

from server.api.metrics import JOB_STEP_FAILURES
from server.audit.actor import JOBS, acting
from server.db.database import Database
from server.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.accounts.accrual import CompiledRules
    from server.app import App

log = logging.getLogger("kopilka.jobs")

LOCK_KEY = 0x6B6F70696C6B61  # "kopilka"


@dataclass
class JobsPass:
    """What one pass did: a count per step, and each failed step with its error class and
    SQLSTATE (never the message, see _failure_fields)."""

    counts: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


Step = Callable[[Database, dt.datetime, "_Rules"], Awaitable[int]]


class _Rules:
    """The active accrual rules, loaded once per pass by the first step that needs them,
    and the settings the steps read (the shopping steps' periods)."""

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.db = db
        self.compiled: CompiledRules | None = None
        self.settings = settings if settings is not None else Settings()

    async def get(self) -> CompiledRules:
        from server.db.ledger.rules import load_compiled_accrual_rules

        if self.compiled is None:
            self.compiled = await load_compiled_accrual_rules(self.db)
        return self.compiled


async def _audit(session: AsyncSession, step: str, now: dt.datetime, done: int,
                 detail: object = None) -> None:
    """One audit row per step transaction that changed something, in that transaction."""
    from server.db.audit.repo import Change, record

    if done:
        after = {"count": done, "now": now, **({"detail": detail} if detail else {})}
        await record(session, Change("job_step", step, "run", None, after))


async def _until_done(db: Database, now: dt.datetime, step: str,
                      job: Callable[[AsyncSession, dt.datetime], Awaitable[int]]) -> int:
    """Run a batched job, one transaction per batch, until a batch finds nothing."""
    total = 0
    while True:
        async with db.transaction() as session:
            done = await job(session, now)
            await _audit(session, step, now, done)
        total += done
        if not done:
            return total


async def _activate_lots(db: Database, now: dt.datetime, _: _Rules) -> int:
    from server.db.ledger.jobs import activate_due

    return await _until_done(db, now, "activated", activate_due)


async def _expire_lots(db: Database, now: dt.datetime, _: _Rules) -> int:
    from server.db.ledger.jobs import expire_due

    return await _until_done(db, now, "expired", expire_due)


def _event(trigger: str) -> Step:
    async def grant(db: Database, now: dt.datetime, rules: _Rules) -> int:
        from server.db.ledger.jobs import grant_events

        compiled = await rules.get()
        async with db.transaction() as session:
            done = await grant_events(session, compiled, trigger, now, batch=100_000)
            await _audit(session, trigger, now, done)
            return done

    return grant


async def _expire_certificates(db: Database, now: dt.datetime, rules: _Rules) -> int:
    from server.db.certificates.repo import expire_due

    async with db.transaction() as session:
        rows = await expire_due(session, now)
        done = sum(count for _, count, _ in rows)
        await _audit(session, "certificates_expired", now, done,
                     [{"currency": c, "count": n, "written_off_minor": a} for c, n, a in rows])
        return done


def _timed_event(kind: str) -> Step:
    """A step emitting events found by time (server/db/events/jobs.py), once each."""
    async def emit(db: Database, now: dt.datetime, rules: _Rules) -> int:
        from server.db.events import jobs as events

        zone = (await rules.get()).zone
        async with db.transaction() as session:
            if kind == "points_expiring":
                done = await events.points_expiring(session, now, zone.key)
            elif kind == "birthday_events":
                done = await events.birthdays(session, now.astimezone(zone).date())
            else:
                done = await events.certificates_expiring(session, now)
            await _audit(session, kind, now, done)
            return done

    return emit


async def _abandoned_baskets(db: Database, now: dt.datetime, ctx: _Rules) -> int:
    from server.db.shopping.repo import SqlShoppingRepository
    from server.shopping.service import raise_abandoned

    minutes = ctx.settings.abandoned_basket_minutes
    return await _until_done(db, now, "baskets_abandoned", lambda session, at: raise_abandoned(
        SqlShoppingRepository(session), at, minutes))


async def _wishlist_promotions(db: Database, now: dt.datetime, _: _Rules) -> int:
    from server.db.pricing import repo as pricing_repo
    from server.db.shopping.repo import SqlShoppingRepository
    from server.features.pricing import parse_document
    from server.shopping.service import wishlist_hits_for_promotions

    async with db.transaction() as session:
        stored = await pricing_repo.active_rule_set(session)
        if stored is None:
            return 0
        rules = parse_document(stored.document, stored.format)[1]
        catalog = await pricing_repo.load_catalog(session)
        done = await wishlist_hits_for_promotions(SqlShoppingRepository(session), rules,
                                                  catalog, now)
        await _audit(session, "wishlist_promotions", now, done)
        return done


async def _site_events_pruned(db: Database, now: dt.datetime, ctx: _Rules) -> int:
    from server.db.shopping.repo import SqlShoppingRepository
    from server.shopping.service import PRUNE_BATCH

    cutoff = now - dt.timedelta(days=ctx.settings.site_events_retention_days)
    return await _until_done(db, now, "site_events_pruned", lambda session, _: (
        SqlShoppingRepository(session).prune_site_events(cutoff, PRUNE_BATCH)))


async def _product_pairs(db: Database, now: dt.datetime, ctx: _Rules) -> int:
    from server.db.shopping.repo import SqlShoppingRepository
    from server.shopping.service import recompute_pairs

    s = ctx.settings
    async with db.transaction() as session:
        return await recompute_pairs(SqlShoppingRepository(session), now,
                                     s.recommendations_window_days,
                                     s.recommendations_min_pairs,
                                     s.recommendations_refresh_minutes)


async def _route_web_orders(db: Database, now: dt.datetime, _: _Rules) -> int:
    """Requests to stores past their deadline go to the next store (docs/orders.md)."""
    from server.db.orders.routing import route_due

    return await route_due(db, now)




async def _payment_statuses(db: Database, now: dt.datetime, ctx: _Rules) -> int:
    """LiqPay payments whose callback never came: ask LiqPay's status API (docs/payments.md)."""
    from server.features.outbox import plugin_sections
    from server.features.payments_http import poll_statuses
    from server.plugin_host import PluginHost, build_plugin_manager

    sections = plugin_sections(ctx.settings)
    if "liqpay" not in sections:
        return 0
    provider = PluginHost(build_plugin_manager(), sections).payment_providers().get("liqpay")
    if provider is None:
        return 0
    done = await poll_statuses(db, provider, now)
    async with db.transaction() as session:
        await _audit(session, "payments_checked", now, done)
    return done


async def _refunds(db: Database, now: dt.datetime, ctx: _Rules) -> int:
    """Refund intents never sent, or sent and never recorded (docs/payments.md)."""
    from server.features.outbox import plugin_sections
    from server.features.refunds import refunder, settle
    from server.plugin_host import PluginHost, build_plugin_manager

    sections = plugin_sections(ctx.settings)
    if "liqpay" not in sections:
        return 0
    provider = refunder(PluginHost(build_plugin_manager(), sections).payment_providers()
                        .get("liqpay"))
    if provider is None:
        return 0
    done = await settle(db, provider, now)
    async with db.transaction() as session:
        await _audit(session, "refunds_settled", now, done)
    return done


async def _track_waybills(db: Database, now: dt.datetime, ctx: _Rules) -> int:
    """Nova Poshta waybills: received, refused or returned moves the order (docs/payments.md)."""
    from server.api.servicers.payments import WaybillProvider
    from server.db.payments.waybills import track_due
    from server.features.outbox import plugin_sections
    from server.plugin_host import PluginHost, build_plugin_manager

    sections = plugin_sections(ctx.settings)
    if "novaposhta" not in sections:
        return 0
    provider = PluginHost(build_plugin_manager(), sections).shipment_providers().get(
        "novaposhta")
    if not isinstance(provider, WaybillProvider):
        return 0
    done = await track_due(db, provider.track, now)
    async with db.transaction() as session:
        await _audit(session, "waybills_tracked", now, done)
    return done


async def _tiers(db: Database, now: dt.datetime, rules: _Rules) -> int:
    """Card types as tiers (bonus rules `tiers`): move members up or down."""
    from server.db.ledger.tiers import move_tiers

    tiers = (await rules.get()).document.tiers
    if tiers is None:
        return 0
    async with db.transaction() as session:
        done = await move_tiers(session, tiers, now)
        await _audit(session, "tiers", now, done)
        return done


async def _appeals_overdue(db: Database, now: dt.datetime, _: _Rules) -> int:
    """Open appeals past their topic's deadline are marked overdue, once each, with a
    history row (docs/appeals.md)."""
    from server.appeals.service import mark_overdue
    from server.db.appeals.repo import SqlAppealStore

    async def batch(session: AsyncSession, at: dt.datetime) -> int:
        return await mark_overdue(await SqlAppealStore.of(session), at, JOBS.label)

    return await _until_done(db, now, "appeals_overdue", batch)


# (name, step) in running order; the names are the keys of JobsPass.counts.
STEPS: list[tuple[str, Step]] = [
    ("activated", _activate_lots),
    ("expired", _expire_lots),
    ("registration", _event("registration")),
    ("birthday", _event("birthday")),
    ("certificates_expired", _expire_certificates),
    ("points_expiring", _timed_event("points_expiring")),
    ("birthday_events", _timed_event("birthday_events")),
    ("certificates_expiring", _timed_event("certificates_expiring")),
    ("baskets_abandoned", _abandoned_baskets),
    ("wishlist_promotions", _wishlist_promotions),
    ("site_events_pruned", _site_events_pruned),
    ("product_pairs", _product_pairs),
    ("web_orders_routed", _route_web_orders),
    ("tiers", _tiers),
    ("appeals_overdue", _appeals_overdue),
    ("payments_checked", _payment_statuses),
    ("waybills_tracked", _track_waybills),
    ("refunds_settled", _refunds),
]


def _failure_fields(step: str, error: Exception) -> dict[str, str]:
    """What a failure log says: the step, the error class and SQLSTATE. Never the message:
    database errors quote statements, parameters and row values (personal data)."""
    chain = [error, getattr(error, "orig", None), error.__cause__]
    cause = next((e for e in chain if getattr(e, "sqlstate", None)), error)
    return {"step": step, "error": type(cause).__name__,
            "sqlstate": str(getattr(cause, "sqlstate", "") or "")}


async def run_steps(db: Database, now: dt.datetime, settings: Settings | None = None
                    ) -> JobsPass:
    """Run every step even when an earlier one fails; a failed step counts 0. `settings`
    None reads them from the environment (KOPILKA_*), as `kopilka ledger run-jobs` does."""
    result = JobsPass()
    rules = _Rules(db, settings)
    for name, step in STEPS:
        try:
            result.counts[name] = await step(db, now, rules)
        except Exception as error:  # isolate the step: report it and go on
            fields = _failure_fields(name, error)
            result.counts[name] = 0
            result.failed[name] = " ".join(
                [fields["error"]] + ([f"(SQLSTATE {fields['sqlstate']})"]
                                     if fields["sqlstate"] else []))
            JOB_STEP_FAILURES.labels(step=name).inc()
            log.error("job step failed", extra=fields)
    return result


async def run_all_jobs(db: Database, now: dt.datetime, settings: Settings | None = None
                       ) -> JobsPass | None:
    """One pass of every step, unless another process is running them (None)."""
    async with db.engine.connect() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}):
            return None
        try:
            return await run_steps(db, now, settings)
        finally:
            await conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            await conn.commit()


def attach(app: App) -> None:
    """Run the jobs every `jobs_interval_seconds` (0 turns the loop off)."""
    interval = app.settings.jobs_interval_seconds
    if interval <= 0:
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                with acting(JOBS):
                    done = await run_all_jobs(app.db, dt.datetime.now(dt.UTC), app.settings)
                if done and (done.failed or any(done.counts.values())):
                    log.info("jobs ran", extra={**done.counts, "failed": list(done.failed)})
            except Exception:
                # only the advisory lock itself is left outside the steps' isolation
                log.exception("scheduled jobs could not start; retrying next interval")

    app.add_background(loop)
