"""`kopilka promotions what-if FILE --from --to`: a candidate rule set over past receipts,
with a progress bar; the same service as PromotionService.WhatIf. Writes nothing."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from server.certificates.printing import format_minor
from server.commands._shared import with_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.db.database import Database
    from server.features.whatif import Progress

BAR = 30


def _moment(value: str, name: str) -> dt.datetime:
    """A date (local midnight in UTC terms: 00:00 UTC) or an ISO time with offset."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"kopilka: --{name} must be a date (2026-03-01) or an ISO time "
                         f"with offset") from None
    if moment.tzinfo is None:
        if len(value) > 10:
            raise SystemExit(f"kopilka: --{name} needs a UTC offset (or give a date)")
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _bar(step: Progress) -> str:
    done, expected = step.totals.receipts + step.totals.skipped, max(step.expected, 1)
    filled = min(BAR, BAR * done // expected)
    return (f"\r[{'#' * filled}{'.' * (BAR - filled)}] {min(100, 100 * done // expected):3d}% "
            f"{done}/{step.expected} receipts")


def cmd_what_if(settings: Settings, args: argparse.Namespace) -> int:
    from server.errors import DomainError
    from server.features.pricing import PricingState
    from server.features.whatif import check_period, run_what_if

    text = Path(args.file).read_text(encoding="utf-8")
    fmt = "json" if args.file.endswith(".json") else "yaml"
    try:
        start, end = check_period(_moment(args.start, "from"), _moment(args.end, "to"))
    except DomainError as error:
        print(f"kopilka: {error}", file=sys.stderr)
        return 2

    async def run(db: Database) -> Progress | None:
        state = PricingState(db)
        await state.refresh(force=True)  # today's catalog, stores and bonus rules
        last = None
        async for step in run_what_if(db, state.snapshot, text, fmt, start, end):
            if not args.quiet:
                print(_bar(step), end="", file=sys.stderr, flush=True)
            last = step
        if not args.quiet:
            print(file=sys.stderr)
        return last

    try:
        last = with_database(settings, run)
    except DomainError as error:
        print(f"kopilka: the rule set is invalid ({len(error.violations)} problem(s)):",
              file=sys.stderr)
        for violation in error.violations:
            print(f"  {violation.field or '(document)'}: {violation.description}",
                  file=sys.stderr)
        return 2
    assert last is not None
    t = last.totals
    print(f"candidate {last.version}: {t.receipts} receipts, {t.lines} lines"
          f"{f', {t.skipped} skipped (no shelf prices stored)' if t.skipped else ''}")
    print(f"discount {format_minor(t.discount)} (given {format_minor(t.actual_discount)}, "
          f"difference {format_minor(t.difference)}); receipts affected {t.affected}; "
          f"points {t.points} (given {t.actual_points})")
    for rule_id, x in sorted(t.per_rule.items()):
        print(f"  {rule_id:<32} {format_minor(x.discount):>14} on {x.receipts} receipt(s)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    promotions = sub.add_parser("promotions", help="promotion rule sets: what-if runs")
    promotions_sub = promotions.add_subparsers(dest="promotions_command", required=True)
    what_if = promotions_sub.add_parser(
        "what-if", help="price the confirmed receipts of a past period with a candidate rule "
        "set and report per rule and in total (nothing is written)")
    what_if.add_argument("file", help="the candidate rule set (YAML, or JSON by extension)")
    what_if.add_argument("--from", dest="start", required=True,
                         help="start of the period: a date (UTC midnight) or ISO time")
    what_if.add_argument("--to", dest="end", required=True, help="end of the period, exclusive")
    what_if.add_argument("--quiet", action="store_true", help="no progress bar")
    what_if.set_defaults(func=cmd_what_if)
