"""Set-based writes of one chunk of staged rows into the real tables.

Every statement reads `import_stage` rows that passed the checks, were not imported before
unchanged, and belong to the chunk (`grp` between :lo and :hi; a receipt's lines share the
grp of its first line, so a sale is never split). All of a chunk's statements run in one
transaction with its checkpoint. History mode: nothing here writes an outbox event, runs an
accrual or records a promotion use; imported sales book no points.
"""

from __future__ import annotations

GOOD = "s.reject_reason IS NULL AND s.status <> 'same' AND s.grp BETWEEN :lo AND :hi"
NEW = GOOD + " AND s.status = 'new'"


def _upsert(table: str, key: str, columns: tuple[str, ...]) -> str:
    names = ", ".join((key, *columns))
    values = ", ".join(f"s.{c}" for c in (key, *columns))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    stamp = ", updated_at = now()" if table not in ("store_networks", "stores") else ""
    return (f"INSERT INTO {table} ({names}) SELECT {values} FROM import_stage s WHERE {GOOD} "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}{stamp}")


def _target(expression: str) -> str:
    return f"UPDATE import_stage s SET target = {expression} WHERE {GOOD}"


_RECORDS = (
    "INSERT INTO import_records (kind, source, source_id, content_hash, target, batch_id, flags) "
    f"SELECT DISTINCT ON (s.source_id) :kind, :source, s.source_id, s.hash, s.target, :batch, "
    f"s.flags FROM import_stage s WHERE {GOOD} ORDER BY s.source_id, s.rn "
    "ON CONFLICT (kind, source, source_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, "
    "updated_batch = EXCLUDED.batch_id, flags = EXCLUDED.flags")

_MEMBER_OF_CARD = "(SELECT c.member_id::text FROM cards c WHERE c.number = s.card_number)"
# what a staged row became, where the apply does not UPDATE the stage to note it
TARGETS = {"members": "coalesce(s.target, s.member_id::text)", "points": _MEMBER_OF_CARD,
           "cash-accounts": _MEMBER_OF_CARD}


# What a chunk's foreign keys point at that the chunk did not write itself, locked FOR KEY
# SHARE set-based, as the RI triggers would lock them row by row: with these held the
# chunk's statements run without the per-row RI triggers (store.ImportStore.apply_chunk,
# where the role may set session_replication_role). Every other reference of these kinds'
# writes is a row the same chunk wrote (members, cards, lots, accounts, receipts) or the
# batch's own ledger transaction, and the checks refused rows naming anything unknown.
# Replica mode skips every ordinary trigger, not only RI: today these tables have none, but
# a trigger added to members, cards, lots, ledger or receipt tables later would not run for
# imported rows (tests/e2e/test_imports.py's plain-role test covers the path with them).
_MEMBERS_OF_CARDS = ("SELECT 1 FROM members m WHERE m.id IN (SELECT c.member_id FROM "
                     f"import_stage s JOIN cards c ON c.number = s.card_number WHERE {GOOD}) "
                     "FOR KEY SHARE OF m")
REFERENCES: dict[str, list[str]] = {
    "members": ["SELECT 1 FROM card_types t WHERE t.code IN (SELECT s.card_type FROM "
                f"import_stage s WHERE {GOOD} AND s.card_number IS NOT NULL) FOR KEY SHARE OF t",
                "SELECT 1 FROM members m WHERE m.id IN (SELECT s.target::uuid FROM import_stage "
                f"s WHERE {GOOD} AND s.target IS NOT NULL) FOR KEY SHARE OF m"],
    "points": [_MEMBERS_OF_CARDS],
    "cash-accounts": [_MEMBERS_OF_CARDS],
    "sales": ["SELECT 1 FROM stores t WHERE t.code IN (SELECT s.store_code FROM import_stage s "
              f"WHERE {GOOD}) FOR KEY SHARE OF t", _MEMBERS_OF_CARDS],
}


def records(kind: str) -> str:
    """The import_records upsert of a chunk's rows (sales write theirs with the receipts)."""
    return _RECORDS.replace("s.target, :batch", f"{TARGETS.get(kind, 's.target')}, :batch")

_ADDRESS = ("city", "street", "postal_code", "nova_poshta_branch", "recipient_name",
            "recipient_phone")
_SAME_ADDRESS = " AND ".join(f"a.{c} = g.{c}" for c in _ADDRESS)
_HAS_ADDRESS = ("g.delivery_kind <> 'pickup' AND (" + " OR ".join(f"g.{c} <> ''" for c in _ADDRESS)
                + ")")

APPLY: dict[str, list[str]] = {
    "networks": [_target("s.code"), _upsert("store_networks", "code", ("name",))],
    "stores": [
        _target("s.code"), _upsert("stores", "code", ("name", "time_zone")),
        f"DELETE FROM store_network_members m USING import_stage s WHERE {GOOD} "
        "AND m.store_code = s.code",
        "INSERT INTO store_network_members (store_code, network_code) SELECT DISTINCT s.code, n "
        f"FROM import_stage s, unnest(s.networks) n WHERE {GOOD}",
    ],
    "card-types": [
        _target("s.code"),
        "INSERT INTO card_types (code, name, accrual_bps, number_prefix, requires_verification, "
        "next_sequence) SELECT s.code, s.name, s.accrual_bps, s.number_prefix, "
        f"s.requires_verification, 1 FROM import_stage s WHERE {GOOD} ON CONFLICT (code) DO "
        "UPDATE SET name = EXCLUDED.name, accrual_bps = EXCLUDED.accrual_bps, number_prefix = "
        "EXCLUDED.number_prefix, requires_verification = EXCLUDED.requires_verification",
    ],
    "product-groups": [_target("s.code"),
                       _upsert("product_groups", "code", ("name", "parent_code"))],
    "brands": [_target("s.code"), _upsert("brands", "code", ("name",))],
    "suppliers": [_target("s.code"), _upsert("suppliers", "code", ("name",))],
    "products": [
        _target("s.sku"),
        _upsert("products", "sku", ("name", "group_code", "subgroup_code", "brand",
                                    "supplier_code", "price_category")),
        f"DELETE FROM product_barcodes b USING import_stage s WHERE {GOOD} AND b.sku = s.sku",
        "INSERT INTO product_barcodes (barcode, sku) SELECT DISTINCT ON (b) b, s.sku "
        f"FROM import_stage s, unnest(s.barcodes) b WHERE {GOOD} ORDER BY b, s.rn",
    ],
    "members": [
        "INSERT INTO members (id, first_name, last_name, middle_name, gender, birth_date, "
        "marital_status, address, phone, email, social_ids, registration_channel, vip) "
        "SELECT coalesce(s.target::uuid, s.member_id), s.first_name, s.last_name, "
        "s.middle_name, s.gender, s.birth_date, '', s.address, s.phone, s.email, '{}'::jsonb, "
        f"left('import:' || :source, 32), false FROM import_stage s WHERE {NEW}",
        "UPDATE members m SET first_name = s.first_name, last_name = s.last_name, middle_name = "
        "s.middle_name, gender = s.gender, birth_date = s.birth_date, address = s.address, "
        "phone = s.phone, email = s.email, updated_at = now() FROM import_stage s "
        f"WHERE {GOOD} AND s.status = 'changed' AND m.id = s.target::uuid",
        "INSERT INTO cards (number, card_type, member_id, state) SELECT s.card_number, "
        "s.card_type, coalesce(s.target::uuid, s.member_id), s.card_state FROM import_stage s "
        f"WHERE {GOOD} AND s.card_number IS NOT NULL ON CONFLICT (number) DO NOTHING",
        "INSERT INTO card_state_changes (card_number, from_state, to_state, reason, principal) "
        "SELECT s.card_number, NULL, s.card_state, 'import', :principal FROM import_stage s "
        f"WHERE {NEW} AND s.card_number IS NOT NULL",
        # our own numbers handed out later must not collide with the imported ones
        "UPDATE card_types t SET next_sequence = greatest(t.next_sequence, x.top + 1) "
        "FROM (SELECT s.card_type, max(substr(s.card_number, length(ct.number_prefix) + 1, "
        "12 - length(ct.number_prefix))::bigint) AS top FROM import_stage s JOIN card_types ct "
        "ON ct.code = s.card_type WHERE "
        f"{GOOD} AND length(s.card_number) = 13 AND NOT 'legacy_card_number' = ANY(s.flags) "
        "AND s.card_number LIKE ct.number_prefix || '%' GROUP BY 1) x WHERE t.code = x.card_type",
    ],
    "points": [
        # the shape kopilka_accrue_points writes (lots active or pending, both balances,
        # one entry per account, one movement per lot), set-based for the whole chunk: one
        # call per member ran at ~0.7 ms each
        "WITH l AS (INSERT INTO point_lots (member_id, tx_id, rule_id, points_initial, "
        "points_left, state, activation_at, expiry_at) SELECT c.member_id, :tx, 'import', "
        "s.points, s.points, CASE WHEN s.activation_at <= :now THEN 'active' ELSE 'pending' END, "
        "s.activation_at, s.expiry_at FROM import_stage s JOIN cards c ON c.number = "
        f"s.card_number WHERE {GOOD} RETURNING id, points_initial) "
        "INSERT INTO lot_movements (tx_id, lot_id, points) "
        "SELECT :tx, id, points_initial FROM l",
        "WITH m AS (SELECT c.member_id AS member_id, CASE WHEN s.activation_at <= :now THEN "
        "'points' ELSE 'points_pending' END AS kind, sum(s.points) AS amount FROM import_stage s "
        f"JOIN cards c ON c.number = s.card_number WHERE {GOOD} GROUP BY 1, 2), "
        "a AS (INSERT INTO ledger_accounts (member_id, kind, "
        "balance) SELECT member_id, kind, amount FROM m ORDER BY member_id, kind "
        "ON CONFLICT (member_id, kind) DO UPDATE SET balance = ledger_accounts.balance + "
        "EXCLUDED.balance RETURNING id, member_id, kind) INSERT INTO ledger_entries (tx_id, "
        "account_id, amount) SELECT :tx, a.id, m.amount FROM a JOIN m USING (member_id, kind)",
    ],
    "cash-accounts": [
        "WITH m AS (SELECT c.member_id AS member_id, sum(s.amount) AS amount FROM import_stage "
        f"s JOIN cards c ON c.number = s.card_number WHERE {GOOD} GROUP BY 1), "
        "a AS (INSERT INTO ledger_accounts (member_id, kind, balance) SELECT member_id, "
        "'cash', amount FROM m ON CONFLICT (member_id, kind) DO "
        "UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance RETURNING id, member_id) "
        "INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT :tx, a.id, m.amount "
        "FROM a JOIN m USING (member_id)",
    ],
    "certificates": [
        _target("s.number"),
        "WITH c AS (INSERT INTO certificates (number, type_code, kind, currency, state, "
        "denomination_minor, balance_minor, remainder_policy, store_code, activated_at, "
        "expires_at) SELECT s.number, s.type_code, t.kind, t.currency, s.state, s.denomination, "
        "s.balance, t.remainder_policy, s.store_code, s.activated_at, s.expires_at "
        f"FROM import_stage s JOIN certificate_types t ON t.code = s.type_code WHERE {GOOD} "
        "RETURNING id, balance_minor) INSERT INTO certificate_entries (certificate_id, kind, "
        "amount_minor, balance_after_minor, note, principal) SELECT id, 'issue', balance_minor, "
        "balance_minor, 'import:' || :batch_text, :principal FROM c WHERE balance_minor > 0",
    ],
    # one GROUP BY per chunk into a transaction-local table of receipts, which the receipts,
    # their details and the import records are written from (no UPDATE of the stage)
    "sales": [
        "CREATE TEMP TABLE import_receipts ON COMMIT DROP AS SELECT gen_random_uuid() AS id, "
        # every line of a receipt has its receipt's hash; min(bytea) needs PostgreSQL 18
        "s.source_id, (array_agg(s.hash))[1] AS hash, min(s.store_code) AS store_code, "
        "min(s.terminal_id) AS terminal_id, min(s.receipt_number) AS receipt_number, "
        "min(s.card_number) AS card_number, min(s.currency) AS currency, "
        "sum(s.amount) AS total, min(s.sold_at) AS sold_at, "
        # the lines' JSON written as text and read once per receipt: the same jsonb as
        # jsonb_agg(jsonb_build_object(...)) at half its cost
        "('[' || string_agg('{\"line_no\": ' || s.line_no || ', \"quantity_milli\": ' || "
        "s.quantity_milli || ', \"final_amount_minor\": ' || s.amount || ', "
        "\"accrual_points\": 0, \"points_discount_minor\": 0, \"sku\": ' || "
        "to_json(s.sku)::text || '}', ', ' ORDER BY s.line_no) || ']')::jsonb AS lines "
        f"FROM import_stage s WHERE {GOOD} GROUP BY s.source_id",
        "INSERT INTO receipts (id, store_code, terminal_id, receipt_number, member_id, "
        "card_number, state, currency, subtotal_minor, discount_total_minor, total_minor, "
        "confirmed_at) SELECT g.id, g.store_code, g.terminal_id, g.receipt_number, c.member_id, "
        "g.card_number, 'confirmed', g.currency, g.total, 0, g.total, g.sold_at "
        "FROM import_receipts g LEFT JOIN cards c ON c.number = g.card_number",
        "INSERT INTO receipt_details (receipt_id, request_id, tx_id, lines, payments, "
        "points_accrued, points_redeemed, principal_id) SELECT g.id, g.id, :tx, g.lines, "
        "'[]'::jsonb, 0, 0, :batch FROM import_receipts g",
        "INSERT INTO import_records (kind, source, source_id, content_hash, target, batch_id) "
        "SELECT :kind, :source, g.source_id, g.hash, g.id::text, :batch FROM import_receipts g",
    ],
    # past online-store orders in history mode: the order, its lines and one history row
    # (action "import"); no points move (they were spent in the old system), no event, no
    # notification, no accrual. A delivery address is the member's identical one if it has
    # it, else one new address per member and address in the chunk.
    "orders": [
        "CREATE TEMP TABLE import_orders ON COMMIT DROP AS SELECT gen_random_uuid() AS id, "
        "s.source_id, (array_agg(s.hash))[1] AS hash, (array_agg(s.member_id))[1] AS member_id, "
        + ", ".join(f"min(s.{c}) AS {c}" for c in (
            "store_code", "number", "card_number", "state", "created_at", "delivery_kind",
            "pickup_store_code", "city", "street", "postal_code", "nova_poshta_branch",
            "recipient_name", "recipient_phone", "comment", "currency")) + ", "
        "max(s.points_spent) AS points_spent, NULL::uuid AS address_id, false AS address_created "
        f"FROM import_stage s WHERE {GOOD} GROUP BY s.source_id",
        f"UPDATE import_orders g SET address_id = (SELECT a.id FROM member_addresses a WHERE "
        f"a.member_id = g.member_id AND {_SAME_ADDRESS} ORDER BY a.created_at, a.id LIMIT 1) "
        f"WHERE {_HAS_ADDRESS}",
        "WITH a AS (INSERT INTO member_addresses (id, member_id, city, street, postal_code, "
        "nova_poshta_branch, recipient_name, recipient_phone, created_at) SELECT "
        "gen_random_uuid(), d.* FROM (SELECT g.member_id, g.city, g.street, g.postal_code, "
        "g.nova_poshta_branch, g.recipient_name, g.recipient_phone, min(g.created_at) FROM "
        f"import_orders g WHERE g.address_id IS NULL AND {_HAS_ADDRESS} GROUP BY 1, 2, 3, 4, 5, "
        "6, 7) d RETURNING *) UPDATE import_orders g SET address_id = a.id, address_created = "
        f"true FROM a WHERE g.address_id IS NULL AND {_HAS_ADDRESS} AND a.member_id = g.member_id "
        f"AND {_SAME_ADDRESS}",
        "INSERT INTO web_orders (id, external_number, store_code, member_id, card_number, state, "
        "version, language, delivery_kind, pickup_store_code, address_id, comment, currency, "
        "points_requested, points_reserved, points_spent, points_accrued, points_returned, "
        "points_reversed, reserve_tx_id, accrual_tx_id, accrual_lots, lot_returns, created_by, "
        "created_at, updated_at) SELECT g.id, g.number, g.store_code, g.member_id, "
        "g.card_number, g.state, 1, 'uk', g.delivery_kind, g.pickup_store_code, g.address_id, "
        "g.comment, g.currency, g.points_spent, 0, g.points_spent, 0, 0, 0, NULL, NULL, "
        "'[]'::jsonb, '{\"returned\": {}, \"reversed\": {}}'::jsonb, "
        "left('import:' || :source, 128), g.created_at, g.created_at FROM import_orders g",
        # the points spent on an order, shared over its lines by their amounts (largest
        # remainder, so the lines add up to the order exactly)
        "INSERT INTO web_order_lines (order_id, line_no, sku, quantity_milli, unit_price, "
        "base_amount, discount_amount, points_paid, final_amount, accrual_points, promotions, "
        "state, returned_milli, points_returned, points_reversed, store_code, split_from, "
        "replaces) SELECT x.id, x.line_no, x.sku, x.quantity_milli, x.unit_price, "
        "x.amount + x.discount, x.discount, x.paid, x.amount - x.paid, 0, '{}'::text[], "
        "CASE x.state WHEN 'placed' THEN 'open' WHEN 'completed' THEN 'confirmed' ELSE x.state "
        "END, CASE WHEN x.state = 'returned' THEN x.quantity_milli ELSE 0 END, 0, 0, NULL, "
        "NULL, NULL FROM (SELECT y.*, y.floor + CASE WHEN row_number() OVER (PARTITION BY y.id "
        "ORDER BY y.part DESC, y.line_no) <= y.points_spent - sum(y.floor) OVER (PARTITION BY "
        "y.id) THEN 1 ELSE 0 END AS paid FROM (SELECT g.id, g.state, g.points_spent, s.line_no, "
        "s.sku, s.quantity_milli, s.unit_price, s.amount, s.discount, CASE WHEN t.total > 0 "
        "THEN div(g.points_spent::numeric * s.amount, t.total) ELSE 0 END AS floor, CASE WHEN "
        "t.total > 0 THEN mod(g.points_spent::numeric * s.amount, t.total) ELSE 0 END AS part "
        "FROM import_orders g JOIN "
        f"import_stage s ON s.source_id = g.source_id AND {GOOD} JOIN (SELECT source_id, "
        f"sum(amount) AS total FROM import_stage s WHERE {GOOD} GROUP BY 1) t ON t.source_id = "
        "g.source_id) y) x",
        "INSERT INTO web_order_history (order_id, version, principal, action, line_no, reason, "
        "state, detail, created_at) SELECT g.id, 1, left('import:' || :source, 128), 'import', "
        "0, 'imported from ' || :source || ' (batch ' || :batch_text || ')', g.state, "
        "jsonb_build_object('batch', :batch_text, 'source_id', g.source_id, 'address_created', "
        "g.address_created), g.created_at FROM import_orders g",
        "INSERT INTO import_records (kind, source, source_id, content_hash, target, batch_id) "
        "SELECT :kind, :source, g.source_id, g.hash, g.id::text, :batch FROM import_orders g",
    ],
}
