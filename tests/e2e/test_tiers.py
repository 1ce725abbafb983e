"""Tiers: the jobs pass moves members' cards up and down by purchases over the period, each
move audited and announced as a member.tier_changed event in the outbox."""

from __future__ import annotations

import datetime as dt
import uuid

from kopilka.v1 import audit_pb2, members_pb2, receipts_pb2
from sqlalchemy import text

from server.accounts.rules_loader import load_accrual_rules
from server.db.ledger.rules import apply_accrual_rules
from server.demo import load_demo_data
from server.features.jobs import run_steps

R = receipts_pb2
TIERS = """
version: tiers-1
tiers:
  period_days: 30
  levels:
    - {card_type: silver, min_amount_minor: 0}
    - {card_type: gold, min_amount_minor: 100000}
"""


async def card_of(client, phone: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    found = await client.members.FindMember(members_pb2.FindMemberRequest(phone=phone))
    card = found.member.cards[0]
    return card.number, card.card_type


async def test_members_move_up_and_down_and_each_move_is_an_event(app, admin):
    await load_demo_data(app.db.url)
    await app.deps.pricing.refresh(force=True)
    taras, _ = await card_of(admin, "+380501112233")  # silver
    sale = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", terminal_id="till-1", card_number=taras,
        lines=[R.ReceiptLine(line_no=1, sku="bakery-01", quantity_milli=1000,
                             unit_price_minor=120000)]))
    await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=sale.calculation_id, receipt_number="T-1",
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH, amount_minor=sale.total.amount_minor)]))
    async with app.db.transaction() as session:
        await apply_accrual_rules(session, load_accrual_rules(TIERS))

    done = await run_steps(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert done.failed == {} and done.counts["tiers"] == 2
    assert (await card_of(admin, "+380501112233"))[1] == "gold"    # 1200.00 in 30 days: up
    assert (await card_of(admin, "+380671234567"))[1] == "silver"  # gold, no purchases: down
    async with app.db.transaction() as session:
        events = (await session.execute(text(
            "SELECT payload FROM outbox WHERE event_type = 'member.tier_changed' "
            "ORDER BY id"))).scalars().all()
    moves = sorted((e["from_card_type"], e["to_card_type"]) for e in events)
    assert moves == [("gold", "silver"), ("silver", "gold")]
    audit = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(object_type="card"))
    assert sorted(e.action for e in audit.entries if e.action == "tier_move") == ["tier_move"] * 2

    again = await run_steps(app.db, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2))
    assert again.counts["tiers"] == 0  # nothing left to move
