"""Removing an import batch as a whole, in one transaction, or refusing with the reason.

What the batch created is deleted (members, cards, lots and their ledger entries, receipts,
certificates and their import entries, directory rows); rows it only updated, and rows that
existed before any import ("existed"), are kept. Refused when its points were spent since,
its balances were used, or something booked since refers to its rows.
"""

from __future__ import annotations

import uuid

import asyncpg


class RollbackRefused(Exception):
    """The batch cannot be removed; nothing was changed."""


_CREATED = ("SELECT target FROM import_records WHERE batch_id = $1 AND kind = $2 "
            "AND NOT 'existed' = ANY(flags)")

_DELETE: dict[str, list[str]] = {
    "networks": [f"DELETE FROM store_networks WHERE code IN ({_CREATED})"],
    "stores": [f"DELETE FROM stores WHERE code IN ({_CREATED})"],
    "card-types": [f"DELETE FROM card_types WHERE code IN ({_CREATED})"],
    "product-groups": [f"DELETE FROM product_groups WHERE code IN ({_CREATED})"],
    "brands": [f"DELETE FROM brands WHERE code IN ({_CREATED})"],
    "suppliers": [f"DELETE FROM suppliers WHERE code IN ({_CREATED})"],
    "products": [f"DELETE FROM product_barcodes WHERE sku IN ({_CREATED})",
                 f"DELETE FROM products WHERE sku IN ({_CREATED})"],
    "members": [
        "DELETE FROM card_state_changes WHERE card_number IN (SELECT number FROM cards WHERE "
        f"member_id::text IN ({_CREATED}))",
        f"DELETE FROM cards WHERE member_id::text IN ({_CREATED})",
        f"DELETE FROM member_contact_changes WHERE member_id::text IN ({_CREATED})",
        f"DELETE FROM members WHERE id::text IN ({_CREATED})"],
    "sales": [f"DELETE FROM receipt_details WHERE receipt_id::text IN ({_CREATED})",
              f"DELETE FROM receipts WHERE id::text IN ({_CREATED})"],
    # the addresses the batch created go with its orders, unless an order since uses them
    "orders": [
        "WITH o AS (SELECT o.id, o.address_id, (h.detail->>'address_created')::boolean AS made "
        "FROM web_orders o JOIN web_order_history h ON h.order_id = o.id AND h.version = 1 "
        f"WHERE o.id::text IN ({_CREATED})), "
        "l AS (DELETE FROM web_order_lines WHERE order_id IN (SELECT id FROM o)), "
        "h AS (DELETE FROM web_order_history WHERE order_id IN (SELECT id FROM o)), "
        "w AS (DELETE FROM web_orders WHERE id IN (SELECT id FROM o)) "
        "DELETE FROM member_addresses a WHERE a.id IN (SELECT address_id FROM o WHERE made) "
        "AND NOT EXISTS (SELECT 1 FROM web_orders x WHERE x.address_id = a.id "
        "AND x.id NOT IN (SELECT id FROM o))"],
    "certificates": [
        "DELETE FROM certificate_entries WHERE note = 'import:' || $1::uuid::text",
        f"DELETE FROM certificates WHERE number IN ({_CREATED})"],
}

# Ledger kinds: the batch's transaction is taken out of the balances, then removed.
_UNBOOK = [
    "UPDATE ledger_accounts a SET balance = a.balance - e.total FROM (SELECT account_id, "
    "sum(amount) AS total FROM ledger_entries WHERE tx_id = $1 GROUP BY 1) e "
    "WHERE a.id = e.account_id",
    "DELETE FROM lot_movements WHERE tx_id = $1",
    "DELETE FROM point_lots WHERE tx_id = $1",
    "DELETE FROM ledger_entries WHERE tx_id = $1",
]


async def rollback(conn: asyncpg.Connection, batch: uuid.UUID) -> dict[str, int]:
    """Remove `batch`; the counts of what was removed and kept. RollbackRefused if not."""
    from server.db.audit.repo import Change, record_on

    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT kind, state, ledger_tx FROM import_batches WHERE id = $1 FOR UPDATE", batch)
        if row is None:
            raise RollbackRefused(f"no import batch {batch}")
        if row["state"] == "rolled_back":
            raise RollbackRefused(f"batch {batch} was rolled back already")
        kind, tx = row["kind"], row["ledger_tx"]
        if tx is not None:
            spent = await conn.fetchval(
                "SELECT count(DISTINCT l.id) FROM point_lots l JOIN lot_movements m ON "
                "m.lot_id = l.id WHERE l.tx_id = $1 AND m.tx_id <> $1", tx)
            if spent:
                raise RollbackRefused(
                    f"points of batch {batch} were spent or expired since ({spent} lots): "
                    "removing them would take points the members no longer have")
            short = await conn.fetchval(
                "SELECT count(*) FROM ledger_accounts a JOIN (SELECT account_id, sum(amount) AS t "
                "FROM ledger_entries WHERE tx_id = $1 GROUP BY 1) e ON e.account_id = a.id "
                "WHERE a.balance < e.t", tx)
            if short:
                raise RollbackRefused(
                    f"balances of batch {batch} were used since ({short} accounts hold less "
                    "than the batch booked)")
        if kind == "certificates":
            used = await conn.fetchval(
                "SELECT count(*) FROM certificate_entries e JOIN certificates c ON c.id = "
                "e.certificate_id JOIN import_records r ON r.kind = 'certificates' AND r.target "
                "= c.number AND r.batch_id = $1 WHERE e.note IS DISTINCT FROM 'import:' || $2",
                batch, str(batch))
            if used:
                raise RollbackRefused(f"certificates of batch {batch} were used since "
                                      f"({used} entries)")
            await conn.execute("SELECT set_config('kopilka.rollback_batch', $1, true)", str(batch))
        if kind == "orders":
            changed = await conn.fetchval(
                "SELECT count(DISTINCT h.order_id) FROM web_order_history h JOIN import_records "
                "r ON r.kind = 'orders' AND r.target = h.order_id::text AND r.batch_id = $1 "
                "WHERE h.version > 1", batch)
            if changed:
                raise RollbackRefused(f"orders of batch {batch} were changed since ({changed} "
                                      "orders): removing them would lose what was done")
        try:
            async with conn.transaction():  # a savepoint: the refusal leaves nothing
                if tx is not None:
                    for sql in _UNBOOK:
                        await conn.execute(sql, tx)
                for sql in _DELETE.get(kind, []):
                    await conn.execute(sql, *((batch, kind) if "$2" in sql else (batch,)))
                if tx is not None:
                    await conn.execute("DELETE FROM ledger_transactions WHERE id = $1", tx)
        except asyncpg.ForeignKeyViolationError as exc:
            raise RollbackRefused(
                f"rows of batch {batch} are referred to by what was recorded since "
                f"({exc.table_name}: {exc.constraint_name}); roll that back first") from None
        removed = int(await conn.fetchval(
            "SELECT count(*) FROM import_records WHERE batch_id = $1", batch))
        kept = int(await conn.fetchval(
            "SELECT count(*) FROM import_records WHERE updated_batch = $1 AND batch_id <> $1",
            batch))
        await conn.execute("DELETE FROM import_records WHERE batch_id = $1", batch)
        await conn.execute("UPDATE import_batches SET state = 'rolled_back', finished_at = now() "
                           "WHERE id = $1", batch)
        counts = {"removed": removed, "kept_updates": kept}
        await record_on(conn, Change("import_batch", str(batch), "rollback", after=counts))
    return counts
