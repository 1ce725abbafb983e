"""ImportService: `kopilka import` over gRPC (issue 19), with progress streamed.

Both RPCs run the one application service (server/db/imports/runner.import_files) on a file:
RunImport on one under KOPILKA_IMPORT_DIR, UploadImport on the uploaded bytes, spooled to a
temporary file chunk by chunk (memory stays flat). The import is idempotent by itself: a
re-run of the same rows imports only what changed, an unfinished run of the same file is
resumed under its batch id.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from kopilka.v1 import imports_pb2, imports_pb2_grpc

from server.api.context import Context
from server.api.deps import ApiDeps, caller
from server.api.servicers.promotions import rule_totals_pb
from server.errors import DomainError, ErrorKind, Violations
from server.imports.kinds import KINDS
from server.imports.model import Policy, Reject, RunResult
from server.imports.service import FileProblem, Progress
from server.pricing.whatif import WhatIfTotals

POLICIES = {"": Policy.STOP, **{p.value: p for p in Policy}}


def _options(options: imports_pb2.ImportOptions, errors: Violations) -> tuple[str, Policy]:
    if options.kind not in KINDS:
        errors.add("options.kind", "one of " + ", ".join(KINDS))
    if options.on_error not in POLICIES:
        errors.add("options.on_error", "stop, skip or reject-all")
    return options.kind, POLICIES.get(options.on_error, Policy.STOP)


def allowed_path(base: Path | None, given: str) -> Path:
    """The file `given` names under `base`, or a refusal: no base configured, '..', a
    path (or a symlink on it) leading out of the base, not a regular file."""
    if base is None:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "IMPORT_DIR_UNSET",
                          "the server has no import directory (KOPILKA_IMPORT_DIR); "
                          "send the file with UploadImport instead")
    errors = Violations()
    if not given:
        errors.add("path", "required")
    elif ".." in Path(given).parts or "\0" in given:
        errors.add("path", "may not contain '..'")
    errors.raise_if_any()
    root = base.resolve()
    target = (root / given).resolve()
    if not target.is_relative_to(root):
        errors.add("path", "outside the import directory (or a symlink leading out of it)")
    elif not target.is_file():
        errors.add("path", "no such file in the import directory")
    errors.raise_if_any()
    return target


def _reject_pb(r: Reject) -> imports_pb2.ImportReject:
    return imports_pb2.ImportReject(file=r.file, row=r.row, source_id=r.source_id,
                                    field=r.field, reason=r.reason)


class ImportServicer(imports_pb2_grpc.ImportServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def RunImport(self, request: imports_pb2.RunImportRequest, context: Context
                        ) -> AsyncIterator[imports_pb2.RunImportResponse]:
        errors = Violations()
        kind, policy = _options(request.options, errors)
        errors.raise_if_any()
        path = allowed_path(self.deps.settings.import_dir, request.path)
        async for progress in self._run(kind, policy, request.options, path):
            yield imports_pb2.RunImportResponse(progress=progress)

    async def UploadImport(self, request_iterator: AsyncIterator[imports_pb2.UploadImportRequest],
                           context: Context) -> AsyncIterator[imports_pb2.UploadImportResponse]:
        first: imports_pb2.UploadImportRequest | None = None
        with tempfile.TemporaryDirectory(prefix="kopilka-upload-") as folder:
            spool = None
            path = Path(folder) / "upload.csv"
            try:
                async for message in request_iterator:
                    if first is None:
                        first = message
                        errors = Violations()
                        kind, policy = _options(message.options, errors)
                        name = Path(message.options.file_name or "upload.csv").name
                        if name in ("", ".", ".."):
                            errors.add("options.file_name", "a file name")
                        errors.raise_if_any()
                        path = Path(folder) / name
                        spool = path.open("wb")
                    assert spool is not None
                    spool.write(message.chunk)
            finally:
                if spool is not None:
                    spool.close()
            if first is None:
                errors = Violations()
                errors.add("options", "send the options in the first message")
                errors.raise_if_any()
            assert first is not None
            async for progress in self._run(kind, policy, first.options, path):
                yield imports_pb2.UploadImportResponse(progress=progress)

    async def _run(self, kind: str, policy: Policy, options: imports_pb2.ImportOptions,
                   path: Path) -> AsyncIterator[imports_pb2.ImportProgress]:
        """Run the import as a task; its progress reports go out as they come."""
        from server.db.imports.runner import import_files

        queue: asyncio.Queue[Progress] = asyncio.Queue(maxsize=100)

        def report(p: Progress) -> None:
            if p.phase != "done":
                with contextlib.suppress(asyncio.QueueFull):  # a slow reader skips reports
                    queue.put_nowait(p)

        principal = caller()

        async def run() -> RunResult:  # the task inherits the caller: audit rows name it
            return await import_files(
                self.deps.db.url, kind=kind, files=[path], source=options.source or "default",
                policy=policy, dry_run=options.dry_run, principal=principal.label,
                progress=report, now=self.deps.clock(), pricing=self.deps.pricing.snapshot)

        task = asyncio.ensure_future(run())
        written = 0
        try:
            while not task.done() or not queue.empty():
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    continue
                p = getter.result()
                if p.phase == "importing":
                    written = p.rows
                yield imports_pb2.ImportProgress(
                    phase=p.phase, rows_read=0 if p.phase == "importing" else p.rows,
                    rows_imported=written, rows_rejected=p.rejected)
            try:
                result = task.result()
            except FileProblem as exc:
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "IMPORT_FILE_UNUSABLE",
                                  f"{exc}; nothing was imported") from None
        finally:
            if not task.done():
                task.cancel()
        r = result.report
        yield imports_pb2.ImportProgress(
            phase="done", rows_read=r.source.rows,
            rows_imported=r.imported.rows if r.imported is not None else 0,
            rows_rejected=r.rejected.rows, rows_unchanged=r.unchanged.rows,
            batch_id=str(result.batch_id), done=True, dry_run=not result.committed,
            resumed=result.resumed, stopped_at_row=result.stopped_at or 0,
            rejects=[_reject_pb(x) for x in result.rejects],
            source_amount=r.source.amount,
            imported_amount=r.imported.amount if r.imported is not None else 0,
            rules=_rules_pb(r.rules))


def _rules_pb(totals: WhatIfTotals | None) -> imports_pb2.ImportRulesPreview | None:
    """A dry run's would-be rule effects; None (not set) for other runs."""
    if totals is None:
        return None
    return imports_pb2.ImportRulesPreview(
        receipts=totals.receipts, discount_minor=totals.discount,
        receipts_discounted=totals.affected, points=totals.points,
        per_rule=rule_totals_pb(totals))
