"""Every limit on a request field, declared once: lengths, element counts, integer ranges.

server/api/edge.py checks each request against this table before any servicer runs, the
same way for every RPC, so a value that could never be stored (a 65-character terminal_id,
a NUL byte, an amount near 2**63) is refused with INVALID_ARGUMENT naming the field instead
of failing later in PostgreSQL. A limit of a value stored as given names its column
("table.column"); tests/unit/test_limits.py fails when that column's length differs, and
when a string or repeated field of any request has no limit here. Domain code reads the
same constants (MAX_RECEIPT_LINES, MAX_AMOUNT) instead of its own copies.

Plain data on purpose: no protobuf or SQLAlchemy import, so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the largest magnitude of any integer in a request: money in minor units, points,
#: quantities in thousandths. 10**15 kopecks is ten trillion hryvnias, yet a thousand
#: such values still add up far below 2**63, so sums in Python and BIGINT never overflow.
MAX_AMOUNT = 10**15
#: lines of one receipt (CalculateReceipt) and of one refund
MAX_RECEIPT_LINES = 1000
#: cards in one AccruePointsForList / PoolCashAccounts call
MAX_CARD_LIST = 10_000
#: products in one UpsertProducts call
MAX_PRODUCTS = 10_000
#: site events in one RecordSiteEvents call
MAX_SITE_EVENTS = 1000
#: a free-text name (store, product, card type, key, member names): TEXT columns
NAME_CHARS = 256
#: a free-text reason or note stored with a ledger, card or certificate change
REASON_CHARS = 500
#: a signed token the server issued earlier (calculation ids carry up to 1,000 lines)
TOKEN_CHARS = 1_000_000
#: a whole rule-set document (ApplyRuleSet)
DOCUMENT_CHARS = 1_000_000
#: coupon codes presented on one receipt (CalculateReceipt)
MAX_COUPON_CODES = 10
#: coupons issued by one IssueCouponBatch call
MAX_COUPON_BATCH = 100_000
#: receipts one coupon may be used on (IssueCoupon, a campaign's or trigger's coupon)
MAX_COUPON_USES = 1_000_000
#: days a campaign's or trigger's coupon may be valid (ten years)
MAX_COUPON_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Limit:
    """How much one field may hold. `chars`: most characters of a string (for a repeated
    string: of each element), or bytes of a bytes field; `items`: most elements of a
    repeated or map field; `column`: the "table.column" the value is stored in as given,
    whose declared length must equal `chars`."""

    chars: int = 0
    items: int = 0
    column: str = ""


def _text(chars: int, column: str = "", items: int = 0) -> Limit:
    return Limit(chars=chars, items=items, column=column)


def _many(items: int) -> Limit:
    return Limit(items=items)


UUID_CHARS = 36

#: limits by field name, for every message that has a field of that name ...
BY_NAME: dict[str, Limit] = {
    "request_id": _text(UUID_CHARS),
    "member_id": _text(UUID_CHARS),
    "receipt_id": _text(UUID_CHARS),
    "verification_id": _text(UUID_CHARS),
    "card_number": _text(13, "cards.number"),
    "card_numbers": _text(13, "cards.number", MAX_CARD_LIST),
    "store_code": _text(64, "stores.code"),
    "terminal_id": _text(64, "receipts.terminal_id"),
    "network_code": _text(64, "store_networks.code"),
    "network_codes": _text(64, "store_networks.code", 100),
    "time_zone": _text(64, "stores.time_zone"),
    "sku": _text(64, "products.sku"),
    "barcode": _text(64, "product_barcodes.barcode"),
    "barcodes": _text(64, "product_barcodes.barcode", 100),
    "group_code": _text(64, "products.group_code"),
    "subgroup_code": _text(64, "products.subgroup_code"),
    "brand": _text(128, "products.brand"),
    "supplier_code": _text(64, "products.supplier_code"),
    "price_category": _text(64, "products.price_category"),
    "name": _text(NAME_CHARS),
    "number_prefix": _text(6, "card_types.number_prefix"),
    "currency": _text(3, "receipts.currency"),
    "reason": _text(REASON_CHARS),
    "order_reference": _text(128),
    "verification_token": _text(4096),
    "calculation_id": _text(TOKEN_CHARS),
    "page_token": _text(256),
    "master_account_id": _text(19),  # a BIGINT in decimal
    "number": _text(32, "certificates.number"),
    "certificate_number": _text(32, "certificates.number"),
    "certificate_type": _text(64, "certificate_types.code"),
    "issue_card_type": _text(64, "card_types.code"),
    "card_type": _text(64, "card_types.code"),
    "first_name": _text(NAME_CHARS),
    "last_name": _text(NAME_CHARS),
    "middle_name": _text(NAME_CHARS),
    "birth_date": _text(10),
    "address": _text(1000),
    "phone": _text(20, "members.phone"),
    "email": _text(254, "members.email"),
    "social_ids": _many(20),
    "update_fields": _text(64, items=20),
    "source": _text(64, "member_contact_changes.source"),
    "recipient": _text(254, "mailings.recipient"),
    "channel": _text(32, "mailings.channel"),
    "reference": _text(128, "mailings.reference"),
    "receipt_number": _text(64, "receipts.receipt_number"),
    "body": _text(4000),
    "document": _text(DOCUMENT_CHARS),
    "template": _text(10_000),
    "product_skus": _text(64, "certificate_types.product_skus", 1000),
    "product_groups": _text(64, "certificate_types.product_groups", 1000),
    "roles": _text(32, "api_keys.roles", 20),
    "lines": _many(MAX_RECEIPT_LINES),
    "products": _many(MAX_PRODUCTS),
    "payments": _many(100),
    "denominations_minor": _many(100),
    "payload": _text(1 << 20),  # Echo's bytes
    # people, keys, roles, audit (issue 12)
    "key_id": _text(UUID_CHARS),
    "user_id": _text(UUID_CHARS),
    "adjustment_id": _text(UUID_CHARS),
    "password": _text(256),  # the longest password server/access/passwords.py takes
    "code": _text(16),  # a TOTP or SMS code
    "totp_code": _text(16),
    "session_token": _text(128),
    "object_type": _text(64, "audit_log.object_type"),
    "object_id": _text(200, "audit_log.object_id"),
    "principal": _text(200, "audit_log.principal"),
    # shopping (issue 13): baskets, wishlists, site events
    "basket_id": _text(128, "shopping_baskets.basket_id"),
    "search_query": _text(256, "shopping_site_events.search_query"),
    "events": _many(MAX_SITE_EVENTS),
    # online-store orders (issue 13)
    "order_id": _text(UUID_CHARS),
    "external_number": _text(64, "web_orders.external_number"),
    "comment": _text(2000),
    "language": _text(8, "web_orders.language"),
    "pickup_store_code": _text(64, "stores.code"),
    "address_id": _text(UUID_CHARS),
    "city": _text(NAME_CHARS),
    "street": _text(NAME_CHARS),
    "postal_code": _text(16, "member_addresses.postal_code"),
    "nova_poshta_branch": _text(64, "member_addresses.nova_poshta_branch"),
    "recipient_name": _text(NAME_CHARS),
    "recipient_phone": _text(20, "member_addresses.recipient_phone"),
    "returns": _many(MAX_RECEIPT_LINES),
    "balances": _many(MAX_PRODUCTS),
    "cities": _many(MAX_PRODUCTS),
    "store_codes": _text(64, "stores.code", 1000),
    "asks": _many(1000),
    "line_nos": _many(MAX_RECEIPT_LINES),
    "answers": _many(MAX_RECEIPT_LINES),
    "store_request_id": _text(UUID_CHARS),
    "candidates": _many(100),
    "new_lines": _many(MAX_RECEIPT_LINES),
    # marketing (issue 16)
    "campaign_id": _text(UUID_CHARS),
    "list_id": _text(UUID_CHARS),
    "after_member_id": _text(UUID_CHARS),
    "template_code": _text(64, "marketing_templates.code"),
    "csv": _text(DOCUMENT_CHARS),
    "segment": _text(4000),
    "purpose": _text(16, "member_consents.purpose"),
    "wording_version": _text(64, "member_consents.wording_version"),
    "default_language": _text(8, "marketing_templates.default_language"),
    "texts": _many(20),
    "subject": _text(1000),
    "event_type": _text(64, "marketing_triggers.event_type"),
    "condition": _text(4000),
    "occurrence": _text(64, "marketing_triggers.occurrence"),
    "stop_events": _text(64, "marketing_triggers.event_type", 20),
    "prefix": _text(16, "sms_tariffs.prefix"),
    # the contact center (issue 17)
    "topic_code": _text(64, "appeal_topics.code"),
    "description": _text(4000),
    "appeal_id": _text(UUID_CHARS),
    "queue": _text(64, "appeal_topics.queue"),
    "assignee_user_id": _text(UUID_CHARS),
    "resolution": _text(4000),
    "text": _text(4000),
    "article_id": _text(UUID_CHARS),
    "title": _text(256, "kb_articles.title"),
    "tags": _text(64, "kb_articles.tags", 20),
    "query": _text(500),
    # promotion rule-set versions (issue 18)
    "version": _text(64, "rule_sets.version"),
    "from_version": _text(64, "rule_sets.version"),
    "to_version": _text(64, "rule_sets.version"),
    "format": _text(8, "rule_sets.format"),
    # coupons (issue 17)
    "coupon_codes": _text(64, items=MAX_COUPON_CODES),  # as typed: separators allowed
    "promotion_id": _text(64, "coupons.promotion_id"),
    "batch_id": _text(UUID_CHARS),
    # payments, legal entities, invoices, waybills (issue 14)
    "entity_code": _text(64, "legal_entities.code"),
    "edrpou": _text(8, "legal_entities.edrpou"),
    "iban": _text(42),  # spaces allowed, stored without them (34 at most)
    "liqpay_public_key": _text(64, "legal_entities.liqpay_public_key"),
    "sender_ref": _text(36, "legal_entities.np_sender_ref"),
    "contact_ref": _text(36, "legal_entities.np_contact_ref"),
    "city_ref": _text(36, "legal_entities.np_city_ref"),
    "address_ref": _text(36, "legal_entities.np_address_ref"),
    "skus": _text(64, "products.sku", MAX_PRODUCTS),
    "payment_id": _text(UUID_CHARS),
    "invoice_id": _text(UUID_CHARS),
    "waybill_id": _text(UUID_CHARS),
    "warehouse_ref": _text(36),
    "result_url": _text(510),
    # social networks (issue 17)
    "social_id": _text(64, "social_accounts.social_id"),
    "post_id": _text(128, "social_rules.post_id"),
    "kinds": _many(3),
    "coupon_promotion_id": _text(64, "social_rules.coupon_promotion_id"),
    # surveys (issue 17)
    "survey_code": _text(64, "surveys.code"),
    "questions": _many(100),  # server/surveys/model.py MAX_QUESTIONS
    "question_id": _text(64),
    "options": _many(50),
    "branches": _many(50),
    "answer": _text(64),
    "goto_question_id": _text(64),
    "label": _text(NAME_CHARS),
    "logo_url": _text(2000),
    "primary_color": _text(7),
    "background_color": _text(7),
    "reward_coupon_promotion_id": _text(64, "coupons.promotion_id"),
}

#: ... and where one message's field means something else: "Message.field" (nested
#: messages by their full name below kopilka.v1, e.g. "MemberProfile.SocialIdsEntry.key")
BY_FIELD: dict[str, Limit] = {
    "Store.code": _text(64, "stores.code"),
    "CardType.code": _text(64, "card_types.code"),
    "CertificateType.code": _text(64, "certificate_types.code"),
    "CertificateType.number_prefix": _text(6, "certificate_types.number_prefix"),
    "CertificateType.currency": _text(3, "certificate_types.currency"),
    "VerifySMSRequest.code": _text(16),
    "MemberProfile.SocialIdsEntry.key": _text(64),
    "MemberProfile.SocialIdsEntry.value": _text(256),
    "CreateUserRequest.name": _text(200, "operator_users.name"),
    "Role.description": _text(NAME_CHARS),
    "Role.updated_by": _text(200),
    "Role.grants": _many(200),
    "Role.member_fields": _text(32, "roles.member_fields", 20),
    "Grant.object_type": _text(32),
    "Grant.action": _text(16),
    "Grant.scope": _text(16),
    "Consent.channel": _text(16, "member_consents.channel"),
    "Consent.source": _text(64, "member_consents.source"),
    "Consent.principal": _text(200, "member_consents.principal"),
    "Template.code": _text(64, "marketing_templates.code"),
    "Template.channel": _text(32, "marketing_templates.channel"),
    "TemplateText.language": _text(8, "marketing_template_texts.language"),
    "Trigger.code": _text(64, "marketing_triggers.code"),
    "Trigger.channel": _text(32, "marketing_triggers.channel"),
    "ImportOptions.kind": _text(32),  # import_batches.kind
    "ImportOptions.source": _text(64),  # import_batches.source
    "ImportOptions.on_error": _text(16),  # import_batches.policy
    "ImportOptions.file_name": _text(255),
    "RunImportRequest.path": _text(4096),
    "UploadImportRequest.chunk": _text(4 << 20),  # bytes of one message
    "GetCouponRequest.code": _text(64),  # as typed; normalized it fits coupons.code
    "BlockCouponRequest.code": _text(64),
    "BlockCouponRequest.reason": _text(200, "coupons.block_reason"),
    "IssueCouponRequest.prefix": _text(8),
    "IssueCouponBatchRequest.prefix": _text(8),
    "RecipientCoupon.prefix": _text(8),
    "AppealTopic.code": _text(64, "appeal_topics.code"),
    "AppealTopic.name": _text(NAME_CHARS),
    "AppealTopic.queue": _text(64, "appeal_topics.queue"),
    "CreateAppealRequest.subject": _text(200, "appeals.subject"),
    "Article.body": _text(100_000),
    "AddAppealNoteRequest.text": _text(4000),
    "LegalEntity.code": _text(64, "legal_entities.code"),
    "NovaPoshtaSender.phone": _text(20, "legal_entities.np_phone"),
    "SocialRule.code": _text(64, "social_rules.code"),
    "SocialRule.name": _text(NAME_CHARS),
    "DeleteSocialRuleRequest.code": _text(64, "social_rules.code"),
    "SurveyQuestion.text": _text(2000),
    "SurveyOption.value": _text(64),
    "Survey.code": _text(64, "surveys.code"),
    "Survey.title": _text(NAME_CHARS),
}


def limit_of(message: str, field: str) -> Limit | None:
    """The declared limit of `message.field` (message name below kopilka.v1), if any."""
    return BY_FIELD.get(f"{message}.{field}") or BY_NAME.get(field)
