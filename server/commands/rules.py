"""`kopilka rules apply FILE` and `kopilka rules check FILE`: promotion rule sets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.commands._shared import with_database
from server.settings import Settings


def _read(path: str) -> tuple[str, str]:
    text = Path(path).read_text(encoding="utf-8")
    return text, "json" if path.endswith(".json") else "yaml"


def _report(error: Exception) -> int:
    from server.errors import DomainError

    if isinstance(error, DomainError):
        print(f"kopilka: the rule set is invalid ({len(error.violations)} problem(s)):",
              file=sys.stderr)
        for violation in error.violations:
            print(f"  {violation.field or '(document)'}: {violation.description}",
                  file=sys.stderr)
        return 2
    raise error


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from server.errors import DomainError
    from server.features.pricing import parse_document

    text, fmt = _read(args.file)
    try:
        doc, compiled = parse_document(text, fmt)
    except DomainError as error:
        return _report(error)
    print(f"ok: {len(doc.rules)} rules, version {compiled.version}")
    return 0


def cmd_apply(settings: Settings, args: argparse.Namespace) -> int:
    from kopilka.v1 import admin_pb2

    from server.api.servicers.admin import apply_rule_set_once
    from server.audit.actor import acting, cli_actor
    from server.commands._shared import cli_principal_id, new_request_id
    from server.errors import DomainError

    text, fmt = _read(args.file)
    request = admin_pb2.ApplyRuleSetRequest(
        request_id=new_request_id(), document=text,
        format=admin_pb2.RULE_SET_FORMAT_JSON if fmt == "json" else admin_pb2.RULE_SET_FORMAT_YAML)
    actor = cli_actor()
    try:
        with acting(actor, request.request_id):  # ApplyRuleSet's path: once, audited
            applied = with_database(settings, lambda db: apply_rule_set_once(
                db, request, fmt, "cli", principal_id=cli_principal_id(actor.label)))
    except DomainError as error:
        return _report(error)
    print(f"applied {applied.rule_count} rules, version {applied.version}; running servers "
          f"pick it up within {settings.pricing_refresh_seconds:g} s")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = sub.add_parser("rules", help="promotion rule sets (see docs/promotions.md)")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    apply = rules_sub.add_parser("apply", help="validate a YAML/JSON rule set and activate it")
    apply.add_argument("file")
    apply.set_defaults(func=cmd_apply)
    check = rules_sub.add_parser("check", help="validate a rule set without applying it")
    check.add_argument("file")
    check.set_defaults(func=cmd_check)
