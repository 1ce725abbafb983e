"""`kopilka ledger audit|run-jobs` and `kopilka bonus-rules apply|check FILE`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from server.commands._shared import with_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.accounts.accrual_schema import AccrualRuleSet
    from server.db.database import Database
    from server.db.ledger.jobs import AuditReport


def _load(path: str) -> AccrualRuleSet:
    from server.accounts.rules_loader import load_accrual_rules

    return load_accrual_rules(Path(path).read_text(encoding="utf-8"))


def _invalid(error: Exception) -> int:
    from server.errors import DomainError

    if not isinstance(error, DomainError):
        raise error
    print(f"kopilka: {error.reason}:", file=sys.stderr)
    for violation in error.violations:
        print(f"  {violation.field or '(document)'}: {violation.description}", file=sys.stderr)
    return 2


def cmd_rules_check(settings: Settings, args: argparse.Namespace) -> int:
    from server.errors import DomainError

    try:
        rule_set = _load(args.file)
    except DomainError as error:
        return _invalid(error)
    print(f"ok: {len(rule_set.rules)} accrual rules, version {rule_set.version}")
    return 0


def cmd_rules_apply(settings: Settings, args: argparse.Namespace) -> int:
    from server.audit.actor import acting, cli_actor
    from server.errors import DomainError
    from server.features.rule_sets import apply_bonus_rules

    try:
        rule_set = _load(args.file)  # refuse a bad file before opening the database
    except DomainError as error:
        return _invalid(error)

    async def apply(db: Database) -> int:
        actor = cli_actor()
        async with db.transaction() as session:
            with acting(actor):  # the same service ApplyBonusRules (and the console) calls
                return await apply_bonus_rules(session, rule_set, actor.label)

    with_database(settings, apply)
    print(f"applied {len(rule_set.rules)} accrual rules, version {rule_set.version}")
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from server.db.ledger.jobs import audit

    async def run(db: Database) -> AuditReport:
        async with db.transaction() as session:
            return await audit(session)

    report = with_database(settings, run)
    for problem in report.problems:
        print(f"MISMATCH {problem}")
    print(f"{report.accounts} accounts checked, {len(report.problems)} problem(s)")
    return 1 if report.problems else 0


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from server.db.audit.repo import ChainReport, verify_chain

    async def run(db: Database) -> ChainReport:
        async with db.transaction() as session:
            return await verify_chain(session)

    report = with_database(settings, run)
    if report.first_broken is not None:
        print(f"BROKEN audit row {report.first_broken}: its hash does not match its content "
              "and the row before it (changed, or a row before it was removed)")
        return 1
    print(f"{report.rows} audit rows verified in {len(report.heads)} chain(s); keep the heads "
          "elsewhere to notice removed newest rows:")
    for head in report.heads:
        print(f"  chain {head.chain}: head {head.id} {head.hash}")
    return 0


def cmd_run_jobs(settings: Settings, args: argparse.Namespace) -> int:
    now = dt.datetime.fromisoformat(args.now) if args.now else dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        print("kopilka: --now needs a UTC offset", file=sys.stderr)
        return 2
    from server.audit.actor import acting, cli_actor
    from server.features.jobs import run_all_jobs

    with acting(cli_actor()):  # audit rows of the steps name the operating-system user
        done = with_database(settings, lambda db: run_all_jobs(db, now, settings))
    if done is None:
        print("kopilka: another process is running the jobs now; nothing done",
              file=sys.stderr)
        return 0
    print(", ".join(f"{k}: {v}" for k, v in done.counts.items()))
    for step, error in done.failed.items():
        print(f"kopilka: job step {step} failed: {error}; the other steps ran",
              file=sys.stderr)
    return 1 if done.failed else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ledger = sub.add_parser("ledger", help="bonus points and cash accounts ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_sub.add_parser("audit", help="prove every balance equals its ledger sum "
                          "(exit 1 on any mismatch)").set_defaults(func=cmd_audit)
    jobs = ledger_sub.add_parser("run-jobs", help="activate and expire points lots, accrue "
                                 "registration and birthday points, expire certificates: "
                                 "the server's scheduled pass (exit 1 if a step failed)")
    jobs.add_argument("--now", help="ISO time with offset to run as (default: now)")
    jobs.set_defaults(func=cmd_run_jobs)
    audit = sub.add_parser("audit", help="alone: same as `ledger audit`; `audit verify`: "
                           "check the audit trail's hash chain")
    audit.set_defaults(func=cmd_audit)
    audit_sub = audit.add_subparsers(dest="audit_command")
    audit_sub.add_parser("verify", help="recompute the audit trail's hash chain (exit 1 "
                         "naming the first broken row)").set_defaults(func=cmd_audit_verify)
    rules = sub.add_parser("bonus-rules", help="accrual rule sets (see docs/bonus-rules.md)")
    rules_sub = rules.add_subparsers(dest="bonus_rules_command", required=True)
    apply = rules_sub.add_parser("apply", help="validate a YAML/JSON accrual rule set, activate it")
    apply.add_argument("file")
    apply.set_defaults(func=cmd_rules_apply)
    check = rules_sub.add_parser("check", help="validate an accrual rule set only")
    check.add_argument("file")
    check.set_defaults(func=cmd_rules_check)
