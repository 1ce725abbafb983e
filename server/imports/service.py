"""One import run, whatever door starts it (`kopilka import`, the ImportService RPC).

Read (streaming) -> stage by COPY in chunks -> set-based checks -> policy -> apply chunk by
chunk (one transaction each, with the checkpoint) -> reconcile. A dry run stops before the
apply. History mode throughout: nothing imported fires triggers, campaigns or accrual.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from server.imports import fields as f
from server.imports import metrics
from server.imports.kinds import KINDS, Kind
from server.imports.model import Policy, Reconciliation, Reject, RowError, RunResult, Totals
from server.imports.reading import SourceRow, Utf8Blocks, csv_rows, read_header
from server.pricing.whatif import PastReceipt, WhatIfTotals

COPY_CHUNK = 5_000
APPLY_CHUNK = 50_000  # rows (whole receipts and orders) a transaction writes
SHOWN_REJECTS = 50
FILE_STRIDE = 10**12  # staged row number = file index * stride + row in file


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report: the phase, rows so far, their rate."""

    phase: str  # staging, checking, rules (a dry run of sales), importing, done
    rows: int
    rows_per_second: float
    rejected: int = 0


class FileProblem(ValueError):
    """A file cannot be imported at all (missing column, unreadable): nothing was written."""


class RunStore(Protocol):
    """What a run needs from storage (server/db/imports/store.py)."""

    async def create_stage(self) -> None: ...
    def parses_csv(self) -> bool: ...
    async def stage_csv(self, index: int, file: str, header: list[str], delimiter: str,
                        blocks: Iterator[bytes], encoding_problem: Callable[[], str | None],
                        fallback: Callable[[], Iterable[tuple[int, tuple[str, str] | None,
                                                               list[str | None]]]],
                        now: dt.datetime, stride: int, only_file: bool = False) -> int: ...
    async def resolve_pending(self, decide: Callable[[str, str], tuple[str | None,
                                                                       str | None]]) -> None: ...
    async def copy(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    async def check(self) -> None: ...
    async def first_bad(self) -> int | None: ...
    def rejects(self, limit: int | None = None) -> AsyncIterator[Reject]: ...
    async def totals(self, where: str, **values: Any) -> Totals: ...
    async def totals_by(self, wheres: list[str], **values: Any) -> list[Totals]: ...
    def per_member(self, hi: int, batch: uuid.UUID | None
                   ) -> AsyncIterator[tuple[str, int, int, int | None]]: ...
    def staged_receipts(self, hi: int) -> AsyncIterator[list[PastReceipt]]:
        """Pages of the staged sales that would be imported, as receipts (sales only)."""
        ...
    def chunks(self, after: int, hi: int, size: int) -> AsyncIterator[tuple[int, int]]: ...
    async def apply_chunk(self, batch: uuid.UUID, lo: int, hi: int, tx: uuid.UUID | None,
                          now: dt.datetime, principal: str) -> int: ...


class BatchStore(Protocol):
    """Batches: find an unfinished one, start, finish, read back what was imported."""

    async def resumable(self, kind: str, source: str, files_hash: bytes
                        ) -> tuple[uuid.UUID, int, uuid.UUID | None] | None: ...
    async def start(self, batch: uuid.UUID, kind: str, source: str, policy: str,
                    files: list[str], files_hash: bytes, principal: str,
                    ledger: bool) -> uuid.UUID | None: ...
    async def finish(self, batch: uuid.UUID, state: str, counts: dict[str, Any]) -> None: ...
    async def imported(self, kind: Kind, batch: uuid.UUID) -> Totals: ...


MemberSink = Callable[[str, int, int, "int | None"], None]


class RulesPreview(Protocol):
    """Today's rules over past receipts, in memory (server/db/imports/runner.py builds it
    from the pricing snapshot): `add` prices one receipt, `totals` is the running sum."""

    totals: WhatIfTotals

    def add(self, past: PastReceipt) -> None: ...


async def _would_fire(store: RunStore, preview: RulesPreview, top: int,
                      started: float, progress: Callable[[Progress], None]) -> WhatIfTotals:
    """Price every receipt a dry run of sales would import, page by page (nothing per
    receipt is kept), reporting progress per page."""
    async for page in store.staged_receipts(top):
        for past in page:
            preview.add(past)
        done = preview.totals.receipts
        progress(Progress("rules", done, done / max(time.monotonic() - started, 1e-6)))
    return preview.totals


async def _members(store: RunStore, report: Reconciliation, top: int,
                   batch: uuid.UUID | None, on_member: MemberSink | None) -> None:
    """Stream the per-member reconciliation (card, source, to import, imported) from SQL,
    counting members and mismatches; nothing is kept per member."""
    async for card, src, imp, got in store.per_member(top, batch):
        report.members_total += 1
        if got is not None and got != imp:
            report.members_mismatched += 1
        if on_member is not None:
            on_member(card, src, imp, got)


def files_digest(kind: str, source: str, files: Sequence[Path]) -> bytes:
    """What identifies a run for resuming: the kind, the source and the files' bytes."""
    digest = hashlib.sha256(f"{kind}\0{source}\0".encode())
    for path in files:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
        digest.update(b"\0")
    return digest.digest()


def _is_xml(kind: Kind, path: Path) -> bool:
    return kind.name == "products" and path.suffix.lower() == ".xml"


def _header(kind: Kind, path: Path) -> list[str]:
    header = read_header(path)
    missing = [c for c in kind.required if c not in header]
    if missing:
        raise FileProblem(f"{path.name}: no column {', '.join(missing)} (the header has "
                          f"{', '.join(header) or 'nothing'})")
    return header


def _source_rows(kind: Kind, path: Path, options: dict[str, str]) -> Iterator[SourceRow]:
    if _is_xml(kind, path):
        yield from _commerceml_rows(path, options)
        return
    _header(kind, path)
    yield from csv_rows(path)


def _positional(path: Path, header: list[str]
                ) -> Iterator[tuple[int, tuple[str, str] | None, list[str | None]]]:
    """A CSV file's rows by column position, as Python reads them (row number, the problem
    found reading it, its values): for files COPY cannot read."""
    for row in csv_rows(path):
        yield row.number, row.problem, [row.fields.get(name) for name in header]


def decide(column: str, raw: str) -> tuple[str | None, str | None]:
    """What Python makes of a phone or e-mail the SQL parse left pending."""
    parse = f.phone if column == "phone" else f.email
    try:
        return parse({column: raw}, column), None
    except RowError as exc:
        return None, exc.reason


def _commerceml_rows(path: Path, options: dict[str, str]) -> Iterator[SourceRow]:
    """Products from a CommerceML 2 file through the onec plugin's own parser; a sibling
    offers.xml (variants' barcodes) is read along with import.xml."""
    from server.org.catalog_import import fold_items
    from server.plugin_contracts import ReportingCatalogExchange
    from server.plugin_host import PluginHost, build_plugin_manager

    documents = {path.name: path.read_bytes()}
    offers = path.with_name("offers.xml")
    if offers.exists() and offers != path:
        documents[offers.name] = offers.read_bytes()
    section = {"sku_source": options.get("sku_from", "article")}
    exchange = PluginHost(build_plugin_manager(), {"onec": section}).catalog_exchanges().get("1c")
    if not isinstance(exchange, ReportingCatalogExchange):
        raise FileProblem("no plugin offers the 1c catalog exchange (is onec disabled?)")
    try:
        parsed = exchange.parse_package(documents)
    except ValueError as exc:
        raise FileProblem(f"{path.name}: {exc}") from None
    products, _ = fold_items(parsed.items)
    for number, p in enumerate(products, start=2):
        yield SourceRow(number, {
            "id": p.sku, "sku": p.sku, "name": p.name, "group_code": p.group_code,
            "subgroup_code": p.subgroup_code, "brand": p.brand,
            "supplier_code": p.supplier_code, "price_category": p.price_category,
            "barcodes": ";".join(p.barcodes)})


def stage_row(kind: Kind, index: int, file: str, row: SourceRow, now: dt.datetime
              ) -> tuple[tuple[Any, ...], bool]:
    """The staged tuple of one source row and whether it was refused here."""
    rn = index * FILE_STRIDE + row.number
    source_id = row.fields.get(kind.id_column, "").strip()[:128]
    digest = hashlib.sha256("\x1e".join(
        f"{k}\x1f{v.strip()}" for k, v in sorted(row.fields.items())).encode()).digest()
    empty = (None,) * len(kind.columns)
    problem = row.problem
    if problem is None and not source_id:
        problem = (kind.id_column, "required (the source's own id)")
    if problem is None:
        try:
            values, flags = kind.parse(row.fields, now)
        except RowError as exc:
            problem = (exc.field, exc.reason)
        else:
            return (rn, rn, file, source_id, digest, flags, None, None, *values), False
    return (rn, rn, file, source_id, digest, [], problem[0], problem[1], *empty), True


async def run_import(store: RunStore, batches: BatchStore, *, kind_name: str,
                     files: Sequence[Path], source: str, policy: Policy, dry_run: bool,
                     principal: str, now: dt.datetime,
                     progress: Callable[[Progress], None] = lambda p: None,
                     on_reject: Callable[[Reject], None] | None = None,
                     on_member: MemberSink | None = None,
                     options: dict[str, str] | None = None,
                     preview: RulesPreview | None = None) -> RunResult:
    """Run one import (see the module docstring); FileProblem when a file is unusable.
    `on_member` gets the per-member reconciliation row by row, in card order; `preview`
    prices a dry run's sales with today's rules (the report's `rules`)."""
    kind = KINDS[kind_name]
    metrics.RUNNING.labels(kind.name).inc()
    try:
        return await _run(store, batches, kind, files, source, policy, dry_run, principal, now,
                          progress, on_reject, on_member, options or {}, preview)
    finally:
        metrics.RUNNING.labels(kind.name).dec()


async def _run(store: RunStore, batches: BatchStore, kind: Kind, files: Sequence[Path],
               source: str, policy: Policy, dry_run: bool, principal: str, now: dt.datetime,
               progress: Callable[[Progress], None], on_reject: Callable[[Reject], None] | None,
               on_member: MemberSink | None, options: dict[str, str],
               preview: RulesPreview | None) -> RunResult:
    started = time.monotonic()
    await store.create_stage()
    chunk: list[tuple[Any, ...]] = []
    read = refused_here = 0
    for index, path in enumerate(files):
        if store.parses_csv() and not _is_xml(kind, path):
            header = _header(kind, path)
            blocks = Utf8Blocks(path)
            read += await store.stage_csv(
                index, path.name, header, blocks.delimiter, iter(blocks), blocks.problem,
                partial(_positional, path, header), now, FILE_STRIDE, len(files) == 1)
            progress(Progress("staging", read, read / max(time.monotonic() - started, 1e-6)))
            continue
        for row in _source_rows(kind, path, options):
            staged, refused = stage_row(kind, index, path.name, row, now)
            chunk.append(staged)
            read += 1
            refused_here += refused
            if len(chunk) >= COPY_CHUNK:
                await store.copy(chunk)
                chunk.clear()
                progress(Progress("staging", read, read / max(time.monotonic() - started, 1e-6)))
    if chunk:
        await store.copy(chunk)
    await store.resolve_pending(decide)
    metrics.ROWS.labels(kind.name, "read").inc(read)
    progress(Progress("checking", read, read / max(time.monotonic() - started, 1e-6)))
    await store.check()
    first_bad = await store.first_bad()
    top = 2**62
    stopped_at = None
    if first_bad is not None and policy is Policy.STOP:
        top, stopped_at = first_bad - 1, first_bad % FILE_STRIDE
    elif first_bad is not None and policy is Policy.REJECT_ALL:
        top = 0
    in_source, to_import, unchanged, rejected = await store.totals_by(
        ["true", "s.reject_reason IS NULL AND s.status <> 'same' AND s.grp <= :hi",
         "s.reject_reason IS NULL AND s.status = 'same'", "s.reject_reason IS NOT NULL"],
        hi=top)
    report = Reconciliation(source=in_source, to_import=to_import, unchanged=unchanged,
                            rejected=rejected)
    metrics.ROWS.labels(kind.name, "rejected").inc(report.rejected.rows)
    metrics.ROWS.labels(kind.name, "unchanged").inc(report.unchanged.rows)
    shown: list[Reject] = []
    async for reject in store.rejects(1 if policy is Policy.STOP else None):
        if len(shown) < SHOWN_REJECTS:
            shown.append(reject)
        if on_reject is not None:
            on_reject(reject)
    digest = files_digest(kind.name, source, files)
    resumed = await batches.resumable(kind.name, source, digest)
    batch = resumed[0] if resumed else uuid.uuid4()
    result = RunResult(batch, kind.name, dry_run, resumed is not None, shown, report, stopped_at)
    if dry_run:
        await _members(store, report, top, None, on_member)
        if preview is not None and kind.name == "sales":
            report.rules = await _would_fire(store, preview, top, started, progress)
        progress(Progress("done", read, read / max(time.monotonic() - started, 1e-6),
                          report.rejected.rows))
        return result
    if resumed is None:
        tx = await batches.start(batch, kind.name, source, policy.value,
                                 [str(p) for p in files], digest, principal, kind.ledger)
        after = 0
    else:
        _, after, tx = resumed
    written = 0
    async for lo, hi in store.chunks(after, top, APPLY_CHUNK):
        written += await store.apply_chunk(batch, lo, hi, tx, now, principal)
        progress(Progress("importing", written, written / max(time.monotonic() - started, 1e-6),
                          report.rejected.rows))
    metrics.ROWS.labels(kind.name, "written").inc(written)
    state = "failed" if stopped_at is not None or (top == 0 and first_bad is not None) else "done"
    await batches.finish(batch, state, {
        "read": read, "rejected": report.rejected.rows, "unchanged": report.unchanged.rows,
        "source_amount": report.source.amount, "stopped_at": stopped_at})
    report.imported = await batches.imported(kind, batch)
    await _members(store, report, top, batch, on_member)
    result.committed = True
    progress(Progress("done", written, written / max(time.monotonic() - started, 1e-6),
                      report.rejected.rows))
    return result
