"""Compile a validated rule-set document into an immutable, indexed `CompiledRuleSet`.

Compilation happens once per rule-set change; pricing then only touches candidate rules.
The server swaps rule sets atomically by replacing its reference to the compiled set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from server.pricing.benefits import BenefitPlan, compile_benefit
from server.pricing.bonus import BONUS_RULE_ID
from server.pricing.candidates import CandidateFinder, StoreGate
from server.pricing.conditions import (
    Check,
    LineCheck,
    after_accumulated_check,
    combine,
    compile_conditions,
    first_purchase_check,
    history_days,
    target_check,
)
from server.pricing.hints import HintSpec, compile_hint, describe_offer
from server.pricing.index import RuleIndex, index_clause
from server.pricing.matching import LineMatcher
from server.pricing.model import Product, Store
from server.pricing.money import format_ratio
from server.pricing.schema import BonusSettings, Rule, RuleSetDocument
from server.pricing.schema_benefits import SetBenefit
from server.pricing.schema_checks import DEFAULT_GROUP
from server.pricing.schema_conditions import Conditions


@dataclass(frozen=True, slots=True)
class CompiledBoost:
    """A rate multiplier with its extra conditions."""

    name: str
    multiplier: Fraction
    checks: tuple[Check, ...]
    note: str = ""
    """' (boost NAME: xM)', appended to the reasons of boosted discounts."""
    line_check: LineCheck | None = None
    """`min_units` / `min_amount` of the boost's conditions, over the rule's target lines."""


@dataclass(frozen=True, slots=True)
class CompiledGroup:
    """Competition settings of a rule group."""

    id: str
    order: int
    resolution: str
    stacking: str = "competing"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to evaluate; `ordinal` is its rank in the deterministic order."""

    ordinal: int
    rule: Rule
    group: CompiledGroup
    valid_from: datetime | None
    valid_to: datetime | None
    target: LineMatcher
    trigger: LineMatcher | None
    boosts: tuple[CompiledBoost, ...]
    plan: BenefitPlan
    """The benefit's arithmetic and reason texts."""
    check: Check | None
    """The member's history checks and the conditions as one predicate (None: nothing to
    check)."""
    line_check: LineCheck | None = None
    """The shorthand `min_units` / `min_amount` over the target lines (None: not given)."""
    hint: HintSpec | None = None
    """How to tell that a receipt nearly qualifies (rules with thresholds or multibuys)."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRuleSet:
    """Immutable compiled rules. `history_days` and `tracked_promotions` tell the DB layer
    how much member history to load (see `MemberContext`)."""

    version: str
    name: str
    timezone: tzinfo
    bonus: BonusSettings
    rules: tuple[CompiledRule, ...]
    index: RuleIndex
    history_days: int
    tracked_promotions: frozenset[str]
    hints_within_bp: int = 0
    """0: no hints (none of the rules has one, or the rule set turned them off)."""
    finder: CandidateFinder = field(init=False, repr=False, compare=False)
    """Index lookups memoized per product; built from `rules` and `index`, so a copy with
    another index (dataclasses.replace) gets its own."""
    reason_codes: Mapping[str, str] = field(init=False, repr=False, compare=False)
    """Rule id -> the reason code of its discounts (`BenefitPlan.code`; POINTS for the
    bonus points paid): what a discount is, without its text."""

    def __post_init__(self) -> None:
        finder = CandidateFinder(
            self.index,
            tuple(rule.target for rule in self.rules),
            tuple(StoreGate.of(rule.rule.conditions) for rule in self.rules),
        )
        object.__setattr__(self, "finder", finder)
        codes = {rule.rule.id: rule.plan.code for rule in self.rules}
        object.__setattr__(self, "reason_codes", {**codes, BONUS_RULE_ID: "POINTS"})

    def candidates(
        self, products: Sequence[Product], store: Store
    ) -> list[tuple[CompiledRule, set[int] | None]]:
        """Rules that may apply here, in evaluation order, each with the indexes of the only
        lines its target can match (None: check every line)."""
        hits = self.index.lookup_lines(products, store)
        return [(self.rules[i], hits[i]) for i in sorted(hits)]


def content_version(doc: RuleSetDocument) -> str:
    """A stable content hash: equal content gets equal versions, whatever the key order or
    the order of rules and groups in the file (neither changes the pricing)."""
    data = _prune_new_defaults(doc.model_dump(mode="json"))
    data["rules"] = sorted(data["rules"], key=lambda r: r["id"])
    data["groups"] = sorted(data["groups"], key=lambda g: g["id"])
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_NEW_DEFAULTS = {
    "stacking": "competing",
    "max_units": None,
    "min_units": None,
    "min_amount": None,
    "hints": True,
    "hints_within_bp": 2500,
    "coupon": None,
}
"""Fields added after rule sets were first versioned (issues 17, 18), left out of the hash while
at their defaults so a stored rule set keeps its version."""


def _prune_new_defaults(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: _prune_new_defaults(value)
            for key, value in data.items()
            if not (key in _NEW_DEFAULTS and value == _NEW_DEFAULTS[key])
        }
    if isinstance(data, list):
        return [_prune_new_defaults(value) for value in data]
    return data


def compile_rule_set(doc: RuleSetDocument) -> CompiledRuleSet:
    """Compile enabled rules, order them (group order, group id, priority, rule id), index."""
    zone = ZoneInfo(doc.settings.timezone)
    groups = {g.id: CompiledGroup(g.id, g.order, g.resolution, g.stacking) for g in doc.groups}
    groups.setdefault(DEFAULT_GROUP, CompiledGroup(DEFAULT_GROUP, 0, "priority"))
    enabled = [r for r in doc.rules if r.enabled]
    enabled.sort(key=lambda r: (groups[r.group].order, r.group, r.priority, r.id))
    compiled = tuple(
        _compile_rule(ordinal, rule, groups[rule.group], zone)
        for ordinal, rule in enumerate(enabled)
    )
    index = RuleIndex.build((c.ordinal, *index_clause(c.rule)) for c in compiled)
    return CompiledRuleSet(
        version=content_version(doc),
        name=doc.name,
        timezone=zone,
        bonus=doc.settings.bonus,
        rules=compiled,
        index=index,
        history_days=max((_rule_history_days(r) for r in enabled), default=0),
        tracked_promotions=frozenset(
            r.promotion_id for r in enabled if r.validity.days_from_first_purchase is not None
        ),
        hints_within_bp=(
            max(doc.settings.hints_within_bp, 1)
            if doc.settings.hints and any(c.hint is not None for c in compiled)
            else 0
        ),
    )


def _compile_rule(ordinal: int, rule: Rule, group: CompiledGroup, zone: ZoneInfo) -> CompiledRule:
    validity = rule.validity
    member_checks: list[Check] = []
    if validity.days_from_first_purchase is not None:
        member_checks.append(
            first_purchase_check(rule.promotion_id, validity.days_from_first_purchase)
        )
    if validity.after_accumulated is not None:
        member_checks.append(after_accumulated_check(validity.after_accumulated))
    trigger = None
    if isinstance(rule.benefit, SetBenefit):
        trigger = LineMatcher.of(rule.benefit.trigger.match)
    return CompiledRule(
        ordinal=ordinal,
        rule=rule,
        group=group,
        valid_from=_moment(validity.start, zone, end=False),
        valid_to=_moment(validity.end, zone, end=True),
        target=LineMatcher.of(rule.target, rule.exclude),
        trigger=trigger,
        boosts=tuple(_compile_boost(b.name, b.multiplier_permille, b.when) for b in rule.boosts),
        plan=compile_benefit(rule.benefit, trigger),
        check=combine((*member_checks, *compile_conditions(rule.conditions))),
        line_check=target_check(rule.conditions),
        hint=compile_hint(rule, member_checks, describe_offer(rule.benefit)),
    )


def _compile_boost(name: str, permille: int, when: Conditions) -> CompiledBoost:
    multiplier = Fraction(permille, 1000)
    note = f" (boost {name}: x{format_ratio(multiplier)})"
    return CompiledBoost(name, multiplier, compile_conditions(when), note, target_check(when))


def _moment(value: datetime | date | None, zone: ZoneInfo, *, end: bool) -> datetime | None:
    """Dates cover whole local days; naive datetimes are local to the rule set."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), tzinfo=zone)


def _rule_history_days(rule: Rule) -> int:
    days = [history_days(rule.conditions)] + [history_days(b.when) for b in rule.boosts]
    accumulated = rule.validity.after_accumulated
    if accumulated is not None and accumulated.valid_days is not None:
        days.append(accumulated.valid_days)
    return max(days)
