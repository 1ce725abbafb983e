"""What differs between two rule sets: rules and groups by id, settings and name as wholes.

Pure (documents in, changes out), so the API and the CLI report the same thing. Order in
the file never counts as a change (the content version ignores it too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server.pricing.schema import RuleSetDocument


@dataclass(frozen=True, slots=True)
class RuleSetChange:
    """One element that differs; `fields` are the dotted paths inside it that differ."""

    path: str
    kind: str  # added | removed | changed
    fields: tuple[str, ...]
    before: Any
    after: Any

    def before_json(self) -> str:
        """The older element as compact JSON ('' when added)."""
        return "" if self.before is None else json.dumps(self.before, sort_keys=True)

    def after_json(self) -> str:
        """The newer element as compact JSON ('' when removed)."""
        return "" if self.after is None else json.dumps(self.after, sort_keys=True)


def diff_rule_sets(old: RuleSetDocument, new: RuleSetDocument) -> list[RuleSetChange]:
    """Changes from `old` to `new`, sorted by path."""
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    changes: list[RuleSetChange] = []
    for key in ("rules", "groups"):
        before = {item["id"]: item for item in a[key]}
        after = {item["id"]: item for item in b[key]}
        for item_id in sorted(before.keys() | after.keys()):
            change = _compare(f"{key}[{item_id}]", before.get(item_id), after.get(item_id))
            if change is not None:
                changes.append(change)
    for key in ("name", "settings", "schema_version"):
        change = _compare(key, a[key], b[key])
        if change is not None:
            changes.append(change)
    return sorted(changes, key=lambda c: c.path)


def _compare(path: str, before: Any, after: Any) -> RuleSetChange | None:
    if before == after:
        return None
    if before is None:
        return RuleSetChange(path, "added", (), None, after)
    if after is None:
        return RuleSetChange(path, "removed", (), before, None)
    return RuleSetChange(path, "changed", tuple(_fields(before, after, "")), before, after)


def _fields(before: Any, after: Any, prefix: str) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(before.keys() | after.keys()):
            if before.get(key) != after.get(key):
                out.extend(_fields(before.get(key), after.get(key), f"{prefix}{key}."))
        return out
    return [prefix.rstrip(".")] if prefix else []
