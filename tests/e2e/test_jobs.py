"""Scheduled jobs: one pass at a time across all workers and servers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from server.db.database import Database
from server.features.jobs import LOCK_KEY, run_all_jobs

# the shopping steps (issue 13) find nothing in these worlds
NO_SHOPPING = {"baskets_abandoned": 0, "wishlist_promotions": 0, "site_events_pruned": 0,
               "product_pairs": 0}


async def test_only_one_process_runs_the_jobs_at_a_time(app):
    other = Database(app.db.url, pool_size=1)  # another worker's pool
    try:
        async with app.db.engine.connect() as holder:
            await holder.scalar(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
            assert await run_all_jobs(other, dt.datetime.now(dt.UTC)) is None
            await holder.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            await holder.commit()
        done = await run_all_jobs(other, dt.datetime.now(dt.UTC))
        assert done is not None and done.failed == {}
        assert done.counts == {"activated": 0, "expired": 0, "registration": 0, "birthday": 0,
                               "certificates_expired": 0, "points_expiring": 0,
                               "birthday_events": 0, "certificates_expiring": 0,
                               **NO_SHOPPING, "web_orders_routed": 0,
                               "tiers": 0, "appeals_overdue": 0,
                               "payments_checked": 0, "waybills_tracked": 0,
                               "refunds_settled": 0}
    finally:
        await other.dispose()
