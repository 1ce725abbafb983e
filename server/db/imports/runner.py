"""The one application service of an import run, whatever door starts it (`kopilka import`,
ImportService): a connection of its own (the staging tables are its session's), the stores,
server/imports/service.run_import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg

from server.db.imports.store import Batches, ImportStore
from server.db.urls import plain_url
from server.imports.kinds import KINDS
from server.imports.model import Policy, Reject, RunResult
from server.imports.service import MemberSink, Progress, run_import


async def import_files(url: str, *, kind: str, files: Sequence[Path], source: str,
                       policy: Policy, dry_run: bool, principal: str,
                       progress: Callable[[Progress], None] = lambda p: None,
                       on_reject: Callable[[Reject], None] | None = None,
                       on_member: MemberSink | None = None,
                       now: dt.datetime | None = None) -> RunResult:
    """Run one import of `files` over a connection to `url`; FileProblem when a file cannot
    be imported at all (nothing written)."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        return await run_import(
            ImportStore(conn, KINDS[kind], source), Batches(conn), kind_name=kind, files=files,
            source=source, policy=policy, dry_run=dry_run, principal=principal,
            now=now or dt.datetime.now(dt.UTC), progress=progress, on_reject=on_reject,
            on_member=on_member)
    finally:
        await conn.close()
