"""Cross-field checks of a parsed rule set, each reported with its field path."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from server.pricing.schema_benefits import AmountBenefit, MForNBenefit, PercentBenefit, SetBenefit
from server.pricing.schema_conditions import Conditions

if TYPE_CHECKING:
    from server.pricing.schema import RuleSetDocument

DEFAULT_GROUP = "default"

FieldError = tuple[str, str]


def semantic_errors(doc: RuleSetDocument) -> list[FieldError]:
    """Everything a single field validator cannot see: ids, references, orderings."""
    errors: list[FieldError] = []
    group_ids: dict[str, int] = {}
    for index, group in enumerate(doc.groups):
        if group.id in group_ids:
            errors.append((f"groups[{index}].id", f"duplicate of groups[{group_ids[group.id]}]"))
        group_ids.setdefault(group.id, index)
        if group.stacking != "competing" and group.resolution != "priority":
            errors.append((f"groups[{index}].resolution",
                           "only competing groups choose a winner; drop it or use "
                           "stacking: competing"))
    rule_ids: dict[str, int] = {}
    for index, rule in enumerate(doc.rules):
        path = f"rules[{index}]"
        if rule.id in rule_ids:
            errors.append((f"{path}.id", f"duplicate of rules[{rule_ids[rule.id]}]"))
        rule_ids.setdefault(rule.id, index)
        if rule.group != DEFAULT_GROUP and rule.group not in group_ids:
            errors.append((f"{path}.group", f"unknown group {rule.group!r}; declare it in groups"))
        errors.extend(_benefit_errors(rule.benefit, f"{path}.benefit"))
        errors.extend(_validity_errors(rule.validity.start, rule.validity.end, f"{path}.validity"))
        errors.extend(_condition_errors(rule.conditions, f"{path}.conditions"))
        for b_index, boost in enumerate(rule.boosts):
            errors.extend(_condition_errors(boost.when, f"{path}.boosts[{b_index}].when"))
    return errors


def _benefit_errors(benefit: object, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(benefit, PercentBenefit) and benefit.max_units and benefit.scope != "line":
        errors.append((f"{path}.max_units", "only with scope: line (a receipt-level percent "
                       "has no units to count)"))
    if isinstance(benefit, AmountBenefit) and benefit.max_units and benefit.scope != "unit":
        errors.append((f"{path}.max_units", "only with scope: unit"))
    if isinstance(benefit, MForNBenefit) and benefit.pay >= benefit.buy:
        errors.append((f"{path}.pay", "must be less than buy"))
    if isinstance(benefit, SetBenefit):
        given = [benefit.reward.percent is not None, benefit.reward.price is not None]
        if sum(given) != 1:
            errors.append((f"{path}.reward", "give exactly one of percent or price"))
    return errors


def _validity_errors(
    start: datetime | date | None, end: datetime | date | None, path: str
) -> list[FieldError]:
    if start is None or end is None:
        return []
    if isinstance(start, datetime) != isinstance(end, datetime):
        return [(f"{path}.end", "use the same kind (date or datetime) for start and end")]
    if isinstance(start, datetime) and isinstance(end, datetime):
        aware = (start.tzinfo is not None, end.tzinfo is not None)
        if aware[0] != aware[1]:
            return [(f"{path}.end", "give a UTC offset on both start and end, or on neither")]
        if end <= start:
            return [(f"{path}.end", "must be after start")]
    elif end < start:
        return [(f"{path}.end", "must not be before start")]
    return []


def _condition_errors(conditions: Conditions, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for index, window in enumerate(conditions.time_windows):
        if window.start == window.end:
            errors.append((f"{path}.time_windows[{index}].end", "must differ from start"))
    for index, span in enumerate(conditions.date_ranges):
        if span.end < span.start:
            errors.append((f"{path}.date_ranges[{index}].end", "must not be before start"))
    overlap = set(conditions.stores) & set(conditions.exclude_stores)
    if overlap:
        errors.append((f"{path}.exclude_stores", f"also listed in stores: {sorted(overlap)}"))
    return errors
