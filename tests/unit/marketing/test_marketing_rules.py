"""Pure marketing rules: the segment language, template checks, SMS parts, quiet hours."""

from __future__ import annotations

import datetime as dt

import pytest

from server.db.marketing.segments import compile_segment
from server.errors import DomainError
from server.marketing.pacing import Pacing, quiet_until
from server.marketing.segments import BoolOp, Compare, Not, parse_segment
from server.marketing.sms_parts import sms_parts
from server.marketing.templates import Field, Literal, check_template, pick_language, render


def test_segments_parse_with_precedence_and_compile_to_parameters() -> None:
    tree = parse_segment("card_type in ['gold', 'silver'] and not vip = true or age >= 30")
    assert tree == BoolOp("or", (
        BoolOp("and", (Compare("card_type", "in", ("gold", "silver")),
                       Not(Compare("vip", "=", (True,))))),
        Compare("age", ">=", (30,))))
    sql, params = compile_segment(tree, "uk", first=3)
    assert params == [["gold", "silver"], True, 30]
    assert "$3" in sql and "$5" in sql and "gold" not in sql


def test_values_never_become_sql() -> None:
    sql, params = compile_segment(parse_segment(r"first_name = 'x\'; DROP TABLE members; --'"),
                                  "uk")
    assert "DROP" not in sql and params == ["x'; DROP TABLE members; --"]
    with pytest.raises(DomainError):  # an unescaped quote ends the string: the rest is refused
        parse_segment("first_name = 'x''; DROP TABLE members; --'")


@pytest.mark.parametrize("source, why", [
    ("shoe_size > 3", "unknown field 'shoe_size'"),
    ("age = 'old'", "expected a int value"),
    ("first_name > 'a'", "first_name takes"),
    ("age >", "expected a int value"),
    ("(age > 3", "unclosed parenthesis"),
    ("age > 3 extra", "unexpected text"),
    ("age > 3; drop", "unexpected character"),
])
def test_bad_segments_are_refused_with_the_position(source: str, why: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_segment(source)
    assert refused.value.reason == "SEGMENT_INVALID" and why in refused.value.message
    assert "position" in refused.value.message


def test_templates_are_checked_and_plain_ones_compile_to_pieces() -> None:
    assert check_template("Hi {{ first_name }}!", "body") == (
        Literal("Hi "), Field("first_name"), Literal("!"))
    assert check_template("{% if points_balance > 0 %}x{% endif %}", "body") is None
    assert check_template("{{ first_name | upper }}", "body") is None  # needs Jinja
    for bad in ("{{ nope }}", "{{ first_name.__class__ }}", "{{ ''.__class__ }}",
                "{{ first_name.__len__() }}", "{% for %}", "{{ 1 / 0 }}"):
        with pytest.raises(DomainError) as refused:
            check_template(bad, "body")
        assert refused.value.reason == "TEMPLATE_INVALID", bad
    assert render("{{ first_name }}/{{ last_name }}", {"first_name": "O"}) == "O/"


def test_language_falls_back_to_the_base_language_then_the_default() -> None:
    texts = {"uk": 1, "en": 2}
    assert pick_language(texts, "en", "uk") == "en"
    assert pick_language(texts, "en-GB", "uk") == "en"
    assert pick_language(texts, "de", "uk") == "uk"
    assert pick_language(texts, None, "uk") == "uk"


def test_sms_parts_follow_gsm7_and_ucs2_limits() -> None:
    assert [sms_parts("a" * n) for n in (0, 160, 161, 306, 307)] == [0, 1, 2, 2, 3]
    assert [sms_parts("ї" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert sms_parts("€" * 80) == 1 and sms_parts("€" * 81) == 2  # extension: two septets


def test_quiet_hours_are_local_and_wrap_midnight() -> None:
    pacing = Pacing(dt.time(21), dt.time(9), 0, "Europe/Kyiv")
    noon_utc = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)
    assert quiet_until(noon_utc, "Europe/Kyiv", pacing) is None  # 14:00 there
    tokyo = quiet_until(noon_utc, "Asia/Tokyo", pacing)  # 21:00 there: quiet until 09:00
    assert tokyo == dt.datetime(2030, 1, 16, 0, 0, tzinfo=dt.UTC)
    ny = quiet_until(noon_utc, "America/New_York", pacing)  # 07:00 there
    assert ny == dt.datetime(2030, 1, 15, 14, 0, tzinfo=dt.UTC)
    assert quiet_until(noon_utc, "Not/AZone", pacing) is None  # falls back to Kyiv
    assert quiet_until(noon_utc, "Asia/Tokyo", Pacing(dt.time(0), dt.time(0))) is None


@pytest.mark.parametrize("key", [b"k" * 32, b"x" * 100])
def test_unsubscribe_tokens_verify_with_hmac_and_refuse_tampering(key: bytes) -> None:
    import uuid

    from server.db.marketing.campaigns import link_keys, unsubscribe_token
    from server.features.unsubscribe import parse_token

    member = uuid.uuid4()
    token = unsubscribe_token(link_keys("http://x", key), member, "email")
    assert parse_token(key, token) == (member, "email")
    other = uuid.uuid4().hex
    assert parse_token(key, other + token[32:]) is None  # another member, same MAC
    assert parse_token(key, token[:32] + "s" + token[33:]) is None  # another channel
    assert parse_token(b"z" * 32, token) is None and parse_token(key, "junk") is None
