"""Checks of a certificate type before it is stored: every bad field is named at once."""

from __future__ import annotations

import dataclasses
import re

from server.certificates.model import CertificateKind, CertificateTypeInfo, ExpiredRefundPolicy
from server.certificates.numbers import prefix_problem
from server.certificates.printing import template_problem
from server.errors import Violations

# The absolute cap on a face value: 100 million in major units, far above any gift card, and
# small enough that sums over a billion certificates still fit in int64 (9.2 * 10^18).
MAX_FACE_VALUE_MINOR = 100_000_000_00
MAX_VALID_DAYS = 3660
_CODE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def with_face_value_defaults(t: CertificateTypeInfo) -> CertificateTypeInfo:
    """Fill the bounds not given: the type's own face values (a fixed-value type keeps them),
    or 1 to the absolute cap for a free face value; step 1."""
    step = t.denomination_step_minor or 1
    unit = step if step > 0 else 1  # a bad step is reported by validate_type
    sane = [v for v in t.denominations if 0 < v <= MAX_FACE_VALUE_MINOR and v % unit == 0]
    return dataclasses.replace(
        t,
        min_denomination_minor=t.min_denomination_minor or min(sane, default=unit),
        max_denomination_minor=t.max_denomination_minor
        or max(sane, default=MAX_FACE_VALUE_MINOR - MAX_FACE_VALUE_MINOR % unit),
        denomination_step_minor=step,
    )


def face_value_problem(t: CertificateTypeInfo, value: int) -> str | None:
    """Why `value` cannot be a face value of the type (None: it can)."""
    t = with_face_value_defaults(t)
    low, high, step = t.min_denomination_minor, t.max_denomination_minor, t.denomination_step_minor
    if low <= value <= min(high, MAX_FACE_VALUE_MINOR) and value % step == 0:
        return None
    if step == 1:
        return f"must be {low} to {high}"
    return f"must be a multiple of {step} from {low} to {high}"


def _check_bounds(t: CertificateTypeInfo, field: str, bad: Violations) -> bool:
    """The bounds themselves; True when they are usable to check face values against."""
    low, high, step = t.min_denomination_minor, t.max_denomination_minor, t.denomination_step_minor
    ok = True
    if not 0 < step <= MAX_FACE_VALUE_MINOR:
        bad.add(f"{field}.denomination_step_minor", "must be positive and at most 10^10")
        ok = False
    if low <= 0:
        bad.add(f"{field}.min_denomination_minor", "must be positive")
        ok = False
    elif ok and low % step:
        bad.add(f"{field}.min_denomination_minor", "must be a multiple of denomination_step_minor")
        ok = False
    if not 0 < high <= MAX_FACE_VALUE_MINOR:
        bad.add(f"{field}.max_denomination_minor", "must be positive and at most 10^10")
        ok = False
    elif low > high:
        bad.add(f"{field}.max_denomination_minor", "must not be below min_denomination_minor")
        ok = False
    elif ok and high % step:
        bad.add(f"{field}.max_denomination_minor", "must be a multiple of denomination_step_minor")
        ok = False
    return ok


def validate_type(t: CertificateTypeInfo, field: str = "certificate_type") -> None:
    """Raise INVALID_ARGUMENT naming each bad field of the type (bounds not given: defaults)."""
    t = with_face_value_defaults(t)
    bad = Violations()
    if not _CODE.fullmatch(t.code):
        bad.add(f"{field}.code", "1-64 of a-z 0-9 _ . - starting with a letter or digit")
    if not t.name.strip():
        bad.add(f"{field}.name", "required")
    if not re.fullmatch(r"[A-Z]{3}", t.currency):
        bad.add(f"{field}.currency", "ISO 4217 code, e.g. UAH")
    bounds_ok = _check_bounds(t, field, bad)
    for i, value in enumerate(t.denominations):
        if not 0 < value <= MAX_FACE_VALUE_MINOR:
            bad.add(f"{field}.denominations_minor[{i}]", "must be positive and at most 10^10")
        elif bounds_ok and (problem := face_value_problem(t, value)):
            bad.add(f"{field}.denominations_minor[{i}]", problem)
    if len(set(t.denominations)) != len(t.denominations):
        bad.add(f"{field}.denominations_minor", "must not repeat")
    problem = prefix_problem(t.barcode_format, t.number_prefix)
    if problem:
        bad.add(f"{field}.number_prefix", problem)
    _check_validity(t, field, bad)
    low = 1 if t.expired_refund_policy is ExpiredRefundPolicy.REACTIVATE else 0
    if not low <= t.refund_extension_days <= MAX_VALID_DAYS:
        bad.add(f"{field}.refund_extension_days", f"must be {low} to {MAX_VALID_DAYS}")
    if t.kind is CertificateKind.PRODUCT:
        if len(t.denominations) != 1:
            bad.add(f"{field}.denominations_minor",
                    "a product certificate has exactly one face value (its price)")
    elif t.product_skus or t.product_groups:
        bad.add(f"{field}.product_skus", "only product certificates name goods")
    for name, values in (("product_skus", t.product_skus), ("product_groups", t.product_groups)):
        for i, text in enumerate(values):
            if not text.strip() or len(text) > 64:
                bad.add(f"{field}.{name}[{i}]", "1 to 64 characters")
    if len(t.template) > 2000:
        bad.add(f"{field}.template", "at most 2000 characters")
    elif problem := template_problem(t.template):
        bad.add(f"{field}.template", problem)
    bad.raise_if_any()


def _check_validity(t: CertificateTypeInfo, field: str, bad: Violations) -> None:
    fixed = t.valid_from is not None or t.valid_until is not None
    if fixed and t.valid_days:
        bad.add(f"{field}.valid_days", "give either valid_days or fixed dates, not both")
    elif not fixed and not 0 < t.valid_days <= MAX_VALID_DAYS:
        bad.add(f"{field}.valid_days", f"1 to {MAX_VALID_DAYS}, or give fixed dates")
    if fixed and t.valid_until is None:
        bad.add(f"{field}.valid_until_time", "required with valid_from_time")
    if t.valid_from and t.valid_until and t.valid_from >= t.valid_until:
        bad.add(f"{field}.valid_until_time", "must be after valid_from_time")
