"""`kopilka certificates issue|export|report|expire|activate`: batch work on certificates.

Runs on the database directly (like `kopilka apikey`), for the back office: printing a
batch of thousands, exporting barcodes for a print shop, the usage report, the expiry job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from server.commands import certificate_scanner
from server.commands._shared import with_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.db.database import Database

CHUNK = 100  # certificates per transaction: progress moves and a failure loses one chunk


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    root = sub.add_parser("certificates", help="issue, export, report and expire certificates")
    cmds = root.add_subparsers(dest="certificates_command", required=True)
    issue = cmds.add_parser("issue", help="issue a batch (shows progress)")
    issue.add_argument("--type", required=True, help="certificate type code")
    issue.add_argument("--count", type=int, default=1)
    issue.add_argument("--store", required=True, help="store that sells them")
    issue.add_argument("--denomination", type=int, default=0, help="face value, minor units")
    issue.add_argument("--print-only", action="store_true", help="print unsold (state NEW)")
    issue.set_defaults(func=cmd_issue)
    export = cmds.add_parser("export", help="export barcodes as CSV or one SVG each")
    export.add_argument("--format", required=True, choices=["csv", "svg"])
    export.add_argument("--out", required=True, type=Path, help="directory to write into")
    export.add_argument("--type", help="only this certificate type")
    export.add_argument("--state", help="only this state, e.g. new")
    export.set_defaults(func=cmd_export)
    report = cmds.add_parser("report", help="usage analysis by store for a period")
    report.add_argument("--from", dest="start", required=True, type=_date, help="YYYY-MM-DD")
    report.add_argument("--to", dest="end", required=True, type=_date,
                        help="YYYY-MM-DD, exclusive")
    report.add_argument("--store", default="")
    report.set_defaults(func=cmd_report)
    cmds.add_parser("expire", help="write off certificates past validity").set_defaults(
        func=cmd_expire)
    certificate_scanner.register(cmds)


def _date(value: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not YYYY-MM-DD") from None


def _say(message: str, end: str = "\n") -> None:
    print(message, file=sys.stderr, end=end, flush=True)


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    """Run `work(db)` on the migrated database; DomainError -> message and exit code 2."""
    from server.errors import DomainError

    try:
        return with_database(settings, work)
    except DomainError as exc:
        _say(f"\nkopilka: {exc.reason}: {exc.message}")
        return 2


def cmd_issue(settings: Settings, args: argparse.Namespace) -> int:
    from server.audit.actor import Actor, acting
    from server.certificates import service
    from server.db.audit.repo import Change, record
    from server.db.certificates.repo import SqlCertificateRepository

    if args.count < 1:
        _say("kopilka: --count must be at least 1")
        return 2
    batch = uuid.uuid4()
    principal = f"cli:{getpass.getuser()}"

    async def work(db: Database) -> int:
        done = 0
        while done < args.count:
            size = min(CHUNK, args.count - done)
            async with db.transaction() as session:
                certs = await service.issue(
                    SqlCertificateRepository(session), type_code=args.type, count=size,
                    store_code=args.store, denomination_minor=args.denomination,
                    print_only=args.print_only, now=dt.datetime.now(dt.UTC),
                    principal=principal, batch_id=batch)
                with acting(Actor(principal)):
                    await record(session, *(Change("certificate", c.number, "issue", None, c)
                                            for c in certs))
            if done == 0:
                first = certs[0].number
            done += size
            _say(f"\rkopilka: issued {done}/{args.count} ({100 * done // args.count}%)", end="")
        _say(f"\nkopilka: batch {batch}: {first} .. {certs[-1].number}")
        return 0

    return _with_db(settings, work)


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from server.certificates.model import CertificateState
    from server.certificates.printing import barcode_svg, export_csv
    from server.db.certificates.repo import certificates_for_export

    try:
        state = CertificateState(args.state) if args.state else None
    except ValueError:
        _say(f"kopilka: --state must be one of {[s.value for s in CertificateState]}")
        return 2

    async def work(db: Database) -> int:
        async with db.transaction() as session:
            rows = await certificates_for_export(session, args.type, state)
        args.out.mkdir(parents=True, exist_ok=True)
        if args.format == "csv":
            (args.out / "certificates.csv").write_text(export_csv(rows), encoding="utf-8")
        else:
            for i, (t, cert) in enumerate(rows, 1):
                (args.out / f"{cert.number}.svg").write_bytes(barcode_svg(t, cert))
                _say(f"\rkopilka: rendered {i}/{len(rows)}", end="")
            _say("")
        _say(f"kopilka: exported {len(rows)} certificates to {args.out}")
        return 0

    return _with_db(settings, work)


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from server.certificates.printing import format_minor
    from server.db.certificates.repo import usage_report

    if args.start >= args.end:
        _say("kopilka: --to must be after --from")
        return 2

    async def work(db: Database) -> int:
        async with db.transaction() as session:
            rows = await usage_report(session, args.start, args.end, args.store)
        header = ("store", "cur", "issued#", "issued", "redeemed", "refunded", "forfeited",
                  "expired#", "expired", "outstanding#", "outstanding")
        print("\t".join(header))
        for r in rows:
            print("\t".join([
                r.store_code or "-", r.currency, str(r.issued_count),
                format_minor(r.issued_minor), format_minor(r.redeemed_minor),
                format_minor(r.refunded_minor), format_minor(r.forfeited_minor),
                str(r.expired_count), format_minor(r.expired_minor),
                str(r.outstanding_count), format_minor(r.outstanding_minor)]))
        return 0

    return _with_db(settings, work)


def cmd_expire(settings: Settings, args: argparse.Namespace) -> int:
    from server.audit.actor import acting, cli_actor
    from server.certificates.printing import format_minor
    from server.db.audit.repo import Change, record
    from server.db.certificates.repo import expire_due

    async def work(db: Database) -> int:
        async with db.transaction() as session:
            rows = await expire_due(session, dt.datetime.now(dt.UTC))
            if rows:
                with acting(cli_actor()):
                    await record(session, Change(
                        "certificate_expiry", f"cli:{uuid.uuid4()}", "expire", None,
                        [{"currency": c, "count": n, "written_off_minor": a}
                         for c, n, a in rows]))
        total = sum(n for _, n, _ in rows)
        summary = ", ".join(f"{format_minor(a)} {c}" for c, _, a in rows) or "nothing"
        _say(f"kopilka: expired {total} certificates, wrote off {summary}")
        return 0

    return _with_db(settings, work)
