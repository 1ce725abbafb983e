"""`kopilka import KIND FILE...`: bring a running loyalty program's history over (issue 19).

`kopilka import rollback BATCH` removes one run as a whole. See docs/imports.md.
"""

from __future__ import annotations

import argparse
import csv
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from server.settings import Settings

KIND_NAMES = ("networks", "stores", "card-types", "product-groups", "brands", "suppliers",
              "products", "members", "points", "cash-accounts", "certificates", "sales",
              "orders")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("import", help="import historical data (directories, members, "
                         "balances, certificates, sales, past online-store orders) or roll a "
                         "batch back")
    cmd.add_argument("kind", choices=[*KIND_NAMES, "rollback"],
                     help="what the files hold; `rollback BATCH` removes a batch")
    cmd.add_argument("files", nargs="+", metavar="FILE", help="CSV (UTF-8 or windows-1251) "
                     "or, for products, CommerceML import.xml; the batch id for rollback")
    cmd.add_argument("--dry-run", action="store_true", help="check and reconcile, write nothing")
    cmd.add_argument("--on-error", choices=["stop", "skip", "reject-all"], default="stop")
    cmd.add_argument("--rejects", type=Path, help="write the rejected rows here (CSV)")
    cmd.add_argument("--report", type=Path, help="write the per-member reconciliation (CSV)")
    cmd.add_argument("--source", default="default",
                     help="the system the files come from (site, 1c...): ids are its own")
    cmd.set_defaults(func=cmd_import)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Bar:
    """Rows and rows/s on stderr: one redrawn line on a terminal, a line a second if not."""

    def __init__(self, kind: str, stream: TextIO | None = None) -> None:
        import time

        self._time = time.monotonic
        self.kind = kind
        # sys.stderr now, not when the module was imported (main() run in-process by tests)
        self.stream = sys.stderr if stream is None else stream
        self.last = 0.0
        self.tty = self.stream.isatty()

    def __call__(self, p: Any) -> None:
        now = self._time()
        if p.phase not in ("done", "checking") and now - self.last < (0.2 if self.tty else 1.0):
            return
        self.last = now
        rejected = f", {p.rejected:,} rejected" if p.rejected else ""
        text = (f"kopilka: import {self.kind}: {p.phase} {p.rows:,} rows "
                f"({p.rows_per_second:,.0f} rows/s){rejected}")
        if self.tty:
            self.stream.write("\r" + text.ljust(78) + ("\n" if p.phase == "done" else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from server.cli import _run
    from server.runtime import prepare_database

    if args.kind == "rollback":
        if len(args.files) != 1:
            _say("kopilka: import rollback takes one batch id")
            return 2
        try:
            batch = uuid.UUID(args.files[0])
        except ValueError:
            _say(f"kopilka: {args.files[0]!r} is not a batch id (a UUID)")
            return 2
        return _run(_rollback(_run(prepare_database(settings)), batch))
    files = [Path(f) for f in args.files]
    for path in files:
        if not path.is_file():
            _say(f"kopilka: cannot read {path}: no such file")
            return 2
    return _run(_import(_run(prepare_database(settings)), args, files))


async def _rollback(url: str, batch: uuid.UUID) -> int:
    import asyncpg

    from server.audit.actor import acting, cli_actor
    from server.db.imports.rollback import RollbackRefused, rollback

    conn = await asyncpg.connect(url)
    try:
        with acting(cli_actor()):
            counts = await rollback(conn, batch)
    except RollbackRefused as exc:
        _say(f"kopilka: rollback refused: {exc}; nothing was changed")
        return 1
    finally:
        await conn.close()
    _say(f"kopilka: batch {batch} rolled back: {counts['removed']:,} records removed"
         + (f", {counts['kept_updates']:,} updates of earlier imports kept"
            if counts["kept_updates"] else ""))
    return 0


async def _import(url: str, args: argparse.Namespace, files: list[Path]) -> int:
    from server.audit.actor import acting, cli_actor
    from server.db.imports.runner import import_files
    from server.imports.model import Policy
    from server.imports.service import FileProblem

    rejects_file = args.rejects.open("w", newline="", encoding="utf-8") if args.rejects else None
    writer = csv.writer(rejects_file) if rejects_file else None
    if writer:
        writer.writerow(["file", "row", "id", "field", "reason"])
    report_file = args.report.open("w", newline="", encoding="utf-8") if args.report else None
    members = csv.writer(report_file) if report_file else None
    if members:
        members.writerow(["card_number", "source", "to_import", "imported"])
    actor = cli_actor()
    try:
        with acting(actor):
            result = await import_files(
                url, kind=args.kind, files=files, source=args.source,
                policy=Policy(args.on_error), dry_run=args.dry_run, principal=actor.label,
                progress=Bar(args.kind),
                on_reject=(lambda r: writer.writerow([r.file, r.row, r.source_id, r.field,
                                                      r.reason])) if writer else None,
                on_member=(lambda card, src, imp, got: members.writerow(
                    [card, src, imp, "" if got is None else got])) if members else None)
    except FileProblem as exc:
        _say(f"kopilka: {exc}; nothing was imported")
        return 2
    finally:
        if rejects_file:
            rejects_file.close()
        if report_file:
            report_file.close()
    _print_report(result, args)
    if result.report.rejected.rows and not args.dry_run and args.on_error != "skip":
        return 1
    return 0


def _print_report(result: Any, args: argparse.Namespace) -> None:
    from server.certificates.printing import format_minor

    r = result.report
    mode = "dry run, nothing written" if result.dry_run else (
        f"batch {result.batch_id}" + (" (resumed)" if result.resumed else ""))
    _say(f"kopilka: import {result.kind} ({mode})")
    amount = " amount" if r.source.amount or r.to_import.amount else ""
    for label, t in (("source", r.source), ("to import", r.to_import),
                     ("unchanged", r.unchanged), ("rejected", r.rejected)):
        _say(f"kopilka:   {label:<10} {t.rows:>10,} rows" + (f" {t.amount:>16,}{amount}"
                                                            if amount else ""))
    if r.imported is not None:
        _say(f"kopilka:   {'imported':<10} {r.imported.rows:>10,} rows" + (
            f" {r.imported.amount:>16,}{amount}" if amount else ""))
    if r.members_total:
        _say(f"kopilka:   members {r.members_total:,}"
             + ("" if r.imported is None else
                f"; imported differs from what was to be imported for "
                f"{r.members_mismatched:,}"))
    if r.rules is not None:
        t = r.rules
        _say(f"kopilka:   rules: history mode fires none; today's rules would have given "
             f"{t.receipts:,} receipts {format_minor(t.discount)} of discounts on "
             f"{t.affected:,} of them and {t.points:,} points")
        for rule_id, x in sorted(t.per_rule.items(), key=lambda kv: (-kv[1].discount, kv[0])):
            _say(f"kopilka:     {rule_id:<32} {format_minor(x.discount):>14} on {x.receipts:,} "
                 "receipt(s)")
    else:
        _say("kopilka:   rules: history mode fires none")
    for reject in result.rejects[:10]:
        _say(f"kopilka:   row {reject.row} of {reject.file}: {reject.field}: {reject.reason}")
    if result.stopped_at is not None:
        _say(f"kopilka: stopped at row {result.stopped_at} (--on-error stop): rows before it "
             "were imported; fix it and run again to continue, or use --on-error skip")
    elif r.rejected.rows and args.on_error == "reject-all" and not result.dry_run:
        _say("kopilka: nothing was imported (--on-error reject-all)")

