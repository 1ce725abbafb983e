"""Set-based checks on the staged rows: what only the database can tell (duplicates across
the file and the tables, unknown references, what a re-run already imported).

Each statement marks the rows it refuses with a field and a reason; a row keeps its first
reason. `:kind`, `:source` name the run.
"""

from __future__ import annotations

# The first reason wins: every check only looks at rows still without one.
OPEN = "s.reject_reason IS NULL"


def _reject(where: str, field: str, reason_sql: str, using: str = "") -> str:
    return (f"UPDATE import_stage s SET reject_field = '{field}', reject_reason = {reason_sql} "
            f"{using} WHERE {OPEN} AND {where}")


COMMON = [
    # a source id given twice in the file: the later rows are refused
    _reject("s.source_id = d.source_id AND s.rn > d.first", "id",
            "'id ' || s.source_id || ' is also on row ' || d.first",
            "FROM (SELECT source_id, min(rn) AS first FROM import_stage "
            "WHERE reject_reason IS NULL GROUP BY 1 HAVING count(*) > 1) d"),
    # what a run imported before: unchanged rows are left alone, changed ones noted
    "UPDATE import_stage s SET status = CASE WHEN r.content_hash = s.hash THEN 'same' "
    "ELSE 'changed' END, target = r.target FROM import_records r "
    "WHERE r.kind = :kind AND r.source = :source AND r.source_id = s.source_id",
]


def lines_common(kind: str) -> list[str]:
    """COMMON for kinds of one row per line (sales, orders): a receipt or order is one group
    (its lines share the grp of its first line, so a chunk never splits it) and its content
    hash covers all its lines (one pass over the stage); a line number given twice in one
    receipt or order refuses the later line."""
    what = "order" if kind == "orders" else "receipt"
    return [
        "UPDATE import_stage s SET grp = h.first, hash = h.digest FROM (SELECT source_id, "
        "min(rn) AS first, sha256(string_agg(hash, ''::bytea ORDER BY line_no, rn)) AS digest "
        "FROM import_stage GROUP BY 1) h WHERE s.source_id = h.source_id",
        COMMON[1],
        _reject("s.source_id = d.source_id AND s.line_no = d.line_no AND s.rn > d.first",
                "line_no", f"'line ' || s.line_no || ' of {what} ' || s.source_id || "
                "' is also on row ' || d.first",
                "FROM (SELECT source_id, line_no, min(rn) AS first FROM import_stage "
                "WHERE reject_reason IS NULL GROUP BY 1, 2 HAVING count(*) > 1) d"),
    ]


SALES_COMMON = lines_common("sales")


def _whole(id_column: str, what: str) -> str:
    """One bad line refuses its whole receipt or order: imported whole or not at all."""
    return (f"UPDATE import_stage s SET reject_field = '{id_column}', reject_reason = "
            f"'another line of {what} ' || s.source_id || ' was refused (row ' || b.rn || ')' "
            "FROM (SELECT source_id, min(rn) AS rn FROM import_stage WHERE reject_reason IS NOT "
            "NULL GROUP BY 1) b WHERE s.reject_reason IS NULL AND s.source_id = b.source_id")


# Money and points are booked once: a changed row is refused, never booked twice.
LEDGER_CHANGED = _reject(
    "s.status = 'changed'", "id",
    "'changed since it was imported (batch ' || (SELECT r.batch_id FROM import_records r "
    "WHERE r.kind = :kind AND r.source = :source AND r.source_id = s.source_id) || "
    "'); roll that batch back to import it again'")


def _existed(table: str, column: str) -> str:
    """Rows that name something present before any import: adopted, never removed."""
    return (f"UPDATE import_stage s SET flags = array_append(s.flags, 'existed') "
            f"WHERE s.status = 'new' AND EXISTS (SELECT 1 FROM {table} t "
            f"WHERE t.{column} = s.{column})")


def _unknown(field: str, table: str, column: str, what: str, optional: bool = False) -> str:
    null = f"s.{field} IS NOT NULL AND s.{field} <> '' AND " if optional else ""
    return _reject(f"{null}NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{column} = s.{field})",
                   field, f"'unknown {what} ' || s.{field}")


def _taken_in_file(field: str, what: str) -> str:
    return _reject(f"s.{field} = d.v AND s.rn > d.first", field,
                   f"'{what} ' || s.{field} || ' is also on row ' || d.first",
                   f"FROM (SELECT {field} AS v, min(rn) AS first FROM import_stage "
                   f"WHERE reject_reason IS NULL AND {field} IS NOT NULL GROUP BY 1 "
                   "HAVING count(*) > 1) d")


_CARD = _unknown("card_number", "cards", "number", "card")
_MEMBERLESS = _reject("EXISTS (SELECT 1 FROM cards c WHERE c.number = s.card_number "
                      "AND c.member_id IS NULL)", "card_number",
                      "'card ' || s.card_number || ' belongs to no member'")


def _duplicate_member(field: str) -> str:
    """A phone or e-mail that is another member's already: reported, never merged."""
    return _reject(
        f"s.{field} IS NOT NULL AND EXISTS (SELECT 1 FROM members m WHERE m.{field} = s.{field} "
        "AND m.id::text IS DISTINCT FROM s.target)", field,
        f"'duplicate member: the {field} is member ' || (SELECT m.id::text FROM members m "
        f"WHERE m.{field} = s.{field}) || coalesce(' (imported from ' || (SELECT r.source || "
        "' id ' || r.source_id FROM import_records r JOIN members m ON r.target = m.id::text "
        f"WHERE r.kind = 'members' AND m.{field} = s.{field} LIMIT 1) || ')', '') || "
        "'; not merged'")


CHECKS: dict[str, list[str]] = {
    "networks": [_existed("store_networks", "code")],
    "stores": [
        _reject("EXISTS (SELECT 1 FROM unnest(s.networks) n WHERE NOT EXISTS "
                "(SELECT 1 FROM store_networks w WHERE w.code = n))", "networks",
                "'unknown store network among ' || array_to_string(s.networks, ';')"),
        _existed("stores", "code")],
    "card-types": [
        _reject("EXISTS (SELECT 1 FROM card_types t WHERE t.number_prefix = s.number_prefix "
                "AND t.code <> s.code)", "number_prefix",
                "'prefix ' || s.number_prefix || ' is another card type''s'"),
        _taken_in_file("number_prefix", "prefix"), _existed("card_types", "code")],
    "product-groups": [_existed("product_groups", "code")],
    "brands": [_existed("brands", "code")],
    "suppliers": [_existed("suppliers", "code")],
    "products": [
        _reject("EXISTS (SELECT 1 FROM unnest(s.barcodes) b JOIN product_barcodes pb "
                "ON pb.barcode = b WHERE pb.sku <> s.sku)", "barcodes",
                "'a barcode is another product''s already'"),
        _reject("s.group_code <> '' AND EXISTS (SELECT 1 FROM product_groups) AND NOT EXISTS "
                "(SELECT 1 FROM product_groups g WHERE g.code = s.group_code)", "group_code",
                "'unknown product group ' || s.group_code"),
        _reject("s.supplier_code <> '' AND EXISTS (SELECT 1 FROM suppliers) AND NOT EXISTS "
                "(SELECT 1 FROM suppliers g WHERE g.code = s.supplier_code)", "supplier_code",
                "'unknown supplier ' || s.supplier_code"),
        _existed("products", "sku")],
    "members": [
        _taken_in_file("phone", "duplicate member: phone"),
        _taken_in_file("email", "duplicate member: e-mail"),
        _duplicate_member("phone"), _duplicate_member("email"),
        _taken_in_file("card_number", "card"),
        _unknown("card_type", "card_types", "code", "card type", optional=True),
        _reject("s.card_number IS NOT NULL AND EXISTS (SELECT 1 FROM cards c "
                "WHERE c.number = s.card_number AND c.member_id::text IS DISTINCT FROM s.target)",
                "card_number", "'card ' || s.card_number || ' is another member''s already'"),
    ],
    "points": [_CARD, _MEMBERLESS],
    "cash-accounts": [
        _CARD, _MEMBERLESS,
        _reject("EXISTS (SELECT 1 FROM cards c JOIN ledger_accounts a ON a.member_id = c.member_id "
                "AND a.kind = 'cash' WHERE c.number = s.card_number AND a.master_id IS NOT NULL)",
                "card_number", "'the member''s cash is pooled in a master account'"),
    ],
    "certificates": [
        _unknown("type_code", "certificate_types", "code", "certificate type"),
        _unknown("store_code", "stores", "code", "store", optional=True),
        _reject("s.status = 'new' AND EXISTS (SELECT 1 FROM certificates c "
                "WHERE c.number = s.number)", "number",
                "'certificate ' || s.number || ' exists already'"),
        _taken_in_file("number", "certificate"),
    ],
    "sales": [
        _unknown("store_code", "stores", "code", "store"),
        _unknown("card_number", "cards", "number", "card", optional=True),
        _reject("s.status = 'new' AND EXISTS (SELECT 1 FROM receipts r "
                "WHERE r.store_code = s.store_code AND "
                "r.terminal_id = s.terminal_id AND r.receipt_number = s.receipt_number)",
                "receipt_number", "'receipt ' || s.receipt_number || ' of store ' || s.store_code "
                "|| ' exists already'"),
        _reject("EXISTS (SELECT 1 FROM import_stage o WHERE o.store_code = s.store_code AND "
                "o.terminal_id = s.terminal_id AND o.receipt_number = s.receipt_number AND "
                "o.source_id <> s.source_id AND o.rn < s.rn)", "receipt_number",
                "'receipt number ' || s.receipt_number || ' is another receipt''s in the file'"),
        _whole("receipt_id", "receipt"),
    ],
    "orders": [
        _unknown("store_code", "stores", "code", "store"),
        _unknown("pickup_store_code", "stores", "code", "pickup store", optional=True),
        # the customer: the card's member, else the phone's, else the e-mail's; a card,
        # phone or e-mail no member has is refused (a past order needs its member)
        "UPDATE import_stage s SET member_id = CASE WHEN s.card_number IS NOT NULL THEN "
        "(SELECT c.member_id FROM cards c WHERE c.number = s.card_number) WHEN s.phone IS NOT "
        "NULL THEN (SELECT m.id FROM members m WHERE m.phone = s.phone) ELSE (SELECT m.id "
        f"FROM members m WHERE m.email = s.email) END WHERE {OPEN}",
        _unknown("card_number", "cards", "number", "card", optional=True),
        _reject("s.member_id IS NULL AND s.card_number IS NOT NULL", "card_number",
                "'card ' || s.card_number || ' belongs to no member'"),
        _reject("s.member_id IS NULL AND s.phone IS NOT NULL", "phone",
                "'no member has this phone'"),
        _reject("s.member_id IS NULL", "email", "'no member has this e-mail'"),
        _reject("s.status = 'new' AND EXISTS (SELECT 1 FROM web_orders o "
                "WHERE o.store_code = s.store_code AND o.external_number = s.number)",
                "number", "'order ' || s.number || ' of store ' || s.store_code "
                "|| ' exists already'"),
        _reject("EXISTS (SELECT 1 FROM import_stage o WHERE o.store_code = s.store_code AND "
                "o.number = s.number AND o.source_id <> s.source_id AND o.rn < s.rn)", "number",
                "'order number ' || s.number || ' is another order''s in the file'"),
        _reject("s.points_spent > (SELECT sum(o.amount) FROM import_stage o "
                "WHERE o.source_id = s.source_id)", "points_spent",
                "'more than the order''s amount'"),
        _whole("order_id", "order"),
    ],
}
