"""The accrual engine: which rules fire for a receipt and how many points each line earns.

Pure (no I/O) so CalculateReceipt can call it on the hot path: compile the rule set once
(`compile_rules`), then `compute_accrual(rules, facts)` per receipt. Event accruals
(registration, birthday) use `compute_event_accrual`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from server.accounts.accrual_schema import AccrualRule, AccrualRuleSet, Delivery, local_time
from server.accounts.allocation import allocate

BP = 10_000


@dataclass(frozen=True, slots=True)
class FactLine:
    """One priced line as the accrual engine sees it (final = after all discounts)."""

    line_no: int
    sku: str
    group_code: str
    brand: str
    final_amount_minor: int
    quantity_milli: int = 0
    """For points per unit (1000 = one piece or one kg)."""


@dataclass(frozen=True, slots=True)
class AccrualFacts:
    """Everything a rule may look at. receipt_time must be timezone-aware."""

    card_type: str | None
    store_code: str
    store_networks: frozenset[str]
    receipt_time: dt.datetime
    lines: tuple[FactLine, ...]
    is_first_purchase: bool = False
    birth_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Lot:
    """Points created by one rule, with their own lifetime (expiry None = never)."""

    points: int
    activation_time: dt.datetime
    expiry_time: dt.datetime | None
    rule_id: str

    def as_calculation_lot(self) -> tuple[int, str, str | None, str]:
        """The tuple form carried in a signed calculation (server/receipts/calculation.py)."""
        expiry = self.expiry_time.isoformat() if self.expiry_time else None
        return (self.points, self.activation_time.isoformat(), expiry, self.rule_id)


@dataclass(frozen=True, slots=True)
class Accrual:
    """Result: total points, points per line_no (adds up to total), lots (add up to total)."""

    total: int
    line_points: dict[int, int]
    lots: tuple[Lot, ...]
    rule_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """A validated rule set ready for the hot path: rules grouped by trigger, zone resolved."""

    version: str
    zone: ZoneInfo
    combination: str
    by_trigger: dict[str, tuple[AccrualRule, ...]]
    conversion_cash_minor: int
    conversion_points: int
    document: AccrualRuleSet


EMPTY = AccrualRuleSet(version="none")


def compile_rules(rule_set: AccrualRuleSet = EMPTY) -> CompiledRules:
    """Group and order the rules once: priority descending, then id, for stable results."""
    groups: dict[str, list[AccrualRule]] = {}
    for rule in sorted(rule_set.rules, key=lambda r: (-r.priority, r.id)):
        groups.setdefault(rule.trigger, []).append(rule)
    return CompiledRules(
        rule_set.version, ZoneInfo(rule_set.timezone), rule_set.combination,
        {k: tuple(v) for k, v in groups.items()}, rule_set.conversion.cash_minor,
        rule_set.conversion.points, rule_set,
    )


def _in_season(rule: AccrualRule, local: dt.datetime) -> bool:
    assert rule.season is not None
    today = local.strftime("%m-%d")
    start, end = rule.season.from_date, rule.season.to_date
    return start <= today <= end if start <= end else (today >= start or today <= end)


def _in_schedule(rule: AccrualRule, local: dt.datetime) -> bool:
    schedule = rule.schedule
    assert schedule is not None
    if schedule.weekdays and local.isoweekday() not in schedule.weekdays:
        return False
    if schedule.month_days and local.day not in schedule.month_days:
        return False
    start, end = local_time(schedule.time_from), local_time(schedule.time_to)
    now = local.time().replace(tzinfo=None)
    return (start is None or now >= start) and (end is None or now < end)


def _time_matches(rule: AccrualRule, when: dt.datetime, zone: ZoneInfo) -> bool:
    if rule.valid_from is not None and when < rule.valid_from:
        return False
    if rule.valid_to is not None and when >= rule.valid_to:
        return False
    local = when.astimezone(zone)
    if rule.season is not None and not _in_season(rule, local):
        return False
    return rule.schedule is None or _in_schedule(rule, local)


def _near_birthday(birth: dt.date | None, today: dt.date, window: int) -> bool:
    if birth is None:
        return False
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            day = birth.replace(year=year)
        except ValueError:  # 29 February in a common year: celebrate on 28 February
            day = dt.date(year, 2, 28)
        if abs((today - day).days) <= window:
            return True
    return False


def _line_eligible(rule: AccrualRule, line: FactLine, delivery: Delivery) -> bool:
    excluded = rule.exclude
    if line.sku in excluded.skus or line.group_code in excluded.groups:
        return False
    if line.brand and line.brand in excluded.brands:
        return False
    if excluded.delivery and (line.sku in delivery.skus or line.group_code in delivery.groups):
        return False
    if rule.skus and line.sku not in rule.skus:
        return False
    if rule.groups and line.group_code not in rule.groups:
        return False
    return not rule.brands or line.brand in rule.brands


def lifetime(rule: AccrualRule, when: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """(activation, expiry) of points a rule gives at `when`."""
    activation = when + dt.timedelta(days=rule.lifetime.activation_delay_days)
    if rule.lifetime.expiry_days is not None:
        return activation, activation + dt.timedelta(days=rule.lifetime.expiry_days)
    return activation, rule.lifetime.expires_at


@dataclass(frozen=True, slots=True)
class _Candidate:
    rule: AccrualRule
    points: int
    per_line: dict[int, int]


def _evaluate(rule: AccrualRule, facts: AccrualFacts, zone: ZoneInfo, delivery: Delivery
              ) -> _Candidate | None:
    if rule.card_types and facts.card_type not in rule.card_types:
        return None
    if rule.stores and facts.store_code not in rule.stores:
        return None
    if rule.networks and not facts.store_networks.intersection(rule.networks):
        return None
    if not _time_matches(rule, facts.receipt_time, zone):
        return None
    if rule.trigger == "first_purchase" and not facts.is_first_purchase:
        return None
    if rule.trigger == "birthday_purchase" and not _near_birthday(
            facts.birth_date, facts.receipt_time.astimezone(zone).date(),
            rule.birthday_window_days):
        return None
    lines = [x for x in facts.lines
             if _line_eligible(rule, x, delivery) and x.final_amount_minor > 0]
    eligible = sum(x.final_amount_minor for x in lines)
    if eligible <= 0 or eligible < rule.min_amount_minor:
        return None
    award = rule.award
    if award.fixed_points is not None:
        points = award.fixed_points
    elif award.points_per_unit is not None:
        points = sum(x.quantity_milli for x in lines) * award.points_per_unit // 1000
    else:
        numerator, denominator = award.rate(facts.card_type)
        points = eligible * numerator // denominator
    if points <= 0:
        return None
    shares = allocate(points, [x.final_amount_minor for x in lines])
    return _Candidate(rule, points, {x.line_no: s for x, s in zip(lines, shares, strict=True)})


def _combine(mode: str, candidates: list[_Candidate]) -> list[_Candidate]:
    """maximum: the single best rule; sum: all; priority: in priority order until a stop rule.

    Candidates arrive ordered by priority (descending) then id, so ties in `maximum` go to
    the higher priority.
    """
    if not candidates or mode == "sum":
        return candidates
    if mode == "maximum":
        return [max(candidates, key=lambda c: c.points)]  # max keeps the first of equals
    chosen = []
    for candidate in candidates:
        chosen.append(candidate)
        if candidate.rule.stop:
            break
    return chosen


PURCHASE_TRIGGERS = ("purchase", "first_purchase", "birthday_purchase")


def compute_accrual(rules: CompiledRules, facts: AccrualFacts) -> Accrual:
    """Points for one receipt: per line (exact; sum = total) and as lots per applied rule."""
    if facts.receipt_time.tzinfo is None:
        raise ValueError("receipt_time must be timezone-aware")
    line_points = {x.line_no: 0 for x in facts.lines}
    if facts.card_type is None:
        return Accrual(0, line_points, ())
    candidates = []
    ordered = sorted(
        (r for t in PURCHASE_TRIGGERS for r in rules.by_trigger.get(t, ())),
        key=lambda r: (-r.priority, r.id),
    )
    for rule in ordered:
        candidate = _evaluate(rule, facts, rules.zone, rules.document.delivery)
        if candidate is not None:
            candidates.append(candidate)
    chosen = _combine(rules.combination, candidates)
    lots = []
    for candidate in chosen:
        for line_no, points in candidate.per_line.items():
            line_points[line_no] += points
        lots.append(Lot(candidate.points, *lifetime(candidate.rule, facts.receipt_time),
                        candidate.rule.id))
    return Accrual(sum(c.points for c in chosen), line_points, tuple(lots),
                   tuple(c.rule.id for c in chosen))


def compute_event_accrual(
    rules: CompiledRules, trigger: str, card_type: str | None, when: dt.datetime
) -> tuple[Lot, ...]:
    """Lots for a non-financial event ('registration' or 'birthday') at `when`."""
    candidates = []
    for rule in rules.by_trigger.get(trigger, ()):
        if rule.card_types and card_type not in rule.card_types:
            continue
        if not _time_matches(rule, when, rules.zone):
            continue
        assert rule.award.fixed_points is not None
        candidates.append(_Candidate(rule, rule.award.fixed_points, {}))
    return tuple(Lot(c.points, *lifetime(c.rule, when), c.rule.id)
                 for c in _combine(rules.combination, candidates))
