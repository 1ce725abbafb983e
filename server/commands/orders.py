"""`kopilka orders load-stock FILE.csv`: stock balances per store and SKU from a CSV file.

Columns (a header row names them, in any order): `store_code`, `sku`, and `quantity`
(pieces, a decimal such as 2.5) or `quantity_milli` (thousandths). Every row is checked
first; one transaction writes all of them (SetStock's own function), so a bad file writes
nothing. Balances are absolute: loading the same file twice changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from server.settings import Settings

SHOWN_PROBLEMS = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    root = sub.add_parser("orders", help="online-store orders: stock balances")
    cmds = root.add_subparsers(dest="orders_command", required=True)
    load = cmds.add_parser("load-stock", help="stock balances per store and SKU from a CSV")
    load.add_argument("csv_file", type=Path, metavar="FILE.csv")
    load.set_defaults(func=cmd_load_stock)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_stock_csv(text: str) -> tuple[list[tuple[str, str, int]], list[str]]:
    """(rows, problems): quantities as integer thousandths, never floats."""
    reader = csv.DictReader(text.splitlines())
    names = set(reader.fieldnames or ())
    if not {"store_code", "sku"} <= names or not names & {"quantity", "quantity_milli"}:
        return [], ["the header must name store_code, sku and quantity (or quantity_milli)"]
    rows, problems = [], []
    for n, raw in enumerate(reader, 2):
        store, sku = (raw.get("store_code") or "").strip(), (raw.get("sku") or "").strip()
        try:
            if raw.get("quantity_milli"):
                milli = int(raw["quantity_milli"])
            else:
                exact = Decimal((raw.get("quantity") or "").strip().replace(",", "."))
                if exact != exact.quantize(Decimal("0.001")):
                    raise InvalidOperation
                milli = int(exact * 1000)
        except (ValueError, InvalidOperation):
            problems.append(f"line {n}: quantity is not a number of pieces (up to 3 decimals)")
            continue
        if not store or not sku:
            problems.append(f"line {n}: store_code and sku are required")
            continue
        rows.append((store, sku, milli))
    return rows, problems


def cmd_load_stock(settings: Settings, args: argparse.Namespace) -> int:
    from server.cli import _run
    from server.runtime import prepare_database

    try:
        text = args.csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        _say(f"kopilka: cannot read {args.csv_file}: {exc}; give a UTF-8 CSV file")
        return 2
    rows, problems = parse_stock_csv(text)
    if problems:
        for line in problems[:SHOWN_PROBLEMS]:
            _say(f"kopilka: {line}")
        _say("kopilka: nothing was loaded")
        return 2
    url = _run(prepare_database(settings))
    return _run(load_stock(url, rows))


async def load_stock(url: str, rows: list[tuple[str, str, int]]) -> int:
    from server.audit.actor import acting, cli_actor
    from server.db.audit.repo import Change, record
    from server.db.database import Database
    from server.db.orders.stock import parse_balances, set_balances
    from server.errors import DomainError

    db = Database(url, pool_size=1)
    try:
        with acting(cli_actor()):
            async with db.transaction() as session:
                written = await set_balances(session, parse_balances(rows, "rows"), "rows")
                await record(session, Change("stock", "balances", "load_csv", None,
                                             {"count": written}))
    except DomainError as error:
        for v in error.violations[:SHOWN_PROBLEMS]:
            _say(f"kopilka: {v.field.replace('rows[', 'data row ').replace(']', '')}: "
                 f"{v.description}")
        _say("kopilka: nothing was loaded")
        return 2
    finally:
        await db.dispose()
    _say(f"kopilka: loaded {written} stock balances")
    return 0
