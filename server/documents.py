"""Reading a caller's YAML or JSON document (rule sets, accrual rules) without surprises.

json and PyYAML fail in more ways than their own error types: a deeply nested document is
a RecursionError, a YAML date like 2024-13-01 a ValueError from the date constructor, and
YAML aliases let a few kilobytes expand into a tree validation walks for minutes ("billion
laughs"). `parse_text` turns all of these into one DocumentError the callers report.
"""

from __future__ import annotations

import json
from typing import Any

import yaml


class DocumentError(ValueError):
    """The text is not a document this server reads; the message says why."""


class NoAliasLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases (`*name`): rule documents never need them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed")
        return super().compose_node(parent, index)


def parse_text(text: str, fmt: str, loader: type[yaml.SafeLoader]) -> Any:
    """Parsed data of `text` as YAML (with `loader`, a NoAliasLoader subclass) or JSON."""
    try:
        return yaml.load(text, Loader=loader) if fmt == "yaml" else json.loads(text)
    except RecursionError:
        raise DocumentError("nested too deeply") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # JSONDecodeError is a ValueError; so is a bad YAML date (2024-13-01)
        raise DocumentError(str(exc)[:300]) from None


def _expected(ctx: dict[str, Any]) -> str:
    return str(ctx.get("expected", "")).replace("'", "")


# pydantic error type -> a plain reason (the library's own texts change between versions
# and speak Python: "Input should be a valid integer, unable to parse string as an integer")
_PLAIN: dict[str, Any] = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "literal_error": lambda c: f"must be one of: {_expected(c).replace(' or ', ', ')}",
    "enum": lambda c: f"must be one of: {_expected(c).replace(' or ', ', ')}",
    "string_pattern_mismatch": "has an invalid format",
    "string_type": "must be text",
    "string_too_short": lambda c: f"must be at least {c.get('min_length')} character(s)",
    "string_too_long": lambda c: f"must be at most {c.get('max_length')} characters",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "too_short": lambda c: f"must have at least {c.get('min_length')} item(s)",
    "too_long": lambda c: f"must have at most {c.get('max_length')} item(s)",
    "greater_than": lambda c: f"must be > {c.get('gt')}",
    "greater_than_equal": lambda c: f"must be >= {c.get('ge')}",
    "less_than": lambda c: f"must be < {c.get('lt')}",
    "less_than_equal": lambda c: f"must be <= {c.get('le')}",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "datetime_type": "must be a date and time (2026-03-01T08:00:00+02:00)",
    "datetime_parsing": "must be a date and time (2026-03-01T08:00:00+02:00)",
    "datetime_from_date_parsing": "must be a date and time (2026-03-01T08:00:00+02:00)",
    "timezone_aware": "must carry a UTC offset (+02:00)",
    "time_type": "must be a time (HH:MM)",
    "time_parsing": "must be a time (HH:MM)",
}


PATTERN_TEXTS: dict[str, str] = {}
"""Plain descriptions of the schemas' regex patterns, registered by the schema modules."""


def plain_field_errors(errors: list[Any], overrides: dict[str, str] | None = None
                       ) -> list[tuple[str, str]]:
    """(field path, plain reason) for each of pydantic's `ValidationError.errors()`:
    `rules[2].award.points: must be >= 0`. Our own validators' messages (value errors)
    are kept; every library text is replaced. `overrides` maps error types to messages."""
    out: list[tuple[str, str]] = []
    for error in errors:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        kind = error["type"]
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        if overrides and kind in overrides:
            message = overrides[kind]
        elif kind == "string_pattern_mismatch" and pattern in PATTERN_TEXTS:
            message = PATTERN_TEXTS[pattern]
        elif kind in ("value_error", "assertion_error"):
            message = str(error["msg"]).removeprefix("Value error, ").removeprefix(
                "Assertion failed, ")
        else:
            plain = _PLAIN.get(kind, "is invalid")
            message = plain(error.get("ctx") or {}) if callable(plain) else plain
        out.append((path.lstrip("."), message))
    return out
