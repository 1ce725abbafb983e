"""Scheduled housekeeping inside the server: points lots and certificate expiry.

Every worker runs the loop, but a PostgreSQL advisory lock lets one pass run at a time
across all workers and servers, so operators need no cron (the CLI runs the same pass).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import text

from server.db.database import Database

if TYPE_CHECKING:
    from server.app import App

log = logging.getLogger("kopilka.jobs")

LOCK_KEY = 0x6B6F70696C6B61  # "kopilka"


async def run_ledger_jobs(db: Database, now: dt.datetime) -> dict[str, int]:
    """One pass of every ledger job, each batch in its own transaction; counts per job."""
    from server.db.ledger_jobs import activate_due, expire_due, grant_events
    from server.db.ledger_rules_repo import load_compiled_accrual_rules

    counts = {"activated": 0, "expired": 0, "registration": 0, "birthday": 0}
    for name, job in (("activated", activate_due), ("expired", expire_due)):
        while True:
            async with db.transaction() as session:
                done = await job(session, now)
            counts[name] += done
            if not done:
                break
    rules = await load_compiled_accrual_rules(db)
    for trigger in ("registration", "birthday"):
        async with db.transaction() as session:
            counts[trigger] = await grant_events(session, rules, trigger, now, batch=100_000)
    return counts


async def run_all_jobs(db: Database, now: dt.datetime) -> dict[str, int] | None:
    """Ledger jobs and certificate expiry, unless another process is running them (None)."""
    from server.db.certificates_repo import expire_due as expire_certificates

    async with db.engine.connect() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}):
            return None
        try:
            counts = await run_ledger_jobs(db, now)
            async with db.transaction() as session:
                expired = await expire_certificates(session, now)
            counts["certificates_expired"] = sum(n for _, n, _ in expired)
            return counts
        finally:
            await conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            await conn.commit()


def setup(app: App) -> None:
    """Run the jobs every `jobs_interval_seconds` (0 turns the loop off)."""
    interval = app.settings.jobs_interval_seconds
    if interval <= 0:
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                counts = await run_all_jobs(app.db, dt.datetime.now(dt.UTC))
                if counts and any(counts.values()):
                    log.info("jobs ran", extra=counts)
            except Exception:
                log.exception("scheduled jobs failed; retrying next interval")

    app.add_background(loop)
