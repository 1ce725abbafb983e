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
