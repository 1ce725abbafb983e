"""Codes, their hashes and the SMS template, without I/O."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from server.errors import DomainError
from server.verification.codes import (
    code_matches,
    generate_code,
    hash_code,
    is_well_formed,
    new_salt,
)
from server.verification.templates import (
    DEFAULT_TEMPLATE,
    render_template,
    validate_template,
)


def test_codes_are_six_digits_and_spread_over_every_position() -> None:
    codes = [generate_code() for _ in range(2000)]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(set(codes)) > 1990  # 2000 draws from a million: collisions are rare
    first_digits = Counter(c[0] for c in codes)
    assert set(first_digits) == set("0123456789")  # leading zeros are kept


def test_hash_depends_on_salt_and_verification_and_matches_only_the_code() -> None:
    vid, salt = uuid.uuid4(), new_salt()
    digest = hash_code(salt, vid, "123456")
    assert len(digest) == 32 and b"123456" not in digest
    assert code_matches(salt, vid, "123456", digest)
    assert not code_matches(salt, vid, "123457", digest)
    assert not code_matches(new_salt(), vid, "123456", digest)
    assert not code_matches(salt, uuid.uuid4(), "123456", digest)


@pytest.mark.parametrize("code,ok", [("012345", True), ("12345", False), ("1234567", False),
                                     ("12a456", False), ("١٢٣٤٥٦", False), ("", False)])
def test_only_six_ascii_digits_are_well_formed(code: str, ok: bool) -> None:
    assert is_well_formed(code) is ok


def test_default_template_is_valid_ukrainian_and_fits_one_ucs2_sms() -> None:
    assert validate_template(DEFAULT_TEMPLATE) == DEFAULT_TEMPLATE
    text = render_template(DEFAULT_TEMPLATE, {"code": "123456", "minutes": "5"})
    assert text == "Ваш код: 123456. Дійсний 5 хв. Нікому не повідомляйте його."
    assert len(text) <= 70


def test_rendering_never_evaluates_format_fields() -> None:
    body = "{code} {code.__class__} {0} {minutes"
    assert render_template(body, {"code": "1"}) == "1 {code.__class__} {0} {minutes"


@pytest.mark.parametrize("body,problem", [
    ("", "required"),
    ("Ваш код", "must contain {code}"),
    ("{code} {pin}", "unknown placeholders ['pin']"),
    ("{code} }", "unbalanced brace"),
    ("{code}" + "я" * 300, "longer than 300"),
])
def test_bad_templates_are_refused_naming_the_field(body: str, problem: str) -> None:
    with pytest.raises(DomainError) as error:
        validate_template(body, "body")
    assert {v.field for v in error.value.violations} == {"body"}
    assert problem in error.value.message
