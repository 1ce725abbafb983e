"""Building and queueing a campaign vs a plain INSERT ... SELECT of the same rows.

    python benchmarks/bench_campaign.py [--members 20000] [--repeat 3] [--dispatch 1000]

On a fresh migrated database (KOPILKA_DATABASE_URL's server, or an embedded PostgreSQL):
N members with phones, SMS marketing consent and a gold card, a template with personal
fields in two languages and a dynamic list. Measured in the same run, each in its own
transaction rolled back afterwards (best of --repeat):

- campaign: server/db/marketing/campaigns.build, i.e. consent filter, language choice,
  rendering in SQL, SMS part counting, tariff lookup, send-time spacing, and the rows in
  mailings, outbox and marketing_messages;
- baseline: one INSERT ... SELECT chain writing the same three rows per member with a
  constant text (no consent, no rendering, no pricing).

Prints both times and the ratio baseline/campaign (target >= 0.3x). With --dispatch N, a
campaign to N of the members is then queued for real and sent through the outbox dispatcher
(with its send gate) and the SMPP plugin to the test SMSC (tests/smsc.py), without the send gate,
with it, and with it and the SMSC answering every 5th submit ESME_RTHROTTLED: messages per
second end to end. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from server.db.embedded import start_embedded_postgres  # noqa: E402
from server.db.marketing import campaigns  # noqa: E402
from server.db.marketing.repo import ListRow, TemplateRow  # noqa: E402
from server.db.migrate import migrate  # noqa: E402
from server.db.urls import with_database  # noqa: E402

SEED = """
INSERT INTO card_types (code, name, accrual_bps, number_prefix, requires_verification,
                        next_sequence) VALUES ('gold', 'Gold', 500, '2910', false, 1);
INSERT INTO members (id, first_name, last_name, middle_name, gender, marital_status, address,
                     social_ids, phone, registration_channel)
SELECT gen_random_uuid(), 'Name' || i, 'Last', '', '', '', '', '{}',
       '+38067' || lpad(i::text, 7, '0'), 'operator' FROM generate_series(1, $1) i;
INSERT INTO cards (number, card_type, member_id, state)
SELECT lpad(row_number() OVER ()::text, 13, '0'), 'gold', id, 'active' FROM members;
INSERT INTO member_consents (member_id, channel, purpose, granted, source, wording_version,
                             principal)
SELECT id, 'sms', 'marketing', true, 'bench', 'v1', 'bench' FROM members;
INSERT INTO member_preferences (member_id, language)
SELECT id, 'en' FROM members WHERE right(phone, 1) IN ('1', '2');
"""

BASELINE = """
WITH src AS MATERIALIZED (
  SELECT m.id AS member_id, m.phone AS recipient, gen_random_uuid() AS mailing_id
  FROM members m),
ml AS (INSERT INTO mailings (id, channel, recipient, body, reference, state, attempts)
       SELECT mailing_id, 'sms', recipient, 'Hello, a sale this week!', 'bench', 'queued', 0
       FROM src),
ob AS (INSERT INTO outbox (kind, mailing_id) SELECT 'message', mailing_id FROM src)
INSERT INTO marketing_messages (mailing_id, member_id, channel, purpose, parts,
                                part_price_minor)
SELECT mailing_id, member_id, 'sms', 'marketing', 1, 0 FROM src
"""


async def timed(conn: asyncpg.Connection, work) -> float:  # type: ignore[no-untyped-def]
    tx = conn.transaction()
    await tx.start()
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    await tx.rollback()
    return elapsed


async def measure_dispatch(conn: asyncpg.Connection, url: str, count: int, found: ListRow,
                           tpl: TemplateRow, keys: campaigns.LinkKeys) -> None:
    """Campaign messages per second through the dispatcher to a real SMPP peer."""
    from server.db.database import Database
    from server.db.marketing.gate import SqlSendGate
    from server.db.outbox.repo import SqlOutboxStore
    from server.marketing.pacing import Pacing
    from server.outbox.dispatcher import OutboxDispatcher
    from server.outbox.policy import RetryPolicy
    from server.plugin_host import PluginHost, build_plugin_manager
    from tests.smsc import Smsc

    subset = ListRow(uuid.uuid4(), "dispatch", "static", None)
    await conn.execute("INSERT INTO marketing_lists (id, name, kind) VALUES ($1, 'd', 'static')",
                       subset.id)
    await conn.execute("INSERT INTO marketing_list_members (list_id, member_id) SELECT $1, id "
                       "FROM members ORDER BY id LIMIT $2", subset.id, count)
    for throttle_every, gated in ((0, False), (0, True), (5, True)):
        await conn.execute("DELETE FROM marketing_messages; DELETE FROM outbox; "
                           "DELETE FROM mailing_parts; DELETE FROM mailings")
        cid = uuid.uuid4()
        await conn.execute("INSERT INTO campaigns (id, name, list_id, template_code, channel, "
                           "state, recipients, skipped, estimated_parts, "
                           "estimated_cost_minor) VALUES ($1, 'd', $2, 'bench', 'sms', "
                           "'running', 0, 0, 0, 0)", cid, subset.id)
        await campaigns.build(conn, cid, subset, tpl, "sms", "uk", keys,
                              dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), 1e9)
        smsc = Smsc()
        await smsc.start()
        if throttle_every:
            smsc.script.extend(0x58 if i % throttle_every == throttle_every - 1 else 0
                               for i in range(count * 2))
        sections = {"smpp": {"host": "127.0.0.1", "port": smsc.port, "system_id": "bench",
                             "password": "x", "source_addr": "Kopilka",
                             "throttle_backoff": 0.01, "throttle_backoff_max": 0.05,
                             "request_receipts": False}}
        host = PluginHost(build_plugin_manager(disabled={"email", "devsms"}, environ={},
                                               load_entry_points=False), sections)
        db = Database(url, pool_size=8)
        await host.start_channels()
        worker = OutboxDispatcher(SqlOutboxStore(db), host, RetryPolicy(), batch_size=50,
                                  gate=SqlSendGate(db, Pacing(dt.time(0), dt.time(0), 0))
                                  if gated else None)
        started = time.perf_counter()
        while len({s.destination_addr for s in smsc.submitted if s.status == 0}) < count:
            if not await worker.run_once():
                await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        throttled = sum(1 for s in smsc.submitted if s.status != 0)
        how = (f" (every {throttle_every}th submit throttled: {throttled:,})"
               if throttle_every else "") + ("" if gated else " without the send gate")
        print(f"dispatch {count:,} SMS to the SMSC{how}: {elapsed:6.2f} s, "
              f"{count / elapsed:,.0f} messages/s")
        await host.stop_channels()
        await smsc.stop()
        await db.dispose()


async def main(members: int, repeat: int, dispatch: int = 0) -> None:
    server = os.environ.get("KOPILKA_DATABASE_URL") or start_embedded_postgres(
        Path(tempfile.mkdtemp(prefix="kopilka-bench-pg-")))
    name = f"kopilka_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(with_database(server, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        await migrate(url)
        conn = await asyncpg.connect(url)
        for statement in SEED.strip().split(";\n"):
            await conn.execute(statement, members) if "$1" in statement \
                else await conn.execute(statement)
        await conn.execute("ANALYZE")
        found = ListRow(uuid.uuid4(), "bench", "dynamic", "card_type = 'gold'")
        tpl = TemplateRow("bench", "sms", "uk", {
            "uk": (None, "Привіт, {{ first_name }}! Картка {{ card_number }}: "
                         "{{ points_balance }} балів."),
            "en": (None, "Hi {{ first_name }}! Card {{ card_number }}: "
                         "{{ points_balance }} points.")})
        keys = campaigns.link_keys("https://shop.example", b"k" * 32)
        cid = uuid.uuid4()
        await conn.execute("INSERT INTO marketing_templates (code, channel, default_language) "
                           "VALUES ('bench', 'sms', 'uk')")
        await conn.execute("INSERT INTO marketing_lists (id, name, kind, segment) VALUES "
                           "($1, 'bench', 'dynamic', $2)", found.id, found.segment)
        await conn.execute("INSERT INTO campaigns (id, name, list_id, template_code, channel, "
                           "state, recipients, skipped, estimated_parts, "
                           "estimated_cost_minor) VALUES ($1, 'bench', $2, 'bench', 'sms', "
                           "'draft', 0, 0, 0, 0)", cid, found.id)
        now = dt.datetime.now(dt.UTC)
        best_campaign = best_baseline = float("inf")
        totals = None
        for _ in range(repeat):
            best_baseline = min(best_baseline, await timed(
                conn, lambda: conn.execute(BASELINE)))

            async def build() -> None:
                nonlocal totals
                totals = await campaigns.build(conn, cid, found, tpl, "sms", "uk", keys, now,
                                               20.0)

            best_campaign = min(best_campaign, await timed(conn, build))
        assert totals is not None and totals.recipients == members
        print(f"members: {members:,}  parts: {totals.parts:,}  cost: {totals.cost_minor:,} "
              "kopecks")
        print(f"plain INSERT ... SELECT: {best_baseline * 1000:8.1f} ms "
              f"({members / best_baseline:,.0f} rows/s)")
        print(f"campaign build+queue:    {best_campaign * 1000:8.1f} ms "
              f"({members / best_campaign:,.0f} rows/s)")
        print(f"ratio (baseline time / campaign time): {best_baseline / best_campaign:.2f}x "
              "(target >= 0.3x)")
        if dispatch:
            await measure_dispatch(conn, url, dispatch, found, tpl, keys)
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dispatch", type=int, default=0,
                        help="also send this many through the dispatcher to the test SMSC")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.repeat, args.dispatch))
