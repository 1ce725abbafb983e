"""Build a plugin's frozen settings dataclass from its raw configuration section.

Sections come from environment variables or files, so values may be strings; they are
coerced to each field's annotated type (``int``, ``float``, ``bool``, optionally
``| None``). Unknown keys are errors: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def settings_from_mapping(cls: type[T], raw: Mapping[str, Any]) -> T:
    """Instantiate dataclass ``cls`` from ``raw``, coercing string values."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(cls)
    return cls(**{name: _coerce(name, hints[name], value) for name, value in raw.items()})


def _coerce(name: str, hint: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if isinstance(hint, types.UnionType):  # "int | None": use the non-None member
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is bool:
        lowered = value.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(f"{name}: expected a boolean, got {value!r}")
        return lowered in _TRUE
    if hint in (int, float):
        return hint(value)
    return value
