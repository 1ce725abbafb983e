"""Read an accrual rule-set document (YAML or JSON) into a validated AccrualRuleSet."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from pydantic import ValidationError

from server.accounts.accrual_schema import AccrualRuleSet
from server.documents import DocumentError, NoAliasLoader, parse_text, plain_field_errors
from server.errors import DomainError, ErrorKind, FieldViolation, summary


class _Loader(NoAliasLoader):
    """YAML without 1.1 surprises: `08:00` stays a string (not 480), `no` stays a string."""


_loader_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in {"tag:yaml.org,2002:int", "tag:yaml.org,2002:bool"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.yaml_implicit_resolvers = _loader_resolvers
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"),
                              list("tf"))


def _error(violations: list[FieldViolation]) -> DomainError:
    return DomainError(ErrorKind.INVALID_ARGUMENT, "ACCRUAL_RULES_INVALID",
                       summary(violations), violations)


def parse_accrual_rules(data: Any) -> AccrualRuleSet:
    """Validate parsed data; every problem reported with its path (`rules[2].award`)."""
    if not isinstance(data, dict):
        raise _error([FieldViolation("", "the document must be a mapping")])
    try:
        return AccrualRuleSet.model_validate(data)
    except ValidationError as exc:
        violations = [FieldViolation(path, message)
                      for path, message in plain_field_errors(exc.errors())]
        raise _error(violations) from None


def load_accrual_rules(text: str) -> AccrualRuleSet:
    """YAML (a superset of JSON) text -> rule set, or DomainError ACCRUAL_RULES_INVALID."""
    try:
        data = parse_text(text, "yaml", _Loader)
    except DocumentError as exc:
        raise _error([FieldViolation("", f"cannot parse: {exc}")]) from None
    return parse_accrual_rules(data)


def dump_accrual_rules(rule_set: AccrualRuleSet) -> str:
    """Canonical JSON for storage; `load_accrual_rules` reads it back identically."""
    return json.dumps(rule_set.model_dump(mode="json", exclude_defaults=True), sort_keys=True)
