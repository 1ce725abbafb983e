"""The pure accrual engine: rule kinds, combination modes, lifetimes, exact line split."""

from __future__ import annotations

import datetime as dt

import pytest

from server.accounts.accrual import (
    AccrualFacts,
    FactLine,
    compile_rules,
    compute_accrual,
    compute_event_accrual,
)
from server.accounts.rules_loader import load_accrual_rules
from server.errors import DomainError

KYIV = dt.timezone(dt.timedelta(hours=2))
MONDAY_9 = dt.datetime(2026, 1, 5, 9, 30, tzinfo=KYIV)  # a Monday, local morning

RULES = """
version: t1
combination: {mode}
rules:
  - id: base
    award: {{card_type_bp: {{silver: 500, gold: 1000}}}}
    lifetime: {{expiry_days: 365}}
  - id: morning
    kind: periodic
    priority: 5
    schedule: {{weekdays: [1, 2], time_from: "08:00", time_to: "11:00"}}
    brands: [Acme]
    award: {{percent_bp: 2000}}
    lifetime: {{activation_delay_days: 14}}
    stop: true
  - id: winter
    kind: seasonal
    season: {{from_date: "12-01", to_date: "02-28"}}
    award: {{fixed_points: 7}}
  - id: welcome
    trigger: first_purchase
    award: {{fixed_points: 100}}
  - id: signup
    trigger: registration
    award: {{fixed_points: 50}}
"""


def facts(when: dt.datetime = MONDAY_9, card: str | None = "silver", first: bool = False
          ) -> AccrualFacts:
    lines = (FactLine(1, "A", "g1", "Acme", 1001), FactLine(2, "B", "g2", "Other", 2002))
    return AccrualFacts(card, "S1", frozenset({"N1"}), when, lines, first)


def rules(mode: str):  # type: ignore[no-untyped-def]
    return compile_rules(load_accrual_rules(RULES.format(mode=mode)))


def test_sum_mode_adds_every_matching_rule_and_lines_add_up():
    result = compute_accrual(rules("sum"), facts())
    # base 5% of 3003 = 150; morning 20% of Acme 1001 = 200; winter 7
    assert result.total == 150 + 200 + 7
    assert sum(result.line_points.values()) == result.total
    assert result.line_points == {1: 50 + 200 + 2, 2: 100 + 5}
    by_rule = {lot.rule_id: lot for lot in result.lots}
    assert by_rule["base"].expiry_time == MONDAY_9 + dt.timedelta(days=365)
    assert by_rule["morning"].activation_time == MONDAY_9 + dt.timedelta(days=14)
    assert by_rule["winter"].expiry_time is None


def test_maximum_and_priority_modes():
    assert [lot.rule_id for lot in compute_accrual(rules("maximum"), facts()).lots] == ["morning"]
    # priority: morning (5) first and it stops further rules
    assert compute_accrual(rules("priority"), facts()).rule_ids == ("morning",)
    evening = MONDAY_9.replace(hour=20)
    assert compute_accrual(rules("priority"), facts(evening)).rule_ids == ("base", "winter")


def test_card_type_rate_first_purchase_season_and_no_card():
    summer = dt.datetime(2026, 7, 1, 20, 0, tzinfo=KYIV)
    gold = compute_accrual(rules("sum"), facts(summer, "gold", first=True))
    assert gold.total == 300 + 100 and gold.rule_ids == ("base", "welcome")
    assert compute_accrual(rules("sum"), facts(card=None)).total == 0


def test_event_accrual_and_bad_documents():
    lots = compute_event_accrual(rules("sum"), "registration", "silver", MONDAY_9)
    assert [(lot.points, lot.rule_id) for lot in lots] == [(50, "signup")]
    with pytest.raises(DomainError) as error:
        load_accrual_rules("version: x\nrules:\n  - id: a\n    award: {percent_bp: 20000}\n")
    assert error.value.reason == "ACCRUAL_RULES_INVALID"
    assert [v.field for v in error.value.violations] == ["rules[0].award.percent_bp"]
    with pytest.raises(DomainError) as error:
        load_accrual_rules("version: x\nrules:\n  - id: a\n    kind: periodic\n"
                           "    award: {fixed_points: 5}\n")
    assert [v.field for v in error.value.violations] == ["rules[0]"]
    assert "schedule" in error.value.violations[0].description
