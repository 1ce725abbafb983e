"""Domain events and message hops.

- outbox.event_version: the payload schema's version of an event (server/events/schema.py).
- kopilka_emit_event(type, version, payload): writes one event to the outbox in the caller's
  transaction; kopilka_confirm_receipt now calls it for a member's sale (purchase.confirmed,
  purchase.first once per member, points.accrued) after the work and before the result is
  stored, so a retry (answered from the claim or the booked receipt) emits nothing again.
- event_marks: once-only markers of events (purchase.first per member, member.birthday per
  member and year, points.expiring per member and expiry date, certificate.expiring per
  certificate and expiry); backfilled with every member who bought already.
- event_consumptions: which in-process consumer handled which event (at most once each).
- mailings: channel options, a lifetime and a fallback (channel, text); `hop` is the hop now
  carrying the message and `fallback_due_at` when to move on if it was not delivered.
  mailing_hops: one row per hop of such a message (Viber, then SMS), with its own state.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

EMIT_EVENT = r"""
CREATE FUNCTION kopilka_emit_event(p_type text, p_version integer, p_payload jsonb)
RETURNS uuid LANGUAGE sql AS $$
  INSERT INTO outbox (kind, event_id, event_type, event_version, payload)
  VALUES ('event', gen_random_uuid(), p_type, p_version, p_payload)
  RETURNING event_id
$$"""

# The events of a member's sale, written before the result is stored (schema v1 of each).
RECEIPT_EVENTS = r"""
  IF v_member IS NOT NULL THEN
    PERFORM kopilka_emit_event('purchase.confirmed', 1, jsonb_build_object(
      'member_id', v_member, 'card_number', p_receipt->'card_number', 'receipt_id', v_receipt,
      'store_code', p_receipt->'store_code', 'terminal_id', p_receipt->'terminal_id',
      'receipt_number', p_receipt->'receipt_number', 'currency', p_receipt->'currency',
      'total_minor', p_receipt->'total_minor', 'points_accrued', p_receipt->'points_accrued',
      'points_redeemed', v_redeemed, 'receipt_time', p_receipt->'receipt_time'));
    INSERT INTO event_marks (kind, subject, occasion)
    VALUES ('purchase.first', v_member::text, '') ON CONFLICT DO NOTHING;
    IF FOUND THEN
      PERFORM kopilka_emit_event('purchase.first', 1, jsonb_build_object(
        'member_id', v_member, 'card_number', p_receipt->'card_number',
        'receipt_id', v_receipt, 'store_code', p_receipt->'store_code',
        'currency', p_receipt->'currency', 'total_minor', p_receipt->'total_minor',
        'receipt_time', p_receipt->'receipt_time'));
    END IF;
    IF jsonb_array_length(p_receipt->'lots') > 0 THEN
      PERFORM kopilka_emit_event('points.accrued', 1, jsonb_build_object(
        'member_id', v_member, 'transaction_id', v_tx, 'receipt_id', v_receipt,
        'points', (SELECT sum((x->>'points')::bigint)
                     FROM jsonb_array_elements(p_receipt->'lots') x),
        'points_balance', coalesce(v_balance, 0),
        'activation_time', (SELECT min((x->>'activation')::timestamptz)
                              FROM jsonb_array_elements(p_receipt->'lots') x),
        'expiry_time', (SELECT min((x->>'expiry')::timestamptz)
                          FROM jsonb_array_elements(p_receipt->'lots') x)));
    END IF;
  END IF;
"""

ANCHOR = "  RETURN kopilka_ledger_store(p_principal, p_request_id, jsonb_build_object(\n" \
         "    'receipt_id', v_receipt"


def _revision(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kopilka_{name}",
                                                  Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _confirm_receipt(with_events: bool) -> str:
    """0013's function (the same rules, one place), with the events before the result."""
    sql: str = _revision("0013_one_ledger.py").CONFIRM_RECEIPT
    assert sql.count(ANCHOR) == 1, "0013's kopilka_confirm_receipt changed shape"
    sql = sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    return sql.replace(ANCHOR, RECEIPT_EVENTS + ANCHOR) if with_events else sql


def upgrade() -> None:
    op.add_column("outbox", sa.Column("event_version", sa.Integer(), nullable=True))
    op.execute("UPDATE outbox SET event_version = 1 WHERE kind = 'event'")
    op.create_table(
        "event_marks",
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(128), primary_key=True),
        sa.Column("occasion", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.execute("INSERT INTO event_marks (kind, subject, occasion) "
               "SELECT DISTINCT 'purchase.first', member_id::text, '' FROM receipts "
               "WHERE member_id IS NOT NULL")
    op.create_table(
        "event_consumptions",
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("consumed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.add_column("mailings", sa.Column("options", postgresql.JSONB(astext_type=sa.Text()),
                                        nullable=True))
    op.add_column("mailings", sa.Column("lifetime_seconds", sa.Integer(), nullable=True))
    op.add_column("mailings", sa.Column("fallback_channel", sa.String(32), nullable=True))
    op.add_column("mailings", sa.Column("fallback_body", sa.Text(), nullable=True))
    op.add_column("mailings", sa.Column("hop", sa.SmallInteger(), server_default="1",
                                        nullable=False))
    op.add_column("mailings", sa.Column("fallback_due_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.create_index("ix_mailings_fallback_due", "mailings", ["fallback_due_at"],
                    postgresql_where=sa.text("fallback_due_at IS NOT NULL"))
    op.create_table(
        "mailing_hops",
        sa.Column("mailing_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("mailings.id"), primary_key=True),
        sa.Column("hop", sa.SmallInteger(), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'sent', 'delivered', 'undeliverable', 'expired', 'failed')",
            name=op.f("ck_mailing_hops_state_known")),
    )
    op.execute(EMIT_EVENT)
    op.execute(_confirm_receipt(with_events=True))


def downgrade() -> None:
    op.execute(_confirm_receipt(with_events=False))
    op.execute("DROP FUNCTION kopilka_emit_event(text, integer, jsonb)")
    op.drop_table("mailing_hops")
    op.drop_index("ix_mailings_fallback_due", table_name="mailings")
    for column in ("fallback_due_at", "hop", "fallback_body", "fallback_channel",
                   "lifetime_seconds", "options"):
        op.drop_column("mailings", column)
    op.drop_table("event_consumptions")
    op.drop_table("event_marks")
    op.drop_column("outbox", "event_version")
