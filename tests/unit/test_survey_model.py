"""The survey domain without a database: validation, the branching walk, NPS in integers,
the signed invitation and CSRF tokens."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from server.errors import DomainError
from server.surveys import model
from server.surveys.model import Kind, Option, Question, Survey

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def survey(*questions: Question) -> Survey:
    return Survey("s1", "T", questions)


def fields(error: pytest.ExceptionInfo[DomainError]) -> set[str]:
    return {v.field for v in error.value.violations}


def test_a_scale_that_is_empty_and_a_branch_backwards_are_named():
    s = survey(Question("a", Kind.SCALE, "A", scale_min=5, scale_max=5),
               Question("b", Kind.SINGLE, "B", options=(Option("x", "X"),),
                        branches=(("x", "a"), ("y", "end"))),
               Question("c", Kind.TEXT, "C", branches=(("z", "end"),)))
    with pytest.raises(DomainError) as error:
        model.validate(s)
    assert error.value.reason == "SURVEY_INVALID"
    assert fields(error) == {"survey.questions[0].scale_max",
                             "survey.questions[1].branches[0].goto_question_id",
                             "survey.questions[1].branches[1].answer",
                             "survey.questions[2].branches",
                             "survey.questions[2].branches[0].answer"}


def test_answers_follow_the_branches_and_required_applies_on_the_path_only():
    s = survey(Question("n", Kind.NPS, "N", True, branches=(("0", "end"),)),
               Question("t", Kind.TEXT, "T", True),
               Question("d", Kind.DATE, "D"))
    assert model.accept(s, {"n": ["0"], "t": ["ignored"]}) == {"n": "0"}
    with pytest.raises(DomainError) as error:
        model.accept(s, {"n": ["5"], "d": ["2026-13-01"]})
    assert fields(error) == {"answers.t", "answers.d"}
    assert model.accept(s, {"n": ["5"], "t": ["ok"], "d": ["2026-12-01"]}) == {
        "n": "5", "t": "ok", "d": "2026-12-01"}


def test_multiple_choice_keeps_the_options_order_and_refuses_unknown_values():
    s = survey(Question("m", Kind.MULTIPLE, "M", options=(Option("a", "A"), Option("b", "B"))))
    assert model.accept(s, {"m": ["b", "a"]}) == {"m": ["a", "b"]}
    with pytest.raises(DomainError):
        model.accept(s, {"m": ["a", "c"]})


@pytest.mark.parametrize(("counts", "shown"), [
    ({"10": 3, "9": 0, "3": 2, "8": 2}, "14.29"),  # (3 - 2) / 7
    ({"0": 2, "9": 1}, "-33.33"),
    ({"0": 1, "9": 1, "10": 1}, "33.33"),
    ({"9": 2, "6": 1}, "33.33"),
    ({"1": 5, "2": 3}, "-100.00"),
    ({"7": 8}, "0.00"),
    ({"9": 1, "8": 1, "0": 6}, "-62.50"),
    ({}, ""),
])
def test_nps_is_computed_in_integers_with_two_decimals(counts, shown):
    assert model.nps(counts) == shown


def test_invitation_tokens_are_signed_and_bound_to_their_key():
    key, other = b"k" * 32, b"o" * 32
    invitation_id = uuid.uuid4()
    token = model.invitation_token(key, invitation_id)
    assert model.parse_invitation(key, token) == invitation_id
    assert model.parse_invitation(other, token) is None
    assert model.parse_invitation(key, uuid.uuid4().hex + "." + token.split(".")[1]) is None
    assert model.parse_invitation(key, "garbage") is None


def test_csrf_tokens_are_per_page_and_expire():
    key = b"k" * 32
    token = model.csrf_token(key, "/s/p/a", NOW)
    assert model.csrf_ok(key, "/s/p/a", token, NOW + dt.timedelta(minutes=5))
    assert not model.csrf_ok(key, "/s/p/b", token, NOW)
    assert not model.csrf_ok(key, "/s/p/a", token, NOW + dt.timedelta(hours=5))
    assert not model.csrf_ok(key, "/s/p/a", "1.x", NOW)
