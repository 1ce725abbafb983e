"""The editable SMS text of verification codes: placeholders, validation, rendering.

Placeholders are `{name}` and substituted by a regex, never by str.format, so an
operator-written template cannot reach attributes (`{code.__class__}`) or fail on
stray format specs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from server.errors import Violations

TEMPLATE_NAME = "verification_code"
DEFAULT_TEMPLATE = "Ваш код: {code}. Дійсний {minutes} хв. Нікому не повідомляйте його."
PLACEHOLDERS = ("code", "minutes", "first_name", "card_last4")
MAX_TEMPLATE_CHARS = 300  # about 5 UCS2 SMS parts; each part is paid for

_BRACED = re.compile(r"\{([^{}]*)\}")


def validate_template(body: str, field_path: str = "body") -> str:
    """The trimmed template, or INVALID_ARGUMENT naming `field_path` with every problem."""
    errors = Violations()
    body = body.strip()
    if not body:
        errors.add(field_path, "required")
    names = _BRACED.findall(body)
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        errors.add(field_path, f"unknown placeholders {unknown}; allowed: {list(PLACEHOLDERS)}")
    if body and "code" not in names:
        errors.add(field_path, "must contain {code}")
    rest = _BRACED.sub("", body)
    if "{" in rest or "}" in rest:
        errors.add(field_path, "unbalanced brace")
    if len(body) > MAX_TEMPLATE_CHARS:
        errors.add(field_path, f"longer than {MAX_TEMPLATE_CHARS} characters")
    errors.raise_if_any()
    return body


def render_template(body: str, values: Mapping[str, str]) -> str:
    """Substitute known placeholders; unknown ones are left as written."""
    return _BRACED.sub(lambda m: values.get(m.group(1), m.group(0)), body)
