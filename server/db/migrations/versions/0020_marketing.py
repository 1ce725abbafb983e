"""Marketing: consent with proof, preferences, templates, lists, campaigns, triggers.

Seeds the SMS tariffs of the Ukrainian operators' prefixes (configurable rows, kopecks per
part), the birthday greeting template and its trigger (one greeting a year), and gives the
operator role campaigns.read/update/approve (admin has every right already).

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-01 12:20:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TZ = sa.DateTime(timezone=True)
OPERATOR_RIGHTS = ("campaigns.read", "campaigns.update", "campaigns.approve")
# Longest prefix wins; "" is the price of any other number (kopecks per SMS part).
TARIFFS = [("", 150), ("38050", 110), ("38066", 110), ("38095", 110), ("38099", 110),
           ("38067", 120), ("38068", 120), ("38096", 120), ("38097", 120), ("38098", 120),
           ("38063", 115), ("38073", 115), ("38093", 115)]
BIRTHDAY_UK = "{{ first_name }}, з днем народження! Даруємо вам святковий настрій."
BIRTHDAY_EN = "Happy birthday, {{ first_name }}! Best wishes from us."


GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = "|^€{}[]~\\\f"
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\f": "\\f"}


def _bracket(chars: str) -> str:
    """A regex bracket body of `chars` (PostgreSQL ARE: a backslash escapes inside)."""
    return "".join(_ESCAPES.get(c) or (c if c.isalnum() or c == " " else "\\" + c)
                   for c in chars)


# Billed parts of an SMS text, the same count as server/marketing/sms_parts.py.
SMS_PARTS = f"""
CREATE FUNCTION kopilka_sms_parts(t text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE
    WHEN t IS NULL OR t = '' THEN 0
    WHEN t ~ $re$^[{_bracket(GSM_BASIC + GSM_EXTENDED)}]*$$re$ THEN
      CASE WHEN l.g <= 160 THEN 1 ELSE (l.g + 152) / 153 END
    ELSE CASE WHEN l.u <= 70 THEN 1 ELSE (l.u + 66) / 67 END
  END
  FROM (SELECT length(t) + length(regexp_replace(t, $re$[^{_bracket(GSM_EXTENDED)}]$re$, '',
                                                 'g')) AS g,
               length(t) + length(regexp_replace(t, $re$[^\\U00010000-\\U0010FFFF]$re$,
                                                 '', 'g')) AS u) AS l
$fn$;
"""


def upgrade() -> None:
    op.execute(SMS_PARTS)
    now = sa.text("now()")
    op.create_table(
        "member_consents",
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("wording_version", sa.String(64), nullable=False),
        sa.Column("recorded_at", TZ, server_default=now, nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_member_consents_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", "channel", "purpose",
                                name=op.f("pk_member_consents")),
    )
    op.create_table(
        "consent_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("wording_version", sa.String(64), nullable=False),
        sa.Column("recorded_at", TZ, server_default=now, nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_consent_history_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_history")),
    )
    op.create_index("ix_consent_history_member", "consent_history", ["member_id", "id"])
    op.create_table(
        "member_preferences",
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_member_preferences_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_preferences")),
    )
    templates = op.create_table(
        "marketing_templates",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("default_language", sa.String(8), nullable=False),
        sa.Column("updated_at", TZ, server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_marketing_templates")),
    )
    texts = op.create_table(
        "marketing_template_texts",
        sa.Column("template_code", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_code"], ["marketing_templates.code"], ondelete="CASCADE",
            name=op.f("fk_marketing_template_texts_template_code_marketing_templates")),
        sa.PrimaryKeyConstraint("template_code", "language",
                                name=op.f("pk_marketing_template_texts")),
    )
    op.create_table(
        "marketing_lists",
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("segment", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_lists")),
    )
    op.create_table(
        "marketing_list_members",
        sa.Column("list_id", UUID, nullable=False),
        sa.Column("member_id", UUID, nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["marketing_lists.id"], ondelete="CASCADE",
                                name=op.f("fk_marketing_list_members_list_id_marketing_lists")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_marketing_list_members_member_id_members")),
        sa.PrimaryKeyConstraint("list_id", "member_id", name=op.f("pk_marketing_list_members")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("list_id", UUID, nullable=False),
        sa.Column("template_code", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("scheduled_at", TZ, nullable=True),
        sa.Column("created_at", TZ, server_default=now, nullable=False),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("estimated_parts", sa.BigInteger(), nullable=False),
        sa.Column("estimated_cost_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["marketing_lists.id"],
                                name=op.f("fk_campaigns_list_id_marketing_lists")),
        sa.ForeignKeyConstraint(["template_code"], ["marketing_templates.code"],
                                name=op.f("fk_campaigns_template_code_marketing_templates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "marketing_messages",
        sa.Column("mailing_id", UUID, nullable=False),
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("campaign_id", UUID, nullable=True),
        sa.Column("firing_id", sa.BigInteger(), nullable=True),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("part_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("released_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["mailing_id"], ["mailings.id"],
                                name=op.f("fk_marketing_messages_mailing_id_mailings")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_marketing_messages_member_id_members")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_marketing_messages_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("mailing_id", name=op.f("pk_marketing_messages")),
        sa.UniqueConstraint("campaign_id", "member_id", name="uq_marketing_messages_campaign"),
    )
    op.create_index("ix_marketing_messages_member_released", "marketing_messages",
                    ["member_id", "released_at"])
    tariffs = op.create_table(
        "sms_tariffs",
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("part_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_sms_tariffs")),
    )
    triggers = op.create_table(
        "marketing_triggers",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("template_code", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(64), nullable=False),
        sa.Column("max_per_occurrence", sa.Integer(), nullable=False),
        sa.Column("stop_events", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_code"], ["marketing_templates.code"],
            name=op.f("fk_marketing_triggers_template_code_marketing_templates")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_marketing_triggers")),
    )
    op.create_table(
        "trigger_firings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("trigger_code", sa.String(64), nullable=False),
        sa.Column("member_id", UUID, nullable=False),
        sa.Column("occurrence", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("mailing_id", UUID, nullable=True),
        sa.Column("fired_at", TZ, server_default=now, nullable=False),
        sa.Column("stopped_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["trigger_code"], ["marketing_triggers.code"],
            name=op.f("fk_trigger_firings_trigger_code_marketing_triggers")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_trigger_firings_member_id_members")),
        sa.ForeignKeyConstraint(["mailing_id"], ["mailings.id"],
                                name=op.f("fk_trigger_firings_mailing_id_mailings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_firings")),
        sa.UniqueConstraint("trigger_code", "event_id", name="uq_trigger_firings_event"),
        sa.UniqueConstraint("trigger_code", "member_id", "occurrence", "seq",
                            name="uq_trigger_firings_slot"),
    )
    op.create_index("ix_trigger_firings_member", "trigger_firings",
                    ["member_id", "trigger_code"])
    op.bulk_insert(tariffs, [{"prefix": p, "part_price_minor": price, "currency": "UAH"}
                             for p, price in TARIFFS])
    op.bulk_insert(templates, [{"code": "birthday", "channel": "sms", "default_language": "uk"}])
    op.bulk_insert(texts, [
        {"template_code": "birthday", "language": "uk", "subject": None, "body": BIRTHDAY_UK},
        {"template_code": "birthday", "language": "en", "subject": None, "body": BIRTHDAY_EN}])
    op.bulk_insert(triggers, [{
        "code": "birthday", "event_type": "member.birthday", "condition": None,
        "template_code": "birthday", "channel": "sms", "delay_seconds": 0,
        "occurrence": "year", "max_per_occurrence": 1, "stop_events": [], "active": True}])
    op.execute(sa.text(
        "UPDATE roles SET grants = grants || CAST(:extra AS jsonb) WHERE name = 'operator'"
    ).bindparams(extra=json.dumps([{"object_type": r.split(".")[0], "action": r.split(".")[1],
                                    "scope": "all"} for r in OPERATOR_RIGHTS])))


def downgrade() -> None:
    op.execute("DROP FUNCTION kopilka_sms_parts(text)")
    op.execute(sa.text(
        "UPDATE roles SET grants = (SELECT coalesce(jsonb_agg(g), '[]') FROM "
        "jsonb_array_elements(grants) g WHERE g->>'object_type' <> 'campaigns') "
        "WHERE name = 'operator'"))
    for table in ("trigger_firings", "marketing_triggers", "sms_tariffs", "marketing_messages",
                  "campaigns", "marketing_list_members", "marketing_lists",
                  "marketing_template_texts", "marketing_templates", "member_preferences",
                  "consent_history", "member_consents"):
        op.drop_table(table)
