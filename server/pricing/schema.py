"""The rule-set document: versioned promotion rules as data (YAML or JSON).

`load_rule_set` is the only entry point for untrusted text; every problem comes back as a
`RuleSetError` listing (field_path, message) pairs such as
`rules[3].benefit.percent: must be between 1 and 10000`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from server.documents import (
    PATTERN_TEXTS,
    DocumentError,
    NoAliasLoader,
    parse_text,
    plain_field_errors,
)
from server.errors import DomainError, ErrorKind, FieldViolation, summary
from server.org.model import known_time_zone
from server.pricing.schema_benefits import BENEFIT_TYPES, Benefit
from server.pricing.schema_checks import DEFAULT_GROUP, FieldError, semantic_errors
from server.pricing.schema_conditions import Boost, Conditions, Selector, Validity
from server.pricing.schema_types import Frozen, PositiveMoney, Priority, ShareBp

RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
PATTERN_TEXTS[RULE_ID] = "must be 1-64 letters, digits or _ . : - (starting with a letter or digit)"
PATTERN_TEXTS[r"^[A-Z]{3}$"] = "must be a three-letter currency code (UAH)"


class RuleGroup(Frozen):
    """How the rules of a group stack on a line, and when the group applies.

    `stacking`: `competing` (a line takes at most one rule of the group, chosen by
    `resolution`), `additive` (every rule applies to the amount payable when the group
    starts and their discounts add: 15% + 5% = 20%) or `compounding` (rules apply one after
    another in priority order, each on what is still payable). Groups apply in ascending
    `order`; groups sharing an `order` form one stage: each is computed on what was payable
    when the stage began and their discounts add, so listing order never matters.
    """

    id: str = Field(pattern=RULE_ID)
    order: Priority = 100
    stacking: Literal["competing", "additive", "compounding"] = "competing"
    resolution: Literal["priority", "max_discount"] = "priority"


class BonusSettings(Frozen):
    """Points: 1 point = 1 minor unit. Accrual rate per card type, redeem cap as a share."""

    max_redeem_share_bp: ShareBp = 5_000
    accrual_bp: dict[str, ShareBp] = Field(default_factory=dict)
    default_accrual_bp: ShareBp = 0


class Settings(Frozen):
    """Rule-set wide settings: local time zone for day/time conditions, bonus points."""

    currency: str = Field(default="UAH", pattern=r"^[A-Z]{3}$")
    timezone: str = "Europe/Kyiv"
    bonus: BonusSettings = BonusSettings()
    hints: bool = True
    """Tell the cashier about promotions the receipt nearly qualifies for."""
    hints_within_bp: ShareBp = 2_500
    """An amount threshold is 'near' when at most this share of it is missing (25%)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_time_zone(value)


class Rule(Frozen):
    """One promotion rule: when it is valid, what must hold, which lines, what it gives."""

    id: str = Field(pattern=RULE_ID)
    name: str = ""
    promotion: str | None = None
    group: str = DEFAULT_GROUP
    priority: Priority = 100
    exclusive: bool = False
    enabled: bool = True
    validity: Validity = Validity()
    conditions: Conditions = Conditions()
    target: tuple[Selector, ...] = ()
    exclude: tuple[Selector, ...] = ()
    benefit: Benefit
    boosts: tuple[Boost, ...] = ()
    max_discount: PositiveMoney | None = None
    message: str | None = None

    @property
    def display_name(self) -> str:
        """Name for receipts and reports; falls back to the id."""
        return self.name or self.id

    @property
    def promotion_id(self) -> str:
        """Promotion (campaign) id used for first-promotional-purchase tracking."""
        return self.promotion or self.id


class RuleSetDocument(Frozen):
    """A whole rule set. `schema_version` is the format; the content hash is the version."""

    schema_version: Literal[1] = 1
    name: str = ""
    settings: Settings = Settings()
    groups: tuple[RuleGroup, ...] = ()
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _cross_checks(self) -> RuleSetDocument:
        errors = semantic_errors(self)
        if errors:
            raise RuleSetError(errors)
        return self


class RuleSetError(ValueError):
    """An invalid rule set; `errors` lists (field_path, message)."""

    reason = "INVALID_RULE_SET"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))

    def as_domain_error(self) -> DomainError:
        """The same problems as the server's one error type (BadRequest field violations)."""
        violations = [FieldViolation(path, message) for path, message in self.errors]
        return DomainError(ErrorKind.INVALID_ARGUMENT, self.reason, summary(violations),
                           violations)


def load_rule_set(text: str, fmt: Literal["yaml", "json"] = "yaml") -> RuleSetDocument:
    """Parse and validate a rule-set document, or raise RuleSetError."""
    try:
        data = parse_text(text, fmt, _SafeLoader)
    except DocumentError as exc:
        raise RuleSetError([("", f"cannot parse {fmt}: {exc}")]) from None
    return parse_rule_set(data)


def parse_rule_set(data: Any) -> RuleSetDocument:
    """Validate already-parsed data (a dict), or raise RuleSetError."""
    if not isinstance(data, dict):
        raise RuleSetError([("", "the document must be a mapping")])
    try:
        return RuleSetDocument.model_validate(data)
    except ValidationError as exc:
        raise RuleSetError([item for e in exc.errors() for item in _to_field_errors(e)]) from None


_MESSAGES = {
    "union_tag_not_found": "missing 'type'; expected one of " + ", ".join(BENEFIT_TYPES),
    "union_tag_invalid": "unknown type; expected one of " + ", ".join(BENEFIT_TYPES),
}


def _to_field_errors(error: Any) -> list[FieldError]:
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, RuleSetError):  # cross checks, re-raised inside pydantic
        return cause.errors
    loc = list(error["loc"])
    for i in range(len(loc) - 2):
        if loc[i] == "benefit" and loc[i + 1] in BENEFIT_TYPES:
            del loc[i + 1]
            break
    return plain_field_errors([dict(error, loc=loc)], _MESSAGES)


class _SafeLoader(NoAliasLoader):
    """YAML 1.2-like scalars: YAML 1.1 reads `10:30` as the base-60 integer 630 and an id
    `off` or `no` as False; here only decimal integers and true/false are implicit."""


_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_REPLACED = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:bool"}
_SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SafeLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_SafeLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
