"""Named parameters (:name) for asyncpg's positional ones, so the kinds' SQL stays readable."""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"(?<!:):([a-z_]+)\b")


def bind(sql: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """`sql` with each distinct :name replaced by $n, and the arguments in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    text = _NAME.sub(number, sql)
    return text, [values[name] for name in order]
