"""PlaceOrder in one call: kopilka_place_order (issue 13's benchmark).

kopilka_place_order(claim, answer, placement jsonb) writes a whole common placement in one
statement (server/db/orders/placement.py builds the document): the request id's claim with
its stored answer, the points reservation (the ledger's own rules: kopilka_spending_card,
a transaction, the accounts locked in order, kopilka_spend_points), a new delivery address,
the order, its lines, its first history entry, the domain event, the customer's SMS or
e-mail (to the member's phone, else e-mail, as server/db/orders/notify.py chooses) and the
audit rows, last, so the audit chain's lock is held for the shortest time.

It decides nothing the general path would refuse: a request id claimed already, a card no
longer the member's (or a VIP the caller may not see), an unknown pickup store or points
short raise KLP01 (DETAIL says which) and nothing is written; so do the ledger's and the
columns' own refusals. The server then places the order the general way, which answers each
of those as it always did.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-21 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

PLACE_ORDER = r"""
CREATE FUNCTION kopilka_place_order(p_principal uuid, p_request_id uuid, p_method text,
                                    p_request_hash bytea, p_response bytea, p jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  o jsonb := p->'order';
  h jsonb := p->'history';
  r jsonb := p->'reserve';
  m jsonb := p->'message';
  a jsonb := o->'address';
  v_order uuid := (o->>'id')::uuid;
  v_member uuid := (o->>'member_id')::uuid;
  v_customer record;
  v_spender record;
  v_channel text;
  v_recipient text;
  v_subject text;
  v_audit jsonb;
BEGIN
  INSERT INTO idempotency_records (principal_id, request_id, method, request_hash, response)
  VALUES (p_principal, p_request_id, p_method, p_request_hash, p_response)
  ON CONFLICT (principal_id, request_id) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the general path places this order' USING ERRCODE = 'KLP01',
      DETAIL = 'request_id';
  END IF;
  SELECT mm.vip, mm.phone, mm.email INTO v_customer
    FROM cards c JOIN members mm ON mm.id = c.member_id
   WHERE c.number = o->>'card_number' AND c.member_id = v_member;
  IF NOT FOUND OR (v_customer.vip AND NOT (p->>'sees_vip')::boolean) THEN
    RAISE EXCEPTION 'the general path places this order' USING ERRCODE = 'KLP01',
      DETAIL = 'customer';
  END IF;
  IF o->>'pickup_store_code' IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM stores WHERE code = o->>'pickup_store_code') THEN
    RAISE EXCEPTION 'the general path places this order' USING ERRCODE = 'KLP01',
      DETAIL = 'pickup_store_code';
  END IF;
  IF jsonb_typeof(r) = 'object' THEN  -- SqlOrderMoney.reserve, statement for statement
    SELECT * INTO v_spender FROM kopilka_spending_card(o->>'card_number');
    INSERT INTO ledger_transactions (id, kind, receipt_id, reason, principal)
    VALUES ((r->>'tx_id')::uuid, 'order_reserve', NULL, r->>'reason', r->>'principal');
    INSERT INTO ledger_accounts (member_id, kind, balance)
    SELECT v_spender.o_member, k, 0 FROM unnest(ARRAY['points', 'points_pending']) k
    ON CONFLICT (member_id, kind) DO NOTHING;
    PERFORM id FROM ledger_accounts WHERE member_id = v_spender.o_member
       AND kind IN ('points', 'points_pending') ORDER BY kind FOR UPDATE;
    IF kopilka_spend_points(v_spender.o_member, (r->>'points')::bigint, (r->>'tx_id')::uuid,
                            (r->>'now')::timestamptz) IS NULL THEN
      RAISE EXCEPTION 'the general path places this order' USING ERRCODE = 'KLP01',
        DETAIL = 'points_to_spend';
    END IF;
  END IF;
  IF (p->>'new_address')::boolean THEN
    INSERT INTO member_addresses (id, member_id, city, street, postal_code, nova_poshta_branch,
                                  recipient_name, recipient_phone)
    VALUES ((a->>'id')::uuid, v_member, a->>'city', a->>'street', a->>'postal_code',
            a->>'nova_poshta_branch', a->>'recipient_name', a->>'recipient_phone');
  END IF;
  INSERT INTO web_orders (id, external_number, store_code, member_id, card_number, state,
    version, language, delivery_kind, pickup_store_code, address_id, comment, currency,
    points_requested, points_reserved, points_spent, points_accrued, points_returned,
    points_reversed, reserve_tx_id, accrual_tx_id, accrual_lots, lot_returns, created_by,
    created_at, updated_at)
  VALUES (v_order, o->>'external_number', o->>'store_code', v_member, o->>'card_number',
    o->>'state', (o->>'version')::int, o->>'language', o->>'delivery_kind',
    o->>'pickup_store_code', (a->>'id')::uuid, o->>'comment', o->>'currency',
    (o->>'points_requested')::bigint, (o->>'points_reserved')::bigint, 0, 0, 0, 0,
    (o->>'reserve_tx_id')::uuid, NULL, o->'accrual_lots', o->'lot_returns', o->>'created_by',
    coalesce((o->>'created_at')::timestamptz, now()),
    coalesce((o->>'created_at')::timestamptz, now()));
  INSERT INTO web_order_lines (order_id, line_no, sku, quantity_milli, unit_price,
    base_amount, discount_amount, points_paid, final_amount, accrual_points, promotions,
    state, returned_milli, points_returned, points_reversed, store_code, split_from, replaces)
  SELECT v_order, x.line_no, x.sku, x.quantity_milli, x.unit_price, x.base_amount,
         x.discount_amount, x.points_paid, x.final_amount, x.accrual_points,
         ARRAY(SELECT jsonb_array_elements_text(x.promotions)), x.state, x.returned_milli,
         x.points_returned, x.points_reversed, x.store_code, x.split_from, x.replaces
    FROM jsonb_to_recordset(o->'lines') AS x(line_no int, sku text, quantity_milli bigint,
      unit_price bigint, base_amount bigint, discount_amount bigint, points_paid bigint,
      final_amount bigint, accrual_points bigint, promotions jsonb, state text,
      returned_milli bigint, points_returned bigint, points_reversed bigint, store_code text,
      split_from int, replaces int);
  INSERT INTO web_order_history (order_id, version, principal, action, line_no, reason, state,
                                 detail, created_at)
  VALUES (v_order, (h->>'version')::int, h->>'principal', h->>'action', (h->>'line_no')::int,
          h->>'reason', h->>'state', h->'detail', coalesce((h->>'created_at')::timestamptz,
                                                           now()));
  INSERT INTO outbox (kind, event_id, event_type, event_version, payload, state, attempts)
  SELECT 'event', (e->>'event_id')::uuid, e->>'event_type', (e->>'event_version')::int,
         e->'payload', 'pending', 0
    FROM jsonb_array_elements(p->'events') WITH ORDINALITY AS x(e, n) ORDER BY n;
  IF jsonb_typeof(m) = 'object' THEN  -- SqlNotifier.send: the phone, else the e-mail
    IF coalesce(v_customer.phone, '') <> '' THEN
      v_channel := 'sms';
      v_recipient := v_customer.phone;
    ELSIF coalesce(v_customer.email, '') <> '' THEN
      v_channel := 'email';
      v_recipient := v_customer.email;
      v_subject := m->>'subject';
    END IF;
    IF v_channel IS NOT NULL THEN
      INSERT INTO mailings (id, channel, recipient, subject, body, redacted_body, reference,
                            state, attempts, options, lifetime_seconds, fallback_channel,
                            fallback_body)
      VALUES ((m->>'id')::uuid, v_channel, v_recipient, v_subject, m->>'text', NULL,
              m->>'reference', 'queued', 0, 'null'::jsonb, NULL, NULL, NULL);
      INSERT INTO outbox (kind, mailing_id, state, attempts)
      VALUES ('message', (m->>'id')::uuid, 'pending', 0);
    END IF;
  END IF;
  FOR v_audit IN SELECT x.e FROM jsonb_array_elements(p->'audit') WITH ORDINALITY AS x(e, n)
                  ORDER BY n LOOP
    PERFORM kopilka_audit_append(v_audit->>0, (v_audit->>1)::uuid, v_audit->>2, v_audit->>3,
                                 v_audit->>4, v_audit->>5, (v_audit->>6)::jsonb,
                                 (v_audit->>7)::jsonb);
  END LOOP;
END $$"""


def upgrade() -> None:
    op.execute(PLACE_ORDER)


def downgrade() -> None:
    op.execute("DROP FUNCTION kopilka_place_order(uuid, uuid, text, bytea, bytea, jsonb)")
