"""The one application service of an import run, whatever door starts it (`kopilka import`,
ImportService): a connection of its own (the staging tables are its session's), the stores,
server/imports/service.run_import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg

from server.db.database import Database
from server.db.imports.store import Batches, ImportStore
from server.db.urls import plain_url
from server.features.pricing import PricingSnapshot, PricingState
from server.features.whatif import SnapshotPreview
from server.imports.kinds import KINDS
from server.imports.model import Policy, Reject, RunResult
from server.imports.service import MemberSink, Progress, run_import


async def _preview(url: str, conn: asyncpg.Connection, pricing: PricingSnapshot | None
                   ) -> SnapshotPreview:
    """Today's rules for a dry run of sales: the running server's snapshot, or (the CLI)
    one loaded from the database as a server would load it."""
    if pricing is None:
        db = Database(url, pool_size=1)
        try:
            state = PricingState(db)
            await state.refresh(force=True)
            pricing = state.snapshot
        finally:
            await db.dispose()
    rates = {r["code"]: int(r["accrual_bps"])
             for r in await conn.fetch("SELECT code, accrual_bps FROM card_types")}
    return SnapshotPreview(pricing, rates)


async def import_files(url: str, *, kind: str, files: Sequence[Path], source: str,
                       policy: Policy, dry_run: bool, principal: str,
                       progress: Callable[[Progress], None] = lambda p: None,
                       on_reject: Callable[[Reject], None] | None = None,
                       on_member: MemberSink | None = None,
                       now: dt.datetime | None = None,
                       pricing: PricingSnapshot | None = None) -> RunResult:
    """Run one import of `files` over a connection to `url`; FileProblem when a file cannot
    be imported at all (nothing written). A dry run of sales prices them with `pricing` (the
    server's snapshot; loaded from the database without one)."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        preview = await _preview(url, conn, pricing) if dry_run and kind == "sales" else None
        return await run_import(
            ImportStore(conn, KINDS[kind], source), Batches(conn), kind_name=kind, files=files,
            source=source, policy=policy, dry_run=dry_run, principal=principal,
            now=now or dt.datetime.now(dt.UTC), progress=progress, on_reject=on_reject,
            on_member=on_member, preview=preview)
    finally:
        await conn.close()
