"""An import run's storage: the staging table (COPY), the checks, chunked apply, batches.

One asyncpg connection per run holds the TEMP staging table. Rows reach it by COPY in
chunks (memory stays flat), are checked set-based, and are written into the real tables
chunk by chunk, each chunk one transaction together with the batch's checkpoint, so an
interrupted run resumes where it stopped and never leaves a chunk half-written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

import asyncpg

from server.db.imports import apply as a
from server.db.imports import checks as c
from server.db.imports import parse as p
from server.db.imports.binding import bind
from server.imports.kinds import Kind
from server.imports.model import Reject, Totals
from server.pricing.model import ReceiptLine
from server.pricing.whatif import PastReceipt

META = (("rn", "bigint"), ("grp", "bigint"), ("file", "text"), ("source_id", "text"),
        ("hash", "bytea"), ("flags", "text[]"), ("reject_field", "text"),
        ("reject_reason", "text"), ("status", "text"), ("target", "text"))
STAGED = tuple(name for name, _ in META[:8])  # what COPY fills
PAGE = 5000
# a refused row keeps the reason of a field its parser checks before the phone (e-mail)
_BEFORE = {"pending_phone": ("(encoding)", "(columns)", "id", "order_id", "card_number"),
           "pending_email": ("(encoding)", "(columns)", "id", "order_id", "card_number",
                             "phone")}
# Python's answer for a value SQL left pending: (value, None) or (None, reason)
Decide = Callable[[str, str], "tuple[str | None, str | None]"]


class ImportStore:
    """The database side of one import run (see the module docstring)."""

    def __init__(self, conn: asyncpg.Connection, kind: Kind, source: str) -> None:
        self.conn = conn
        self.kind = kind
        self.source = source
        self._grouped = False  # lines (sales, orders) of one file: grouped and hashed as staged
        self._replica: bool | None = None  # whether the role may skip RI triggers

    async def _run(self, sql: str, **values: Any) -> str:
        text, args = bind(sql, {"kind": self.kind.name, "source": self.source, **values})
        return str(await self.conn.execute(text, *args))

    async def create_stage(self) -> None:
        pending = p.SPECS[self.kind.name].pending if self.parses_csv() else {}
        columns = ", ".join(f'"{n}" {t}' for n, t in (
            *META, *self.kind.columns, *((name, "text") for name in pending)))
        # TEMP tables live in the session's local buffers (8 MB by default): more of them
        # keeps a large stage off the disk. Settable only before the session's first TEMP
        # table, so a later run on the same connection keeps what it had.
        with contextlib.suppress(asyncpg.PostgresError):
            await self.conn.execute("SET temp_buffers = '256MB'")
        # sorts and hashes over the whole stage (receipts' windows, the checks' GROUP BYs)
        # stay in memory instead of spilling at the default 4 MB; bounded per operation
        await self.conn.execute("SET work_mem = '64MB'")
        await self.conn.execute("DROP TABLE IF EXISTS import_stage")
        await self.conn.execute(f"CREATE TEMP TABLE import_stage ({columns})")
        await self.conn.execute("ALTER TABLE import_stage ALTER COLUMN status SET DEFAULT 'new'")

    def parses_csv(self) -> bool:
        """Whether the kind's CSV rows are parsed and checked in SQL (parse.py)."""
        return self.kind.name in p.SPECS

    async def stage_csv(self, index: int, file: str, header: list[str], delimiter: str,
                        blocks: Iterator[bytes], encoding_problem: Callable[[], str | None],
                        fallback: Callable[[], Iterable[tuple[int, tuple[str, str] | None,
                                                               list[str | None]]]],
                        now: dt.datetime, stride: int, only_file: bool = False) -> int:
        """Stage one CSV file: its UTF-8 bytes straight into COPY (FORMAT csv, HEADER) into a
        TEMP table of text columns, then parsed and checked by one INSERT ... SELECT. A file
        COPY cannot read (a row with the wrong number of values, a blank line) is read by
        Python instead, row by row, so each bad row is reported. The rows staged."""
        await self.conn.execute("DROP TABLE IF EXISTS import_raw")
        await self.conn.execute("DROP SEQUENCE IF EXISTS import_raw_rn")
        await self.conn.execute(
            f"CREATE TEMP SEQUENCE import_raw_rn START {index * stride + 2}")
        await self.conn.execute(p.raw_table(len(header)))
        columns = [f"c{i}" for i in range(len(header))]

        async def stream() -> AsyncIterator[bytes]:
            for block in blocks:
                yield block

        try:
            async with self.conn.transaction():  # a savepoint: a failed COPY leaves nothing
                await self.conn.copy_to_table(
                    "import_raw", source=stream(), columns=columns, format="csv",
                    header=True, delimiter=delimiter, quote='"')
        except (asyncpg.DataError, asyncpg.exceptions.BadCopyFileFormatError,
                asyncpg.exceptions.CharacterNotInRepertoireError):
            await self.conn.copy_records_to_table(
                "import_raw", columns=["rn", "problem_field", "problem", *columns],
                records=((index * stride + number, *(problem or (None, None)), *values)
                         for number, problem, values in fallback()))
        grouped = self.kind.lines and only_file
        self._grouped = grouped
        text, args = bind(p.stage_insert(self.kind.name, header, encoding_problem(), grouped),
                          {"file": file, "now": now, "today": now.date()})
        status = await self.conn.execute(text, *args)
        await self.conn.execute("DROP TABLE import_raw")
        return int(status.split()[-1])

    async def resolve_pending(self, decide: Decide) -> None:
        """Values SQL left to Python (parse.py): decided page by page, by row number."""
        pending = p.SPECS[self.kind.name].pending if self.parses_csv() else {}
        staged = [name for name, _ in self.kind.columns]
        for column in pending:
            target = column.removeprefix("pending_")
            before = list(_BEFORE[column])
            last = 0
            while True:
                rows = await self.conn.fetch(
                    f"SELECT rn, {column} AS raw FROM import_stage WHERE {column} IS NOT NULL "
                    f"AND rn > $1 ORDER BY rn LIMIT {PAGE}", last)
                if not rows:
                    break
                answers = [(int(r["rn"]), *decide(target, r["raw"])) for r in rows]
                good = [(rn, v) for rn, v, why in answers if why is None]
                bad = [(rn, why) for rn, _, why in answers if why is not None]
                await self.conn.execute(
                    f"UPDATE import_stage s SET {target} = g.v FROM unnest($1::bigint[], "
                    "$2::text[]) AS g(rn, v) WHERE s.rn = g.rn AND s.reject_reason IS NULL",
                    [rn for rn, _ in good], [v for _, v in good])
                nulls = ", ".join(f'"{name}" = NULL' for name in staged)
                await self.conn.execute(
                    f"UPDATE import_stage s SET reject_field = $3, reject_reason = b.why, "
                    f"flags = '{{}}', {nulls} FROM unnest($1::bigint[], $2::text[]) AS "
                    "b(rn, why) WHERE s.rn = b.rn AND (s.reject_field IS NULL OR NOT "
                    "s.reject_field = ANY($4::text[]))",
                    [rn for rn, _ in bad], [why for _, why in bad], target, before)
                last = int(rows[-1]["rn"])

    async def copy(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """COPY one chunk of staged rows (META's first eight columns, then the kind's)."""
        await self.conn.copy_records_to_table(
            "import_stage", records=rows,
            columns=[*STAGED, *(name for name, _ in self.kind.columns)])

    async def check(self) -> None:
        """Index, analyse and run the set-based checks of the kind."""
        await self.conn.execute("CREATE INDEX ON import_stage (source_id)")
        await self.conn.execute("CREATE INDEX ON import_stage (grp)")
        if self.kind.member_key is not None:  # per_member's keyset pages: no scan per page
            await self.conn.execute(f"CREATE INDEX ON import_stage ({self.kind.member_key})")
        await self.conn.execute("ANALYZE import_stage")
        statements = c.lines_common(self.kind.name) if self.kind.lines else c.COMMON
        if self._grouped:
            statements = statements[1:]  # grouped and hashed when staged (parse.stage_insert)
        once = self.kind.ledger or self.kind.refuse_changed
        for sql in statements + ([c.LEDGER_CHANGED] if once else []) \
                + c.CHECKS[self.kind.name]:
            await self._run(sql)

    async def first_bad(self) -> int | None:
        """The group (row) of the first refused row, or None."""
        value = await self.conn.fetchval(
            "SELECT min(grp) FROM import_stage WHERE reject_reason IS NOT NULL")
        return None if value is None else int(value)

    async def rejects(self, limit: int | None = None) -> AsyncIterator[Reject]:
        """The refused rows in file order, read in keyset pages."""
        last, given = 0, 0
        while True:
            rows = await self.conn.fetch(
                "SELECT rn, file, source_id, reject_field, reject_reason FROM import_stage "
                "WHERE reject_reason IS NOT NULL AND rn > $1 ORDER BY rn LIMIT 5000", last)
            if not rows:
                return
            for row in rows:
                yield Reject(row["file"], int(row["rn"]) % 10**12, row["source_id"] or "",
                             row["reject_field"], row["reject_reason"])
                given += 1
                if limit is not None and given >= limit:
                    return
            last = int(rows[-1]["rn"])

    def _sum(self) -> str:
        return f"coalesce(sum(s.{self.kind.amount}), 0)" if self.kind.amount else "0"

    async def totals_by(self, wheres: list[str], **values: Any) -> list[Totals]:
        """`totals` of each condition, all from one scan of the stage."""
        count = "count(DISTINCT s.source_id)" if self.kind.lines else "count(*)"
        amount = f"s.{self.kind.amount}" if self.kind.amount else "0"
        columns = ", ".join(f"{count} FILTER (WHERE {w}), coalesce(sum({amount}) FILTER "
                            f"(WHERE {w}), 0)" for w in wheres)
        text, args = bind(f"SELECT {columns} FROM import_stage s", values)
        row = await self.conn.fetchrow(text, *args)
        assert row is not None
        return [Totals(int(row[2 * i]), int(row[2 * i + 1])) for i in range(len(wheres))]

    async def totals(self, where: str, **values: Any) -> Totals:
        count = "count(DISTINCT s.source_id)" if self.kind.lines else "count(*)"
        text, args = bind(f"SELECT {count}, {self._sum()} FROM import_stage s WHERE {where}",
                          values)
        row = await self.conn.fetchrow(text, *args)
        assert row is not None
        return Totals(int(row[0]), int(row[1]))

    async def per_member(self, hi: int, batch: uuid.UUID | None
                         ) -> AsyncIterator[tuple[str, int, int, int | None]]:
        """(card number, source amount, amount to import, amount the tables hold from the
        batch, None before one ran) per member in card order, read in keyset pages of the
        stage with the tables' sums for just that page: nothing is held per member."""
        key = self.kind.member_key
        if key is None:
            return
        amount = f"s.{self.kind.amount}" if self.kind.amount else "1"
        good = a.GOOD.replace(":lo", "0").replace(":hi", str(hi))
        held = IMPORTED_PER_MEMBER.get(self.kind.name) if batch is not None else None
        if held is not None:
            # what the tables hold from the batch per card, read once into a TEMP table
            # (a page of cards looked up there): joining the whole batch again for every
            # page was most of a large run (1M sales lines: 316 s of 459)
            await self.conn.execute("DROP TABLE IF EXISTS import_held")
            await self.conn.execute("CREATE TEMP TABLE import_held (k text, v numeric)")
            await self.conn.execute(f"INSERT INTO import_held {held}", batch)
            await self.conn.execute("CREATE INDEX ON import_held (k)")
            await self.conn.execute("ANALYZE import_held")
        last = ""
        while True:
            rows = await self.conn.fetch(
                f"SELECT s.{key} AS k, sum({amount}) AS src, coalesce(sum({amount}) "
                f"FILTER (WHERE {good}), 0) AS imp FROM import_stage s WHERE s.{key} > $1 "
                "GROUP BY 1 ORDER BY 1 LIMIT 5000", last)
            if not rows:
                return
            got: dict[str, int] = {}
            if held is not None:
                got = {r[0]: int(r[1]) for r in await self.conn.fetch(
                    "SELECT k, v FROM import_held WHERE k = ANY($1::text[])",
                    [row["k"] for row in rows])}
            for row in rows:
                yield (row["k"], int(row["src"]), int(row["imp"]),
                       got.get(row["k"], 0) if held is not None else None)
            last = rows[-1]["k"]

    async def staged_receipts(self, hi: int, page: int = 1000
                              ) -> AsyncIterator[list[PastReceipt]]:
        """The staged sales a run would import, a page of whole receipts at a time (keyset
        on the receipt's group), as the what-if prices them: lines at what was paid for them
        (the source has no shelf price), the card's type when the card is known already."""
        good = a.GOOD.replace(":lo", "$1").replace(":hi", "$2")
        after = 0
        while True:
            rows = await self.conn.fetch(
                "WITH g AS (SELECT DISTINCT s.grp FROM import_stage s WHERE " + good
                + " ORDER BY s.grp LIMIT $3) "
                "SELECT s.grp, s.store_code, s.sold_at, c.card_type, s.line_no, s.sku, "
                "s.quantity_milli, s.amount FROM import_stage s JOIN g ON g.grp = s.grp "
                "LEFT JOIN cards c ON c.number = s.card_number WHERE " + good
                + " ORDER BY s.grp, s.line_no", after + 1, hi, page)
            if not rows:
                return
            yield list(_receipts(rows))
            after = rows[-1]["grp"]

    async def chunks(self, after: int, hi: int, size: int) -> AsyncIterator[tuple[int, int]]:
        """(lo, hi) group ranges of about `size` rows to apply, after the checkpoint."""
        lo = after
        while True:
            top = await self.conn.fetchval(
                "SELECT max(grp) FROM (SELECT grp FROM import_stage WHERE grp > $1 AND grp <= $2 "
                "ORDER BY grp LIMIT $3) x", lo, hi, size)
            if top is None:
                return
            yield lo + 1, int(top)
            lo = int(top)

    async def apply_chunk(self, batch: uuid.UUID, lo: int, hi: int, tx: uuid.UUID | None,
                          now: dt.datetime, principal: str) -> int:
        """Write one chunk and move the checkpoint, in one transaction; rows written."""
        values = {"lo": lo, "hi": hi, "batch": batch, "batch_text": str(batch), "tx": tx,
                  "now": now, "principal": principal}
        async with self.conn.transaction():
            if await self._without_ri_triggers():
                for sql in a.REFERENCES[self.kind.name]:
                    await self._run(sql, lo=lo, hi=hi)
            for sql in a.APPLY[self.kind.name] + ([] if self.kind.lines
                                                  else [a.records(self.kind.name)]):
                needed = {k: v for k, v in values.items() if f":{k}" in sql}
                await self._run(sql, **needed)
            written = await self.conn.fetchval(
                "SELECT count(*) FROM import_stage s WHERE " + a.GOOD.replace(":lo", "$1")
                .replace(":hi", "$2"), lo, hi)
            await self.conn.execute(
                "UPDATE import_batches SET checkpoint_row = $2, counts = jsonb_set(counts, "
                "'{written}', to_jsonb(coalesce((counts->>'written')::bigint, 0) + $3)) "
                "WHERE id = $1", batch, hi, written)
        return int(written)

    async def _without_ri_triggers(self) -> bool:
        """In the chunk's transaction: set `session_replication_role = replica` (for this
        transaction only) when the kind locks its references itself (apply.REFERENCES) and
        the role may set it; the foreign keys' per-row triggers then do not run, which was
        most of the cost of writing cards, lots, entries and receipts."""
        if self.kind.name not in a.REFERENCES or self._replica is False:
            return False
        try:
            async with self.conn.transaction():  # a savepoint: a refusal leaves the chunk's
                await self.conn.execute("SET LOCAL session_replication_role = replica")
        except asyncpg.InsufficientPrivilegeError:
            self._replica = False
            return False
        self._replica = True
        return True


async def resumable_batch(conn: asyncpg.Connection, kind: str, source: str,
                          files_hash: bytes) -> asyncpg.Record | None:
    """An earlier run of these very files that did not finish: its id, checkpoint, tx."""
    return await conn.fetchrow(
        "SELECT id, checkpoint_row, ledger_tx FROM import_batches WHERE kind = $1 AND source = $2 "
        "AND files_hash = $3 AND state IN ('running', 'failed') ORDER BY started_at DESC LIMIT 1",
        kind, source, files_hash)


async def start_batch(conn: asyncpg.Connection, batch: uuid.UUID, kind: str, source: str,
                      policy: str, files: list[str], files_hash: bytes, principal: str,
                      ledger: bool) -> uuid.UUID | None:
    """The batch row (and, for money and points, its one ledger transaction, reason
    "import"); the transaction id."""
    tx = uuid.uuid4() if ledger else None
    async with conn.transaction():
        if tx is not None:
            await conn.execute(
                "INSERT INTO ledger_transactions (id, kind, reason, principal) "
                "VALUES ($1, 'import', 'import', $2)", tx, principal[:128])
        await conn.execute(
            "INSERT INTO import_batches (id, kind, source, policy, state, files, files_hash, "
            "ledger_tx, principal) VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8)",
            batch, kind, source, policy, files, files_hash, tx, principal[:128])
    return tx


async def finish_batch(conn: asyncpg.Connection, batch: uuid.UUID, state: str,
                       counts: dict[str, Any]) -> None:
    """Close the batch with its counts, audited (who imported what) in the same transaction."""
    from server.db.audit.repo import Change, record_on

    async with conn.transaction():
        row = await conn.fetchrow(
            "UPDATE import_batches SET state = $2, counts = counts || $3::jsonb, finished_at = "
            "now() WHERE id = $1 RETURNING kind, source, counts", batch, state,
            json.dumps(counts))
        assert row is not None
        await record_on(conn, Change("import_batch", str(batch), "import", after={
            "kind": row["kind"], "source": row["source"], "state": state,
            "counts": json.loads(row["counts"])}))


async def imported_totals(conn: asyncpg.Connection, kind: Kind, batch: uuid.UUID) -> Totals:
    """What the tables hold from this batch, read back from them (not from the stage)."""
    queries = {
        "points": "SELECT count(*), coalesce(sum(l.points_initial), 0) FROM point_lots l "
                  "JOIN import_batches b ON b.ledger_tx = l.tx_id WHERE b.id = $1",
        "cash-accounts": "SELECT count(*), coalesce(sum(e.amount), 0) FROM ledger_entries e "
                         "JOIN import_batches b ON b.ledger_tx = e.tx_id WHERE b.id = $1",
        "certificates": "SELECT count(*), coalesce(sum(c.balance_minor), 0) FROM certificates c "
                        "JOIN import_records r ON r.kind = 'certificates' AND r.target = c.number "
                        "WHERE r.batch_id = $1 OR r.updated_batch = $1",
        "sales": "SELECT count(*), coalesce(sum(x.total_minor), 0) FROM receipts x "
                 "JOIN import_records r ON r.kind = 'sales' AND r.target = x.id::text "
                 "WHERE r.batch_id = $1",
        "orders": "SELECT count(DISTINCT o.id), coalesce(sum(l.base_amount - l.discount_amount), "
                  "0) FROM web_orders o JOIN import_records r ON r.kind = 'orders' AND r.target "
                  "= o.id::text JOIN web_order_lines l ON l.order_id = o.id "
                  "WHERE r.batch_id = $1",
    }
    sql = queries.get(kind.name, "SELECT count(*), 0 FROM import_records r WHERE "
                                 "r.kind = $2 AND (r.batch_id = $1 OR r.updated_batch = $1)")
    args: list[Any] = [batch] + ([kind.name] if "$2" in sql else [])
    row = await conn.fetchrow(sql, *args)
    assert row is not None
    return Totals(int(row[0]), int(row[1]))


# Per card number, what the tables hold from the batch ($1).
IMPORTED_PER_MEMBER = {
    "points": "SELECT c.number, sum(l.points_initial) FROM point_lots l JOIN import_batches b "
              "ON b.ledger_tx = l.tx_id JOIN cards c ON c.member_id = l.member_id "
              "WHERE b.id = $1 GROUP BY 1",
    "cash-accounts": "SELECT c.number, sum(e.amount) FROM ledger_entries e JOIN import_batches"
                     " b ON b.ledger_tx = e.tx_id JOIN ledger_accounts a ON a.id = "
                     "e.account_id JOIN cards c ON c.member_id = a.member_id WHERE b.id = $1 "
                     "GROUP BY 1",
    # a sales batch's records are all receipts: their targets are receipt ids
    "sales": "SELECT x.card_number, sum(x.total_minor) FROM import_records r JOIN receipts x "
             "ON x.id = r.target::uuid WHERE r.batch_id = $1 AND r.kind = 'sales' "
             "AND x.card_number IS NOT NULL GROUP BY 1",
}


class Batches:
    """import_batches over the run's connection (the service's BatchStore)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def resumable(self, kind: str, source: str, files_hash: bytes
                        ) -> tuple[uuid.UUID, int, uuid.UUID | None] | None:
        row = await resumable_batch(self.conn, kind, source, files_hash)
        return None if row is None else (row["id"], int(row["checkpoint_row"]), row["ledger_tx"])

    async def start(self, batch: uuid.UUID, kind: str, source: str, policy: str,
                    files: list[str], files_hash: bytes, principal: str,
                    ledger: bool) -> uuid.UUID | None:
        return await start_batch(self.conn, batch, kind, source, policy, files, files_hash,
                                 principal, ledger)

    async def finish(self, batch: uuid.UUID, state: str, counts: dict[str, Any]) -> None:
        await finish_batch(self.conn, batch, state, counts)

    async def imported(self, kind: Kind, batch: uuid.UUID) -> Totals:
        return await imported_totals(self.conn, kind, batch)


def _receipts(rows: list[asyncpg.Record]) -> Iterator[PastReceipt]:
    """Receipts from a page of staged sales lines (ordered by group, then line)."""
    lines: list[ReceiptLine] = []
    for i, row in enumerate(rows):
        quantity, amount = int(row["quantity_milli"]), int(row["amount"])
        # the unit price nearest to what the line was paid (the source has no shelf price)
        lines.append(ReceiptLine(int(row["line_no"]), str(row["sku"]), quantity,
                                 (amount * 1000 + quantity // 2) // quantity))
        if i + 1 == len(rows) or rows[i + 1]["grp"] != row["grp"]:
            yield PastReceipt(str(row["grp"]), str(row["store_code"]), row["sold_at"],
                              row["card_type"], tuple(lines), 0, 0)
            lines = []
