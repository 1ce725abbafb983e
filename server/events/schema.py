"""Event types, their versions and payload fields; `new_event` builds a checked payload.

Payloads are JSON objects with named fields only: ids as strings (UUIDs in canonical form),
money in integer minor units with its ISO 4217 currency, points as integers, instants as
ISO 8601 with offset ("time"), calendar dates as YYYY-MM-DD ("date"). No personal data:
consumers look up what they need by `member_id`. A field may be added to a version
(consumers ignore fields they do not know); renaming, removing or retyping one makes a new
version. docs/events.md mirrors this table (a test compares them).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KINDS = ("uuid", "string", "int", "time", "date", "list")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One payload field; `optional` fields are always present but may be null."""

    name: str
    kind: str
    doc: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class EventSchema:
    """An event type at one version: what it means, who emits it, its fields."""

    type: str
    version: int
    doc: str
    emitted_by: str
    fields: tuple[FieldSpec, ...]

    def check(self, payload: Mapping[str, Any]) -> None:
        """Raise ValueError unless `payload` has exactly these fields, each of its kind."""
        names = {f.name for f in self.fields}
        if unknown := set(payload) - names:
            raise ValueError(f"{self.type}: unknown fields {sorted(unknown)}")
        for spec in self.fields:
            if spec.name not in payload:
                raise ValueError(f"{self.type}: missing field {spec.name}")
            value = payload[spec.name]
            if value is None:
                if not spec.optional:
                    raise ValueError(f"{self.type}: {spec.name} may not be null")
                continue
            if not _is_kind(spec.kind, value):
                raise ValueError(f"{self.type}: {spec.name} is not a {spec.kind}")


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to write to the outbox: type, schema version and a checked JSON payload."""

    type: str
    version: int
    payload: Mapping[str, Any]


def _is_kind(kind: str, value: Any) -> bool:
    try:
        if kind == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "list":  # a JSON array (its items are described in the field's doc)
            return isinstance(value, list)
        if not isinstance(value, str):
            return False
        if kind == "uuid":
            return str(uuid.UUID(value)) == value
        if kind == "time":
            return dt.datetime.fromisoformat(value).tzinfo is not None
        if kind == "date":
            return dt.date.fromisoformat(value).isoformat() == value
        return kind == "string"
    except ValueError:
        return False


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("event times must be timezone-aware")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _f(name: str, kind: str, doc: str, optional: bool = False) -> FieldSpec:
    return FieldSpec(name, kind, doc, optional)


MEMBER = _f("member_id", "uuid", "the member")
CARD = _f("card_number", "string", "the card the member showed, if any", optional=True)

#: Every known event type (latest version), by type. Add order.* and others with
#: `register_schema`.
SCHEMAS: dict[str, EventSchema] = {}


def register_schema(schema: EventSchema) -> EventSchema:
    """Add an event type (or a newer version of one); refuses malformed definitions."""
    if not _TYPE.match(schema.type):
        raise ValueError(f"event type must be dotted lower-case words: {schema.type!r}")
    if schema.version < 1:
        raise ValueError("versions start at 1")
    if bad := [f.name for f in schema.fields if f.kind not in KINDS]:
        raise ValueError(f"{schema.type}: fields of unknown kind {bad}")
    known = SCHEMAS.get(schema.type)
    if known is not None and known.version > schema.version:
        raise ValueError(f"{schema.type}: version {known.version} is registered already")
    SCHEMAS[schema.type] = schema
    return schema


def new_event(type_: str, **payload: Any) -> NewEvent:
    """A checked event of a registered type at its current version."""
    schema = SCHEMAS.get(type_)
    if schema is None:
        raise ValueError(f"unknown event type {type_!r}")
    data = {name: _json(value) for name, value in payload.items()}
    schema.check(data)
    return NewEvent(schema.type, schema.version, data)


_WEB_ORDER_FIELDS = (
    _f("order_id", "uuid", "the online-store order"),
    _f("external_number", "string", "the shop's own number for it"),
    _f("store_code", "string", "the store it was placed with"),
    MEMBER,
    _f("version", "int", "the order's version after the change"),
    _f("action", "string", "what was done (docs/orders.md: place, confirm, cancel, ...)"),
    _f("line_no", "int", "the line acted on, for a line action", optional=True),
    _f("state", "string", "the order's state now"),
    _f("previous_state", "string", "its state before, when it changed", optional=True),
    _f("total_minor", "int", "the order's total, minor units"),
    _f("currency", "string", "ISO 4217"),
    _f("points_reserved", "int", "points held for it"),
    _f("points_spent", "int", "points spent on it"),
    _f("points_accrued", "int", "points it accrued"))
_WEB_ORDER_EVENTS = (
    ("placed", "An online-store order was placed."),
    ("confirmed", "An order was confirmed (its lines are available)."),
    ("completed", "An order was completed: points spent and accrued."),
    ("cancelled", "An order was cancelled: reserved points released."),
    ("returned", "An order's lines were all returned."),
    ("changed", "An order changed without changing state (a line's quantity, a split, a "
                "replacement, a store's answer, a partial return)."))

for _schema in (
    EventSchema("member.registered", 1, "A member was registered (any door).",
                "RegisterMember (server/members/service.py)", (
                    MEMBER,
                    _f("registration_channel", "string",
                       "operator, website, paper_form, pos, import, ..."),
                    _f("card_number", "string", "the first card, when one was issued",
                       optional=True),
                    _f("card_type", "string", "its card type", optional=True),
                    _f("registered_at", "time", "when"))),
    EventSchema("purchase.confirmed", 1, "A member's sale was confirmed (anonymous sales emit "
                "nothing). A retry of the same request or receipt emits nothing again.",
                "ConfirmReceipt (kopilka_confirm_receipt, migration 0019)", (
                    MEMBER, CARD,
                    _f("receipt_id", "uuid", "the receipt"),
                    _f("store_code", "string", "where"),
                    _f("terminal_id", "string", "which till"),
                    _f("receipt_number", "string", "the till's receipt number"),
                    _f("currency", "string", "ISO 4217"),
                    _f("total_minor", "int", "what the member paid, minor units"),
                    _f("points_accrued", "int", "points this sale accrues (may be pending)"),
                    _f("points_redeemed", "int", "points this sale spent"),
                    _f("receipt_time", "time", "the sale's time on the till"))),
    EventSchema("purchase.first", 1, "The member's first confirmed purchase ever (emitted "
                "once per member, beside its purchase.confirmed).",
                "ConfirmReceipt (kopilka_confirm_receipt, migration 0019)", (
                    MEMBER, CARD,
                    _f("receipt_id", "uuid", "the receipt"),
                    _f("store_code", "string", "where"),
                    _f("currency", "string", "ISO 4217"),
                    _f("total_minor", "int", "what the member paid, minor units"),
                    _f("receipt_time", "time", "the sale's time on the till"))),
    EventSchema("points.accrued", 1, "Points were credited to a member (active or pending).",
                "ConfirmReceipt (kopilka_confirm_receipt, migration 0019)", (
                    MEMBER,
                    _f("transaction_id", "uuid", "the ledger transaction"),
                    _f("receipt_id", "uuid", "the receipt, for a sale", optional=True),
                    _f("points", "int", "points credited"),
                    _f("points_balance", "int", "spendable points after it"),
                    _f("activation_time", "time", "when the first of them become spendable"),
                    _f("expiry_time", "time", "when the first of them expire", optional=True))),
    EventSchema("points.expiring", 1, "A member's points expire soon: one event per member "
                "and local expiry date, the notice period before it (the jobs pass).",
                "jobs step points_expiring (server/features/jobs.py)", (
                    MEMBER,
                    _f("points", "int", "points expiring that day"),
                    _f("expiry_date", "date", "the local date they expire"),
                    _f("expiry_time", "time", "the first instant of them expiring"))),
    EventSchema("member.birthday", 1, "It is the member's birthday (local date of the chain's "
                "time zone; 29 Feb on 28 Feb in common years). Once per member a year.",
                "jobs step birthday_events (server/features/jobs.py)", (
                    MEMBER,
                    _f("birth_date", "date", "the birth date"),
                    _f("date", "date", "the birthday being celebrated"))),
    EventSchema("certificate.issued", 1, "A gift certificate was sold (issued active or a "
                "printed one activated).",
                "IssueCertificate, ActivateCertificate (server/certificates/service.py)", (
                    _f("certificate_number", "string", "its number"),
                    _f("certificate_type", "string", "its type code"),
                    _f("kind", "string", "money or product"),
                    _f("denomination_minor", "int", "face value, minor units"),
                    _f("currency", "string", "ISO 4217"),
                    _f("store_code", "string", "the selling store", optional=True),
                    _f("expires_at", "time", "end of validity", optional=True))),
    EventSchema("certificate.expiring", 1, "An active certificate with a balance expires "
                "soon: once per certificate and expiry, the notice period before it.",
                "jobs step certificates_expiring (server/features/jobs.py)", (
                    _f("certificate_number", "string", "its number"),
                    _f("certificate_type", "string", "its type code"),
                    _f("balance_minor", "int", "what is left on it"),
                    _f("currency", "string", "ISO 4217"),
                    _f("expires_at", "time", "end of validity"))),
    EventSchema("card.blocked", 1, "A card was blocked (ChangeCardState to blocked).",
                "ChangeCardState (server/members/service.py)", (
                    _f("card_number", "string", "the card"),
                    _f("member_id", "uuid", "its member", optional=True),
                    _f("card_type", "string", "its card type"),
                    _f("reason", "string", "the operator's reason"))),
    EventSchema("basket.abandoned", 1, "A reported basket was not ordered within "
                "KOPILKA_ABANDONED_BASKET_MINUTES of its last report; once per basket.",
                "jobs step baskets_abandoned (server/shopping/service.py)", (
                    _f("basket_id", "string", "the store's basket id"),
                    _f("store_code", "string", "the store"),
                    _f("member_id", "uuid", "the member; null for an anonymous basket",
                       optional=True),
                    _f("version", "int", "the basket's version when it was abandoned"),
                    _f("currency", "string", "ISO 4217"),
                    _f("total_minor", "int", "the basket's total, minor units"),
                    _f("lines", "list", "its lines: {sku, quantity_milli, unit_price_minor}"),
                    _f("reported_at", "time", "its last report"),
                    _f("abandoned_after_minutes", "int", "the setting it passed"))),
    EventSchema("wishlist.item_promoted", 1, "A wished product is on promotion in the active "
                "rule set; once per member, product and promotion run.",
                "jobs step wishlist_promotions (server/shopping/service.py)", (
                    MEMBER,
                    _f("sku", "string", "the product"),
                    _f("promotion_id", "string", "the rule's promotion (its id when it names "
                       "none)"),
                    _f("rule_id", "string", "the rule that puts it on promotion"),
                    _f("rule_set_version", "string", "the active rule set's version"),
                    _f("reason", "string", "the rule's message or name"))),
    EventSchema("wishlist.item_restocked", 1, "A wished product's stock over all stores went "
                "from zero to more; once per member, product and return to stock.",
                "wishlist_hits_for_stock (server/shopping/service.py)", (
                    MEMBER,
                    _f("sku", "string", "the product"),
                    _f("available_milli", "int", "available over all stores now"),
                    _f("restock", "int", "which return to stock this is (1, 2, ...)"),
                    _f("store_codes", "list", "the stores that have it now (strings)"))),
    *(EventSchema(f"web_order.{state}", 1, doc, "the order service (server/orders/service.py, "
                  "server/db/orders/notify.py)", _WEB_ORDER_FIELDS)
      for state, doc in _WEB_ORDER_EVENTS),
    EventSchema("web_order.delivery_changed", 1, "A Nova Poshta waybill of an order was "
                "created, cancelled, received, refused or returned (docs/payments.md).",
                "the waybill service and jobs step waybills_tracked "
                "(server/db/payments/waybills.py)", (
                    _f("order_id", "uuid", "the online-store order"),
                    _f("external_number", "string", "the shop's own number for it"),
                    MEMBER,
                    _f("entity_code", "string", "the legal entity that sends it"),
                    _f("waybill_number", "string", "the waybill (tracking) number"),
                    _f("state", "string", "created, deleted, received, refused or returned"),
                    _f("status_code", "string", "Nova Poshta's StatusCode"))),
    EventSchema("member.tier_changed", 1, "A member's card moved to another tier (card type) "
                "by their purchases over the tier period (docs/bonus-rules.md).",
                "jobs step tiers (server/db/ledger/tiers.py)", (
                    MEMBER,
                    _f("card_number", "string", "the card that moved"),
                    _f("from_card_type", "string", "its tier before"),
                    _f("to_card_type", "string", "its tier now"),
                    _f("spent_minor", "int", "purchases over the period, minor units"),
                    _f("period_days", "int", "the tier period"),
                    _f("moved_at", "time", "when the jobs pass moved it"))),
    EventSchema("coupon.issued", 1, "A coupon was issued (one, or one of a batch).",
                "issue_coupons (server/db/engagement/coupons.py): CouponService, campaigns "
                "and triggers, surveys, social rules", (
                    _f("coupon_id", "uuid", "the coupon (its code is not in events)"),
                    _f("promotion_id", "string", "the promotion it unlocks"),
                    _f("member_id", "uuid", "the member it is bound to", optional=True),
                    _f("batch_id", "uuid", "its batch", optional=True),
                    _f("source", "string", "operator, campaign, trigger, survey or social"),
                    _f("max_uses", "int", "receipts that may use it"),
                    _f("valid_from", "time", "valid from"),
                    _f("valid_to", "time", "valid until (exclusive)", optional=True))),
    EventSchema("coupon.redeemed", 1, "A confirmed receipt spent one use of a coupon.",
                "kopilka_confirm_receipt (migration 0026)", (
                    _f("coupon_id", "uuid", "the coupon"),
                    _f("promotion_id", "string", "the promotion it unlocked"),
                    _f("member_id", "uuid", "the receipt's member", optional=True),
                    _f("receipt_id", "uuid", "the receipt"),
                    _f("store_code", "string", "the store"),
                    _f("redeemed_at", "time", "when the receipt was confirmed"))),
    EventSchema("social.rewarded", 1, "A social rule judged a member's actions on a post: "
                "points, a coupon, or capped (nothing given).",
                "record_actions (server/db/social/repo.py): the Meta webhook", (
                    MEMBER,
                    _f("rule_code", "string", "the social rule"),
                    _f("network", "string", "facebook or instagram"),
                    _f("post_id", "string", "the post or media the actions were on"),
                    _f("outcome", "string", "points, coupon or capped"),
                    _f("points", "int", "points accrued (0 unless points)"),
                    _f("coupon_id", "uuid", "the coupon issued", optional=True))),
    EventSchema("appeal.created", 1, "A contact-center appeal was registered (by an operator "
                "or from an incoming call).", "the appeal service (server/appeals/service.py)", (
                    _f("appeal_id", "uuid", "the appeal"),
                    _f("number", "int", "its short number"),
                    _f("member_id", "uuid", "the member (null: the caller was not recognised)",
                       optional=True),
                    _f("channel", "string", "operator, call or web"),
                    _f("topic_code", "string", "its topic (null: not routed yet)", optional=True),
                    _f("due_at", "time", "when it is due (null: no topic yet)", optional=True))),
    EventSchema("appeal.closed", 1, "A contact-center appeal was closed with a resolution.",
                "the appeal service (server/appeals/service.py)", (
                    _f("appeal_id", "uuid", "the appeal"),
                    _f("number", "int", "its short number"),
                    _f("member_id", "uuid", "the member (null: none)", optional=True),
                    _f("topic_code", "string", "its topic (null: never routed)", optional=True),
                    _f("closed_at", "time", "when it was closed"),
                    _f("overdue_at", "time", "when it became overdue (null: closed in time)",
                       optional=True),
                    _f("resolved_by", "string", "who closed it (key or user label)"))),
    EventSchema("survey.completed", 1, "A survey was completed (through an invitation or the "
                "public link); the reward, if any, was given in the same transaction.",
                "the surveys service (server/db/surveys/repo.py)", (
                    _f("response_id", "uuid", "the stored response"),
                    _f("survey_code", "string", "the survey"),
                    _f("version", "int", "the version answered"),
                    _f("member_id", "uuid", "the member (null: the public link)",
                       optional=True),
                    _f("reward_points", "int", "points given (0: none)"),
                    _f("coupon_id", "uuid", "the coupon given (null: none)", optional=True),
                    _f("completed_at", "time", "when it was completed"))),
):
    register_schema(_schema)
