"""Past online-store orders (`kopilka import orders`, ImportService) into real PostgreSQL:
history mode (no event, notification, points or accrual), the customer by card, phone or
e-mail, rejects per row, idempotent re-runs, the reconciliation, rollback by batch."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import asyncpg
from kopilka.v1 import imports_pb2 as I

from server.members.cards import card_number
from tests.cli import kopilka
from tests.e2e.test_import_rpc import settings
from tests.e2e.test_imports import batch_of, directories, fetch, write

__all__ = ["settings"]  # the RPC tests' settings: an import folder of the test's own

OUR_CARD = card_number("2100", 7)
HEADER = ("order_id,number,store_code,card_number,phone,email,state,created_at,delivery_kind,"
          "pickup_store_code,city,street,nova_poshta_branch,recipient_name,recipient_phone,"
          "points_spent,line_no,sku,quantity_milli,unit_price_minor,amount_minor,discount_minor")


async def customers(database_url: str, tmp_path: Path) -> None:
    await directories(database_url, tmp_path)
    code, _, err = await kopilka(database_url, "import", "members", str(write(
        tmp_path / "members.csv", "id,card_number,card_type,phone,email,first_name",
        f"g1,{OUR_CARD},std,067 123 45 67,,Олена", "g2,,,,shop@example.com,Іван")),
        "--source", "site")
    assert code == 0, err


def orders_file(tmp_path: Path, *extra: str) -> Path:
    addr = "Львів,Городоцька 1,12,Олена П,+380671234567"
    return write(
        tmp_path / "orders.csv", HEADER,
        # by card; Nova Poshta; 101 points over two lines (largest remainder: 76 + 25)
        f"o1,W-1,lviv-1,{OUR_CARD},,,completed,2025-02-01 10:00,nova_poshta,,{addr},101,1,"
        "MILK,2000,4500,9000,0",
        f"o1,W-1,lviv-1,{OUR_CARD},,,completed,2025-02-01 10:00,nova_poshta,,{addr},101,2,"
        "BREAD,1000,3500,3000,500",
        # the same member by phone (another notation); picked up at another store
        "o2,W-2,kyiv-1,,+38 (067) 123-45-67,,cancelled,2025-02-03,pickup,lviv-1,,,,,,0,1,"
        "MILK,1000,4500,4500,",
        # by e-mail; a courier to the same address as o1's but another member: its own
        "o3,W-3,lviv-1,,,Shop@Example.com,returned,2025-02-04 12:30,courier,,"
        f"{addr},,1,JUICE,1000,6000,6000,",
        "o4,W-4,lviv-1,2999999999999,,,completed,2025-02-05,pickup,,,,,,,0,1,MILK,1000,1,1,",
        "o5,W-5,lviv-1,,0501112233,,completed,2025-02-05,pickup,,,,,,,0,1,MILK,1000,1,1,",
        # one bad line (no quantity) refuses the whole order
        "o6,W-6,lviv-1,,,shop@example.com,completed,2025-02-06,pickup,,,,,,,0,1,MILK,1000,1,1,",
        "o6,W-6,lviv-1,,,shop@example.com,completed,2025-02-06,pickup,,,,,,,0,2,MILK,,1,1,",
        "o7,W-7,lviv-1,,,shop@example.com,completed,2025-02-06,pickup,,,,,,,500,1,MILK,1000,"
        "100,100,",
        "o8,W-8,lviv-1,,,shop@example.com,completed,2999-01-01,pickup,,,,,,,0,1,MILK,1000,1,1,",
        "o9,W-9,nowhere,,,shop@example.com,lost,2025-02-06,pickup,,,,,,,0,1,MILK,1000,1,1,",
        *extra)


async def test_orders_history_mode_rejects_rerun_and_rollback(database_url: str,
                                                              tmp_path: Path) -> None:
    await customers(database_url, tmp_path)
    path, rejects = orders_file(tmp_path), tmp_path / "rejects.csv"
    code, _, err = await kopilka(database_url, "import", "orders", str(path), "--source", "site",
                                 "--dry-run", "--on-error", "skip")
    assert code == 0 and "dry run, nothing written" in err, err
    assert re.search(r"to import\s+3 rows\s+22,500", err), err
    assert await fetch(database_url, "SELECT 1 FROM web_orders") == []
    code, _, err = await kopilka(database_url, "import", "orders", str(path), "--source", "site",
                                 "--on-error", "skip", "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        refused = [(r["row"], r["id"], r["field"], r["reason"]) for r in csv.DictReader(f)]
    assert [x[:3] for x in refused] == [
        ("6", "o4", "card_number"), ("7", "o5", "phone"), ("8", "o6", "order_id"),
        ("9", "o6", "quantity_milli"), ("10", "o7", "points_spent"), ("11", "o8", "created_at"),
        ("12", "o9", "state")]
    assert "unknown card 2999999999999" in refused[0][3]
    assert refused[1][3] == "no member has this phone"
    assert "another line of order o6 was refused (row 9)" in refused[2][3]
    assert refused[4][3] == "more than the order's amount"
    assert re.search(r"source\s+9 rows", err) and re.search(r"rejected\s+6 rows", err), err
    assert re.search(r"imported\s+3 rows\s+22,500", err), err
    batch = batch_of(err)

    orders = await fetch(
        database_url, "SELECT o.external_number, o.store_code, m.first_name, o.card_number, "
        "o.state, o.version, o.delivery_kind, o.pickup_store_code, o.points_spent, "
        "o.points_reserved, o.reserve_tx_id, o.created_at = o.updated_at, "
        "to_char(o.created_at AT TIME ZONE 'Europe/Kyiv', 'YYYY-MM-DD HH24:MI'), "
        "a.city, a.nova_poshta_branch FROM web_orders o JOIN members m ON m.id = o.member_id "
        "LEFT JOIN member_addresses a ON a.id = o.address_id ORDER BY 1")
    assert [tuple(r) for r in orders] == [
        ("W-1", "lviv-1", "Олена", OUR_CARD, "completed", 1, "nova_poshta", None, 101, 0, None,
         True, "2025-02-01 10:00", "Львів", "12"),
        ("W-2", "kyiv-1", "Олена", None, "cancelled", 1, "pickup", "lviv-1", 0, 0, None, True,
         "2025-02-03 00:00", None, None),
        ("W-3", "lviv-1", "Іван", None, "returned", 1, "courier", None, 0, 0, None, True,
         "2025-02-04 12:30", "Львів", "12")]
    lines = await fetch(
        database_url, "SELECT o.external_number, l.line_no, l.sku, l.quantity_milli, "
        "l.unit_price, l.base_amount, l.discount_amount, l.points_paid, l.final_amount, "
        "l.state, l.returned_milli FROM web_order_lines l JOIN web_orders o ON o.id = l.order_id "
        "ORDER BY 1, 2")
    assert [tuple(r) for r in lines] == [
        ("W-1", 1, "MILK", 2000, 4500, 9000, 0, 76, 8924, "confirmed", 0),
        ("W-1", 2, "BREAD", 1000, 3500, 3500, 500, 25, 2975, "confirmed", 0),
        ("W-2", 1, "MILK", 1000, 4500, 4500, 0, 0, 4500, "cancelled", 0),
        ("W-3", 1, "JUICE", 1000, 6000, 6000, 0, 0, 6000, "returned", 1000)]
    history = await fetch(database_url, "SELECT version, action, state, principal FROM "
                          "web_order_history ORDER BY state")
    assert [tuple(r) for r in history] == [(1, "import", "cancelled", "import:site"),
                                           (1, "import", "completed", "import:site"),
                                           (1, "import", "returned", "import:site")]
    # history mode: no event, no message, no points moved, no accrual
    for table in ("outbox", "mailings", "point_lots", "ledger_entries"):
        assert await fetch(database_url, f"SELECT 1 FROM {table}") == [], table
    assert len(await fetch(database_url, "SELECT 1 FROM member_addresses")) == 2

    # a re-run leaves the imported orders alone; a changed one is refused, nothing changes
    code, _, err = await kopilka(database_url, "import", "orders", str(path), "--source", "site",
                                 "--on-error", "skip")
    assert code == 0, err
    assert re.search(r"unchanged\s+3 rows", err) and re.search(r"imported\s+0 rows", err), err
    path.write_text(path.read_text(encoding="utf-8").replace("MILK,2000", "MILK,3000"),
                    encoding="utf-8")
    code, _, err = await kopilka(database_url, "import", "orders", str(path), "--source", "site",
                                 "--on-error", "skip", "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        assert "changed since it was imported" in next(iter(csv.DictReader(f)))["reason"]
    assert [r[0] for r in await fetch(database_url, "SELECT quantity_milli FROM web_order_lines "
                                      "WHERE sku = 'MILK' ORDER BY 1")] == [1000, 2000]
    # another source's order under a number the store has already: refused, not doubled
    code, _, err = await kopilka(database_url, "import", "orders", str(write(
        tmp_path / "again.csv", HEADER, f"x1,W-1,lviv-1,{OUR_CARD},,,completed,2025-02-01,"
        "pickup,,,,,,,0,1,MILK,1000,1,1,")), "--source", "1c")
    assert code == 1 and "order W-1 of store lviv-1 exists already" in err, err

    # rollback: the batch's orders, lines, history and the addresses it created go
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO web_order_history (order_id, version, principal, action, line_no, "
            "reason, state, detail) SELECT id, 2, 'op', 'cancel', 0, '', 'cancelled', '{}' "
            "FROM web_orders WHERE external_number = 'W-1'")
        code, _, err = await kopilka(database_url, "import", "rollback", batch)
        assert code == 1 and "were changed since (1 orders)" in err, err
        await conn.execute("DELETE FROM web_order_history WHERE version = 2")
    finally:
        await conn.close()
    code, _, err = await kopilka(database_url, "import", "rollback", batch)
    assert code == 0, err
    for table in ("web_orders", "web_order_lines", "web_order_history", "member_addresses"):
        assert await fetch(database_url, f"SELECT 1 FROM {table}") == [], table
    assert len(await fetch(database_url, "SELECT 1 FROM members")) == 2


async def test_an_address_the_member_has_is_reused_and_kept(database_url: str,
                                                            tmp_path: Path) -> None:
    await customers(database_url, tmp_path)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO member_addresses (id, member_id, city, street, postal_code, "
            "nova_poshta_branch, recipient_name, recipient_phone) SELECT gen_random_uuid(), "
            "member_id, 'Київ', 'Хрещатик 1', '', '', 'Олена', '' FROM cards WHERE number = $1",
            OUR_CARD)
    finally:
        await conn.close()
    path = write(tmp_path / "o.csv", "order_id,number,store_code,card_number,created_at,"
                 "delivery_kind,city,street,recipient_name,line_no,sku,quantity_milli,"
                 "unit_price_minor,amount_minor",
                 f"o1,W-1,lviv-1,{OUR_CARD},2025-02-01,courier,Київ,Хрещатик 1,Олена,1,MILK,"
                 "1000,100,100",
                 f"o2,W-2,lviv-1,{OUR_CARD},2025-02-02,courier,Київ,Хрещатик 2,Олена,1,MILK,"
                 "1000,100,100",
                 f"o3,W-3,lviv-1,{OUR_CARD},2025-02-03,courier,Київ,Хрещатик 2,Олена,1,MILK,"
                 "1000,100,100")
    code, _, err = await kopilka(database_url, "import", "orders", str(path))
    assert code == 0, err
    used = await fetch(database_url, "SELECT o.external_number, a.street FROM web_orders o "
                       "JOIN member_addresses a ON a.id = o.address_id ORDER BY 1")
    assert [tuple(r) for r in used] == [("W-1", "Хрещатик 1"), ("W-2", "Хрещатик 2"),
                                        ("W-3", "Хрещатик 2")]
    assert len(await fetch(database_url, "SELECT 1 FROM member_addresses")) == 2  # one new
    code, _, err = await kopilka(database_url, "import", "rollback", batch_of(err))
    assert code == 0, err
    assert [r[0] for r in await fetch(database_url, "SELECT street FROM member_addresses")] == [
        "Хрещатик 1"]


async def test_orders_through_import_service(app, admin, settings, database_url: str,
                                             tmp_path: Path) -> None:
    await customers(database_url, tmp_path)
    orders_file(settings.import_dir)
    messages = [m.progress async for m in admin.imports.RunImport(I.RunImportRequest(
        request_id="o1", options=I.ImportOptions(kind="orders", source="site",
                                                 on_error="skip"), path="orders.csv"))]
    last = messages[-1]
    # orders, not lines: 9 in the file, 3 imported, 6 refused
    assert last.done and (last.rows_read, last.rows_imported, last.rows_rejected) == (9, 3, 6)
    assert [(r.row, r.field) for r in last.rejects][:2] == [(6, "card_number"), (7, "phone")]
    assert len(await fetch(database_url, "SELECT 1 FROM web_orders")) == 3
    assert await fetch(database_url, "SELECT 1 FROM outbox") == []
